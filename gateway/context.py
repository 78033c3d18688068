"""What every GraphQL request carries: its sources, its own lookup batcher, the app's page sharing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiodataloader import DataLoader
from graphql import GraphQLError

from gateway.engine.cursor import DEFAULT_CURSOR_KEY
from gateway.lookup import job_loader
from gateway.pagination import SharedPages
from gateway.sources.base import JobSource, Unconfigured


@dataclass
class RequestContext:
    sources: Sequence[JobSource | Unconfigured]
    cursor_key: bytes = DEFAULT_CURSOR_KEY
    pages: SharedPages = field(default_factory=SharedPages)  # the app passes its one, shared
    jobs: DataLoader = field(init=False)
    errors: list[GraphQLError] = field(default_factory=list)  # reported beside data

    def __post_init__(self) -> None:
        self.jobs = job_loader(self.sources)
