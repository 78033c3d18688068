"""DevRev-style keyset cursors.

A cursor names a position *between* two entries of a sorted list: just after,
or just before, the entry whose sort key it carries. Because the key is a
value, not an offset, inserting or deleting other entries does not move it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CursorError", "Position", "compare", "encode", "decode"]


class CursorError(ValueError):
    """The client sent something that is not one of our cursors."""


@dataclass(frozen=True)
class Position:
    sort: tuple[str, ...]  # normalized sort_by it was made under
    key: tuple[str, ...]  # the sort values of the entry, then its id
    after: bool  # True: just after that entry; False: just before it


def compare(a: Sequence[str], b: Sequence[str], descending: Sequence[bool]) -> int:
    """-1/0/1: where `a` sorts relative to `b`, component by component."""
    for x, y, desc in zip(a, b, descending, strict=True):
        if x != y:
            less = x < y
            return (1 if less else -1) if desc else (-1 if less else 1)
    return 0


def is_past(key: Sequence[str], position: Position, descending: Sequence[bool]) -> bool:
    """Whether the entry with `key` lies after `position` in sort order."""
    c = compare(key, position.key, descending)
    return c > 0 or (c == 0 and not position.after)


def encode(position: Position) -> str:
    raw = json.dumps(
        {"v": 1, "s": list(position.sort), "k": list(position.key), "a": position.after},
        separators=(",", ":"),
    ).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise CursorError("cursor is not valid") from exc
    if not isinstance(data, dict) or data.get("v") != 1:
        raise CursorError("cursor is not valid")
    sort, key, after = data.get("s"), data.get("k"), data.get("a")
    if (
        not isinstance(sort, list)
        or not isinstance(key, list)
        or not isinstance(after, bool)
        or not all(isinstance(x, str) for x in sort + key)
        or len(key) != len(sort) + 1
    ):
        raise CursorError("cursor is not valid")
    return Position(sort=tuple(sort), key=tuple(key), after=after)
