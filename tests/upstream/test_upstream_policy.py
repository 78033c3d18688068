"""Reading `UpstreamPolicy` from the environment."""

from __future__ import annotations

import pytest

from gateway.upstream import UpstreamPolicy
from gateway.upstream.policy import ENV


def test_defaults() -> None:
    policy = UpstreamPolicy.from_env({})
    assert policy == UpstreamPolicy()
    assert (policy.request_deadline, policy.max_attempts, policy.retry_budget) == (8.0, 3, 0.2)
    assert (policy.breaker_threshold, policy.breaker_cooldown) == (5, 10.0)


def test_every_field_has_a_variable() -> None:
    env = {variable: "2" for variable in ENV.values()}
    policy = UpstreamPolicy.from_env(env)
    for name in ENV:
        assert getattr(policy, name) == 2
    assert isinstance(policy.max_attempts, int) and isinstance(policy.request_deadline, float)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GATEWAY_RETRY_MAX_ATTEMPTS", "0"),
        ("GATEWAY_RETRY_MAX_ATTEMPTS", "2.5"),
        ("GATEWAY_REQUEST_DEADLINE", "-1"),
        ("GATEWAY_REQUEST_DEADLINE", "nan"),
        ("GATEWAY_BREAKER_COOLDOWN", "soon"),
        ("GATEWAY_RETRY_BUDGET", "-0.1"),
    ],
)
def test_bad_values_are_rejected(variable: str, value: str) -> None:
    with pytest.raises(ValueError):
        UpstreamPolicy.from_env({variable: value})
