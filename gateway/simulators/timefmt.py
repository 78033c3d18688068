"""Timestamp wire formats of the two upstreams.

Both are fixed-width UTC strings, so comparing them as strings orders them in
time; the simulators rely on that to sort and to build cursors.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["devrev_ts", "docurift_ts", "parse_ts", "canonical_devrev", "canonical_docurift"]


def devrev_ts(moment: datetime) -> str:
    """`2023-01-01T12:00:00.000Z`: DevRev carries milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def docurift_ts(moment: datetime) -> str:
    """`2024-01-27T10:30:00Z`: DocuRift carries whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> datetime:
    """Parse ISO 8601 (`Z` or offset, fraction optional); naive means UTC."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    value = text.strip()
    if value[-1] in "zZ":
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def canonical_devrev(text: str) -> str:
    return devrev_ts(parse_ts(text))


def canonical_docurift(text: str) -> str:
    return docurift_ts(parse_ts(text))
