"""The resilience layer over real HTTP against both simulators, counting what reaches them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from live import serve
from starlette.applications import Starlette
from upstream_fakes import FakeClock, error_message

from gateway.errors import (
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.simulators import create_devrev_app, create_docurift_app
from gateway.sources.wire import expect_list
from gateway.upstream import Metrics, State, Upstream, UpstreamPolicy, deadline

TOKEN = "dr-live-SECRET-7c1e44"
KEY = "frc_liveSECRETkey0000000000000000"


class Sim:
    def __init__(self, app: Starlette, url: str) -> None:
        self.app = app
        self.url = url

    @property
    def faults(self) -> Any:
        return self.app.state.sim.faults

    @property
    def requests(self) -> int:
        return sum(self.app.state.sim.stats.requests.values())


@pytest.fixture(scope="module")
def sims() -> Iterator[tuple[Sim, Sim]]:
    devrev_app = create_devrev_app(token=TOKEN, count=40)
    docurift_app = create_docurift_app(api_key=KEY, count=40)
    with serve(devrev_app) as devrev_url, serve(docurift_app) as docurift_url:
        yield Sim(devrev_app, devrev_url), Sim(docurift_app, docurift_url)


@pytest.fixture
def devrev(sims: tuple[Sim, Sim]) -> Iterator[Sim]:
    sim = sims[0]
    sim.faults.clear()
    sim.app.state.sim.stats.reset()
    yield sim
    sim.faults.clear()  # also releases hung requests


@pytest.fixture
def docurift(sims: tuple[Sim, Sim]) -> Iterator[Sim]:
    sim = sims[1]
    sim.faults.clear()
    sim.app.state.sim.stats.reset()
    yield sim
    sim.faults.clear()


@asynccontextmanager
async def upstream_for(
    sim: Sim,
    *,
    token: str = TOKEN,
    metrics: Metrics | None = None,
    clock: Any = time.monotonic,
    read_timeout: float = 5.0,
    **policy: Any,
) -> AsyncIterator[Upstream]:
    timeout = httpx.Timeout(read_timeout, connect=1.0)
    async with httpx.AsyncClient(timeout=timeout) as client:
        yield Upstream(
            "DevRev",
            client,
            credential=token,
            headers={"Authorization": f"Bearer {token}"},
            error_message=error_message,
            policy=UpstreamPolicy(**{"backoff_base": 0.01, "backoff_cap": 0.05, **policy}),
            metrics=metrics or Metrics(),
            clock=clock,
        )


async def list_jobs(upstream: Upstream, sim: Sim, **body: Any) -> Any:
    return await upstream.request_json(
        "POST", f"{sim.url}/jobs.list", json_body={"limit": 5, **body}
    )


async def test_hung_source_is_bounded_by_the_deadline(devrev: Sim) -> None:
    devrev.faults.set(kind="hang")
    async with upstream_for(devrev) as upstream:
        began = time.monotonic()
        with deadline(0.5), pytest.raises(UpstreamTimeout) as caught:
            await list_jobs(upstream, devrev)
        took = time.monotonic() - began
    assert 0.45 < took < 1.0
    assert caught.value.extensions == {"source": "DevRev"}
    assert devrev.requests == 1  # no time left to retry


async def test_read_timeout_is_retried_while_time_remains(devrev: Sim) -> None:
    devrev.faults.set(kind="hang", count=1)
    async with upstream_for(devrev, read_timeout=0.3) as upstream:
        with deadline(3):
            payload = await list_jobs(upstream, devrev)
    assert len(payload["jobs"]) == 5
    assert devrev.requests == 2


async def test_retry_after_within_the_deadline_is_waited_then_retried(devrev: Sim) -> None:
    devrev.faults.set(kind="status", status=429, retry_after=1, count=1)
    async with upstream_for(devrev) as upstream:
        began = time.monotonic()
        with deadline(3):
            payload = await list_jobs(upstream, devrev)
        took = time.monotonic() - began
    assert len(payload["jobs"]) == 5
    assert devrev.requests == 2
    assert 1.0 <= took < 2.0


async def test_retry_after_beyond_the_deadline_fails_fast(docurift: Sim) -> None:
    docurift.faults.set(kind="status", status=429, retry_after=30)
    async with httpx.AsyncClient() as client:
        upstream = Upstream(
            "DocuRift",
            client,
            credential=KEY,
            headers={"X-API-Key": KEY},
            error_message=error_message,
        )
        began = time.monotonic()
        with deadline(2):
            with pytest.raises(UpstreamRateLimited) as caught:
                await upstream.request_json("GET", f"{docurift.url}/v1/jobs", params={"limit": 5})
            with pytest.raises(UpstreamRateLimited) as again:  # the gate holds: nothing is sent
                await upstream.request_json("GET", f"{docurift.url}/v1/jobs", params={"limit": 6})
        assert time.monotonic() - began < 0.5
    assert caught.value.extensions["retryAfter"] == 30
    assert 29 < again.value.extensions["retryAfter"] <= 30
    assert docurift.requests == 1


@pytest.mark.parametrize(("fault", "extra"), [("status", {"status": 503}), ("reset", {})])
async def test_flapping_source_is_recovered_by_retries(
    devrev: Sim, fault: str, extra: dict[str, Any]
) -> None:
    devrev.faults.set(kind=fault, rate=0.3, seed=11, **extra)
    async with upstream_for(devrev, max_attempts=5, retry_budget=1.0) as upstream:
        for _ in range(30):
            payload = await list_jobs(upstream, devrev)
            assert len(payload["jobs"]) == 5
    injected = devrev.app.state.sim.stats.faults_injected
    assert injected > 3
    assert devrev.requests == 30 + injected
    assert upstream.metrics.snapshot()["sources"]["DevRev"]["retries"] == injected


async def test_retry_budget_caps_retries_against_a_failing_source(devrev: Sim) -> None:
    devrev.faults.set(kind="status", status=503)
    async with upstream_for(devrev, max_attempts=3, breaker_threshold=1000) as upstream:
        for _ in range(10):
            with pytest.raises(UpstreamUnavailable):
                await list_jobs(upstream, devrev)
    # 10 calls earn max(3, 20% of 10) = 3 retries in the window
    assert devrev.requests == 13


async def test_breaker_opens_fails_fast_half_opens_and_closes(devrev: Sim) -> None:
    clock = FakeClock()
    devrev.faults.set(kind="status", status=503)
    async with upstream_for(
        devrev, clock=clock, max_attempts=1, breaker_threshold=5, breaker_cooldown=10
    ) as upstream:
        for _ in range(5):
            with pytest.raises(UpstreamUnavailable, match="HTTP 503"):
                await list_jobs(upstream, devrev)
        assert upstream.breaker.state is State.OPEN
        for _ in range(10):
            with pytest.raises(UpstreamUnavailable, match="circuit open") as caught:
                await list_jobs(upstream, devrev)
        assert caught.value.extensions["retryAfter"] == 10
        assert devrev.requests == 5  # failed fast: nothing sent

        clock.advance(10)
        assert upstream.breaker.state is State.HALF_OPEN
        devrev.faults.set(latency_ms=150)  # healthy again, and slow enough to overlap
        calls = [asyncio.create_task(list_jobs(upstream, devrev, limit=n)) for n in range(1, 5)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert len(results[0]["jobs"]) == 1  # type: ignore[index]  # the probe
        assert all(isinstance(r, UpstreamUnavailable) for r in results[1:])
        assert devrev.requests == 6
        assert upstream.breaker.state is State.CLOSED
        assert len((await list_jobs(upstream, devrev))["jobs"]) == 5
    prometheus = upstream.metrics.prometheus()
    assert 'gateway_upstream_breaker_state{source="DevRev",state="closed"} 1' in prometheus
    assert 'gateway_upstream_rejected_total{source="DevRev",reason="circuit_open"} 13' in prometheus


async def test_fifty_identical_concurrent_calls_make_one_request(devrev: Sim) -> None:
    devrev.faults.set(latency_ms=200)
    async with upstream_for(devrev) as upstream:
        results = await asyncio.gather(*(list_jobs(upstream, devrev) for _ in range(50)))
    assert devrev.requests == 1
    assert all(result == results[0] for result in results) and len(results[0]["jobs"]) == 5
    assert upstream.metrics.snapshot()["sources"]["DevRev"]["coalesced"] == 49


async def test_different_credentials_are_never_coalesced(devrev: Sim) -> None:
    devrev.faults.set(latency_ms=200)
    async with upstream_for(devrev) as upstream:
        stranger = upstream.with_credential(
            "not-the-token", {"Authorization": "Bearer not-the-token"}
        )
        mine, theirs = await asyncio.gather(
            list_jobs(upstream, devrev), list_jobs(stranger, devrev), return_exceptions=True
        )
    assert len(mine["jobs"]) == 5  # type: ignore[index]
    assert isinstance(theirs, UpstreamAuth)
    assert devrev.requests == 2


async def test_malformed_body_is_a_bad_response_and_not_retried(devrev: Sim) -> None:
    devrev.faults.set(kind="malformed")
    async with upstream_for(devrev) as upstream:
        with pytest.raises(UpstreamBadResponse, match="not JSON"):
            await list_jobs(upstream, devrev)
        assert upstream.breaker.consecutive_failures == 0
    assert devrev.requests == 1


async def test_wrong_envelope_passes_through_once_for_the_source_to_reject(devrev: Sim) -> None:
    devrev.faults.set(kind="envelope")
    async with upstream_for(devrev) as upstream:
        payload = await list_jobs(upstream, devrev)
    with pytest.raises(UpstreamBadResponse):
        expect_list(payload.get("jobs"), "DevRev", "a 'jobs' list")
    assert devrev.requests == 1


async def test_secrets_never_reach_logs_metrics_or_errors(
    devrev: Sim, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="gateway")
    metrics = Metrics()
    errors: list[UpstreamError] = []
    async with upstream_for(devrev, metrics=metrics, breaker_threshold=1000) as upstream:
        for fault in (
            {"kind": "status", "status": 503},
            {"kind": "status", "status": 429, "retry_after": 60},
            {"kind": "malformed"},
            {"kind": "reset"},
            {"kind": "hang"},
        ):
            devrev.faults.set(**fault)
            with deadline(0.3):
                try:
                    await upstream.request_json(
                        "GET", f"{devrev.url}/jobs.get?token={TOKEN}", params={"id": "x"}
                    )
                except UpstreamError as error:
                    errors.append(error)
            upstream.gate = type(upstream.gate)()  # forget the 429's hold for the next fault
        devrev.faults.clear()
        wrong = upstream.with_credential(TOKEN + "-old", {"Authorization": f"Bearer {TOKEN}-old"})
        try:
            await list_jobs(wrong, devrev)
        except UpstreamAuth as error:
            errors.append(error)
    assert len(errors) == 6
    records = [r for r in caplog.records if r.name.startswith("gateway")]
    assert any("upstream_failure" in r.getMessage() for r in records)
    seen = [r.getMessage() for r in records] + [repr(getattr(r, "upstream", "")) for r in records]
    seen += [metrics.prometheus(), repr(metrics.snapshot()), repr(upstream)]
    seen += [f"{e.message} {e.extensions}" for e in errors]
    for text in seen:
        assert "SECRET" not in text, text
