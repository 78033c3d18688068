"""Backoff, what is retryable, and the retry budget."""

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
from gateway.upstream.retry import RetryBudget, full_jitter, is_retryable


def test_full_jitter_grows_then_caps() -> None:
    ceilings = [full_jitter(n, base=0.1, cap=1.0, random=lambda: 1.0) for n in range(1, 7)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    assert full_jitter(3, base=0.1, cap=1.0, random=lambda: 0.0) == 0.0


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (UpstreamTimeout("S", "t"), None, True),
        (UpstreamUnavailable("S", "connection refused"), None, True),
        (UpstreamRateLimited("S", "r"), 429, True),
        (UpstreamUnavailable("S", "502"), 502, True),
        (UpstreamUnavailable("S", "503"), 503, True),
        (UpstreamUnavailable("S", "504"), 504, True),
        (UpstreamUnavailable("S", "500"), 500, False),
        (UpstreamAuth("S", "a"), 401, False),
        (UpstreamBadResponse("S", "400"), 400, False),
        (UpstreamBadResponse("S", "not json"), 200, False),
    ],
)
def test_is_retryable(error: object, status: int | None, expected: bool) -> None:
    assert is_retryable(error, status) is expected  # type: ignore[arg-type]


def test_budget_floor_then_share_of_calls() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.2, floor=3, window=10, clock=clock)
    assert [budget.try_spend() for _ in range(4)] == [True, True, True, False]
    for _ in range(25):
        budget.record_call()
    assert budget.allowed() == 5
    assert [budget.try_spend() for _ in range(3)] == [True, True, False]
    assert budget.snapshot() == {"calls": 25, "retries": 5, "allowed": 5}


def test_budget_window_slides() -> None:
    clock = FakeClock()
    budget = RetryBudget(ratio=0.0, floor=2, window=10, clock=clock)
    assert budget.try_spend() and budget.try_spend() and not budget.try_spend()
    clock.advance(9.9)
    assert not budget.try_spend()
    clock.advance(0.2)
    assert budget.try_spend()
