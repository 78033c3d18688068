"""A circuit breaker per source: after repeated failures, stop calling it for a while.

A source that times out or fails on every request makes each GraphQL request wait for its
own failure, and keeps the source busy while it tries to recover. Once `threshold` attempts
in a row have failed, calls fail at once for `cooldown` seconds; then a single probe is let
through, and its outcome closes the circuit again or restarts the cool-down.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from gateway.errors import UpstreamError, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable

from .deadline import Clock

__all__ = ["Breaker", "Permit", "State", "Verdict", "verdict_of"]

logger = logging.getLogger("gateway.upstream")

PROBE_PENDING_RETRY_AFTER = 1.0
"""`retryAfter` while the one probe is still out: its answer is due soon."""


class State(str, enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Verdict(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"
    NEUTRAL = "neutral"


def verdict_of(error: UpstreamError | None) -> Verdict:
    """What one attempt says about the source's health.

    Timeouts, unreachable hosts and 5xx are failures. A 429 says nothing about health
    (the Retry-After gate deals with it). Any other answer, 4xx and unreadable bodies
    included, shows the source is up, so it counts as a success.
    """
    if error is None:
        return Verdict.SUCCESS
    if isinstance(error, UpstreamRateLimited):
        return Verdict.NEUTRAL
    if isinstance(error, (UpstreamTimeout, UpstreamUnavailable)):
        return Verdict.FAILURE
    return Verdict.SUCCESS


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one attempt; `probe` when it is the half-open probe."""

    probe: bool


class Breaker:
    """CLOSED → OPEN after `threshold` consecutive failures → HALF_OPEN after `cooldown`."""

    def __init__(
        self,
        source: str,
        *,
        threshold: int = 5,
        cooldown: float = 10.0,
        clock: Clock = time.monotonic,
        on_change: Callable[[State], None] | None = None,
    ) -> None:
        self.source = source
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._state = State.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> State:
        if self._state is State.OPEN and self._clock() >= self._opened_at + self.cooldown:
            self._move(State.HALF_OPEN)
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_after(self) -> float:
        """Seconds until a call may be let through (0 when closed)."""
        state = self.state
        if state is State.OPEN:
            return max(0.0, self._opened_at + self.cooldown - self._clock())
        if state is State.HALF_OPEN and self._probing:
            return PROBE_PENDING_RETRY_AFTER
        return 0.0

    def acquire(self) -> Permit:
        """A permit for one attempt, or `UpstreamUnavailable` at once when the circuit is open."""
        state = self.state
        if state is State.CLOSED:
            return Permit(probe=False)
        if state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return Permit(probe=True)
        wait = round(self.retry_after(), 3)
        raise UpstreamUnavailable(
            self.source,
            f"{self.source} is failing; the gateway stopped calling it for a moment "
            f"(circuit open, next try in {wait:g} s).",
            retryAfter=wait,
        )

    def record(self, permit: Permit, verdict: Verdict) -> None:
        """The outcome of the attempt `permit` allowed.

        Only the probe decides a half-open circuit; attempts that started before the
        circuit opened and end after it are ignored.
        """
        if permit.probe:
            self._probing = False
            if verdict is Verdict.SUCCESS:
                self._failures = 0
                self._move(State.CLOSED)
            elif verdict is Verdict.FAILURE:
                self._failures += 1
                self._open()
            return  # NEUTRAL: the next call probes
        if self._state is not State.CLOSED or verdict is Verdict.NEUTRAL:
            return
        if verdict is Verdict.SUCCESS:
            self._failures = 0
            return
        self._failures += 1
        if self._failures >= self.threshold:
            self._open()

    def release(self, permit: Permit) -> None:
        """The attempt was abandoned (cancelled) before it said anything about the source."""
        if permit.probe:
            self._probing = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(State.OPEN)

    def _move(self, state: State) -> None:
        if state is self._state:
            return
        self._state = state
        logger.warning(
            "upstream_breaker source=%s state=%s consecutive_failures=%d",
            self.source,
            state.value,
            self._failures,
            extra={
                "upstream": {
                    "source": self.source,
                    "breaker": state.value,
                    "consecutive_failures": self._failures,
                }
            },
        )
        if self._on_change is not None:
            self._on_change(state)
