"""Settings from the environment: each kind of value read one way, with one kind of error.

A bad value stops the gateway at start with the variable's name (never a secret's value):
misconfiguration should fail loudly before the first request, not on it.
"""

from __future__ import annotations

from collections.abc import Mapping

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off"})


def whole_number(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """An integer of at least `minimum` (positive by default); unset or empty gives `default`."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    kind = "a positive whole number" if minimum == 1 else f"a whole number >= {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be {kind}, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be {kind}, got {raw!r}")
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false, 1/0, yes/no or on/off, in any case; unset or empty gives `default`."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise ValueError(f"{name} must be one of true/false, 1/0, yes/no, on/off; got {raw!r}")


def seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number of seconds; unset or empty gives `default`."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {raw!r}")
    return value
