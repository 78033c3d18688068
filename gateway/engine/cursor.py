"""Edge cursors: every stream's position at one edge, bound to the query that made them.

A cursor holds a version, a fingerprint of the filter and order, each stream's gap, the edge's
own stream with the gap just before the edge (so `before:` can include everything up to, but
not, that edge), and the edge's sort key, as JSON. The key is the last word: whatever a gap
reads, only entries on the right side of the edge's key are kept, so a job inserted upstream
behind the client's position can never appear out of order or twice.

On the wire: base64url of a 12-byte HMAC-SHA256 tag and the JSON. The tag is checked first,
so a tampered, truncated or foreign cursor is refused before anything in it is parsed, let
alone sent upstream. Nothing in a cursor is secret; the tag is about integrity.

Cursors are not compressed: deflating ~800 bytes cost ~15 µs, most of a cursor's price, 100
times a page. Instead the two parts that repeat what the own stream's gap already says are
written short when they can be derived exactly: the gap before the edge (same anchors, one
entry further, its `next` is the gap's `prev`) becomes `{"p": prev}`, and the edge key whose
timestamp and id are that gap's `prev` becomes its source rank alone. The encoder checks the
derivation and writes the long form whenever it would not hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.engine.gaps import Gap
from gateway.errors import BadCursor, cursor_for_other_query

VERSION = 3
MAX_CURSOR_LENGTH = 65536  # upstream ids have no documented length; a cursor carries a few (issue 16)
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
    texts = {name: gap.text() for name, gap in position.gaps.items()}
    own = None
    if position.own_stream is not None and position.own_before is not None:
        own = (position.own_stream, position.own_before, position.gaps[position.own_stream])
    return encode_cursor_text(texts, own, position.edge, query_fingerprint, key)


def encode_cursor_text(
    gaps: dict[str, str],
    own: tuple[str, Gap, Gap] | None,
    edge: EdgeKey | None,
    query_fingerprint: str,
    key: bytes = DEFAULT_CURSOR_KEY,
) -> str:
    """Encode from gaps already serialized: the page's edges share them (see `GapIndex.text`).

    `own` is the edge's stream, the gap before the edge and that stream's gap in `gaps` (the
    one after the edge). Built as bytes with orjson: json.dumps costs ~4 µs a call.
    """
    dumps = orjson.dumps
    gap_part = b",".join([dumps(name) + b":" + text.encode() for name, text in gaps.items()])
    own_part = b"null"
    after: Gap | None = None
    if own is not None:
        stream, before, after = own
        if _derives(before, after):
            own_part = b'[%b,{"p":%b}]' % (dumps(stream), dumps(before.prev))
        else:
            own_part = b"[%b,%b]" % (dumps(stream), dumps(before.to_json()))
    if edge is None:
        edge_part = b"null"
    elif after is not None and after.prev is not None and after.prev[0] == edge[0] and after.prev[1] == edge[2]:
        edge_part = b"%d" % edge[1]
    else:
        edge_part = b"[%d,%d,%b]" % (edge[0], edge[1], dumps(edge[2]))
    raw = b'{"v":%d,"q":%b,"g":{%b},"o":%b,"k":%b}' % (VERSION, dumps(query_fingerprint), gap_part, own_part, edge_part)
    tag = hmac.digest(key, raw, "sha256")[:TAG_BYTES]
    return base64.urlsafe_b64encode(tag + raw).rstrip(b"=").decode("ascii")


def _derives(before: Gap, after: Gap) -> bool:
    """Whether `before` is exactly the gap one entry ahead of `after`, on the same anchors."""
    return (
        not before.w
        and not after.w
        and before.fa == after.fa
        and before.ba == after.ba
        and before.fk == after.fk - 1
        and before.bk == after.bk + 1
        and before.next == after.prev
    )


def _derived(prev: Any, after: Gap) -> Gap:
    if after.fk < 1:
        raise ValueError("own gap")
    after_prev = list(after.prev) if after.prev is not None else None
    return Gap.from_json([after.fa, after.fk - 1, after.ba, after.bk + 1, prev, after_prev])


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
        payload = orjson.loads(body)
        if not isinstance(payload, dict) or payload.get("v") != VERSION:
            raise ValueError("version")
        fingerprint_value = payload["q"]
        gaps = {str(name): Gap.from_json(value) for name, value in dict(payload["g"]).items()}
        own_stream, own = None, None
        if payload["o"] is not None:
            own_stream, own_before = payload["o"]
            if not isinstance(own_stream, str) or own_stream not in gaps:
                raise ValueError("own stream")
            if isinstance(own_before, dict):
                own = _derived(own_before["p"], gaps[own_stream])
            else:
                own = Gap.from_json(own_before)
        edge = None
        if isinstance(payload["k"], int) and not isinstance(payload["k"], bool):
            prev = gaps[own_stream].prev if own_stream is not None else None
            if prev is None:
                raise ValueError("edge")
            edge = (prev[0], payload["k"], prev[1])
        elif payload["k"] is not None:
            ts, rank, ident = payload["k"]
            if not (isinstance(ts, int) and isinstance(rank, int) and isinstance(ident, str)):
                raise ValueError("edge")
            edge = (ts, rank, ident)
    except (UnicodeError, ValueError, TypeError, KeyError, AttributeError):  # orjson's error is a ValueError
        raise BadCursor() from None
    if fingerprint_value != query_fingerprint or frozenset(gaps) != streams:
        raise cursor_for_other_query()
    return EdgePosition(gaps, own_stream, own, edge)
