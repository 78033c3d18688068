"""A controllable UTC clock, so seeded data and job progress are reproducible."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["SimClock"]


class SimClock:
    """Simulated "now" for both simulators.

    Not frozen, it runs at real speed from `start`; frozen, it only moves when
    `advance()` is called. Either way `advance()` adds a fixed offset, which is
    how tests fast-forward running jobs without sleeping.
    """

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self._start = start.astimezone(UTC)
        self._frozen = frozen
        self._origin = time.monotonic()
        self._held = 0.0  # real seconds elapsed when frozen
        self._offset = 0.0  # seconds added by advance()

    @property
    def start(self) -> datetime:
        """The instant seeded data is laid out against."""
        return self._start

    @property
    def frozen(self) -> bool:
        return self._frozen

    def now(self) -> datetime:
        """The simulated current time (aware, UTC)."""
        return self._start + timedelta(seconds=self._elapsed() + self._offset)

    def advance(self, seconds: float) -> None:
        """Move the clock forward; time never runs backwards for an upstream."""
        if seconds < 0:
            raise ValueError("a SimClock only moves forward")
        self._offset += seconds

    def freeze(self) -> None:
        """Stop real time from moving the clock; answers become fully deterministic."""
        if not self._frozen:
            self._held = time.monotonic() - self._origin
            self._frozen = True

    def resume(self) -> None:
        """Let real time move the clock again, from where it was frozen."""
        if self._frozen:
            self._origin = time.monotonic() - self._held
            self._frozen = False

    def _elapsed(self) -> float:
        return self._held if self._frozen else time.monotonic() - self._origin

    def __repr__(self) -> str:
        return f"SimClock(now={self.now().isoformat()}, frozen={self._frozen})"
