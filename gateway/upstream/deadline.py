"""One time limit per GraphQL request, shared by every upstream call it makes.

The limit lives in a `ContextVar`, so tasks started while serving the request (gathers,
coalesced calls) inherit it. Waits, timeouts and retries below cap themselves to what is
left, so a request answers within its limit even when an upstream hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import UpstreamTimeout

Clock = Callable[[], float]

__all__ = [
    "Clock",
    "Deadline",
    "DeadlineMiddleware",
    "current",
    "deadline",
    "expired",
    "remaining",
    "reset_deadline",
    "set_deadline",
]


@dataclass(frozen=True, slots=True)
class Deadline:
    """An instant on `clock`; carries its clock so tests can freeze time."""

    expires_at: float
    clock: Clock = time.monotonic

    def remaining(self) -> float:
        return max(0.0, self.expires_at - self.clock())


_current: ContextVar[Deadline | None] = ContextVar("gateway_upstream_deadline", default=None)


def current() -> Deadline | None:
    return _current.get()


def remaining() -> float | None:
    """Seconds left for this request, or None when no limit was set."""
    found = _current.get()
    return None if found is None else found.remaining()


def set_deadline(seconds: float, *, clock: Clock = time.monotonic) -> Token[Deadline | None]:
    """Limit the rest of this context to `seconds`; an earlier limit already set wins."""
    outer = _current.get()
    if outer is not None and outer.remaining() <= seconds:
        return _current.set(outer)
    return _current.set(Deadline(clock() + seconds, clock))


def reset_deadline(token: Token[Deadline | None]) -> None:
    _current.reset(token)


@contextmanager
def deadline(seconds: float | None, *, clock: Clock = time.monotonic) -> Iterator[Deadline | None]:
    """`with deadline(8): ...` — a block can shorten the limit around it, never extend it."""
    if seconds is None:
        yield _current.get()
        return
    token = set_deadline(seconds, clock=clock)
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def expired(source: str) -> UpstreamTimeout:
    """The error for a request whose time ran out before `source` answered."""
    return UpstreamTimeout(source, f"{source} did not answer within the request's time limit.")


class DeadlineMiddleware:
    """Gives every HTTP request `seconds` in total for its upstream calls."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with deadline(self.seconds):
            await self.app(scope, receive, send)
