"""How hard the gateway tries an upstream before giving up, read from the environment."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ENV", "UpstreamPolicy"]


@dataclass(frozen=True, slots=True)
class UpstreamPolicy:
    """Defaults suit an interactive API: answer within seconds, never hammer a sick upstream."""

    request_deadline: float = 8.0
    """Seconds for all upstream work of one GraphQL request (applied per call when unset)."""
    max_attempts: int = 3
    """Attempts per call, the first included."""
    backoff_base: float = 0.1
    backoff_cap: float = 2.0
    min_attempt_time: float = 0.2
    """No retry starts with less time left than this: it could not finish anyway."""
    retry_budget: float = 0.2
    """Retries may add at most this share of the calls made in the window..."""
    retry_budget_floor: int = 3
    """...but at least this many retries per window, so a quiet source can still retry."""
    retry_budget_window: float = 10.0
    breaker_threshold: int = 5
    """Consecutive failed attempts that open the circuit."""
    breaker_cooldown: float = 10.0
    """Seconds the circuit stays open before one probe is let through."""

    def __post_init__(self) -> None:
        for name in ("request_deadline", "backoff_cap", "retry_budget_window", "breaker_cooldown"):
            _check(name, getattr(self, name), positive=True)
        for name in ("backoff_base", "min_attempt_time", "retry_budget"):
            _check(name, getattr(self, name), positive=False)
        if self.max_attempts < 1 or self.breaker_threshold < 1 or self.retry_budget_floor < 0:
            raise ValueError(
                "max_attempts and breaker_threshold must be >= 1, retry_budget_floor >= 0"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UpstreamPolicy:
        """Unset or empty variables keep the defaults; a bad value is a ValueError naming it."""
        env = os.environ if env is None else env
        defaults = cls()
        values: dict[str, float | int] = {}
        for name, variable in ENV.items():
            raw = env.get(variable)
            if not raw:
                continue
            try:
                values[name] = int(raw) if isinstance(getattr(defaults, name), int) else float(raw)
            except ValueError:
                raise ValueError(f"{variable} must be a number, got {raw!r}") from None
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"bad upstream policy in environment: {exc}") from None


ENV: dict[str, str] = {
    "request_deadline": "GATEWAY_REQUEST_DEADLINE",
    "max_attempts": "GATEWAY_RETRY_MAX_ATTEMPTS",
    "backoff_base": "GATEWAY_RETRY_BACKOFF_BASE",
    "backoff_cap": "GATEWAY_RETRY_BACKOFF_CAP",
    "min_attempt_time": "GATEWAY_RETRY_MIN_ATTEMPT_TIME",
    "retry_budget": "GATEWAY_RETRY_BUDGET",
    "retry_budget_floor": "GATEWAY_RETRY_BUDGET_FLOOR",
    "retry_budget_window": "GATEWAY_RETRY_BUDGET_WINDOW",
    "breaker_threshold": "GATEWAY_BREAKER_THRESHOLD",
    "breaker_cooldown": "GATEWAY_BREAKER_COOLDOWN",
}
"""Policy field → environment variable."""


def _check(name: str, value: float, *, positive: bool) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(
            f"{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}"
        )
