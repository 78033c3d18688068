"""The per-request deadline: nesting, inheritance by tasks, and the ASGI middleware."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from upstream_fakes import FakeClock

from gateway.upstream import DeadlineMiddleware, deadline, remaining, reset_deadline, set_deadline
from gateway.upstream.deadline import current, expired


def test_no_deadline_means_none() -> None:
    assert remaining() is None
    with deadline(None):
        assert remaining() is None


def test_remaining_counts_down_and_never_goes_negative() -> None:
    clock = FakeClock()
    with deadline(2, clock=clock):
        assert remaining() == 2
        clock.advance(1.5)
        assert remaining() == 0.5
        clock.advance(5)
        assert remaining() == 0
    assert remaining() is None


def test_inner_block_can_shorten_but_not_extend() -> None:
    clock = FakeClock()
    with deadline(5, clock=clock) as outer:
        with deadline(10, clock=clock) as inner:
            assert inner is outer and remaining() == 5
        with deadline(1, clock=clock):
            assert remaining() == 1
        assert remaining() == 5


def test_set_and_reset() -> None:
    token = set_deadline(3)
    try:
        left = remaining()
        assert left is not None and 2.9 < left <= 3
    finally:
        reset_deadline(token)
    assert current() is None


async def test_tasks_inherit_the_deadline() -> None:
    async def seen() -> float | None:
        return remaining()

    with deadline(4):
        left = await asyncio.gather(seen(), asyncio.create_task(seen()))
    assert all(value is not None and 3.9 < value <= 4 for value in left)


def test_expired_names_the_source() -> None:
    error = expired("DevRev")
    assert error.code == "UPSTREAM_TIMEOUT" and error.extensions == {"source": "DevRev"}


async def test_middleware_sets_a_deadline_per_request() -> None:
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse({"remaining": remaining()})

    app = DeadlineMiddleware(Starlette(routes=[Route("/", endpoint)]), seconds=2.5)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        left = (await client.get("/")).json()["remaining"]
    assert 2.4 < left <= 2.5
    assert remaining() is None
