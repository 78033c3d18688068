"""The connection's total order, and where a date range ends a sorted stream early."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from gateway.model import Job, JobFilter, JobOrder, OrderDirection, OrderField

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)

SortKey = tuple


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


class Descending(str):
    """A string that sorts in reverse, for newest-first keys.

    Keys only reach the id on a tie of timestamp and source, so the Python-level comparison
    below is rare, while making one is as cheap as making a string (the tuple of negated
    code points this replaces cost ~3 µs per 36-character DevRev id, 200 times a page).
    Equality and hashing stay the string's.
    """

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)

    def __le__(self, other: str) -> bool:
        return str.__ge__(self, other)

    def __gt__(self, other: str) -> bool:
        return str.__lt__(self, other)

    def __ge__(self, other: str) -> bool:
        return str.__le__(self, other)


def boundary(order: JobOrder) -> Callable[[Job], tuple[int, str]]:
    """An entry as a gap remembers it: its sort timestamp and upstream id."""
    field = order.field
    return lambda job: (micros(job.sort_time(field)), job.source_id)


def boundary_key(order: JobOrder, rank: int) -> Callable[[tuple[int, str]], SortKey]:
    """The sort key of a remembered entry of a source of this rank."""
    if order.direction is OrderDirection.ASC:
        return lambda b: (b[0], rank, b[1])
    return lambda b: (-b[0], rank, Descending(b[1]))


def sort_key(order: JobOrder) -> Callable[[Job], SortKey]:
    """Key of the connection's order: the timestamp, then source, then upstream id.

    Ties across sources break by the source's declaration order; ties inside one source by
    id, which is how both upstreams order equal timestamps, so merging slices of one source
    (DocuRift's one-value filters) reproduces that source's own order.
    """
    field = order.field
    if order.direction is OrderDirection.ASC:
        return lambda job: (micros(job.sort_time(field)), job.source.rank, job.source_id)
    return lambda job: (-micros(job.sort_time(field)), job.source.rank, Descending(job.source_id))


def range_stops(order: JobOrder, job_filter: JobFilter) -> tuple[Callable[[Job], bool] | None, Callable[[Job], bool] | None]:
    """Predicates that say "this entry and all beyond it are out of range", per direction.

    Only an order on `createdAt` makes a created-date range a contiguous slice of a stream.
    """
    if order.field is not OrderField.CREATED_AT:
        return None, None
    low, high = job_filter.created_after, job_filter.created_before
    past_high = (lambda job: job.created_at > high) if high is not None else None
    past_low = (lambda job: job.created_at < low) if low is not None else None
    if order.direction is OrderDirection.ASC:
        return past_high, past_low
    return past_low, past_high
