"""Upstream failures through the whole gateway, over real HTTP, with the simulators' faults."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from gateway.admission import AdmissionSettings
from gateway.upstream import UpstreamPolicy

from live import gateway_stack

TOKEN = "dr-resilience-secret-77aa"
KEY = "frc_resiliencesecret0000000000000000"
DEADLINE = 2.0
POLICY = UpstreamPolicy(request_deadline=DEADLINE, breaker_threshold=3, breaker_cooldown=1.0, retry_budget=1.0)
QUERY = "query($first: Int, $after: String) { jobs(first: $first, after: $after) { edges { node { id source } } sources { source state message } pageInfo { hasNextPage endCursor } } }"


@pytest.fixture
def stack():
    # Admission off: the coalescing test needs its 50 requests in execution at once
    # (tests/test_admission_http.py covers admission).
    off = AdmissionSettings(max_concurrency=0)
    with gateway_stack(token=TOKEN, key=KEY, seeds=(8, 9), count=60, policy=POLICY, read_timeout=DEADLINE, admission=off) as live:
        yield live.url, live.devrev, live.docurift


def ask(url: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(f"{url}/graphql", json={"query": QUERY, "variables": variables}, timeout=30)
    assert response.status_code == 200, response.text
    assert TOKEN not in response.text and KEY not in response.text
    return response.json()


def states(body: dict[str, Any]) -> dict[str, str]:
    return {s["source"]: s["state"] for s in body["data"]["jobs"]["sources"]}


def test_a_hung_source_costs_at_most_the_deadline_and_keeps_the_other_sources_jobs(stack):
    url, devrev, docurift = stack
    docurift.faults.set(kind="hang")
    started = time.monotonic()
    body = ask(url, first=10)
    elapsed = time.monotonic() - started
    docurift.faults.clear()
    assert elapsed < DEADLINE + 1.5
    assert states(body) == {"DEVREV": "OK", "DOCURIFT": "FAILED"}
    assert {e["node"]["source"] for e in body["data"]["jobs"]["edges"]} == {"DEVREV"}
    [error] = body["errors"]
    assert error["extensions"] == {"code": "UPSTREAM_TIMEOUT", "source": "DocuRift"}


def test_a_short_retry_after_is_waited_out_and_the_retry_succeeds(stack):
    url, devrev, _ = stack
    devrev.stats.reset()
    devrev.faults.set(kind="status", status=429, retry_after=1, count=1)
    started = time.monotonic()
    body = ask(url, first=5)
    assert "errors" not in body and states(body)["DEVREV"] == "OK"
    assert devrev.stats.list_requests == 2  # the 429, then the retry
    assert time.monotonic() - started >= 0.9


def test_a_long_retry_after_fails_fast_with_retry_after(stack):
    url, devrev, _ = stack
    devrev.faults.set(kind="status", status=429, retry_after=30)
    started = time.monotonic()
    body = ask(url, first=5)
    devrev.faults.clear()
    assert time.monotonic() - started < 1.5
    [error] = body["errors"]
    assert error["extensions"]["code"] == "UPSTREAM_RATE_LIMITED"
    assert error["extensions"]["source"] == "DevRev" and error["extensions"]["retryAfter"] >= 29
    assert states(body) == {"DEVREV": "FAILED", "DOCURIFT": "OK"}


def test_a_flapping_source_traversal_retrying_failed_pages_sees_every_job_once_in_order(stack):
    url, devrev, docurift = stack
    healthy = []
    after = None
    while True:
        page = ask(url, first=7, after=after)["data"]["jobs"]
        healthy += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    docurift.faults.set(kind="status", status=500, rate=0.3, seed=4)  # 500: never retried upstream
    devrev.faults.set(kind="status", status=500, rate=0.3, seed=5)
    seen, after, provisional = [], None, 0
    for _ in range(400):
        body = ask(url, first=7, after=after)
        page = body["data"]["jobs"]
        if body.get("errors"):
            provisional += 1
            after = page["pageInfo"]["endCursor"]  # provisional: the same stretch again
            continue
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    docurift.faults.clear()
    devrev.faults.clear()
    assert provisional > 0
    assert seen == healthy


def test_the_breaker_opens_fails_fast_and_closes_after_a_probe(stack):
    url, devrev, _ = stack
    devrev.faults.set(kind="status", status=500)
    for _ in range(3):
        ask(url, first=3)
    devrev.stats.reset()
    body = ask(url, first=3)
    assert devrev.stats.list_requests == 0, "an open breaker must not call the upstream"
    assert body["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert "retryAfter" in body["errors"][0]["extensions"]
    metrics = httpx.get(f"{url}/metrics").text
    assert 'state="open"} 1' in metrics
    devrev.faults.clear()
    time.sleep(1.1)
    body = ask(url, first=3)
    assert "errors" not in body and devrev.stats.list_requests == 1
    assert 'state="closed"} 1' in httpx.get(f"{url}/metrics").text


def test_identical_concurrent_queries_share_one_upstream_call_per_source(stack):
    url, devrev, docurift = stack
    for sim in (devrev, docurift):
        sim.faults.set(latency_ms=400)
        sim.stats.reset()

    async def fire() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(client.post(f"{url}/graphql", json={"query": QUERY, "variables": {"first": 10}}) for _ in range(50)))

    responses = asyncio.run(fire())
    for sim in (devrev, docurift):
        sim.faults.clear()
    assert len({r.text for r in responses}) == 1 and "errors" not in responses[0].json()
    assert devrev.stats.list_requests == 1 and docurift.stats.list_requests == 1


def test_no_secret_in_any_log_line_or_response(stack, caplog):
    url, devrev, docurift = stack
    caplog.set_level(logging.DEBUG)
    for sim, kind in ((devrev, "malformed"), (docurift, "envelope")):
        sim.faults.set(kind=kind)
    body = ask(url, first=5)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UPSTREAM_BAD_RESPONSE"}
    devrev.faults.set(kind="status", status=401)
    docurift.faults.set(kind="status", status=403)
    body = ask(url, first=5)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UPSTREAM_AUTH"}
    devrev.faults.clear()
    docurift.faults.clear()
    text = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records, "failures must be logged"
    assert TOKEN not in text and KEY not in text
