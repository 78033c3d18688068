"""Resilience for upstream calls: deadline, retries, circuit breaker, coalescing, metrics."""

from .breaker import Breaker, State
from .client import Upstream
from .coalesce import Coalescer
from .deadline import DeadlineMiddleware, deadline, remaining, reset_deadline, set_deadline
from .metrics import Metrics
from .policy import UpstreamPolicy
from .retry import RetryBudget

__all__ = [
    "Breaker",
    "Coalescer",
    "DeadlineMiddleware",
    "Metrics",
    "RetryBudget",
    "State",
    "Upstream",
    "UpstreamPolicy",
    "deadline",
    "remaining",
    "reset_deadline",
    "set_deadline",
]
