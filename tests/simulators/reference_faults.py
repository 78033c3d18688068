"""Reference fault middleware: `FaultMiddleware.__call__` as it was before its fast path.

`hang` and `reset` are left out: the equivalence test does not inject them (they
neither answer nor depend on the list/get code being compared).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.simulators.faults import MISSING_FIELD_KEY, ApiStyle, edge_error, is_admin_path

if TYPE_CHECKING:
    from gateway.simulators.state import SimState

_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}


class ReferenceFaultMiddleware:
    """Counts API requests, adds latency and injects the configured fault."""

    def __init__(self, app: ASGIApp, *, sim: SimState, style: ApiStyle) -> None:
        self.app = app
        self.sim = sim
        self.style = style

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        self.sim.stats.record(path, self.style.classify(path))
        faults = self.sim.faults
        latency = faults.config.latency_ms if faults.config.covers(path) else 0.0
        if latency:
            await asyncio.sleep(latency / 1000)
        hit = faults.draw(path)
        if hit is None:
            await self.app(scope, receive, send)
            return
        self.sim.stats.faults_injected += 1
        if hit.kind == "status":
            assert hit.status is not None
            if hit.status in _REASONS:
                response = edge_error(hit.status)
            else:
                response = self.style.status_error(
                    hit.status, hit.retry_after, faults.reference_id()
                )
            await response(scope, receive, send)
        elif hit.kind == "malformed":
            await self.style.malformed(path)(scope, receive, send)
        elif hit.kind == "envelope":
            await self.style.envelope(path)(scope, receive, send)
        elif hit.kind == "missing_field":
            scope[MISSING_FIELD_KEY] = True
            await self.app(scope, receive, send)
        elif hit.kind == "slow":
            await asyncio.sleep(hit.delay_ms / 1000)
            await self.app(scope, receive, send)
        else:
            raise AssertionError(f"the reference does not model {hit.kind!r}")
