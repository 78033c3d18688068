"""A request whose deadline ends before a shared page's: a typed timeout, never `INTERNAL`.

Issue 17's reproduction over real sockets. The deadline starts when a request's headers
arrive, so a request whose body comes late reaches the resolver after a younger request
started the same page, and its own time ends before that page is made. The delays below
set the scene; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from gateway.upstream import UpstreamPolicy

from live import gateway_stack

TOKEN = "dr-deadline-secret-4411"
KEY = "frc_deadlinesecret00000000000000000"
QUERY = "{ jobs(first: 5) { edges { node { id } } sources { source state } } }"
# The numbers (a 3 s deadline, the late body 1 s after its headers, the second request
# 0.5 s after them), but with upstreams that answer after 2.7 s rather than 2.5 s: the shared
# answer then lands 0.2 s after the first request's deadline and 0.3 s before the second's,
# not a few milliseconds from either.
POLICY = UpstreamPolicy(request_deadline=3.0, max_attempts=1, breaker_threshold=1_000)


@pytest.fixture
def stack():
    with gateway_stack(token=TOKEN, key=KEY, seeds=(3, 4), count=30, policy=POLICY) as live:
        for sim in (live.devrev, live.docurift):
            sim.faults.set(latency_ms=2700)
        yield live


async def slow_body_post(url: str, body: bytes, *, body_after: float) -> dict[str, Any]:
    """POST whose headers go now and whose body goes `body_after` seconds later."""
    target = httpx.URL(url)
    reader, writer = await asyncio.open_connection(target.host, target.port)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode())
    await writer.drain()
    await asyncio.sleep(body_after)
    writer.write(body)
    await writer.drain()
    raw = await reader.read()  # Connection: close: the answer ends at EOF
    writer.close()
    status_line, _, rest = raw.partition(b"\r\n")
    assert b" 200 " in status_line, raw[:300]
    return json.loads(rest.partition(b"\r\n\r\n")[2])


async def reproduce(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = json.dumps({"query": QUERY}).encode()
    a = asyncio.create_task(slow_body_post(url, body, body_after=1.0))
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(timeout=30) as client:
        b = (await client.post(f"{url}/graphql", content=body, headers={"content-type": "application/json"})).json()
    return await a, b


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def test_a_caller_out_of_time_on_a_shared_page_gets_upstream_timeout_and_keeps_sources(stack):
    a, b = asyncio.run(reproduce(f"{stack.url}"))

    assert "errors" not in b and len(b["data"]["jobs"]["edges"]) == 5
    assert "INTERNAL" not in codes(a)
    jobs = a["data"]["jobs"]
    assert jobs is not None, a
    assert {s["source"]: s["state"] for s in jobs["sources"]} == {"DEVREV": "FAILED", "DOCURIFT": "FAILED"}
    assert sorted(codes(a)) == ["UPSTREAM_TIMEOUT", "UPSTREAM_TIMEOUT"]
    assert {e["extensions"]["source"] for e in a["errors"]} == {"DevRev", "DocuRift"}
    assert all(e["path"] == ["jobs"] for e in a["errors"])
