"""Odd jobs go into both simulators and come out byte for byte, by list and by id."""

from __future__ import annotations

import orjson
import pytest

from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY, create_devrev_app, create_docurift_app
from gateway.simulators.oddities import ODD_IDS, devrev_oddities, docurift_oddities
from gateway.sources.docurift import path_segment

from conftest import START, client_for


@pytest.fixture
async def sims(clock):
    devrev_app = create_devrev_app(token=DEMO_DEVREV_TOKEN, clock=clock, count=5)
    docurift_app = create_docurift_app(api_key=DEMO_DOCURIFT_KEY, clock=clock, count=5)
    async with (
        client_for(devrev_app, "http://devrev.test", authorization=f"Bearer {DEMO_DEVREV_TOKEN}") as devrev,
        client_for(docurift_app, "http://docurift.test", **{"x-api-key": DEMO_DOCURIFT_KEY}) as docurift,
    ):
        yield devrev, docurift


async def test_oddities_are_served_as_written(sims) -> None:
    devrev, docurift = sims
    added = (await devrev.post("/_sim/oddities")).json()["jobs"]
    assert added == devrev_oddities(START)
    listed = (await devrev.post("/jobs.list", json={"limit": 100})).json()["jobs"]
    assert [job for job in listed if job["id"] in ODD_IDS] == added
    for job in added:
        got = await devrev.get("/jobs.get", params={"id": job["id"]})
        assert got.status_code == 200 and got.json()["job"] == job

    added = (await docurift.post("/_sim/oddities")).json()["jobs"]
    assert added == docurift_oddities(START)
    listed = (await docurift.get("/v1/jobs", params={"limit": 100})).json()["data"]["jobs"]
    assert [job for job in listed if job["id"] in ODD_IDS] == added
    for job in added:
        got = await docurift.get(f"/v1/jobs/{path_segment(job['id'])}")
        assert got.status_code == 200 and got.json()["data"] == job


async def test_oddities_go_in_once(sims) -> None:
    devrev, _ = sims
    assert (await devrev.post("/_sim/oddities")).status_code == 201
    again = await devrev.post("/_sim/oddities")
    assert again.status_code == 400 and "already exist" in again.json()["error"]


async def test_the_jobs_endpoint_accepts_odd_jobs_too(sims) -> None:
    """`/_sim/jobs` fills defaults for missing fields, but keeps every value it is given."""
    devrev, docurift = sims
    for client, jobs in ((devrev, devrev_oddities(START)), (docurift, docurift_oddities(START))):
        response = await client.post("/_sim/jobs", content=orjson.dumps(jobs))
        assert response.status_code == 201, response.text
        for given, stored in zip(jobs, response.json()):
            assert {key: stored[key] for key in given} == given


@pytest.mark.parametrize("job_id", [*ODD_IDS, "%", "a%2Fb", "/", "//", "a/", "?", "#"])
async def test_any_id_is_one_path_segment(sims, job_id) -> None:
    """An encoded '/' stays inside the segment; '.' and '..' are not dot segments."""
    _, docurift = sims
    await docurift.post("/_sim/jobs", json={"id": job_id, "createdAt": "2024-01-01T00:00:00Z"})
    response = await docurift.get(f"/v1/jobs/{path_segment(job_id)}")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["id"] == job_id
    stats = (await docurift.get("/_sim/stats")).json()
    assert stats["get_requests"] == 1


async def test_an_unknown_odd_id_is_not_found(sims) -> None:
    _, docurift = sims
    response = await docurift.get(f"/v1/jobs/{path_segment('no/such job')}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_long_text_is_ten_kilobytes_of_everything() -> None:
    from gateway.simulators.oddities import long_text

    text = long_text()
    assert 10_200 <= len(text.encode()) <= 10_240
    assert "\x00" in text and "e\u0301" in text and "👩🏽‍💻" in text


async def test_paths_other_than_one_job_are_still_unknown(sims) -> None:
    _, docurift = sims
    response = await docurift.get("/v1/jobs/x/cancel")
    assert response.status_code == 404
