"""A store's jobs as rendered over one stretch of simulated time, with memos.

Between two writes to the store, the wire form of every job changes only when a
running job takes its next one-percent step. A View holds the renderings (and
their JSON bytes, made on first use) for the interval in which no step happens,
plus whatever the API modules derive from them (sorted orders, page bodies).
Both simulators rebuild it on the first read after a write or a step; the
rebuild reuses every rendering whose job and Tick did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from .wire import json_bytes

if TYPE_CHECKING:
    from .store import StoredJob, Tick

__all__ = ["Entry", "Memo", "View", "build_view"]

T = TypeVar("T")

ORDER_SLOTS = 64
"""Sorted/filtered job lists kept per view; cleared wholesale when full."""

PAGE_SLOTS = 512
PAGE_JOBS = 20_000
"""Pages (and their rendered bodies) kept per view, by count and by jobs held."""


class Entry:
    """One job as rendered in a view. `job` is shared: never mutate it."""

    __slots__ = ("_json", "item", "job", "tick")

    def __init__(self, item: StoredJob, job: dict[str, Any], tick: Tick | None) -> None:
        self.item = item
        self.job = job
        self.tick = tick
        self._json: bytes | None = None

    @property
    def json(self) -> bytes:
        """The job's JSON, rendered once (lazily, so a bad value fails where it used to)."""
        rendered = self._json
        if rendered is None:
            rendered = self._json = json_bytes(self.job)
        return rendered


class Memo:
    """A bounded cache of derived values; full means start over (cheap and simple).

    `weight` bounds what the values hold in total (e.g. jobs across cached pages).
    """

    def __init__(self, slots: int, max_weight: int | None = None) -> None:
        self._values: dict[Hashable, Any] = {}
        self._slots = slots
        self._max_weight = max_weight
        self._weight = 0

    def peek(self, key: Hashable) -> Any:
        """The cached value, or None."""
        return self._values.get(key)

    def put(self, key: Hashable, value: T, weight: int = 0) -> T:
        if len(self._values) >= self._slots or (
            self._max_weight is not None and self._weight + weight > self._max_weight
        ):
            self._values.clear()
            self._weight = 0
        if self._max_weight is None or weight <= self._max_weight:
            self._values[key] = value
            self._weight += weight
        return value

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        try:
            return self._values[key]  # type: ignore[no-any-return]
        except KeyError:
            return self.put(key, build())


class View:
    """The store's jobs at any instant in `[lo, hi)` (None: unbounded) for one store version.

    `orders` and `pages` die with the view; `stable` lives as long as the store
    version, for what a clock step cannot change (orders by creation time, kept
    as positions into `entries`, which keep their places within a version).
    """

    __slots__ = ("by_id", "entries", "hi", "lo", "orders", "pages", "running", "stable", "version")

    def __init__(
        self,
        version: int,
        lo: datetime | None,
        hi: datetime | None,
        entries: list[Entry],
        by_id: dict[str, Entry],
        running: list[int],
        stable: Memo,
    ) -> None:
        self.version = version
        self.lo = lo
        self.hi = hi
        self.entries = entries  # insertion order
        self.by_id = by_id
        self.running = running  # positions of jobs with a run
        self.stable = stable
        self.orders = Memo(ORDER_SLOTS)
        self.pages = Memo(PAGE_SLOTS, PAGE_JOBS)

    def covers(self, now: datetime) -> bool:
        return (self.lo is None or self.lo <= now) and (self.hi is None or now < self.hi)


def build_view(
    items: Sequence[StoredJob],
    render: Callable[[StoredJob, datetime], dict[str, Any]],
    now: datetime,
    version: int,
    previous: View | None,
) -> View:
    """Render every job at `now`, reusing `previous` renderings that cannot have changed.

    Same store version: only the running jobs are looked at. New version: every
    job is, but renderings of unchanged jobs are carried over by identity.
    """
    if previous is not None and previous.version == version:
        entries, by_id = previous.entries.copy(), previous.by_id.copy()
        running, stable = previous.running, previous.stable
    else:
        reuse = previous.by_id if previous is not None else {}
        entries, by_id, running, stable = [], {}, [], Memo(ORDER_SLOTS)
        for index, item in enumerate(items):
            key = item.id
            entry = reuse.get(key)
            if entry is None or entry.item is not item:
                tick = item.run.at(now) if item.run is not None else None
                entry = Entry(item, render(item, now), tick)
            if item.run is not None:
                running.append(index)
            entries.append(entry)
            by_id[key] = entry
    lo: datetime | None = None
    hi: datetime | None = None
    for index in running:
        entry = entries[index]
        item = entry.item
        run = item.run
        assert run is not None
        tick = run.at(now)
        if entry.tick != tick:
            entries[index] = by_id[item.id] = Entry(item, render(item, now), tick)
        start, end = run.span(now)
        if start is not None and (lo is None or start > lo):
            lo = start
        if end is not None and (hi is None or end < hi):
            hi = end
    return View(version, lo, hi, entries, by_id, running, stable)
