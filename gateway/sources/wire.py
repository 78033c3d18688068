"""Small readers for upstream JSON that fail with a typed error instead of a KeyError."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from gateway.errors import UpstreamBadResponse


def required_str(obj: dict[str, Any], key: str, source: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise UpstreamBadResponse(source, f"{source} sent a job without a valid {key!r}.")
    return value


def optional_str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def optional_int(obj: dict[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 as UTC; naive times are taken as UTC. Python 3.11 reads a trailing `Z` itself."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    zone = moment.tzinfo
    if zone is timezone.utc:
        return moment  # the upstreams' own format: nothing to convert
    if zone is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def required_time(obj: dict[str, Any], key: str, source: str) -> datetime:
    moment = parse_time(obj.get(key))
    if moment is None:
        raise UpstreamBadResponse(source, f"{source} sent a job without a valid {key!r}.")
    return moment


def expect_dict(value: Any, source: str, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UpstreamBadResponse(source, f"{source} answered without {what}.")
    return value


def expect_list(value: Any, source: str, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise UpstreamBadResponse(source, f"{source} answered without {what}.")
    return value
