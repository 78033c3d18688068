"""Sharing identical in-flight calls: keys, copies, errors, cancellation, deadlines."""

from __future__ import annotations

import asyncio

import pytest
from upstream_fakes import SECRET

from gateway.upstream import deadline
from gateway.upstream.coalesce import Coalescer, credential_key, request_key


class Call:
    """A call that blocks until released; counts how often it started."""

    def __init__(self, result: object = None, error: Exception | None = None) -> None:
        self.started = 0
        self.cancelled = False
        self.release = asyncio.Event()
        self.result = {"rows": [1, 2]} if result is None else result
        self.error = error

    async def __call__(self) -> object:
        self.started += 1
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.result


def test_credential_key_is_a_digest_not_the_secret() -> None:
    key = credential_key(SECRET, {"Authorization": f"Bearer {SECRET}"})
    assert SECRET not in key and len(key) == 64
    assert key != credential_key("other", {"Authorization": "Bearer other"})
    assert key == credential_key(SECRET, {"authorization": f"Bearer {SECRET}"})


def test_request_key_ignores_mapping_order_but_not_list_order() -> None:
    same = request_key(
        "S", "h", "get", "https://a/x", params={"a": "1", "b": "2"}, json_body={"x": 1, "y": [1, 2]}
    )
    assert same == request_key(
        "S", "h", "GET", "https://a/x", params={"b": "2", "a": "1"}, json_body={"y": [1, 2], "x": 1}
    )
    assert same != request_key(
        "S", "h", "GET", "https://a/x", params={"a": "1", "b": "2"}, json_body={"x": 1, "y": [2, 1]}
    )
    repeated = request_key("S", "h", "GET", "u", params=[("s", "a"), ("s", "b")])
    assert repeated != request_key("S", "h", "GET", "u", params=[("s", "b"), ("s", "a")])
    mixed = request_key("S", "h", "GET", "u", params=[("s", "a"), ("t", "1"), ("s", "b")])
    assert mixed == request_key("S", "h", "GET", "u", params=[("t", "1"), ("s", "a"), ("s", "b")])
    assert same != request_key(
        "S",
        "other",
        "GET",
        "https://a/x",
        params={"a": "1", "b": "2"},
        json_body={"x": 1, "y": [1, 2]},
    )
    assert request_key("S", "h", "GET", "u") != request_key("S", "h", "GET", "u", not_found_ok=True)


async def test_waiters_share_one_call_and_its_one_read_only_answer() -> None:
    coalescer, call = Coalescer(), Call()
    joined = []
    waiters = [
        asyncio.create_task(coalescer.run("k", call, on_join=lambda: joined.append(1)))
        for _ in range(5)
    ]
    await asyncio.sleep(0)
    assert len(coalescer) == 1
    call.release.set()
    results = await asyncio.gather(*waiters)
    assert call.started == 1 and len(joined) == 4
    assert all(result is call.result for result in results)  # no copy per waiter
    assert len(coalescer) == 0


async def test_a_lone_caller_gets_the_result_itself() -> None:
    coalescer, call = Coalescer(), Call()
    call.release.set()
    assert await coalescer.run("k", call) is call.result


async def test_errors_reach_every_waiter() -> None:
    coalescer, call = Coalescer(), Call(error=ValueError("boom"))
    waiters = [asyncio.create_task(coalescer.run("k", call)) for _ in range(3)]
    await asyncio.sleep(0)
    call.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results) and call.started == 1


async def test_one_waiter_leaving_does_not_cancel_the_call_for_others() -> None:
    coalescer, call = Coalescer(), Call()
    first = asyncio.create_task(coalescer.run("k", call))
    second = asyncio.create_task(coalescer.run("k", call))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    call.release.set()
    assert await second == {"rows": [1, 2]}
    assert not call.cancelled


async def test_the_call_is_cancelled_when_nobody_waits() -> None:
    coalescer, call = Coalescer(), Call()
    waiters = [asyncio.create_task(coalescer.run("k", call)) for _ in range(2)]
    await asyncio.sleep(0)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await asyncio.sleep(0)
    assert call.cancelled and len(coalescer) == 0
    again = Call()
    again.release.set()
    assert await coalescer.run("k", again) == again.result  # a fresh call, not the cancelled one


async def test_a_joiner_with_less_time_stops_waiting_alone() -> None:
    coalescer, call = Coalescer(), Call()
    with deadline(5):
        leader = asyncio.create_task(coalescer.run("k", call))
    await asyncio.sleep(0)
    with deadline(0.05), pytest.raises(TimeoutError):
        await coalescer.run("k", call)
    assert not leader.done()
    call.release.set()
    assert await leader == {"rows": [1, 2]}


async def test_alone_if_sooner_a_caller_with_less_time_makes_its_own_call() -> None:
    coalescer, shared, own = Coalescer(), Call(), Call(result={"rows": [3]})
    with deadline(5):
        leader = asyncio.create_task(coalescer.run("k", shared, alone_if_sooner=True))
    await asyncio.sleep(0)
    with deadline(1):
        alone = asyncio.create_task(coalescer.run("k", own, alone_if_sooner=True))
    with deadline(9):  # more time than the flight: joins it
        joiner = asyncio.create_task(coalescer.run("k", shared, alone_if_sooner=True))
    await asyncio.sleep(0)
    assert own.started == 1 and shared.started == 1 and len(coalescer) == 1
    own.release.set()
    assert await alone == {"rows": [3]}
    assert not leader.done()
    shared.release.set()
    assert await leader == await joiner == {"rows": [1, 2]}
