"""Honour a 429's Retry-After for every call with the same credential, not just the one
that received it.

Rate limits are counted per credential upstream; calling again before the time given only
prolongs the limit. Until it passes, calls wait for it when their deadline allows, and
otherwise fail at once with `UpstreamRateLimited` carrying the seconds left.
"""

from __future__ import annotations

import time

from .deadline import Clock

__all__ = ["RateLimitGate"]


class RateLimitGate:
    def __init__(self, *, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def hold(self, seconds: float) -> None:
        """The source asked for `seconds` of quiet; a longer hold already set stays."""
        self._until = max(self._until, self._clock() + seconds)

    def wait(self) -> float:
        """Seconds until calls may go out again (0 when they may now)."""
        return max(0.0, self._until - self._clock())
