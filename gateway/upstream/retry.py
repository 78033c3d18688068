"""When a failed read is worth another attempt, how long to wait, and how many retries a
source may take in total.

Only reads pass through here (every upstream call the gateway makes is a read), so a retry
never repeats a side effect.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from gateway.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable

from .deadline import Clock

__all__ = ["RETRY_STATUSES", "RetryBudget", "full_jitter", "is_retryable"]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
"""Statuses that say "try again later". A 500 is a bug upstream: repeating it rarely helps."""


def is_retryable(error: UpstreamError, status: int | None) -> bool:
    """Timeouts, dropped or refused connections, and the statuses above.

    `status` is the HTTP status of the answer, or None when there was none.
    """
    if status is not None:
        return status in RETRY_STATUSES
    return isinstance(error, (UpstreamTimeout, UpstreamUnavailable))


def full_jitter(attempt: int, *, base: float, cap: float, random: Callable[[], float]) -> float:
    """Seconds before retry number `attempt` (1-based): uniform in [0, min(cap, base·2^(attempt-1))].

    Full jitter spreads the retries of many clients that failed together, so they do not
    come back together.
    """
    ceiling = min(cap, base * math.pow(2, attempt - 1))
    return random() * ceiling


class RetryBudget:
    """Retries may add at most `ratio` of the calls seen in the last `window` seconds,
    with a floor of `floor` retries per window.

    When a source fails outright every call would retry; the budget keeps that from
    multiplying the load on a source that is already struggling.
    """

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        floor: int = 3,
        window: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.ratio = ratio
        self.floor = floor
        self.window = window
        self._clock = clock
        self._calls: deque[float] = deque()
        self._retries: deque[float] = deque()

    def record_call(self) -> None:
        """A first attempt: it earns `ratio` of a retry."""
        now = self._clock()
        self._prune(now)
        self._calls.append(now)

    def try_spend(self) -> bool:
        """Take one retry if the budget allows it."""
        now = self._clock()
        self._prune(now)
        if len(self._retries) >= self.allowed():
            return False
        self._retries.append(now)
        return True

    def allowed(self) -> int:
        """Retries the current window allows."""
        return max(self.floor, math.floor(self.ratio * len(self._calls)))

    def snapshot(self) -> dict[str, int]:
        self._prune(self._clock())
        return {"calls": len(self._calls), "retries": len(self._retries), "allowed": self.allowed()}

    def _prune(self, now: float) -> None:
        oldest = now - self.window
        for events in (self._calls, self._retries):
            while events and events[0] <= oldest:
                events.popleft()
