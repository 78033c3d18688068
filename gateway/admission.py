"""Admission control: a bounded number of requests in execution, a short bounded queue, and
a fast coded refusal for the rest.

Without it every request that arrives starts at once, and under a burst they all share the
CPU: each gets slower, and past some load most of them spend their deadline waiting for the
event loop instead of answering. Bounding what runs keeps the accepted requests fast; the
excess is told at once (503 `OVERLOADED` with `Retry-After`) and can go to another replica
or come back later — what Envoy's and Apollo Router's concurrency limits do.

One `Admission` per worker process. The body is read before a slot is taken, so a client
that uploads slowly never holds one.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.envvars import seconds, whole_number
from gateway.security.errors import error_response

OVERLOADED = "OVERLOADED"


@dataclass(frozen=True, slots=True)
class AdmissionSettings:
    """Defaults from bench/RESULTS.md: one worker's throughput of 100-job pages is flat from
    about 32 requests in execution (245 req/s, p99 265 ms on one core); more in execution only
    lengthen every request. Tune with bench/load200.py (README, "Operating the gateway")."""

    max_concurrency: int = 32
    """Requests in execution at once, per worker; 0 turns admission control off."""
    max_queue: int = 64
    """Requests that may wait for a slot; beyond it a request is refused at once."""
    queue_timeout: float = 0.5
    """Seconds a request waits for a slot before it is refused."""
    retry_after: int = 1
    """Seconds a refused client is asked to wait (`Retry-After`)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AdmissionSettings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            max_concurrency=whole_number(env, "GATEWAY_MAX_CONCURRENCY", defaults.max_concurrency, minimum=0),
            max_queue=whole_number(env, "GATEWAY_MAX_QUEUE", defaults.max_queue, minimum=0),
            queue_timeout=seconds(env, "GATEWAY_QUEUE_TIMEOUT", defaults.queue_timeout),
            retry_after=whole_number(env, "GATEWAY_RETRY_AFTER", defaults.retry_after),
        )

    @property
    def enabled(self) -> bool:
        return self.max_concurrency > 0


class Admission:
    """Slots for requests in execution, and a FIFO of requests waiting for one.

    A slot freed while someone waits passes straight to the longest waiter, so a newcomer
    never overtakes the queue.
    """

    def __init__(self, settings: AdmissionSettings) -> None:
        self.settings = settings
        self.active = 0
        self.refused = 0
        self.queued_total = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def acquire(self) -> bool:
        """True with a slot held (give it back with `release`); False when refused."""
        if self.active < self.settings.max_concurrency and not self._waiting:
            self.active += 1
            return True
        if len(self._waiting) >= self.settings.max_queue:
            self.refused += 1
            return False
        ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(ticket)
        self.queued_total += 1
        try:
            await asyncio.wait((ticket,), timeout=self.settings.queue_timeout)
        except BaseException:  # the client went away while waiting
            self._leave(ticket)
            raise
        if ticket.done():
            return True  # `release` handed its slot over
        self._leave(ticket)
        self.refused += 1
        return False

    def release(self) -> None:
        while self._waiting:
            ticket = self._waiting.popleft()
            if not ticket.done():
                ticket.set_result(None)
                return
        self.active -= 1

    def _leave(self, ticket: asyncio.Future[None]) -> None:
        if ticket.done() and not ticket.cancelled():
            self.release()  # handed a slot in the same instant: pass it on
            return
        ticket.cancel()
        try:
            self._waiting.remove(ticket)
        except ValueError:
            pass

    def prometheus(self) -> str:
        return (
            "# TYPE gateway_admission_active gauge\n"
            f"gateway_admission_active {self.active}\n"
            "# TYPE gateway_admission_waiting gauge\n"
            f"gateway_admission_waiting {self.waiting}\n"
            "# TYPE gateway_admission_queued_total counter\n"
            f"gateway_admission_queued_total {self.queued_total}\n"
            "# TYPE gateway_admission_refused_total counter\n"
            f"gateway_admission_refused_total {self.refused}\n"
        )


class AdmissionMiddleware:
    """Runs an HTTP request only with a slot of `admission`; refuses it with 503 otherwise.

    Paths in `exempt` (health checks, metrics) always run: a load balancer must see an
    overloaded replica as alive.
    """

    def __init__(self, app: ASGIApp, *, admission: Admission, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.admission = admission
        self.exempt = frozenset(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt or not self.admission.settings.enabled:
            await self.app(scope, receive, send)
            return
        replay = await _read_body(receive)
        if not await self.admission.acquire():
            retry = str(self.admission.settings.retry_after)
            response = error_response(
                503,
                OVERLOADED,
                "The gateway is at capacity; retry after the number of seconds in Retry-After.",
                {"Retry-After": retry},
                extensions={"retryAfter": self.admission.settings.retry_after},
            )
            await response(scope, replay, send)
            return
        try:
            await self.app(scope, replay, send)
        finally:
            self.admission.release()


async def _read_body(receive: Receive) -> Receive:
    """Read the whole body now; the returned `receive` hands it out again, then defers to
    the server's (for `http.disconnect`)."""
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if messages[-1]["type"] != "http.request":
        pending.append(messages[-1])  # a disconnect while the body came in

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


__all__ = ["OVERLOADED", "Admission", "AdmissionMiddleware", "AdmissionSettings"]
