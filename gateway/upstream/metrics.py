"""Counters per source, readable as JSON or Prometheus text, and the failure log line.

Plain in-process numbers: enough to answer "is an upstream failing, and how" from a
metrics endpoint without a metrics library. Nothing here ever holds a header or credential.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Metrics", "SourceMetrics", "log_failure", "safe_url"]

logger = logging.getLogger("gateway.upstream")

BREAKER_STATES = ("closed", "open", "half_open")


@dataclass
class SourceMetrics:
    """What happened to one source's calls since start."""

    calls: int = 0
    """`request_json` calls, coalesced ones included."""
    requests: int = 0
    """HTTP requests actually sent upstream (first attempts and retries)."""
    retries: int = 0
    coalesced: int = 0
    """Calls answered by another identical call already in flight."""
    rejected: Counter[str] = field(default_factory=Counter)
    """Calls refused without a request, by reason: circuit_open, rate_limited, deadline."""
    failures: Counter[str] = field(default_factory=Counter)
    """Errors returned to callers, by code."""
    attempt_failures: Counter[str] = field(default_factory=Counter)
    """Failed HTTP requests, by code (a retried call can fail more than once)."""
    breaker: Callable[[], str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "requests": self.requests,
            "retries": self.retries,
            "coalesced": self.coalesced,
            "rejected": dict(self.rejected),
            "failures": dict(self.failures),
            "attempt_failures": dict(self.attempt_failures),
            "breaker": self.breaker() if self.breaker is not None else None,
        }


class Metrics:
    """One registry for the process; `source(name)` hands out that source's counters."""

    def __init__(self) -> None:
        self._sources: dict[str, SourceMetrics] = {}

    def source(self, name: str) -> SourceMetrics:
        found = self._sources.get(name)
        if found is None:
            found = self._sources[name] = SourceMetrics()
        return found

    def snapshot(self) -> dict[str, Any]:
        """JSON-able: `{"sources": {name: {...counters, "breaker": state}}}`."""
        return {"sources": {name: m.to_dict() for name, m in sorted(self._sources.items())}}

    def prometheus(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        out: list[str] = []

        def family(
            name: str, kind: str, help_: str, samples: list[tuple[dict[str, str], float]]
        ) -> None:
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
                out.append(f"{name}{{{rendered}}} {value:g}")

        items = sorted(self._sources.items())
        for attr, help_ in (
            ("calls", "Upstream calls made by the gateway, coalesced ones included."),
            ("requests", "HTTP requests sent upstream, retries included."),
            ("retries", "Retried upstream requests."),
            ("coalesced", "Calls that shared an identical call already in flight."),
        ):
            family(
                f"gateway_upstream_{attr}_total",
                "counter",
                help_,
                [({"source": name}, getattr(m, attr)) for name, m in items],
            )
        for attr, label, help_ in (
            ("rejected", "reason", "Calls refused without a request to the upstream."),
            ("failures", "code", "Upstream errors returned to callers."),
            ("attempt_failures", "code", "Failed upstream requests."),
        ):
            family(
                f"gateway_upstream_{attr}_total",
                "counter",
                help_,
                [
                    ({"source": name, label: key}, count)
                    for name, m in items
                    for key, count in sorted(getattr(m, attr).items())
                ],
            )
        family(
            "gateway_upstream_breaker_state",
            "gauge",
            "Circuit breaker state per source: 1 for the current state.",
            [
                ({"source": name, "state": state}, 1.0 if m.breaker() == state else 0.0)
                for name, m in items
                if m.breaker is not None
                for state in BREAKER_STATES
            ],
        )
        return "\n".join(out) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment: what may be written to a log."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def log_failure(
    *,
    source: str,
    code: str,
    status: int | None,
    attempt: int,
    elapsed_ms: float,
    method: str,
    url: str,
    outcome: str,
    message: str,
) -> None:
    """One `key=value` line per failed upstream request; the same fields as `extra["upstream"]`.

    `url` is logged without its query; `message` is the error's client-safe message.
    """
    fields: dict[str, Any] = {
        "source": source,
        "code": code,
        "status": status,
        "attempt": attempt,
        "elapsed_ms": round(elapsed_ms, 1),
        "method": method,
        "url": safe_url(url),
        "outcome": outcome,
        "message": message,
    }
    line = " ".join(f"{key}={_kv(value)}" for key, value in fields.items())
    logger.warning("upstream_failure %s", line, extra={"upstream": fields})


def _kv(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value)
    if not text or any(c in text for c in ' "=\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text
