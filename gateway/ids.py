"""Global job ids: opaque to clients, but they must round-trip to (source, upstream id)."""

from __future__ import annotations

import base64
import binascii

from gateway.errors import InvalidId
from gateway.model import Source

_PREFIX = "Job:"
_SOURCE_CODES = {Source.DEVREV: "devrev", Source.DOCURIFT: "docurift"}
_CODES_TO_SOURCE = {code: source for source, code in _SOURCE_CODES.items()}


def encode_job_id(source: Source, source_id: str) -> str:
    raw = f"{_PREFIX}{_SOURCE_CODES[source]}:{source_id}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_job_id(global_id: str) -> tuple[Source, str]:
    """Split a global id; anything that is not one of ours raises `InvalidId`."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidId(global_id) from None
    if not raw.startswith(_PREFIX):
        raise InvalidId(global_id)
    code, sep, source_id = raw[len(_PREFIX) :].partition(":")
    source = _CODES_TO_SOURCE.get(code)
    if source is None or not sep or not source_id:
        raise InvalidId(global_id)
    return source, source_id
