"""Injected faults look like each upstream's real failures."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from gateway.simulators import (
    DEMO_DEVREV_TOKEN,
    Faults,
    create_devrev_app,
    create_docurift_app,
)

DEVREV_LIST = ("POST", "/jobs.list")
DOCURIFT_LIST = ("GET", "/v1/jobs")


async def call(client: httpx.AsyncClient, request: tuple[str, str]) -> httpx.Response:
    method, path = request
    if method == "POST":
        return await client.post(path, json={"limit": 3})
    return await client.get(path, params={"limit": 3})


@pytest.fixture(params=["devrev", "docurift"])
async def sim(request, devrev, docurift, devrev_app, docurift_app) -> Any:
    """(client, app, list request) for each simulator, to run a test on both."""
    if request.param == "devrev":
        return devrev, devrev_app, DEVREV_LIST
    return docurift, docurift_app, DOCURIFT_LIST


def error_code(app: Starlette, response: httpx.Response) -> str:
    body = response.json()
    if "success" in body:
        assert body["success"] is False and set(body["error"]) == {"code", "message"}
        return body["error"]["code"]  # type: ignore[no-any-return]
    assert {"type", "message", "detail"} <= set(body)
    return body["type"]  # type: ignore[no-any-return]


# --- status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "devrev_type", "docurift_code"),
    [
        (400, "bad_request", "INVALID_PARAMETER"),
        (401, "unauthenticated", "INVALID_API_KEY"),
        (403, "forbidden", "FORBIDDEN"),
        (404, "not_found", "NOT_FOUND"),
        (413, "request_entity_too_large", "BAD_REQUEST"),
        (429, "too_many_requests", "RATE_LIMIT_EXCEEDED"),
        (500, "internal_error", "INTERNAL_ERROR"),
        (503, "service_unavailable", "SERVICE_UNAVAILABLE"),
    ],
)
async def test_status_faults_use_each_apis_error_shape(
    sim, status, devrev_type, docurift_code
) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=status)
    response = await call(client, request)
    assert response.status_code == status
    code = error_code(app, response)
    assert code == (devrev_type if request == DEVREV_LIST else docurift_code)
    assert "retry-after" not in response.headers
    if code == "internal_error":
        assert response.json()["reference_id"]
    if code == "request_entity_too_large":
        assert response.json()["max_bytes"] > 0


async def test_429_retry_after(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=429, retry_after=7)
    response = await call(client, request)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    if request == DEVREV_LIST:
        assert response.json() == {
            "detail": "Too many requests",
            "message": "Too many requests",
            "type": "too_many_requests",
            "retry_after": 7,
        }
    else:
        assert response.json()["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    app.state.sim.faults.set(kind="status", status=429)
    bare = await call(client, request)
    assert "retry-after" not in bare.headers and "retry_after" not in bare.json()


async def test_503_may_carry_retry_after(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=503, retry_after=2)
    response = await call(client, request)
    assert response.status_code == 503 and response.headers["retry-after"] == "2"


@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_errors_come_from_the_edge_as_html(sim, status) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=status)
    response = await call(client, request)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        response.json()


# --- count, rate, paths ------------------------------------------------------------------


async def test_count_limits_hits(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=500, count=2)
    statuses = [(await call(client, request)).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert app.state.sim.faults.hits == 2
    assert app.state.sim.stats.faults_injected == 2
    assert app.state.sim.stats.list_requests == 4  # faulted requests still count


async def test_rate_is_seeded_and_reproducible(sim) -> None:
    client, app, request = sim
    faults = app.state.sim.faults

    async def pattern(seed: int) -> list[int]:
        faults.set(kind="status", status=503, rate=0.3, seed=seed)
        return [(await call(client, request)).status_code for _ in range(40)]

    first, again, other = await pattern(1), await pattern(1), await pattern(2)
    assert first == again and first != other
    assert 4 <= first.count(503) <= 20
    faults.set(kind="status", status=503, rate=0.0)
    assert {(await call(client, request)).status_code for _ in range(5)} == {200}


async def test_rate_and_count_together(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="status", status=500, rate=0.5, count=3, seed=3)
    statuses = [(await call(client, request)).status_code for _ in range(40)]
    assert statuses.count(500) == 3
    assert statuses[:3] != [500, 500, 500]  # spread out by the dice, not the first three


async def test_paths_scope_faults_and_admin_is_never_hit(devrev, devrev_app) -> None:
    faults = devrev_app.state.sim.faults
    faults.set(kind="status", status=500, paths=["/jobs.get"])
    assert (await devrev.post("/jobs.list", json={})).status_code == 200
    assert (await devrev.post("/jobs.get", json={"id": "x"})).status_code == 500
    faults.set(kind="status", status=500)
    for path in ("/_sim/stats", "/_sim/faults", "/_sim/jobs", "/_sim/clock"):
        assert (await devrev.get(path)).status_code == 200
    assert devrev_app.state.sim.stats.requests == {"/jobs.list": 1, "/jobs.get": 1}


async def test_one_faults_object_can_break_both_apps(clock) -> None:
    shared = Faults(kind="status", status=503, count=3)
    apps = [
        (
            create_devrev_app(token="t", clock=clock, faults=shared, count=20),
            {"Authorization": "Bearer t"},
            DEVREV_LIST,
        ),
        (
            create_docurift_app(api_key="k", clock=clock, faults=shared, count=20),
            {"X-API-Key": "k"},
            DOCURIFT_LIST,
        ),
    ]
    statuses = []
    for app, headers, request in apps * 2:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://x", headers=headers
        ) as client:
            statuses.append((await call(client, request)).status_code)
    assert statuses == [503, 503, 503, 200]


async def test_faults_run_before_auth(devrev_app) -> None:
    devrev_app.state.sim.faults.set(kind="status", status=429)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=devrev_app), base_url="https://x"
    ) as client:
        assert (await client.post("/jobs.list", json={})).status_code == 429


# --- time ------------------------------------------------------------------------------


async def test_latency_applies_to_every_request(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(latency_ms=60)
    started = time.perf_counter()
    response = await call(client, request)
    assert response.status_code == 200
    assert time.perf_counter() - started >= 0.06
    app.state.sim.faults.set(kind="status", status=500, latency_ms=60, count=1)
    for expected in (500, 200):
        started = time.perf_counter()
        assert (await call(client, request)).status_code == expected
        assert time.perf_counter() - started >= 0.06
    admin_started = time.perf_counter()
    await client.get("/_sim/stats")
    assert time.perf_counter() - admin_started < 0.05


async def test_slow_delays_only_hit_requests(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="slow", delay_ms=120, count=1)
    started = time.perf_counter()
    assert (await call(client, request)).status_code == 200
    assert time.perf_counter() - started >= 0.12
    started = time.perf_counter()
    await call(client, request)
    assert time.perf_counter() - started < 0.1


async def test_hang_is_cancellable(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="hang")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(call(client, request), timeout=0.2)
    app.state.sim.faults.clear()
    assert (await call(client, request)).status_code == 200


async def test_clearing_faults_releases_hung_requests(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="hang")
    pending = asyncio.create_task(call(client, request))
    await asyncio.sleep(0.15)
    assert not pending.done()
    await client.delete("/_sim/faults")
    response = await asyncio.wait_for(pending, timeout=2)
    assert response.status_code == 200  # the released request is answered normally
    if request == DEVREV_LIST:  # its POST body survived the wait
        assert len(response.json()["jobs"]) == 3


# --- bodies -----------------------------------------------------------------------------


async def test_malformed_is_200_and_not_json(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="malformed")
    response = await call(client, request)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_envelope_is_valid_json_of_the_wrong_shape(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="envelope")
    response = await call(client, request)
    assert response.status_code == 200
    body = response.json()
    if request == DEVREV_LIST:
        assert "jobs" not in body
    else:
        assert "jobs" not in body.get("data", {})


async def test_envelope_and_malformed_on_single_job_endpoints(
    devrev, docurift, devrev_app, docurift_app
) -> None:
    cases = (
        (devrev, devrev_app, "/jobs.get?id=x", "job"),
        (docurift, docurift_app, "/v1/jobs/job_x", "data"),
    )
    for client, app, path, key in cases:
        app.state.sim.faults.set(kind="envelope")
        response = await client.get(path)
        assert response.status_code == 200
        assert key not in response.json()
        app.state.sim.faults.set(kind="malformed")
        with pytest.raises(json.JSONDecodeError):
            (await client.get(path)).json()


async def test_missing_field(devrev, docurift, devrev_app, docurift_app) -> None:
    devrev_app.state.sim.faults.set(kind="missing_field", count=2)
    jobs = (await devrev.post("/jobs.list", json={"limit": 5})).json()["jobs"]
    assert "id" not in jobs[0] and all("id" in j for j in jobs[1:])
    some_id = jobs[1]["id"]
    single = (await devrev.get("/jobs.get", params={"id": some_id})).json()["job"]
    assert "id" not in single and single["display_id"]
    assert "id" in (await devrev.post("/jobs.list", json={"limit": 1})).json()["jobs"][0]

    docurift_app.state.sim.faults.set(kind="missing_field")
    jobs = (await docurift.get("/v1/jobs", params={"limit": 5})).json()["data"]["jobs"]
    assert "createdAt" not in jobs[0] and all("createdAt" in j for j in jobs[1:])
    # The stored job is untouched.
    assert "createdAt" in docurift_app.state.sim.store.get(jobs[0]["id"]).wire


async def test_reset_in_process_raises_a_transport_error(sim) -> None:
    client, app, request = sim
    app.state.sim.faults.set(kind="reset", count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        await call(client, request)
    assert (await call(client, request)).status_code == 200


@pytest.fixture
def served_devrev() -> Iterator[tuple[str, Starlette]]:
    """The DevRev simulator behind a real uvicorn socket."""
    app = create_devrev_app(token=DEMO_DEVREV_TOKEN, count=20)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    thread.join(5)
    sock.close()


def test_reset_over_a_real_socket_drops_the_connection(served_devrev) -> None:
    url, _ = served_devrev
    headers = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
        client.post("/_sim/faults", json={"kind": "reset", "count": 1}).raise_for_status()
        with pytest.raises(httpx.TransportError):
            client.post("/jobs.list", json={})
        assert client.post("/jobs.list", json={"limit": 2}).status_code == 200


def test_hang_over_a_real_socket_times_out_the_client(served_devrev) -> None:
    url, _ = served_devrev
    headers = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}
    with httpx.Client(base_url=url, headers=headers, timeout=0.3) as client:
        client.post("/_sim/faults", json={"kind": "hang"}).raise_for_status()
        with pytest.raises(httpx.ReadTimeout):
            client.post("/jobs.list", json={})
        client.delete("/_sim/faults").raise_for_status()
        assert client.post("/jobs.list", json={}).status_code == 200


# --- configuration ------------------------------------------------------------------------


async def test_fault_admin_endpoint(devrev, devrev_app) -> None:
    response = await devrev.post(
        "/_sim/faults",
        json={
            "kind": "status",
            "status": 429,
            "retry_after": 1,
            "rate": 0.5,
            "seed": 9,
            "count": 4,
            "latency_ms": 0,
            "paths": ["/jobs.list"],
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        "kind": "status",
        "status": 429,
        "retry_after": 1,
        "rate": 0.5,
        "seed": 9,
        "count": 4,
        "latency_ms": 0.0,
        "delay_ms": 0.0,
        "paths": ["/jobs.list"],
        "hits": 0,
    }
    assert devrev_app.state.sim.faults.config.kind == "status"
    current = (await devrev.get("/_sim/faults")).json()
    assert current["kind"] == "status"
    assert (await devrev.post("/_sim/faults", json=current)).json() == current  # round-trips
    assert (await devrev.delete("/_sim/faults")).json()["kind"] == "none"
    assert devrev_app.state.sim.faults.config.kind == "none"


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "status", "status": 200},
        {"kind": "status", "status": "500"},
        {"rate": 1.5},
        {"rate": -0.1},
        {"count": -1},
        {"latency_ms": -5},
        {"kind": "slow"},
        {"paths": "/jobs.list"},
        {"colour": "red"},
        {"retry_after": "soon"},
        {"rate": True},
        {"paths": {"/jobs.list": 1}},
    ],
)
async def test_invalid_fault_configs_are_rejected(devrev, devrev_app, body) -> None:
    response = await devrev.post("/_sim/faults", json=body)
    assert response.status_code == 400 and response.json()["error"]
    assert devrev_app.state.sim.faults.config.kind == "none"
    with pytest.raises(ValueError):
        Faults(**body)


async def test_invalid_json_is_rejected(devrev) -> None:
    assert (await devrev.post("/_sim/faults", content=b"{")).status_code == 400
    assert (
        await devrev.post("/_sim/faults", content=b'{"latency_ms": Infinity}')
    ).status_code == 400
    assert (await devrev.post("/_sim/faults", content=b"[]")).status_code == 400


async def test_docurift_admin_endpoints_work_too(docurift, docurift_app) -> None:
    await docurift.post("/_sim/faults", json={"kind": "status", "status": 500, "count": 1})
    assert (await docurift.get("/v1/jobs")).status_code == 500
    stats = (await docurift.get("/_sim/stats")).json()
    assert stats["faults_injected"] == 1 and stats["list_requests"] == 1
    await docurift.post("/_sim/stats/reset")
    assert docurift_app.state.sim.stats.list_requests == 0
