"""Global job ids: opaque to clients, but they must round-trip to (source, upstream id).

An id is base64url of `Job:<source>:<upstream id>` followed by a 4-byte check value (its
CRC-32). It is checked completely before anything is asked upstream: bounded
length, canonical base64url, the check value (so a truncated or altered id is refused, not
looked up), our prefix, a known source, an upstream id of printable ASCII. The check value
is not a signature: ids are stable across deployments and anyone may name any job; whether
they may read it is the upstream's call, made with the caller's credentials.
"""

from __future__ import annotations

import base64
import binascii
import zlib
import re

from gateway.errors import BadId
from gateway.model import Source

_PREFIX = "Job:"
_SOURCE_CODES = {Source.DEVREV: "devrev", Source.DOCURIFT: "docurift"}
_CODES_TO_SOURCE = {code: source for source, code in _SOURCE_CODES.items()}
MAX_ID_LENGTH = 256
CHECK_BYTES = 4
_UPSTREAM_ID = re.compile(r"[\x21-\x7e]{1,160}")  # printable ASCII, no spaces


def encode_job_id(source: Source, source_id: str) -> str:
    raw = f"{_PREFIX}{_SOURCE_CODES[source]}:{source_id}".encode()
    return base64.urlsafe_b64encode(raw + _check(raw)).rstrip(b"=").decode("ascii")


def _check(raw: bytes) -> bytes:
    return zlib.crc32(raw).to_bytes(CHECK_BYTES, "big")


def decode_job_id(global_id: str) -> tuple[Source, str]:
    """Split a global id; anything that is not one of ours raises `BadId`."""
    if not isinstance(global_id, str) or not 0 < len(global_id) <= MAX_ID_LENGTH:
        raise BadId(str(global_id))
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        packed = base64.urlsafe_b64decode(padded.encode("ascii"))
        body, check = packed[:-CHECK_BYTES], packed[-CHECK_BYTES:]
        if len(packed) <= CHECK_BYTES or _check(body) != check:
            raise ValueError("check value")
        raw = body.decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise BadId(global_id) from None
    if not raw.startswith(_PREFIX):
        raise BadId(global_id)
    code, sep, source_id = raw[len(_PREFIX) :].partition(":")
    source = _CODES_TO_SOURCE.get(code)
    if source is None or not sep or not _UPSTREAM_ID.fullmatch(source_id):
        raise BadId(global_id)
    if encode_job_id(source, source_id) != global_id:
        raise BadId(global_id)  # not canonical: padding, stray characters, other alphabet
    return source, source_id
