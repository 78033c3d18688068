"""The DocuRift simulator behaves like the documented `GET /v1/jobs`."""

from __future__ import annotations

import math
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import httpx
import pytest

from gateway.simulators import DEMO_DOCURIFT_KEY, create_docurift_app

S_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
STATUS_MESSAGE = "Invalid status filter. Must be one of: pending, processing, completed, failed"


async def page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/jobs", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and set(body) == {"success", "data"}
    assert set(body["data"]) == {"jobs", "pagination"}
    return body["data"]  # type: ignore[no-any-return]


async def walk(client: httpx.AsyncClient, **params: Any) -> list[str]:
    ids: list[str] = []
    number = 1
    while True:
        data = await page(client, page=number, **params)
        ids += [j["id"] for j in data["jobs"]]
        if not data["pagination"]["hasNextPage"]:
            return ids
        number += 1


def expected(
    jobs: list[dict[str, Any]], sort_by: str = "createdAt", order: str = "desc"
) -> list[str]:
    ordered = sorted(jobs, key=lambda j: (j[sort_by], j["id"]), reverse=order == "desc")
    return [j["id"] for j in ordered]


async def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body) == {"success", "error"}
    assert body["error"]["code"] == code and isinstance(body["error"]["message"], str)
    return body["error"]  # type: ignore[no-any-return]


# --- auth -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "UNAUTHORIZED"),
        ({"Authorization": "Basic abc"}, "UNAUTHORIZED"),
        ({"Authorization": "Bearer "}, "UNAUTHORIZED"),
        ({"X-API-Key": "frc_wrong"}, "INVALID_API_KEY"),
        ({"Authorization": "Bearer frc_wrong"}, "INVALID_API_KEY"),
        ({"X-API-Key": "frc_w\xf6rong".encode("latin-1")}, "INVALID_API_KEY"),
        (
            {"X-API-Key": "frc_wrong", "Authorization": f"Bearer {DEMO_DOCURIFT_KEY}"},
            "INVALID_API_KEY",
        ),
    ],
)
@pytest.mark.parametrize("path", ["/v1/jobs", "/v1/jobs/job_000000000000"])
async def test_auth_failures(docurift_app, headers, code, path) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=docurift_app), base_url="https://r", headers=headers
    ) as client:
        await assert_error(await client.get(path), 401, code)


async def test_bearer_and_api_key_both_work(docurift_app) -> None:
    for headers in (
        {"X-API-Key": DEMO_DOCURIFT_KEY},
        {"Authorization": f"Bearer {DEMO_DOCURIFT_KEY}"},
    ):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=docurift_app), base_url="https://r", headers=headers
        ) as client:
            assert (await client.get("/v1/jobs")).status_code == 200


# --- shape & data ------------------------------------------------------------------


async def test_defaults_and_envelope(docurift, docurift_app) -> None:
    data = await page(docurift)
    assert data["pagination"] == {
        "page": 1,
        "limit": 20,
        "total": 150,
        "totalPages": 8,
        "hasNextPage": True,
        "hasPrevPage": False,
    }
    assert [j["id"] for j in data["jobs"]] == expected(docurift_app.state.sim.store.jobs)[:20]


async def test_job_fields_follow_status(docurift_app) -> None:
    for job in docurift_app.state.sim.store.jobs:
        assert re.fullmatch(r"job_[0-9a-f]{12}", job["id"])
        assert S_STAMP.match(job["createdAt"]) and S_STAMP.match(job["updatedAt"])
        assert job["updatedAt"] >= job["createdAt"]
        base = {"id", "status", "progress", "documentType", "createdAt", "updatedAt"}
        extra = {
            "completed": {"documentId", "completedAt"},
            "failed": {"error", "failedAt"},
        }.get(job["status"], set())
        assert set(job) == base | extra
        assert list(job)[:4] == ["id", "status", "progress", "documentType"]
        if job["status"] == "completed":
            assert job["progress"] == 100 and job["completedAt"] == job["updatedAt"]
        if job["status"] == "failed":
            assert set(job["error"]) == {"code", "message"}
        if job["status"] == "pending":
            assert job["progress"] == 0


async def test_statuses_and_types_include_rare_values(docurift_app) -> None:
    jobs = docurift_app.state.sim.store.jobs
    assert {j["status"] for j in jobs} == {"pending", "processing", "completed", "failed"}
    types = Counter(j["documentType"] for j in jobs)
    assert set(types) == {
        "invoice",
        "receipt",
        "contract",
        "general",
        "bill_of_lading",
        "packing_list",
        "purchase_order",
    }
    assert types["purchase_order"] <= 5


async def test_many_jobs_share_a_created_second(docurift_app) -> None:
    seconds = Counter(j["createdAt"] for j in docurift_app.state.sim.store.jobs)
    shared = sum(n for n in seconds.values() if n > 1)
    assert shared / 150 >= 0.25


# --- paging ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort_by", "order"),
    [("createdAt", "desc"), ("createdAt", "asc"), ("updatedAt", "desc"), ("updatedAt", "asc")],
)
async def test_walk_equals_sorted_list(docurift, docurift_app, sort_by, order) -> None:
    want = expected(docurift_app.state.sim.store.jobs, sort_by, order)
    assert await walk(docurift, limit=13, sortBy=sort_by, sortOrder=order) == want


async def test_asc_is_desc_reversed_and_ties_by_id(docurift) -> None:
    asc = (await page(docurift, limit=100, sortOrder="asc"))["jobs"]
    asc += (await page(docurift, limit=100, page=2, sortOrder="asc"))["jobs"]
    desc = await walk(docurift, limit=100, sortOrder="desc")
    assert [j["id"] for j in asc] == desc[::-1]
    ties = [(a, b) for a, b in pairwise(asc) if a["createdAt"] == b["createdAt"]]
    assert ties and all(a["id"] < b["id"] for a, b in ties)


@pytest.mark.parametrize(("limit", "served"), [("1", 1), ("100", 100), ("101", 100), ("5000", 100)])
async def test_limit_is_capped(docurift, limit, served) -> None:
    data = await page(docurift, limit=limit)
    assert len(data["jobs"]) == served
    assert data["pagination"]["limit"] == served
    assert data["pagination"]["totalPages"] == math.ceil(150 / served)


async def test_last_and_beyond_last_page(docurift) -> None:
    last = await page(docurift, limit=40, page=4)
    assert len(last["jobs"]) == 30
    assert last["pagination"]["hasNextPage"] is False and last["pagination"]["hasPrevPage"] is True
    beyond = await page(docurift, limit=40, page=9)
    assert beyond["jobs"] == [] and beyond["pagination"]["total"] == 150


async def test_offset_pages_shift_when_a_job_is_created(docurift, docurift_app) -> None:
    first = await page(docurift, limit=10)
    docurift_app.state.sim.store.add({"status": "pending"})  # newest job: goes to the top
    second = await page(docurift, limit=10, page=2)
    assert second["jobs"][0] == first["jobs"][-1]  # seen twice
    assert second["pagination"]["total"] == 151


async def test_empty_result(docurift) -> None:
    data = await page(docurift, startDate="2030-01-01T00:00:00Z")
    assert data == {
        "jobs": [],
        "pagination": {
            "page": 1,
            "limit": 20,
            "total": 0,
            "totalPages": 0,
            "hasNextPage": False,
            "hasPrevPage": False,
        },
    }


# --- filters ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["pending", "processing", "completed", "failed"])
async def test_status_filter(docurift, docurift_app, status) -> None:
    want = [j for j in docurift_app.state.sim.store.jobs if j["status"] == status]
    assert await walk(docurift, status=status, limit=100) == expected(want)


@pytest.mark.parametrize("document_type", ["invoice", "bill_of_lading", "packing_list", "general"])
async def test_document_type_filter(docurift, docurift_app, document_type) -> None:
    want = [j for j in docurift_app.state.sim.store.jobs if j["documentType"] == document_type]
    got = await walk(docurift, documentType=document_type, status="completed", limit=100)
    assert got == expected([j for j in want if j["status"] == "completed"])


async def test_date_filters_are_inclusive_and_accept_iso_variants(docurift, docurift_app) -> None:
    jobs = docurift_app.state.sim.store.jobs
    stamps = sorted({j["createdAt"] for j in jobs})
    low, high = stamps[20], stamps[60]
    want = expected([j for j in jobs if low <= j["createdAt"] <= high])
    assert await walk(docurift, startDate=low, endDate=high, limit=100) == want
    # The same instants written with an offset and with a fraction.
    low_offset = low.replace("Z", "+00:00")
    high_fraction = high.replace("Z", ".000Z")
    assert await walk(docurift, startDate=low_offset, endDate=high_fraction, limit=100) == want
    # The same instant on a +02:00 wall clock.
    plus_two = datetime.fromisoformat(low).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert plus_two.endswith("+02:00")
    assert await walk(docurift, startDate=plus_two, endDate=high, limit=100) == want
    # A fraction past the second excludes jobs created in that second.
    after = await walk(docurift, startDate=low.replace("Z", ".5Z"), endDate=high, limit=100)
    assert after == expected([j for j in jobs if low < j["createdAt"] <= high])
    day = await walk(docurift, startDate=low[:10], limit=100)  # date only: midnight UTC
    assert day == expected([j for j in jobs if j["createdAt"] >= low[:10] + "T00:00:00Z"])
    same = await walk(docurift, startDate=low, endDate=low)
    assert same == expected([j for j in jobs if j["createdAt"] == low])


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"page": "0"}, "INVALID_PARAMETER"),
        ({"page": "-1"}, "INVALID_PARAMETER"),
        ({"page": "two"}, "INVALID_PARAMETER"),
        ({"page": "1.5"}, "INVALID_PARAMETER"),
        ({"limit": "0"}, "INVALID_PARAMETER"),
        ({"limit": "many"}, "INVALID_PARAMETER"),
        ({"status": "done"}, "INVALID_PARAMETER"),
        ({"status": ["pending", "failed"]}, "INVALID_PARAMETER"),
        ({"documentType": "purchase_order"}, "INVALID_PARAMETER"),
        ({"documentType": "INVOICE"}, "INVALID_PARAMETER"),
        ({"sortBy": "id"}, "INVALID_PARAMETER"),
        ({"sortOrder": "up"}, "INVALID_PARAMETER"),
        ({"startDate": "yesterday"}, "INVALID_DATE_FORMAT"),
        ({"endDate": "2024-13-01T00:00:00Z"}, "INVALID_DATE_FORMAT"),
        (
            {"startDate": "2024-02-02T00:00:00Z", "endDate": "2024-02-01T00:00:00Z"},
            "INVALID_DATE_RANGE",
        ),
    ],
)
async def test_parameter_errors(docurift, params, code) -> None:
    await assert_error(await docurift.get("/v1/jobs", params=params), 400, code)


async def test_status_error_message_is_the_documented_one(docurift) -> None:
    error = await assert_error(
        await docurift.get("/v1/jobs", params={"status": "x"}), 400, "INVALID_PARAMETER"
    )
    assert error["message"] == STATUS_MESSAGE


async def test_empty_and_unknown_parameters_are_ignored(docurift) -> None:
    plain = await page(docurift)
    assert await page(docurift, status="", sortBy="", foo="bar") == plain


# --- single job ------------------------------------------------------------------------


async def test_get_job(docurift, docurift_app) -> None:
    job = docurift_app.state.sim.store.jobs[7]
    response = await docurift.get(f"/v1/jobs/{job['id']}")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": job}
    await assert_error(await docurift.get("/v1/jobs/job_ffffffffffff"), 404, "NOT_FOUND")


async def test_unknown_routes(docurift) -> None:
    await assert_error(await docurift.get("/v1/documents"), 404, "NOT_FOUND")
    await assert_error(await docurift.get("/v1/jobs/"), 404, "NOT_FOUND")
    await assert_error(await docurift.post("/v1/jobs"), 405, "METHOD_NOT_ALLOWED")


# --- clock ------------------------------------------------------------------------------


async def test_processing_jobs_advance_and_complete(docurift, docurift_app, clock) -> None:
    processing = (await page(docurift, status="processing", limit=100))["jobs"]
    job = min(processing, key=lambda j: j["progress"])
    assert job["progress"] <= 90
    assert (await page(docurift, status="processing", limit=100))["jobs"] == processing
    clock.advance(100)
    later = (await docurift.get(f"/v1/jobs/{job['id']}")).json()["data"]
    assert later["progress"] == job["progress"] + 10 and later["updatedAt"] > job["updatedAt"]
    assert later["status"] == "processing" and "documentId" not in later
    clock.advance(1_000)
    done = (await docurift.get(f"/v1/jobs/{job['id']}")).json()["data"]
    assert done["status"] == "completed" and done["progress"] == 100
    assert re.fullmatch(r"doc_[0-9a-f]{12}", done["documentId"])
    assert done["completedAt"] == done["updatedAt"]
    assert list(done) == [
        "id",
        "status",
        "progress",
        "documentType",
        "documentId",
        "createdAt",
        "updatedAt",
        "completedAt",
    ]
    assert (await page(docurift, status="processing"))["jobs"] == []


async def test_same_seed_same_data(clock) -> None:
    a = create_docurift_app(api_key="k", clock=clock, count=50).state.sim.store.jobs
    b = create_docurift_app(api_key="k", clock=clock, count=50).state.sim.store.jobs
    c = create_docurift_app(api_key="k", clock=clock, count=50, seed=12).state.sim.store.jobs
    assert a == b and a != c


# --- data control --------------------------------------------------------------------------


async def test_add_job_defaults(docurift, clock) -> None:
    response = await docurift.post(
        "/_sim/jobs", json={"status": "completed", "documentType": "receipt"}
    )
    assert response.status_code == 201
    job = response.json()
    assert job["createdAt"] == job["updatedAt"] == job["completedAt"] == "2024-03-01T12:00:00Z"
    assert job["progress"] == 100 and job["documentId"].startswith("doc_")
    failed = (
        await docurift.post(
            "/_sim/jobs", json={"status": "failed", "createdAt": "2024-02-01T10:00:00.900+01:00"}
        )
    ).json()
    assert (
        failed["createdAt"] == "2024-02-01T09:00:00Z" and failed["failedAt"] == failed["updatedAt"]
    )
    assert set(failed["error"]) == {"code", "message"}
    assert (await docurift.get(f"/v1/jobs/{failed['id']}")).json()["data"] == failed
    assert (await docurift.post("/_sim/jobs", json={"id": job["id"]})).status_code == 400
    assert (await docurift.delete("/_sim/jobs")).json() == {"deleted": 152}
    assert (await page(docurift))["pagination"]["total"] == 0


async def test_jobs_argument_replaces_seed(clock) -> None:
    app = create_docurift_app(
        api_key="k",
        clock=clock,
        jobs=[{"id": "job_aaaaaaaaaaaa", "status": "processing", "progress": 50}],
    )
    assert [j["id"] for j in app.state.sim.store.jobs] == ["job_aaaaaaaaaaaa"]
    clock.advance(500)
    assert app.state.sim.store.jobs[0]["status"] == "completed"


async def test_stats(docurift, docurift_app) -> None:
    await page(docurift, limit=4)
    job_id = docurift_app.state.sim.store.jobs[0]["id"]
    await docurift.get(f"/v1/jobs/{job_id}")
    await docurift.get("/v1/jobs", params={"status": "bad"})
    stats = (await docurift.get("/_sim/stats")).json()
    assert stats["requests"] == {"/v1/jobs": 2, f"/v1/jobs/{job_id}": 1}
    assert (stats["list_requests"], stats["get_requests"], stats["items_served"]) == (2, 1, 5)
