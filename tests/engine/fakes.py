"""In-memory upstreams for engine tests: keyset cursors (like DevRev) or offset pages.

They follow the `JobSource` protocol exactly as the real clients do, so the engine and the
pagination driver are tested without HTTP, against a brute-force oracle.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from gateway.engine.gaps import END, START, Run, anchor_value
from gateway.engine.order import Descending, micros, sort_key
from gateway.engine.reads import AnchorRejected, RawRead
from gateway.errors import UpstreamUnavailable
from gateway.ids import encode_job_id
from gateway.model import Job, JobFilter, JobQuery, JobStatus, OrderDirection, Source
from gateway.sources.base import Skipped, StreamPlan
from gateway.sources.devrev import run_from_page


def make_job(source: Source, source_id: str, created: datetime, status: JobStatus = JobStatus.COMPLETED, updated: datetime | None = None) -> Job:
    return Job(
        id=encode_job_id(source, source_id),
        source=source,
        source_id=source_id,
        status=status,
        source_status=status.value.lower(),
        created_at=created,
        updated_at=updated,
    )


def matches(job: Job, f: JobFilter) -> bool:
    if f.sources and job.source not in f.sources:
        return False
    if f.status and job.status not in f.status:
        return False
    return f.accepts_time(job.created_at)


def _plain(key: tuple) -> list:
    """An upstream key as its cursor carries it: JSON, comparable after a round trip."""
    return [[-ord(c) for c in part] + [1] if isinstance(part, Descending) else part for part in key]


CURSOR_MEANINGS = ("gap", "entry", "offset", "strict", "expiring")
TIE_ORDERS = ("id", "id-asc", "insertion")


class FakeSource:
    """One upstream over a list of jobs (in insertion order).

    `offset_pages` selects DocuRift's regime (page offsets from the list's ends); otherwise
    the source is keyset-paged like DevRev and answers through the real DevRev client's
    `run_from_page`, with `cursors` choosing what a cursor means where DevRev's docs are
    silent (see CURSOR_MEANINGS and the simulators) and `ties` how equal timestamps are
    ordered.
    """

    def __init__(
        self,
        source: Source,
        jobs: list[Job],
        *,
        offset_pages: bool = False,
        split_by_status: bool = False,
        page_cap: int = 100,
        cursors: str = "gap",
        ties: str = "id",
    ) -> None:
        assert cursors in CURSOR_MEANINGS and ties in TIE_ORDERS
        self.source = source
        self.jobs = jobs
        self.offset_pages = offset_pages
        self.split_by_status = split_by_status
        self.page_cap = page_cap
        self.cursors = cursors
        self.ties = ties
        self.requests = 0
        self.items_served = 0
        self.failure_rate = 0.0
        self.dice = random.Random(0)
        self._sequence: dict[str, int] = {}

    def _maybe_fail(self) -> None:
        if self.failure_rate and self.dice.random() < self.failure_rate:
            raise UpstreamUnavailable(self.source.value, f"{self.source.value} failed (simulated)")

    def plan(self, query: JobQuery) -> list[StreamPlan] | Skipped:
        f = query.filter
        if f.sources and self.source not in f.sources:
            return Skipped("not asked for")
        name = self.source.value
        if self.split_by_status and f.status:
            return [
                StreamPlan(f"{name}:{s.value}", (s.value,), cheap_skip=self.offset_pages, max_limit=self.page_cap)
                for s in sorted(f.status, key=lambda s: s.value)
            ]
        return [StreamPlan(name, None, cheap_skip=self.offset_pages, max_limit=self.page_cap)]

    def upstream_key(self, query: JobQuery) -> Any:
        """The upstream's own order: the timestamp, then its way with ties."""
        descending = query.order.direction is OrderDirection.DESC
        field = query.order.field
        for job in self.jobs:
            self._sequence.setdefault(job.source_id, len(self._sequence))

        def key(job: Job) -> tuple:
            ts = micros(job.sort_time(field))
            if self.ties == "insertion":
                tie: Any = self._sequence[job.source_id]
            elif self.ties == "id-asc" or not descending:
                tie = job.source_id
            else:
                tie = Descending(job.source_id)
            return (-ts if descending else ts, tie)

        return key

    def _entries(self, query: JobQuery, stream: StreamPlan) -> list[Job]:
        if self.offset_pages and self.ties == "id":
            key = sort_key(query.order)
        else:
            key = self.upstream_key(query)
        wanted = [job for job in self.jobs if matches(job, query.filter)]
        if stream.params is not None:
            wanted = [job for job in wanted if job.status.value in stream.params]
        return sorted(wanted, key=key)

    async def read(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        self.requests += 1
        self._maybe_fail()
        entries = self._entries(query, stream)
        if self.offset_pages:
            return self._read_offsets(entries, read)
        key = self.upstream_key(query)
        keys = [_plain(key(job)) for job in entries]
        count = len(entries)
        if read.anchor == START:
            at = 0
        elif read.anchor == END:
            at = count
        else:
            at = self._position(anchor_value(read.anchor), keys, read)
        limit = min(read.skip + read.limit, self.page_cap)
        if read.backward:
            lo, hi = max(0, at - limit), at
        else:
            lo, hi = at, min(count, at + limit)
        jobs = entries[lo:hi]
        self.items_served += len(jobs)
        prev_cursor = self._cursor(keys, entries, lo, hi, end=False) if lo > 0 else None
        next_cursor = self._cursor(keys, entries, lo, hi, end=True) if hi < count else None
        return run_from_page(jobs, prev_cursor, next_cursor, read)

    def _cursor(self, keys: list[Any], entries: list[Job], lo: int, hi: int, *, end: bool) -> str | None:
        """A cursor for the page [lo, hi): its end (`next_cursor`) or its start."""
        if self.cursors == "offset":
            return json.dumps(["o", hi if end else lo])
        if hi == lo:
            return None  # an empty page names no entry
        at = hi - 1 if end else lo
        entry = [keys[at], entries[at].source_id]
        if self.cursors == "gap":
            return json.dumps(["g", entry, "after" if end else "before"])
        if self.cursors == "strict":
            return json.dumps(["s", entry, "after" if end else "before"])
        return json.dumps(["e", entry])  # entry, expiring: the entry itself, excluded both ways

    def _position(self, cursor: str, keys: list[Any], read: RawRead) -> int:
        kind, *rest = json.loads(cursor)
        if kind == "o":
            return min(rest[0], len(keys))
        (entry_key, entry_id), *side = rest
        entry_key = _plain(entry_key)
        if kind == "s" and side[0] != ("before" if read.backward else "after"):
            raise AnchorRejected(read.anchor, "cursor used with the other mode")
        if self.cursors == "expiring" and not any(job.source_id == entry_id for job in self.jobs):
            raise AnchorRejected(read.anchor, "the cursor's entry no longer exists")
        if kind == "e":
            # Entries strictly after it (mode=after) or strictly before it (mode=before).
            return bisect_left(keys, entry_key) if read.backward else bisect_right(keys, entry_key)
        return bisect_right(keys, entry_key) if side[0] == "after" else bisect_left(keys, entry_key)

    def _read_offsets(self, entries: list[Job], read: RawRead) -> Run:
        count = len(entries)
        limit = min(read.limit, self.page_cap)
        if read.backward:
            assert read.anchor == END
            hi = max(0, count - read.skip)
            lo = max(0, hi - limit)
            jobs = entries[lo:hi]
            anchors = [(len(jobs) + (count - hi), END)]
            if lo == 0:
                anchors.append((0, START))
            origin = len(jobs) + (count - hi)
            first, last = lo == 0, True
        else:
            assert read.anchor == START
            lo = min(read.skip, count)
            hi = min(count, lo + limit)
            jobs = entries[lo:hi]
            anchors = [(-lo, START)]
            if hi == count:
                anchors.append((len(jobs), END))
            origin = -lo
            first, last = lo == 0, hi == count
        self.items_served += len(jobs)
        return Run(jobs, anchors, origin=origin, total=count, first=first, last=last)

    async def count(self, query: JobQuery, stream: StreamPlan) -> int | None:
        self._maybe_fail()
        return len(self._entries(query, stream)) if self.offset_pages else None

    async def fetch(self, ids: Sequence[str]) -> dict[str, Job | None]:
        by_id = {job.source_id: job for job in self.jobs}
        return {i: by_id.get(i) for i in ids}


EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _describe(self: FakeSource) -> str:
    jobs = ", ".join(f"{j.source_id}@{int((j.created_at - EPOCH).total_seconds())}" for j in self.jobs)
    return (
        f"FakeSource({self.source.name}, offset_pages={self.offset_pages}, split={self.split_by_status}, "
        f"cap={self.page_cap}, cursors={self.cursors}, ties={self.ties}, [{jobs}])"
    )


FakeSource.__repr__ = _describe  # type: ignore[method-assign]
