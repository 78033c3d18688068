"""In-memory upstreams for engine tests: keyset cursors (like DevRev) or offset pages.

They follow the `JobSource` protocol exactly as the real clients do, so the engine and the
pagination driver are tested without HTTP, against a brute-force oracle.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from gateway.engine.gaps import END, START, Run
from gateway.engine.order import sort_key
from gateway.engine.reads import RawRead
from gateway.errors import UpstreamUnavailable
from gateway.ids import encode_job_id
from gateway.model import Job, JobFilter, JobQuery, JobStatus, Source
from gateway.sources.base import Skipped, StreamPlan


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


def _freeze(value: Any) -> Any:
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


class FakeSource:
    """One upstream over a list of jobs; `offset_pages` selects the anchor regime."""

    def __init__(
        self,
        source: Source,
        jobs: list[Job],
        *,
        offset_pages: bool = False,
        split_by_status: bool = False,
        page_cap: int = 100,
    ) -> None:
        self.source = source
        self.jobs = jobs
        self.offset_pages = offset_pages
        self.split_by_status = split_by_status
        self.page_cap = page_cap
        self.requests = 0
        self.items_served = 0
        self.failure_rate = 0.0
        self.dice = random.Random(0)

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

    def _entries(self, query: JobQuery, stream: StreamPlan) -> list[Job]:
        key = sort_key(query.order)
        wanted = [job for job in self.jobs if matches(job, query.filter)]
        if stream.params is not None:
            wanted = [job for job in wanted if job.status.value in stream.params]
        return sorted(wanted, key=key)

    async def read(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        self.requests += 1
        self._maybe_fail()
        entries = self._entries(query, stream)
        count = len(entries)
        if self.offset_pages:
            return self._read_offsets(entries, read)
        key = sort_key(query.order)
        keys = [key(job) for job in entries]
        if read.anchor == START:
            at = 0
        elif read.anchor == END:
            at = count
        else:
            at = bisect_right(keys, _freeze(read.anchor[1]))
        limit = min(read.skip + read.limit, self.page_cap)
        if read.backward:
            lo, hi = max(0, at - limit), at
        else:
            lo, hi = at, min(count, at + limit)
        jobs = entries[lo:hi]
        self.items_served += len(jobs)

        def point(i: int) -> Any:
            if i == 0:
                return START
            if i == count:
                return END
            return ["k", _thaw(keys[i - 1])]

        anchors = {0: point(lo), len(jobs): point(hi)} if jobs else {0: read.anchor}
        return Run(jobs, anchors, origin=len(jobs) if read.backward else 0, first=lo == 0, last=hi == count)

    def _read_offsets(self, entries: list[Job], read: RawRead) -> Run:
        count = len(entries)
        limit = min(read.limit, self.page_cap)
        if read.backward:
            assert read.anchor == END
            hi = max(0, count - read.skip)
            lo = max(0, hi - limit)
            jobs = entries[lo:hi]
            anchors = {len(jobs) + (count - hi): END}
            if lo == 0:
                anchors[0] = START
            origin = len(jobs) + (count - hi)
            first, last = lo == 0, True
        else:
            assert read.anchor == START
            lo = min(read.skip, count)
            hi = min(count, lo + limit)
            jobs = entries[lo:hi]
            anchors = {-lo: START}
            if hi == count:
                anchors[len(jobs)] = END
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
    return f"FakeSource({self.source.name}, offset_pages={self.offset_pages}, split={self.split_by_status}, cap={self.page_cap}, [{jobs}])"


FakeSource.__repr__ = _describe  # type: ignore[method-assign]
