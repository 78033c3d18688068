"""DevRev `jobs.list` semantics: the query, the order, the keyset page.

Orders and pages are memoised on the store's View, so identical requests
between two clock ticks cost one filter, one sort and one render; a cursor is
found by binary search over the sorted keys instead of a scan.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import cursor
from .store import StoredJob
from .view import Entry, View
from .wire import json_bytes, jobs_array

__all__ = [
    "ARRAY_FIELDS",
    "BadRequest",
    "ListQuery",
    "Ordered",
    "Page",
    "matches",
    "page",
    "parse_list",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_SORT = ("created_date:desc",)
SORT_FIELDS = ("created_date", "modified_date")
ARRAY_FIELDS = ("category", "created_by", "owned_by_id", "parent_ids", "sort_by", "state")
_INTEGER = re.compile(r"[+-]?\d+")


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- the query ------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    categories: frozenset[str]
    created_by: frozenset[str]
    owned_by: frozenset[str]
    parents: frozenset[str]
    states: frozenset[str]
    cursor: str | None
    limit: int
    mode: str
    sort: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(item.split(":")[0] for item in self.sort)

    @property
    def descending(self) -> tuple[bool, ...]:
        """One flag per sort field, then the id tie-break (same as the first field)."""
        flags = tuple(item.endswith(":desc") for item in self.sort)
        return flags + flags[:1]

    @property
    def selection(self) -> tuple[Any, ...]:
        """What decides the ordered list (not where the page starts or how long it is)."""
        return (
            self.sort,
            self.categories,
            self.created_by,
            self.owned_by,
            self.parents,
            self.states,
        )


def _strings(params: Mapping[str, Any], name: str) -> frozenset[str]:
    value = params.get(name)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be an array of strings")
    return frozenset(value)


def _limit(value: Any) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("limit must be an integer")
    if value < 1:
        raise BadRequest("limit must be at least 1")
    return min(value, MAX_LIMIT)


def _sort(value: Any) -> tuple[str, ...]:
    if value is None or value == []:
        return DEFAULT_SORT
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("sort_by must be an array of strings")
    seen: set[str] = set()
    for item in value:
        field, _, direction = item.partition(":")
        if field not in SORT_FIELDS or direction not in ("asc", "desc"):
            raise BadRequest(
                f"invalid sort_by {item!r}: use created_date or modified_date with :asc or :desc"
            )
        if field in seen:
            raise BadRequest(f"sort_by names {field} twice")
        seen.add(field)
    return tuple(value)


def parse_list(params: Mapping[str, Any]) -> ListQuery:
    mode = params.get("mode", "after")
    if mode is None:
        mode = "after"
    if mode not in ("after", "before"):
        raise BadRequest('mode must be "after" or "before"')
    token = params.get("cursor")
    if token is not None and not isinstance(token, str):
        raise BadRequest("cursor must be a string")
    return ListQuery(
        categories=_strings(params, "category"),
        created_by=_strings(params, "created_by"),
        owned_by=_strings(params, "owned_by_id"),
        parents=_strings(params, "parent_ids"),
        states=_strings(params, "state"),
        cursor=token or None,
        limit=_limit(params.get("limit")),
        mode=mode,
        sort=_sort(params.get("sort_by")),
    )


def matches(item: StoredJob, job: Mapping[str, Any], query: ListQuery) -> bool:
    if query.states and job.get("state") not in query.states:
        return False
    if query.categories and job.get("job_category") not in query.categories:
        return False
    if query.created_by:
        creator = job.get("created_by")
        creator_id = creator.get("id") if isinstance(creator, Mapping) else creator
        if creator_id not in query.created_by:
            return False
    if query.owned_by and query.owned_by.isdisjoint(item.owners):
        return False
    if query.parents and query.parents.isdisjoint(item.parents):
        return False
    return True


# --- the order ------------------------------------------------------------------

Key = tuple[str, ...]
"""A job's sort key: the sort field values, then the id."""


@dataclass(frozen=True, slots=True)
class Ordered:
    """The jobs a query selects, in its order, with their keys alongside for bisection."""

    keys: list[Key]
    entries: list[Entry]


def _sorted(rows: list[tuple[Key, int]], descending: tuple[bool, ...]) -> None:
    """Sort in place by key components, each in its own direction (stable passes)."""
    for index in reversed(range(len(descending))):
        rows.sort(key=functools.partial(_component, index), reverse=descending[index])


def _component(index: int, row: tuple[Key, int]) -> str:
    return row[0][index]


def _positions(view: View, query: ListQuery) -> tuple[list[Key], list[int]]:
    """Every job's key in the query's sort order, with its position in `view.entries`.

    Ids are unique, so the order is total and does not depend on the sort's stability.
    """
    fields = query.fields
    rows = [
        ((*(str(e.job[f]) for f in fields), str(e.job["id"])), index)
        for index, e in enumerate(view.entries)
    ]
    _sorted(rows, query.descending)
    return [key for key, _ in rows], [index for _, index in rows]


def _order(view: View, query: ListQuery) -> Ordered:
    """All jobs in the query's sort order.

    Only `modified_date` moves with the clock; other orders are sorted once per
    store version and survive running jobs' steps.
    """
    memo = view.orders if "modified_date" in query.fields else view.stable
    keys, positions = memo.get(("positions", query.sort), lambda: _positions(view, query))
    entries = view.entries
    return Ordered(keys, [entries[index] for index in positions])


def _select(view: View, query: ListQuery) -> Ordered:
    """The sorted jobs that pass the filters (filtering keeps a total order's order)."""
    everything = view.orders.get(("order", query.sort), lambda: _order(view, query))
    if not (
        query.states or query.categories or query.created_by or query.owned_by or query.parents
    ):
        return everything
    keys: list[Key] = []
    entries: list[Entry] = []
    for key, entry in zip(everything.keys, everything.entries, strict=True):
        if matches(entry.item, entry.job, query):
            keys.append(key)
            entries.append(entry)
    return Ordered(keys, entries)


def _first_past(
    keys: Sequence[Key], position: cursor.Position, descending: tuple[bool, ...]
) -> int:
    """Index of the first key after `position`; `is_past` is monotone over sorted keys."""
    lo, hi = 0, len(keys)
    while lo < hi:
        mid = (lo + hi) // 2
        if cursor.is_past(keys[mid], position, descending):
            hi = mid
        else:
            lo = mid + 1
    return lo


# --- the page -------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    """One `jobs.list` answer; its body is rendered once and then shared."""

    entries: list[Entry]
    next_cursor: str | None
    prev_cursor: str | None
    _body: bytes | None = None

    def body(self, drop: str | None = None) -> bytes:
        """The JSON answer; `drop` removes one field from the first job (a fault)."""
        if drop is None and self._body is not None:
            return self._body
        body = b'{"jobs":' + jobs_array(self.entries, drop)
        if self.next_cursor is not None:
            body += b',"next_cursor":' + json_bytes(self.next_cursor)
        if self.prev_cursor is not None:
            body += b',"prev_cursor":' + json_bytes(self.prev_cursor)
        body += b"}"
        if drop is None:
            self._body = body
        return body


def _cut(rows: Ordered, query: ListQuery) -> Page:
    """The requested slice of the sorted rows and its next/prev cursors."""
    position: cursor.Position | None = None
    if query.cursor is not None:
        try:
            position = cursor.decode(query.cursor)
        except cursor.CursorError:
            raise BadRequest("cursor is not valid") from None
        if position.sort != query.sort:
            raise BadRequest("cursor was made with a different sort_by")
    keys = rows.keys
    total = len(keys)
    if position is None:
        split = 0 if query.mode == "after" else total
    else:
        split = _first_past(keys, position, query.descending)
    if query.mode == "after":
        lo, hi = split, min(split + query.limit, total)
    else:
        lo, hi = max(0, split - query.limit), split
    next_token = prev_token = None
    if hi < total:
        at = cursor.Position(query.sort, keys[hi - 1], True) if hi > lo else position
        next_token = cursor.encode(at) if at is not None else None
    if lo > 0:
        at = cursor.Position(query.sort, keys[lo], False) if hi > lo else position
        prev_token = cursor.encode(at) if at is not None else None
    return Page(rows.entries[lo:hi], next_token, prev_token)


def page(view: View, query: ListQuery) -> Page:
    """The page `query` asks for, as of `view` (memoised per query)."""
    cached: Page | None = view.pages.peek(query)
    if cached is None:
        rows = view.orders.get(query.selection, lambda: _select(view, query))
        cached = _cut(rows, query)
        view.pages.put(query, cached, len(cached.entries) + 1)
    return cached
