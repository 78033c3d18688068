"""The one small protocol every upstream implements, and what it hands the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.engine.gaps import Run
from gateway.engine.reads import RawRead
from gateway.model import Job, JobQuery, Source


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """One sorted upstream list a query needs, and what the gateway must do locally.

    `name` is unique in the connection and appears in cursors. `keep` filters what the
    upstream could not (None: nothing to filter). `cheap_skip` says the upstream can skip
    entries itself (page offsets), so re-reading from far back costs nothing extra.
    `max_limit` is the most entries one upstream request returns.
    """

    name: str
    params: Any
    keep: Callable[[Job], bool] | None = None
    cheap_skip: bool = False
    max_limit: int = 100


@dataclass(frozen=True, slots=True)
class Skipped:
    """A source that takes no part in a query, and why, in words for the client."""

    reason: str


class JobSource(Protocol):
    source: Source

    def plan(self, query: JobQuery) -> list[StreamPlan] | Skipped:
        """The streams that together hold exactly the query's jobs of this source."""

    async def read(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        """Answer one raw read with one upstream request."""

    async def count(self, query: JobQuery, stream: StreamPlan) -> int | None:
        """The stream's size, if the upstream can say so."""

    async def fetch(self, ids: Sequence[str]) -> dict[str, Job | None]:
        """Jobs by upstream id; None for ids the upstream does not know."""

    def with_credential(self, credential: str) -> JobSource:
        """The same source, called with a caller's own credential (forward mode)."""


@dataclass(frozen=True, slots=True)
class Unconfigured:
    """A source that is registered but has no credentials: reported, never called."""

    source: Source
    reason: str


LOOKUP_CONCURRENCY = 100  # one wave for the largest lookup (`nodes` takes 100 ids)


async def fetch_each(ids: Sequence[str], get_one: Callable[[str], Awaitable[Job | None]]) -> dict[str, Job | None]:
    """Look jobs up one request per id, for upstreams with no batch lookup: concurrently,
    bounded so one huge `_entities` batch cannot open unbounded connections."""
    limit = asyncio.Semaphore(LOOKUP_CONCURRENCY)

    async def bounded(job_id: str) -> Job | None:
        async with limit:
            return await get_one(job_id)

    return dict(zip(ids, await asyncio.gather(*(bounded(job_id) for job_id in ids))))
