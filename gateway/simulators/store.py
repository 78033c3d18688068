"""In-memory job storage shared by both simulators.

Jobs are kept in their wire format plus a few private facts (owners, parents,
a running schedule). Anything that moves with time is derived at read time from
the clock, so a frozen clock gives the same answer on every read.

Reads go through `view()`: the rendered jobs stay valid until the store changes
or a running job ticks, so they are built once per such change, not per request.
"""

from __future__ import annotations

import copy
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from .clock import SimClock
from .view import View, build_view

__all__ = [
    "Run",
    "Tick",
    "StoredJob",
    "JobStore",
    "STEP_SECONDS",
    "timestamp_field",
    "digest_hex",
]

STEP_SECONDS = 10.0
"""A running job gains one percent of progress per this many seconds."""


class Tick(NamedTuple):
    progress: int
    steps: int  # how many one-percent steps happened since `t0`
    changed_at: datetime | None  # time of the latest step, None if no step yet
    done: bool


@dataclass(frozen=True)
class Run:
    """A job that was at `p0` percent at `t0` and gains 1 % per step."""

    t0: datetime
    p0: int
    step: timedelta = timedelta(seconds=STEP_SECONDS)

    def at(self, now: datetime) -> Tick:
        steps = max(0, (now - self.t0) // self.step)
        needed = 100 - self.p0
        if steps >= needed:
            return Tick(100, needed, self.t0 + needed * self.step, True)
        changed = self.t0 + steps * self.step if steps else None
        return Tick(self.p0 + steps, steps, changed, False)

    def span(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """The instants `[lo, hi)` around `now` over which `at()` answers the same Tick.

        None means unbounded. This is what lets a rendering of a running job be
        reused until its next one-percent step instead of recomputed per read.
        """
        needed = 100 - self.p0
        steps = max(0, (now - self.t0) // self.step)
        if steps >= needed:
            return (self.t0 + needed * self.step if needed > 0 else None), None
        lo = self.t0 + steps * self.step if steps else None
        try:
            hi: datetime | None = self.t0 + (steps + 1) * self.step
        except OverflowError:  # the next step lies beyond any representable instant
            hi = None
        return lo, hi


@dataclass
class StoredJob:
    """One job: its static wire fields and the private facts filters need."""

    wire: dict[str, Any]
    run: Run | None = None
    owners: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return str(self.wire["id"])


class JobStore(ABC):
    """The jobs one simulator serves; subclasses know the wire format."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock
        self._items: list[StoredJob] = []
        self._by_id: dict[str, StoredJob] = {}
        self.added = 0  # jobs ever added through add(); feeds deterministic defaults
        self.version = 0  # bumps on every insert or clear; a View is only valid for one
        self._view: View | None = None

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """Every job in insertion order, rendered as the API would serve it now."""
        now = self.clock.now()
        return [copy.deepcopy(self.render(item, now)) for item in self._items]

    def add(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """Append a job given in (partial) wire format; defaults fill the rest."""
        if not isinstance(job, Mapping):
            raise ValueError("a job must be a JSON object")
        now = self.clock.now()
        stored = self.build(job, now)
        self._insert(stored)
        self.added += 1
        return copy.deepcopy(self.render(stored, now))

    def extend(self, items: Iterable[StoredJob]) -> None:
        for item in items:
            self._insert(item)

    def clear(self) -> None:
        self._items.clear()
        self._by_id.clear()
        self.version += 1

    def get(self, job_id: str) -> StoredJob | None:
        return self._by_id.get(job_id)

    def view(self, now: datetime) -> View:
        """Every job rendered at `now`, shared and cached: callers must not mutate it."""
        view = self._view
        if view is None or view.version != self.version or not view.covers(now):
            view = self._view = build_view(self._items, self.render, now, self.version, view)
        return view

    def snapshot(self, now: datetime) -> list[tuple[StoredJob, dict[str, Any]]]:
        """(stored, rendered) pairs at `now`; rendered dicts are fresh top-level copies."""
        return [(item, self.render(item, now)) for item in self._items]

    def __len__(self) -> int:
        return len(self._items)

    def _insert(self, item: StoredJob) -> None:
        if item.id in self._by_id:
            raise ValueError(f"a job with id {item.id!r} already exists")
        self._items.append(item)
        self._by_id[item.id] = item
        self.version += 1

    @abstractmethod
    def build(self, job: Mapping[str, Any], now: datetime) -> StoredJob:
        """Turn a partial wire job into a stored one, filling defaults."""

    @abstractmethod
    def render(self, item: StoredJob, now: datetime) -> dict[str, Any]:
        """The job's wire form at `now` (a new top-level dict).

        It must depend on `now` only through `item.run.at(now)`: views reuse a
        rendering for as long as that Tick stays the same.
        """


def timestamp_field(
    given: Mapping[str, Any], key: str, default: str, canonical: Callable[[str], str], *, nullable: bool = False
) -> str | None:
    """A timestamp from a partial job, normalized to the API's wire format.

    Missing means `default`; so does `null`, unless the field is `nullable` (kept null).
    """
    value = given.get(key)
    if value is None:
        return None if nullable and key in given else default
    if not isinstance(value, str):
        raise ValueError(f"{key} must be an ISO 8601 string")
    try:
        return canonical(value)
    except ValueError as exc:
        raise ValueError(f"{key} is not an ISO 8601 timestamp: {value!r}") from exc


def digest_hex(text: str, length: int) -> str:
    """Stable pseudo-random hex, for ids that must not depend on global state."""
    return hashlib.sha256(text.encode()).hexdigest()[:length]
