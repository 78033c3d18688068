"""Test doubles for the upstream layer: a clock that moves only when slept on, and a
scripted HTTP upstream that counts what it receives."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from gateway.upstream import Metrics, Upstream, UpstreamPolicy

SECRET = "tok-SECRET-5f2a9c"


class FakeClock:
    """`clock()` is the time; `sleep(s)` moves it on and records the wait."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class Script:
    """Answers requests in turn from `responses` (the last one repeats); counts requests."""

    def __init__(
        self, *responses: httpx.Response | Exception | Callable[[httpx.Request], Any]
    ) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses[min(len(self.requests), len(self.responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def ok(body: Any = None) -> httpx.Response:
    return httpx.Response(200, json={"ok": True} if body is None else body)


def status(code: int, body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(
        code, json=body if body is not None else {"message": f"status {code}"}, headers=headers
    )


def error_message(body: Any) -> str | None:
    return body.get("message") if isinstance(body, dict) else None


def make_upstream(
    script: Script,
    clock: FakeClock,
    *,
    random: Callable[[], float] = lambda: 0.5,
    metrics: Metrics | None = None,
    **policy: Any,
) -> Upstream:
    client = httpx.AsyncClient(transport=httpx.MockTransport(script))
    return Upstream(
        "Test",
        client,
        credential=SECRET,
        headers={"Authorization": f"Bearer {SECRET}"},
        error_message=error_message,
        policy=UpstreamPolicy(**policy),
        metrics=metrics or Metrics(),
        clock=clock,
        random=random,
        sleep=clock.sleep,
    )
