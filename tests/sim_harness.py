"""The real DevRev and DocuRift clients wired to the simulators in process, plus an oracle.

Each simulator gets its own `httpx.AsyncClient` over `httpx.ASGITransport`; the clock is
frozen, so every answer is deterministic. The oracle is brute force: every job a simulator
stores, normalized by the client's own `normalize`, filtered with the `JobFilter`
semantics and sorted by the connection's key.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gateway.engine.order import sort_key
from gateway.model import Job, JobFilter, JobQuery, Source
from gateway.pagination import JobPage, PageArgs, fetch_page
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app
from gateway.simulators.timefmt import devrev_ts, docurift_ts
from gateway.sources import devrev, docurift
from gateway.upstream import UpstreamPolicy
from gateway.sources.devrev import DevRevSource
from gateway.sources.docurift import DocuRiftSource

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
# These tests check what one upstream answer becomes; retries and breakers have their own
# tests (tests/upstream), so here every call is a single attempt.
SINGLE_ATTEMPT = UpstreamPolicy(max_attempts=1, breaker_threshold=1_000_000)

TOKEN = "devrev-harness-token"
KEY = "frc_" + "harness".ljust(32, "0")
DEVREV_URL = "http://devrev.test"
DOCURIFT_URL = "http://docurift.test"


def frozen_clock() -> SimClock:
    return SimClock(START, frozen=True)


def devrev_at(offset_ms: int) -> str:
    """A DevRev timestamp `offset_ms` milliseconds before START."""
    return devrev_ts(START - timedelta(milliseconds=offset_ms))


def docurift_at(offset_s: int) -> str:
    """A DocuRift timestamp `offset_s` seconds before START."""
    return docurift_ts(START - timedelta(seconds=offset_s))


class Recorder:
    """Keeps every request a client sends (method, path, query params, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def clear(self) -> None:
        self.requests.clear()

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def client_for(app: Any, base_url: str, recorder: Recorder | None = None, **kwargs: Any) -> httpx.AsyncClient:
    hooks = {"request": [recorder]} if recorder is not None else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, event_hooks=hooks, **kwargs
    )


@dataclass
class World:
    """Both simulators, a client and a real source for each, and their request logs."""

    clock: SimClock
    devrev_app: Any
    docurift_app: Any
    devrev: DevRevSource
    docurift: DocuRiftSource
    devrev_log: Recorder = field(default_factory=Recorder)
    docurift_log: Recorder = field(default_factory=Recorder)

    @property
    def sources(self) -> list[Any]:
        return [self.devrev, self.docurift]

    @property
    def devrev_sim(self) -> Any:
        return self.devrev_app.state.sim

    @property
    def docurift_sim(self) -> Any:
        return self.docurift_app.state.sim

    def reset_stats(self) -> None:
        self.devrev_sim.stats.reset()
        self.docurift_sim.stats.reset()

    def all_jobs(self) -> list[Job]:
        return [job for job, _ in self.jobs_with_facts()]

    def jobs_with_facts(self) -> list[tuple[Job, Any]]:
        """Every stored job, normalized, with its simulator-private facts (owners, parents)."""
        out: list[tuple[Job, Any]] = []
        for sim, normalize in ((self.devrev_sim, devrev.normalize), (self.docurift_sim, docurift.normalize)):
            for raw in sim.store.jobs:
                out.append((normalize(raw), sim.store.get(raw["id"])))
        return out

    def expected(self, query: JobQuery) -> list[Job]:
        jobs = [job for job, stored in self.jobs_with_facts() if matches(job, stored, query.filter)]
        return sorted(jobs, key=sort_key(query.order))

    def expected_ids(self, query: JobQuery) -> list[str]:
        return [job.id for job in self.expected(query)]


def matches(job: Job, stored: Any, f: JobFilter) -> bool:
    """The connection's filter, spelled out: OR inside a field, AND across fields."""
    if f.sources and job.source not in f.sources:
        return False
    if f.status and job.status not in f.status:
        return False
    if not f.accepts_time(job.created_at):
        return False
    if f.document_types and job.document_type not in f.document_types:
        return False
    if f.categories and job.category not in f.categories:
        return False
    if f.created_by and (job.created_by is None or job.created_by.id not in f.created_by):
        return False
    if f.owned_by and (job.source is not Source.DEVREV or set(f.owned_by).isdisjoint(stored.owners)):
        return False
    if f.parent_ids and (job.source is not Source.DEVREV or set(f.parent_ids).isdisjoint(stored.parents)):
        return False
    return True


@asynccontextmanager
async def world(
    devrev_jobs: Sequence[dict[str, Any]] = (),
    docurift_jobs: Sequence[dict[str, Any]] = (),
    *,
    clock: SimClock | None = None,
    devrev_count: int | None = None,
    docurift_count: int | None = None,
    seed: int = 7,
) -> AsyncIterator[World]:
    """Both simulators with the given jobs (or `count` seeded ones), and the real clients."""
    clock = clock if clock is not None else frozen_clock()
    devrev_app = create_devrev_app(
        token=TOKEN,
        clock=clock,
        seed=seed,
        count=devrev_count or 0,
        jobs=None if devrev_count is not None else list(devrev_jobs),
    )
    docurift_app = create_docurift_app(
        api_key=KEY,
        clock=clock,
        seed=seed + 4,
        count=docurift_count or 0,
        jobs=None if docurift_count is not None else list(docurift_jobs),
    )
    devrev_log, docurift_log = Recorder(), Recorder()
    async with client_for(devrev_app, DEVREV_URL, devrev_log) as devrev_client, client_for(
        docurift_app, DOCURIFT_URL, docurift_log
    ) as docurift_client:
        yield World(
            clock,
            devrev_app,
            docurift_app,
            DevRevSource(devrev_client, DEVREV_URL, TOKEN, policy=SINGLE_ATTEMPT),
            DocuRiftSource(docurift_client, DOCURIFT_URL, KEY, policy=SINGLE_ATTEMPT),
            devrev_log,
            docurift_log,
        )


@dataclass
class Traversal:
    ids: list[str]
    pages: list[JobPage]


async def traverse(
    sources: Sequence[Any],
    query: JobQuery,
    sizes: Sequence[int],
    *,
    backward: bool,
    cursor: str | None = None,
    on_page: Callable[[int, JobPage], Any] | None = None,
    max_pages: int = 400,
    want_total: bool = True,
) -> Traversal:
    """Page until the connection says there is no more; returns ids in the connection's order."""
    seen: list[str] = []
    pages: list[JobPage] = []
    for turn in range(max_pages):
        size = sizes[turn % len(sizes)]
        page = await fetch_page(sources, query, PageArgs(size, backward, cursor), want_total=want_total)
        pages.append(page)
        ids = [job.id for job in page.nodes]
        assert len(ids) <= size
        seen = ids + seen if backward else seen + ids
        more = page.page_info.has_previous_page if backward else page.page_info.has_next_page
        if not more:
            return Traversal(seen, pages)
        assert ids, "a page with more to come must not be empty"
        if on_page is not None:
            result = on_page(turn, page)
            if asyncio.iscoroutine(result):
                await result
        cursor = page.page_info.start_cursor if backward else page.page_info.end_cursor
    raise AssertionError("traversal did not end")
