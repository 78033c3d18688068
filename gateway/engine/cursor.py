"""Edge cursors: every stream's position at one edge, bound to the query that made them.

A cursor is base64url JSON: a version, a fingerprint of the filter and order, each stream's
gap, the edge's own stream with the gap just before the edge (so `before:` can include
everything up to, but not, that edge), and the edge's sort key. It is zlib-compressed. The key is the last word:
whatever a gap reads, only entries on the right side of the edge's key are kept, so a job
inserted upstream behind the client's position can never appear out of order or twice. Cursors are not signed: nothing in them is secret,
and everything read back is validated before use.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import Any

from gateway.engine.gaps import Gap
from gateway.errors import CursorMismatch, InvalidCursor

VERSION = 1
MAX_CURSOR_LENGTH = 4096
EdgeKey = tuple[int, int, str]  # the edge's sort timestamp (µs), source rank and upstream id


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


def encode_cursor(position: EdgePosition, query_fingerprint: str) -> str:
    def text(gap: Gap) -> str:
        return json.dumps(gap.to_json(), separators=(",", ":"))

    own = (position.own_stream, text(position.own_before)) if position.own_stream and position.own_before else None
    gaps = {name: text(gap) for name, gap in position.gaps.items()}
    return encode_cursor_text(gaps, own, position.edge, query_fingerprint)


def encode_cursor_text(
    gaps: dict[str, str],
    own: tuple[str, str] | None,
    edge: EdgeKey | None,
    query_fingerprint: str,
) -> str:
    """Encode from gaps already serialized: the page's edges share them (see `GapIndex.text`)."""
    dumps = json.dumps
    gap_part = ",".join(f"{dumps(name)}:{text}" for name, text in gaps.items())
    own_part = f"[{dumps(own[0])},{own[1]}]" if own else "null"
    edge_part = dumps(list(edge), separators=(",", ":")) if edge else "null"
    raw = f'{{"v":{VERSION},"q":{dumps(query_fingerprint)},"g":{{{gap_part}}},"o":{own_part},"k":{edge_part}}}'
    packed = zlib.compress(raw.encode(), 6)
    return base64.urlsafe_b64encode(packed).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, query_fingerprint: str, streams: frozenset[str]) -> EdgePosition:
    """Read a cursor back; malformed ones and ones from another query are rejected."""
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(zlib.decompress(raw, bufsize=MAX_CURSOR_LENGTH * 4))
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
    except (binascii.Error, zlib.error, UnicodeError, ValueError, TypeError, KeyError, AttributeError):
        raise InvalidCursor() from None
    if fingerprint_value != query_fingerprint or frozenset(gaps) != streams:
        raise CursorMismatch()
    return EdgePosition(gaps, own_stream, own, edge)
