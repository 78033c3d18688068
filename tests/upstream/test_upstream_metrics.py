"""The metrics registry's JSON and Prometheus views, and log-safe URLs."""

from __future__ import annotations

import json
import re

from gateway.upstream.metrics import Metrics, safe_url

SAMPLE = re.compile(r'^[a-z_]+\{([a-z_]+="(?:[^"\\\n]|\\.)*",?)+\} -?[0-9.e+]+$')


def filled() -> Metrics:
    metrics = Metrics()
    devrev = metrics.source("DevRev")
    devrev.calls, devrev.requests, devrev.retries, devrev.coalesced = 10, 8, 2, 3
    devrev.failures["UPSTREAM_TIMEOUT"] += 1
    devrev.attempt_failures["UPSTREAM_UNAVAILABLE"] += 2
    devrev.rejected["circuit_open"] += 4
    devrev.breaker = lambda: "open"
    metrics.source('Odd "name"')
    return metrics


def test_snapshot_is_json() -> None:
    snapshot = filled().snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["sources"]["DevRev"] == {
        "calls": 10,
        "requests": 8,
        "retries": 2,
        "coalesced": 3,
        "rejected": {"circuit_open": 4},
        "failures": {"UPSTREAM_TIMEOUT": 1},
        "attempt_failures": {"UPSTREAM_UNAVAILABLE": 2},
        "breaker": "open",
    }


def test_prometheus_text_format() -> None:
    text = filled().prometheus()
    assert text.endswith("\n")
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ")) or SAMPLE.match(line), line
    assert 'gateway_upstream_requests_total{source="DevRev"} 8' in text
    assert 'gateway_upstream_failures_total{source="DevRev",code="UPSTREAM_TIMEOUT"} 1' in text
    assert 'gateway_upstream_rejected_total{source="DevRev",reason="circuit_open"} 4' in text
    assert 'gateway_upstream_breaker_state{source="DevRev",state="open"} 1' in text
    assert 'gateway_upstream_breaker_state{source="DevRev",state="closed"} 0' in text
    assert 'source="Odd \\"name\\""' in text
    assert "# TYPE gateway_upstream_breaker_state gauge" in text


def test_safe_url_drops_query_userinfo_and_fragment() -> None:
    assert (
        safe_url("https://user:pw@api.test:8443/v1/jobs?key=s3cret&x=1#f")
        == "https://api.test:8443/v1/jobs"
    )
