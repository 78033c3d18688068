"""What one simulator app carries: its jobs, clock, faults and counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import SimClock
from .faults import Faults
from .store import JobStore

__all__ = ["SimStats", "SimState"]


@dataclass
class SimStats:
    """Request counters, so tests can assert how hard the gateway hit an upstream.

    `requests` counts every API request by path as it arrives (faulted or not);
    `list_requests`/`get_requests` count arrivals at the list and single-job
    endpoints; `items_served` counts jobs actually returned.
    """

    requests: dict[str, int] = field(default_factory=dict)
    list_requests: int = 0
    get_requests: int = 0
    items_served: int = 0
    faults_injected: int = 0

    def record(self, path: str, kind: Literal["list", "get"] | None) -> None:
        self.requests[path] = self.requests.get(path, 0) + 1
        if kind == "list":
            self.list_requests += 1
        elif kind == "get":
            self.get_requests += 1

    def reset(self) -> None:
        self.requests = {}
        self.list_requests = self.get_requests = self.items_served = self.faults_injected = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "list_requests": self.list_requests,
            "get_requests": self.get_requests,
            "items_served": self.items_served,
            "faults_injected": self.faults_injected,
        }


@dataclass
class SimState:
    """Exposed as `app.state.sim` for in-process control."""

    store: JobStore
    clock: SimClock
    faults: Faults
    credential: str
    stats: SimStats = field(default_factory=SimStats)
