"""The circuit breaker on its own, with an injected clock."""

from __future__ import annotations

import pytest
from upstream_fakes import FakeClock

from gateway.errors import (
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.upstream.breaker import Breaker, State, Verdict, verdict_of


def failing(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        breaker.record(breaker.acquire(), Verdict.FAILURE)


def test_opens_after_threshold_consecutive_failures() -> None:
    breaker = Breaker("S", threshold=3, cooldown=10, clock=FakeClock())
    failing(breaker, 2)
    breaker.record(breaker.acquire(), Verdict.SUCCESS)  # resets the run
    failing(breaker, 2)
    assert breaker.state is State.CLOSED
    failing(breaker, 1)
    assert breaker.state is State.OPEN


def test_open_fails_fast_with_seconds_until_probe() -> None:
    clock = FakeClock()
    breaker = Breaker("S", threshold=1, cooldown=10, clock=clock)
    failing(breaker, 1)
    clock.advance(2.5)
    with pytest.raises(UpstreamUnavailable, match="circuit open") as caught:
        breaker.acquire()
    assert caught.value.extensions == {"source": "S", "retryAfter": 7.5}


def test_half_open_lets_exactly_one_probe_through() -> None:
    clock = FakeClock()
    breaker = Breaker("S", threshold=1, cooldown=10, clock=clock)
    failing(breaker, 1)
    clock.advance(10)
    assert breaker.state is State.HALF_OPEN
    probe = breaker.acquire()
    assert probe.probe
    with pytest.raises(UpstreamUnavailable) as caught:
        breaker.acquire()
    assert caught.value.extensions["retryAfter"] == 1.0
    breaker.record(probe, Verdict.SUCCESS)
    assert breaker.state is State.CLOSED
    assert not breaker.acquire().probe


def test_failed_probe_reopens_for_a_full_cooldown() -> None:
    clock = FakeClock()
    breaker = Breaker("S", threshold=5, cooldown=10, clock=clock)
    failing(breaker, 5)
    clock.advance(12)
    breaker.record(breaker.acquire(), Verdict.FAILURE)
    assert breaker.state is State.OPEN
    assert breaker.retry_after() == 10


@pytest.mark.parametrize("outcome", ["neutral", "released"])
def test_probe_without_a_verdict_lets_the_next_call_probe(outcome: str) -> None:
    clock = FakeClock()
    breaker = Breaker("S", threshold=1, cooldown=1, clock=clock)
    failing(breaker, 1)
    clock.advance(1)
    probe = breaker.acquire()
    if outcome == "neutral":
        breaker.record(probe, Verdict.NEUTRAL)
    else:
        breaker.release(probe)
    assert breaker.state is State.HALF_OPEN
    assert breaker.acquire().probe


def test_late_results_of_attempts_started_before_opening_are_ignored() -> None:
    clock = FakeClock()
    breaker = Breaker("S", threshold=2, cooldown=10, clock=clock)
    early = breaker.acquire()
    failing(breaker, 2)
    breaker.record(early, Verdict.SUCCESS)
    assert breaker.state is State.OPEN


def test_state_changes_are_reported_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    seen: list[State] = []
    breaker = Breaker("S", threshold=1, cooldown=1, clock=clock, on_change=seen.append)
    failing(breaker, 1)
    clock.advance(1)
    breaker.record(breaker.acquire(), Verdict.SUCCESS)
    assert seen == [State.OPEN, State.HALF_OPEN, State.CLOSED]
    assert "upstream_breaker source=S state=open" in caplog.text


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (None, Verdict.SUCCESS),
        (UpstreamTimeout("S", "t"), Verdict.FAILURE),
        (UpstreamUnavailable("S", "u"), Verdict.FAILURE),
        (UpstreamRateLimited("S", "r", 3), Verdict.NEUTRAL),
        (UpstreamAuth("S", "a"), Verdict.SUCCESS),
        (UpstreamBadResponse("S", "b"), Verdict.SUCCESS),
    ],
)
def test_verdicts(error: object, verdict: Verdict) -> None:
    assert verdict_of(error) is verdict  # type: ignore[arg-type]
