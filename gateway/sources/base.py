"""The one small protocol every upstream implements, and what it hands the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


@dataclass(frozen=True, slots=True)
class Unconfigured:
    """A source that is registered but has no credentials: reported, never called."""

    source: Source
    reason: str
