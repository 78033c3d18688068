"""Admission control over real HTTP: the excess is refused at once with `OVERLOADED`, the
accepted requests are answered in full, health and metrics stay reachable.

Upstreams slowed to 1 s keep the first requests in execution while the rest arrive; the
assertions count answers, they never time them.
"""

from __future__ import annotations

import asyncio

import httpx

from gateway.admission import AdmissionSettings

from live import gateway_stack

TOKEN = "dr-admission-secret-9090"
KEY = "frc_admissionsecret0000000000000000"
QUERY = "query($first: Int) { jobs(first: $first) { edges { node { id } } sources { source state } } }"
# Two in execution, two waiting (long enough to get their turn), every other one refused.
ADMISSION = AdmissionSettings(max_concurrency=2, max_queue=2, queue_timeout=60, retry_after=2)


def test_beyond_slots_and_queue_requests_are_refused_fast_with_overloaded():
    with gateway_stack(token=TOKEN, key=KEY, seeds=(5, 6), count=40, admission=ADMISSION) as live:
        for sim in (live.devrev, live.docurift):
            sim.faults.set(latency_ms=1000)

        async def load() -> tuple[list[httpx.Response], httpx.Response, str]:
            async with httpx.AsyncClient(base_url=live.url, timeout=60) as client:
                admitted = [
                    asyncio.create_task(client.post("/graphql", json={"query": QUERY, "variables": {"first": n}}))
                    for n in (1, 2)
                ]
                while "gateway_admission_active 2" not in (await client.get("/metrics")).text:
                    await asyncio.sleep(0.02)
                queued = [
                    asyncio.create_task(client.post("/graphql", json={"query": QUERY, "variables": {"first": n}}))
                    for n in (3, 4)
                ]
                while "gateway_admission_waiting 2" not in (await client.get("/metrics")).text:
                    await asyncio.sleep(0.02)
                refused = await asyncio.gather(
                    *(client.post("/graphql", json={"query": QUERY, "variables": {"first": n}}) for n in range(5, 11))
                )
                health = await client.get("/healthz")  # exempt, while every slot is taken
                answered = await asyncio.gather(*admitted, *queued)
                metrics = (await client.get("/metrics")).text
                return [*answered, *refused], health, metrics

        responses, health, metrics = asyncio.run(load())

    answered, refused = responses[:4], responses[4:]
    for n, response in enumerate(answered, start=1):
        assert response.status_code == 200
        body = response.json()
        assert "errors" not in body and len(body["data"]["jobs"]["edges"]) == n
    for response in refused:
        assert response.status_code == 503 and response.headers["retry-after"] == "2"
        assert response.json() == {
            "errors": [
                {
                    "message": "The gateway is at capacity; retry after the number of seconds in Retry-After.",
                    "extensions": {"code": "OVERLOADED", "retryAfter": 2},
                }
            ]
        }
        assert TOKEN not in response.text and KEY not in response.text
    assert health.status_code == 200
    assert "gateway_admission_refused_total 6" in metrics and "gateway_admission_active 0" in metrics
