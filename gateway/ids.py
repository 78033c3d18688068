"""Global job ids: opaque to clients, but they must round-trip to (source, upstream id).

An id is base64url of `Job:<source>:<upstream id as UTF-8>` followed by a 4-byte check
value (its CRC-32). The upstream id is carried whole, whatever its text: the upstreams
document nothing about the alphabet or length of their ids, and a lookup needs the id
exactly as the upstream wrote it, so a shortened or hashed form could not be resolved
without state the gateway does not keep. Every id `encode_job_id` issues therefore decodes.

Nothing a caller sends is looked up before it is checked completely: canonical base64url,
the check value (so a truncated or altered id is refused, not looked up), our prefix, a
known source, a non-empty upstream id of valid UTF-8. There is no length limit of the id's
own: the request body limit (`GATEWAY_MAX_BODY_BYTES`) bounds what a caller can send. The
check value is not a signature: ids are stable across deployments and anyone may name any
job; whether they may read it is the upstream's call, made with the caller's credentials.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from gateway.errors import BadId
from gateway.model import Source

_PREFIX = "Job:"
_SOURCE_CODES = {Source.DEVREV: "devrev", Source.DOCURIFT: "docurift"}
_CODES_TO_SOURCE = {code: source for source, code in _SOURCE_CODES.items()}
CHECK_BYTES = 4


def encode_job_id(source: Source, source_id: str) -> str:
    """The global id of an upstream job; any non-empty text is carried as it is.

    Upstream answers are decoded by orjson, which refuses lone surrogates, so `source_id`
    is always encodable as UTF-8 (a `str` holding one raises `UnicodeEncodeError`).
    """
    if not source_id:
        raise ValueError("an upstream id is never empty")
    raw = f"{_PREFIX}{_SOURCE_CODES[source]}:{source_id}".encode()
    return base64.urlsafe_b64encode(raw + _check(raw)).rstrip(b"=").decode("ascii")


def _check(raw: bytes) -> bytes:
    return zlib.crc32(raw).to_bytes(CHECK_BYTES, "big")


def decode_job_id(global_id: str) -> tuple[Source, str]:
    """Split a global id; anything that is not one of ours raises `BadId`."""
    if not isinstance(global_id, str) or not global_id:
        raise BadId(str(global_id))
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        packed = base64.urlsafe_b64decode(padded.encode("ascii"))
        body, check = packed[:-CHECK_BYTES], packed[-CHECK_BYTES:]
        if len(packed) <= CHECK_BYTES or _check(body) != check:
            raise ValueError("check value")
        raw = body.decode("utf-8")  # strict: no lone surrogates, nothing an upstream could not have sent
    except (binascii.Error, UnicodeError, ValueError):
        raise BadId(global_id) from None
    if not raw.startswith(_PREFIX):
        raise BadId(global_id)
    code, sep, source_id = raw[len(_PREFIX) :].partition(":")
    source = _CODES_TO_SOURCE.get(code)
    if source is None or not sep or not source_id:
        raise BadId(global_id)
    if encode_job_id(source, source_id) != global_id:
        raise BadId(global_id)  # not canonical: padding, stray characters, other alphabet
    return source, source_id
