"""`Upstream.request_json` over a scripted transport, with a clock that only moves when slept on."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from upstream_fakes import FakeClock, Script, make_upstream, ok, status

from gateway.errors import (
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.upstream import Metrics, State, deadline

URL = "https://api.test/jobs"


async def test_success_is_one_request() -> None:
    script = Script(ok({"jobs": [1]}))
    upstream = make_upstream(script, FakeClock())
    assert await upstream.request_json("GET", URL, params={"a": "1"}) == {"jobs": [1]}
    assert len(script.requests) == 1
    assert script.requests[0].url.params["a"] == "1"
    assert script.requests[0].headers["authorization"].startswith("Bearer ")


@pytest.mark.parametrize("code", [502, 503, 504, 429])
async def test_retryable_statuses_are_retried_with_full_jitter(code: int) -> None:
    clock = FakeClock()
    script = Script(status(code), status(code), ok())
    upstream = make_upstream(script, clock, random=lambda: 0.5, backoff_base=0.1, backoff_cap=2.0)
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert len(script.requests) == 3
    assert clock.sleeps == [pytest.approx(0.05), pytest.approx(0.1)]  # 0.5 × 0.1·2^(n-1)


async def test_backoff_is_capped() -> None:
    clock = FakeClock()
    script = Script(status(503), status(503), status(503), ok())
    upstream = make_upstream(
        script, clock, random=lambda: 1.0, backoff_base=1.0, backoff_cap=1.5, max_attempts=4
    )
    with deadline(60, clock=clock):
        await upstream.request_json("GET", URL)
    assert clock.sleeps == [1.0, 1.5, 1.5]


async def test_connection_errors_are_retried() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.RemoteProtocolError("dropped"), ok())
    upstream = make_upstream(script, FakeClock())
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert len(script.requests) == 3


async def test_client_timeout_is_retried_while_time_remains() -> None:
    script = Script(httpx.ReadTimeout("slow"), ok())
    upstream = make_upstream(script, FakeClock())
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert len(script.requests) == 2


async def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    script = Script(status(503))
    metrics = Metrics()
    upstream = make_upstream(script, FakeClock(), metrics=metrics, max_attempts=3)
    with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
        await upstream.request_json("GET", URL)
    assert len(script.requests) == 3
    counts = metrics.snapshot()["sources"]["Test"]
    assert counts["requests"] == 3 and counts["retries"] == 2
    assert counts["failures"] == {"UPSTREAM_UNAVAILABLE": 1}
    assert counts["attempt_failures"] == {"UPSTREAM_UNAVAILABLE": 3}


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (status(500), UpstreamUnavailable),
        (status(400), UpstreamBadResponse),
        (status(401), UpstreamAuth),
        (status(403), UpstreamAuth),
        (status(404), UpstreamBadResponse),
        (status(413), UpstreamBadResponse),
        (httpx.Response(200, text="{not json"), UpstreamBadResponse),
    ],
)
async def test_failures_retrying_cannot_fix_are_not_retried(
    response: httpx.Response, error: type
) -> None:
    script = Script(response, ok())
    upstream = make_upstream(script, FakeClock())
    with pytest.raises(error):
        await upstream.request_json("GET", URL)
    assert len(script.requests) == 1


async def test_tolerated_404_is_none() -> None:
    script = Script(status(404))
    upstream = make_upstream(script, FakeClock())
    assert await upstream.request_json("GET", URL, not_found_ok=True) is None
    assert len(script.requests) == 1


async def test_retry_after_that_fits_is_waited_exactly() -> None:
    clock = FakeClock()
    script = Script(status(429, {"message": "slow down", "retry_after": 2}), ok())
    upstream = make_upstream(script, clock)
    with deadline(5, clock=clock):
        assert await upstream.request_json("GET", URL) == {"ok": True}
    assert clock.sleeps == [2.0]
    assert len(script.requests) == 2


async def test_retry_after_header_wins_over_body() -> None:
    clock = FakeClock()
    script = Script(status(429, {"retry_after": 4}, **{"Retry-After": "1"}), ok())
    upstream = make_upstream(script, clock)
    await upstream.request_json("GET", URL)
    assert clock.sleeps == [1.0]


async def test_retry_after_longer_than_the_deadline_fails_fast() -> None:
    clock = FakeClock()
    script = Script(status(429, {"message": "slow down"}, **{"Retry-After": "30"}), ok())
    upstream = make_upstream(script, clock)
    with deadline(5, clock=clock), pytest.raises(UpstreamRateLimited) as caught:
        await upstream.request_json("GET", URL)
    assert caught.value.extensions["retryAfter"] == 30
    assert clock.sleeps == [] and len(script.requests) == 1


async def test_retry_after_holds_later_calls_with_the_same_credential() -> None:
    clock = FakeClock()
    metrics = Metrics()
    script = Script(status(429, {"retry_after": 30}), ok())
    upstream = make_upstream(script, clock, metrics=metrics)
    with pytest.raises(UpstreamRateLimited):
        await upstream.request_json("GET", URL)
    clock.advance(10)
    with pytest.raises(UpstreamRateLimited) as caught:
        await upstream.request_json("GET", URL + "/other")
    assert caught.value.extensions["retryAfter"] == pytest.approx(20)
    assert len(script.requests) == 1  # refused without a request
    assert metrics.snapshot()["sources"]["Test"]["rejected"] == {"rate_limited": 1}

    other = upstream.with_credential("another-token", {"Authorization": "Bearer another-token"})
    assert await other.request_json("GET", URL) == {"ok": True}  # limits are per credential

    clock.advance(19)  # 1 s left: fits in the 8 s default deadline, so it is waited out
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert clock.sleeps == [pytest.approx(1.0)]


async def test_503_retry_after_is_used_and_reported() -> None:
    clock = FakeClock()
    script = Script(status(503, **{"Retry-After": "1"}), status(503, **{"Retry-After": "60"}))
    upstream = make_upstream(script, clock)
    with pytest.raises(UpstreamUnavailable) as caught:
        await upstream.request_json("GET", URL)
    assert clock.sleeps == [1.0]
    assert caught.value.extensions["retryAfter"] == 60
    assert len(script.requests) == 2


async def test_spent_deadline_sends_nothing() -> None:
    clock = FakeClock()
    script = Script(ok())
    upstream = make_upstream(script, clock)
    with deadline(1, clock=clock):
        clock.advance(1)
        with pytest.raises(UpstreamTimeout):
            await upstream.request_json("GET", URL)
    assert script.requests == []


async def test_no_retry_without_time_for_an_attempt() -> None:
    clock = FakeClock()

    def slow_then_fail(request: httpx.Request) -> httpx.Response:
        clock.advance(0.9)
        return status(503)

    script = Script(slow_then_fail, ok())
    upstream = make_upstream(script, clock, min_attempt_time=0.2)
    with deadline(1, clock=clock), pytest.raises(UpstreamUnavailable):
        await upstream.request_json("GET", URL)
    assert len(script.requests) == 1


async def test_backoff_is_shortened_to_leave_time_for_the_attempt() -> None:
    clock = FakeClock()
    script = Script(status(503), ok())
    upstream = make_upstream(
        script, clock, random=lambda: 1.0, backoff_base=2.0, min_attempt_time=0.2
    )
    with deadline(1, clock=clock):
        await upstream.request_json("GET", URL)
    assert clock.sleeps == [pytest.approx(0.8)]


async def test_hung_attempt_is_cut_at_the_deadline() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError

    upstream = make_upstream(Script(), FakeClock())
    upstream._client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    loop = asyncio.get_running_loop()
    began = loop.time()
    with deadline(0.3), pytest.raises(UpstreamTimeout):
        await upstream.request_json("GET", URL)
    assert loop.time() - began < 1.0
    assert upstream.breaker.consecutive_failures == 1


async def test_breaker_opens_and_fails_fast_then_probes() -> None:
    clock = FakeClock()
    metrics = Metrics()
    script = Script(status(503))
    upstream = make_upstream(
        script, clock, metrics=metrics, max_attempts=1, breaker_threshold=3, breaker_cooldown=10
    )
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await upstream.request_json("GET", URL)
    assert upstream.breaker.state is State.OPEN
    clock.advance(4)
    with pytest.raises(UpstreamUnavailable, match="circuit open") as caught:
        await upstream.request_json("GET", URL)
    assert caught.value.extensions["retryAfter"] == pytest.approx(6)
    assert len(script.requests) == 3
    clock.advance(6)
    assert upstream.breaker.state is State.HALF_OPEN
    script.responses = [ok()]
    script.requests.clear()
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert upstream.breaker.state is State.CLOSED
    snapshot = metrics.snapshot()["sources"]["Test"]
    assert snapshot["rejected"] == {"circuit_open": 1} and snapshot["breaker"] == "closed"


async def test_auth_and_rate_limits_never_open_the_breaker() -> None:
    script = Script(
        status(401), status(429), status(401), status(429), status(401), status(429), status(401)
    )
    upstream = make_upstream(script, FakeClock(), max_attempts=1, breaker_threshold=2)
    for _ in range(7):
        with pytest.raises((UpstreamAuth, UpstreamRateLimited)):
            await upstream.request_json("GET", URL)
    assert upstream.breaker.state is State.CLOSED
    assert len(script.requests) == 7


async def test_retry_budget_caps_retries() -> None:
    clock = FakeClock()
    script = Script(status(503))
    upstream = make_upstream(
        script,
        clock,
        max_attempts=3,
        retry_budget=0.2,
        retry_budget_floor=3,
        breaker_threshold=1000,
    )
    for _ in range(10):
        with pytest.raises(UpstreamUnavailable):
            await upstream.request_json("GET", URL)
    # call 1 retries twice, call 2 once, then the budget (max(3, 20% of 10)) is spent
    assert len(script.requests) == 10 + 3
    assert upstream.metrics.snapshot()["sources"]["Test"]["rejected"]["retry_budget"] == 9
    clock.advance(11)  # the window slides past: retries are allowed again
    script.requests.clear()
    with pytest.raises(UpstreamUnavailable):
        await upstream.request_json("GET", URL)
    assert len(script.requests) == 3


async def test_cancelled_call_leaves_no_probe_stuck() -> None:
    clock = FakeClock()
    started = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError

    script = Script(status(503))
    upstream = make_upstream(script, clock, max_attempts=1, breaker_threshold=1)
    with pytest.raises(UpstreamUnavailable):
        await upstream.request_json("GET", URL)
    clock.advance(10)
    upstream._client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    probe = asyncio.create_task(upstream.request_json("GET", URL))
    await started.wait()
    with pytest.raises(UpstreamUnavailable, match="circuit open"):
        await upstream.request_json("GET", URL + "/2")  # the probe is out
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    upstream._client = httpx.AsyncClient(transport=httpx.MockTransport(Script(ok())))
    assert await upstream.request_json("GET", URL) == {"ok": True}
    assert upstream.breaker.state is State.CLOSED


async def test_identical_concurrent_calls_share_one_request() -> None:
    release = asyncio.Event()
    count = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal count
        count += 1
        mine = count
        await release.wait()
        return ok({"n": mine})

    upstream = make_upstream(Script(), FakeClock())
    upstream._client = httpx.AsyncClient(transport=httpx.MockTransport(slow))
    calls = [
        asyncio.create_task(upstream.request_json("POST", URL, json_body={"b": [1, 2], "a": 1}))
        for _ in range(10)
    ]
    calls.append(
        asyncio.create_task(upstream.request_json("POST", URL, json_body={"a": 1, "b": [1, 2]}))
    )
    calls.append(
        asyncio.create_task(upstream.request_json("POST", URL, json_body={"a": 1, "b": [2, 1]}))
    )
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*calls)
    assert count == 2  # list order matters, key order does not
    assert results[0] == results[10] == {"n": 1}
    assert results[0] is results[1]  # one read-only answer for every waiter, not a copy each
    assert upstream.metrics.snapshot()["sources"]["Test"]["coalesced"] == 10


async def test_a_timeout_with_almost_no_time_given_does_not_count_against_the_source() -> None:
    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(3600)
        raise AssertionError

    upstream = make_upstream(Script(), FakeClock(), min_attempt_time=0.2)
    upstream._client = httpx.AsyncClient(transport=httpx.MockTransport(hang))
    with deadline(0.05), pytest.raises(UpstreamTimeout):
        await upstream.request_json("GET", URL)
    assert upstream.breaker.consecutive_failures == 0
