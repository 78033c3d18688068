"""Admission control in one event loop: slots, the FIFO queue, refusals, leaving clients."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gateway.admission import Admission, AdmissionMiddleware, AdmissionSettings


def test_settings_from_the_environment():
    assert AdmissionSettings.from_env({}) == AdmissionSettings()
    read = AdmissionSettings.from_env(
        {"GATEWAY_MAX_CONCURRENCY": "0", "GATEWAY_MAX_QUEUE": "0", "GATEWAY_QUEUE_TIMEOUT": "0.25", "GATEWAY_RETRY_AFTER": "3"}
    )
    assert read == AdmissionSettings(max_concurrency=0, max_queue=0, queue_timeout=0.25, retry_after=3)
    assert not read.enabled


@pytest.mark.parametrize("name, raw", [("GATEWAY_MAX_CONCURRENCY", "-1"), ("GATEWAY_MAX_QUEUE", "lots"), ("GATEWAY_QUEUE_TIMEOUT", "0")])
def test_bad_settings_name_the_variable(name, raw):
    with pytest.raises(ValueError, match=name):
        AdmissionSettings.from_env({name: raw})


async def test_slots_then_a_fifo_queue_then_refusal():
    admission = Admission(AdmissionSettings(max_concurrency=2, max_queue=2, queue_timeout=60))
    assert await admission.acquire() and await admission.acquire()
    first, second = asyncio.create_task(admission.acquire()), asyncio.create_task(admission.acquire())
    await asyncio.sleep(0)
    assert admission.waiting == 2
    assert await admission.acquire() is False  # the queue is full: refused at once
    admission.release()
    assert await first is True and not second.done()  # the freed slot went to the first in line
    admission.release()
    assert await second is True
    assert (admission.active, admission.waiting, admission.refused) == (2, 0, 1)


async def test_a_waiter_whose_wait_ends_is_refused_and_leaves_the_queue():
    admission = Admission(AdmissionSettings(max_concurrency=1, max_queue=4, queue_timeout=0.01))
    assert await admission.acquire()
    assert await admission.acquire() is False
    assert (admission.active, admission.waiting, admission.refused) == (1, 0, 1)
    admission.release()
    assert admission.active == 0


async def test_a_client_leaving_the_queue_loses_no_slot():
    admission = Admission(AdmissionSettings(max_concurrency=1, max_queue=4, queue_timeout=60))
    assert await admission.acquire()
    leaving = asyncio.create_task(admission.acquire())
    await asyncio.sleep(0)
    admission.release()  # hands the slot to `leaving`, which is cancelled before it runs
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert admission.active == 0 and admission.waiting == 0
    assert await admission.acquire()


async def test_the_middleware_refuses_with_a_coded_503_and_exempts_health():
    release = asyncio.Event()

    async def app(scope, receive, send):
        body = (await receive())["body"]
        if scope["path"] == "/slow":
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    admission = Admission(AdmissionSettings(max_concurrency=1, max_queue=0))
    guarded = AdmissionMiddleware(app, admission=admission, exempt=("/healthz",))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded), base_url="http://gw") as client:
        slow = asyncio.create_task(client.post("/slow", content=b"kept"))
        while admission.active == 0:
            await asyncio.sleep(0)
        refused = await client.post("/graphql", content=b"{}")
        health = await client.get("/healthz")
        release.set()
        assert (await slow).content == b"kept"  # the body read before the slot is handed on intact
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"] == {"code": "OVERLOADED", "retryAfter": 1}
    assert health.status_code == 200
    assert admission.active == 0
