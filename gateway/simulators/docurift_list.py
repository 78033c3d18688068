"""DocuRift `GET /v1/jobs` semantics: the parameters, the order, the offset page.

Orders and pages are memoised on the store's View, so identical requests
between two clock ticks cost one filter, one sort and one render.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from .data import DOCURIFT_FILTER_TYPES
from .timefmt import parse_ts
from .view import Entry, View
from .wire import json_bytes, jobs_array

__all__ = ["Invalid", "ListParams", "Page", "page", "parse_list"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
STATUSES = ("pending", "processing", "completed", "failed")
_INTEGER = re.compile(r"[+-]?\d+")


class Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class MultiValued(Protocol):
    def getlist(self, key: Any) -> list[str]: ...


# --- the parameters -------------------------------------------------------------


@dataclass(frozen=True)
class ListParams:
    page: int
    limit: int
    status: str | None
    document_type: str | None
    sort_by: str
    sort_order: str
    start: datetime | None
    end: datetime | None

    @property
    def selection(self) -> tuple[Any, ...]:
        """What decides the ordered list (not which page of it)."""
        return (
            self.sort_by,
            self.sort_order,
            self.status,
            self.document_type,
            self.start,
            self.end,
        )


def _one(query: MultiValued, name: str) -> str | None:
    """A single-valued parameter; empty counts as absent, repeated is an error."""
    values = [v for v in query.getlist(name) if v != ""]
    if len(values) > 1:
        raise Invalid("INVALID_PARAMETER", f"Invalid {name}. Only one value is allowed")
    return values[0] if values else None


def _positive(query: MultiValued, name: str, default: int) -> int:
    value = _one(query, name)
    if value is None:
        return default
    if not _INTEGER.fullmatch(value.strip()) or int(value) < 1:
        raise Invalid("INVALID_PARAMETER", f"Invalid {name}. Must be a positive integer")
    return int(value)


def _choice(query: MultiValued, name: str, allowed: tuple[str, ...], label: str) -> str | None:
    value = _one(query, name)
    if value is not None and value not in allowed:
        raise Invalid("INVALID_PARAMETER", f"Invalid {label}. Must be one of: {', '.join(allowed)}")
    return value


@functools.lru_cache(maxsize=8192)
def _instant(text: str) -> datetime:
    """`parse_ts`, memoised: the same createdAt strings are compared on every filter."""
    return parse_ts(text)


def _date(query: MultiValued, name: str) -> datetime | None:
    value = _one(query, name)
    if value is None:
        return None
    try:
        return _instant(value)
    except ValueError:
        raise Invalid("INVALID_DATE_FORMAT", f"{name} must be a valid ISO 8601 date") from None


def parse_list(query: MultiValued) -> ListParams:
    page = _positive(query, "page", 1)
    limit = min(_positive(query, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    status = _choice(query, "status", STATUSES, "status filter")
    document_type = _choice(query, "documentType", DOCURIFT_FILTER_TYPES, "documentType filter")
    sort_by = _choice(query, "sortBy", ("createdAt", "updatedAt"), "sortBy") or "createdAt"
    sort_order = _choice(query, "sortOrder", ("asc", "desc"), "sortOrder") or "desc"
    start, end = _date(query, "startDate"), _date(query, "endDate")
    if start is not None and end is not None and end < start:
        raise Invalid("INVALID_DATE_RANGE", "endDate is before startDate")
    return ListParams(page, limit, status, document_type, sort_by, sort_order, start, end)


# --- the order ------------------------------------------------------------------


def _positions(view: View, sort_by: str, sort_order: str) -> list[int]:
    """Positions in `view.entries`, sorted; ids are unique, so the order is total."""
    entries = view.entries
    return sorted(
        range(len(entries)),
        key=lambda i: (entries[i].job[sort_by], entries[i].job["id"]),
        reverse=sort_order == "desc",
    )


def _order(view: View, sort_by: str, sort_order: str) -> list[Entry]:
    """All jobs sorted.

    createdAt never moves with the clock: that order is sorted once per store
    version and survives running jobs' steps; updatedAt is sorted per view.
    """
    memo = view.stable if sort_by == "createdAt" else view.orders
    positions = memo.get(
        ("positions", sort_by, sort_order), lambda: _positions(view, sort_by, sort_order)
    )
    entries = view.entries
    return [entries[index] for index in positions]


def _select(view: View, params: ListParams) -> list[Entry]:
    """The sorted jobs that pass the filters (filtering keeps a total order's order)."""
    rows: list[Entry] = view.orders.get(
        ("order", params.sort_by, params.sort_order),
        lambda: _order(view, params.sort_by, params.sort_order),
    )
    status, document_type, start, end = (
        params.status,
        params.document_type,
        params.start,
        params.end,
    )
    if status is None and document_type is None and start is None and end is None:
        return rows
    kept = []
    for entry in rows:
        job = entry.job
        if status is not None and job.get("status") != status:
            continue
        if document_type is not None and job.get("documentType") != document_type:
            continue
        if start is not None or end is not None:
            created = _instant(job["createdAt"])
            if (start is not None and created < start) or (end is not None and created > end):
                continue
        kept.append(entry)
    return kept


# --- the page -------------------------------------------------------------------


@dataclass(slots=True)
class Page:
    """One `GET /v1/jobs` answer; its body is rendered once and then shared."""

    entries: Sequence[Entry]
    pagination: dict[str, Any]
    _body: bytes | None = None

    def body(self, drop: str | None = None) -> bytes:
        """The JSON answer; `drop` removes one field from the first job (a fault)."""
        if drop is None and self._body is not None:
            return self._body
        body = (
            b'{"success":true,"data":{"jobs":'
            + jobs_array(self.entries, drop)
            + b',"pagination":'
            + json_bytes(self.pagination)
            + b"}}"
        )
        if drop is None:
            self._body = body
        return body


def _cut(rows: list[Entry], params: ListParams) -> Page:
    total = len(rows)
    total_pages = math.ceil(total / params.limit)
    pagination = {
        "page": params.page,
        "limit": params.limit,
        "total": total,
        "totalPages": total_pages,
        "hasNextPage": params.page < total_pages,
        "hasPrevPage": params.page > 1,
    }
    return Page(rows[(params.page - 1) * params.limit : params.page * params.limit], pagination)


def page(view: View, params: ListParams) -> Page:
    """The page `params` asks for, as of `view` (memoised per parameters)."""
    cached: Page | None = view.pages.peek(params)
    if cached is None:
        rows = view.orders.get(params.selection, lambda: _select(view, params))
        cached = _cut(rows, params)
        view.pages.put(params, cached, len(cached.entries) + 1)
    return cached
