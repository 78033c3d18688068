"""Edge cursors: every stream's position at one edge, bound to the query that made them.

A cursor holds a version, a fingerprint of the filter and order, each stream's gap, the edge's
own stream with the gap just before the edge (so `before:` can include everything up to, but
not, that edge), and the edge's sort key, as JSON. The key is the last word: whatever a gap
reads, only entries on the right side of the edge's key are kept, so a job inserted upstream
behind the client's position can never appear out of order or twice.

On the wire: base64url of a 12-byte HMAC-SHA256 tag and the raw-deflated JSON. The tag is
checked first, so a tampered, truncated or foreign cursor is refused before anything in it is
parsed, let alone sent upstream. Nothing in a cursor is secret; the tag is about integrity.
Deflate uses a 1 KiB window and little memory: cursors are a few hundred bytes, and setting
up zlib's default state cost more than compressing them (measured: ~7x faster, 3% larger).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.engine.gaps import Gap
from gateway.errors import BadCursor, cursor_for_other_query

VERSION = 2
MAX_CURSOR_LENGTH = 4096
MAX_PAYLOAD = 16384  # inflated JSON; real cursors are well under 2 KiB
TAG_BYTES = 12
EdgeKey = tuple[int, int, str]  # the edge's sort timestamp (µs), source rank and upstream id


def cursor_key(secret: str | None) -> bytes:
    """The signing key for `GATEWAY_CURSOR_SECRET`; without one, a fixed public key.

    The fixed key still catches damaged and truncated cursors; only a secret stops a client
    from forging one. Every replica and worker of one deployment must share the secret.
    """
    material = secret.encode() if secret else b"job-gateway: no GATEWAY_CURSOR_SECRET set"
    return hashlib.sha256(b"job-gateway cursor v2\0" + material).digest()


DEFAULT_CURSOR_KEY = cursor_key(None)


@dataclass(frozen=True, slots=True)
class EdgePosition:
    """Where every stream stands at one edge of a page."""

    gaps: dict[str, Gap]
    own_stream: str | None
    own_before: Gap | None
    edge: EdgeKey | None  # None: a position that is no edge (where a page started)

    def after_gaps(self) -> dict[str, Gap]:
        """Per stream, the gap to read forward from to get the entries after the edge."""
        return self.gaps

    def before_gaps(self) -> dict[str, Gap]:
        """Per stream, the gap to read backward from to get the entries before the edge."""
        if self.own_stream is None or self.own_before is None:
            return self.gaps
        return {**self.gaps, self.own_stream: self.own_before}


def fingerprint(query_key: Any) -> str:
    """A short stable digest of the normalized query a cursor belongs to."""
    raw = json.dumps(query_key, sort_keys=True, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode()).digest()[:9]).decode()


def encode_cursor(position: EdgePosition, query_fingerprint: str, key: bytes = DEFAULT_CURSOR_KEY) -> str:
    def text(gap: Gap) -> str:
        return json.dumps(gap.to_json(), separators=(",", ":"))

    own = (position.own_stream, text(position.own_before)) if position.own_stream and position.own_before else None
    gaps = {name: text(gap) for name, gap in position.gaps.items()}
    return encode_cursor_text(gaps, own, position.edge, query_fingerprint, key)


def encode_cursor_text(
    gaps: dict[str, str],
    own: tuple[str, str] | None,
    edge: EdgeKey | None,
    query_fingerprint: str,
    key: bytes = DEFAULT_CURSOR_KEY,
) -> str:
    """Encode from gaps already serialized: the page's edges share them (see `GapIndex.text`).

    Built as bytes with orjson for the few strings: json.dumps costs ~4 µs a call, which was
    a third of a cursor.
    """
    dumps = orjson.dumps
    gap_part = b",".join([dumps(name) + b":" + text.encode() for name, text in gaps.items()])
    own_part = b"[" + dumps(own[0]) + b"," + own[1].encode() + b"]" if own else b"null"
    edge_part = b"[%d,%d,%b]" % (edge[0], edge[1], dumps(edge[2])) if edge else b"null"
    raw = b'{"v":%d,"q":%b,"g":{%b},"o":%b,"k":%b}' % (VERSION, dumps(query_fingerprint), gap_part, own_part, edge_part)
    deflate = zlib.compressobj(1, zlib.DEFLATED, -10, 2)
    body = deflate.compress(raw) + deflate.flush()
    tag = hmac.digest(key, body, "sha256")[:TAG_BYTES]
    return base64.urlsafe_b64encode(tag + body).rstrip(b"=").decode("ascii")


def decode_cursor(
    cursor: str, query_fingerprint: str, streams: frozenset[str], key: bytes = DEFAULT_CURSOR_KEY
) -> EdgePosition:
    """Read a cursor back: its tag first, then its structure, then whether it fits the query."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise BadCursor("TOO_LONG", f"The cursor is longer than {MAX_CURSOR_LENGTH} characters; it was not issued by this gateway.")
    try:
        packed = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4))
    except (binascii.Error, UnicodeError, ValueError):
        raise BadCursor() from None
    tag, body = packed[:TAG_BYTES], packed[TAG_BYTES:]
    if len(tag) < TAG_BYTES or not body:
        raise BadCursor()
    if not hmac.compare_digest(tag, hmac.digest(key, body, "sha256")[:TAG_BYTES]):
        raise BadCursor("TAMPERED", "The cursor was altered, or issued by another gateway deployment.")
    try:
        inflate = zlib.decompressobj(-15)
        raw = inflate.decompress(body, MAX_PAYLOAD)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError("too large or truncated")
        payload = orjson.loads(raw)
        if not isinstance(payload, dict) or payload.get("v") != VERSION:
            raise ValueError("version")
        fingerprint_value = payload["q"]
        gaps = {str(name): Gap.from_json(value) for name, value in dict(payload["g"]).items()}
        own_stream, own = None, None
        if payload["o"] is not None:
            own_stream, own_before = payload["o"]
            own = Gap.from_json(own_before)
            if not isinstance(own_stream, str) or own_stream not in gaps:
                raise ValueError("own stream")
        edge = None
        if payload["k"] is not None:
            ts, rank, ident = payload["k"]
            if not (isinstance(ts, int) and isinstance(rank, int) and isinstance(ident, str)):
                raise ValueError("edge")
            edge = (ts, rank, ident)
    except (zlib.error, UnicodeError, ValueError, TypeError, KeyError, AttributeError):  # orjson's error is a ValueError
        raise BadCursor() from None
    if fingerprint_value != query_fingerprint or frozenset(gaps) != streams:
        raise cursor_for_other_query()
    return EdgePosition(gaps, own_stream, own, edge)
