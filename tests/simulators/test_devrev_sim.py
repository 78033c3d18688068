"""The DevRev simulator behaves like the documented `jobs.list` / `jobs.get`."""

from __future__ import annotations

import asyncio
import re
from itertools import pairwise
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.simulators import DEMO_DEVREV_TOKEN, SimClock, create_devrev_app
from gateway.simulators.data import DEVREV_PARENT_IDS, DEVREV_USERS
from gateway.simulators.timefmt import devrev_ts

SEED_FIELDS = {
    "created_by",
    "created_date",
    "display_id",
    "id",
    "modified_by",
    "modified_date",
    "object_version",
    "job_category",
    "job_id",
    "metadata_list",
    "output_artifacts",
    "progress",
    "retry_count",
    "state",
    "title",
}
MS_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
AUTH = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}


def expected(jobs: list[dict[str, Any]], sort: str = "created_date:desc") -> list[str]:
    field, _, direction = sort.partition(":")
    ordered = sorted(jobs, key=lambda j: (j[field], j["id"]), reverse=direction == "desc")
    return [j["id"] for j in ordered]


async def walk(client: httpx.AsyncClient, body: dict[str, Any], mode: str = "after") -> list[str]:
    """Follow next_cursor (after) or prev_cursor (before) to the end; ids in sort order."""
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(500):
        request = {**body, "mode": mode}
        if cursor is not None:
            request["cursor"] = cursor
        response = await client.post("/jobs.list", json=request)
        assert response.status_code == 200, response.text
        data = response.json()
        pages.append([j["id"] for j in data["jobs"]])
        cursor = data.get("next_cursor" if mode == "after" else "prev_cursor")
        if cursor is None:
            break
    if mode == "before":
        pages.reverse()
    return [job_id for page in pages for job_id in page]


async def list_jobs(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/jobs.list", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# --- auth ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": DEMO_DEVREV_TOKEN},
        {"Authorization": f"Token {DEMO_DEVREV_TOKEN}"},
        {"Authorization": "Bearer t\xf6ken".encode("latin-1")},
    ],
)
@pytest.mark.parametrize("path", ["/jobs.list", "/jobs.get"])
async def test_auth_is_required(devrev_app, headers, path) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=devrev_app), base_url="https://d", headers=headers
    ) as client:
        response = await client.post(path, json={"id": "x"})
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "unauthenticated"
    assert set(body) == {"type", "message", "detail"}


# --- shape ----------------------------------------------------------------------


async def test_jobs_have_exactly_the_seed_fields(devrev) -> None:
    data = await list_jobs(devrev, limit=100)
    assert len(data["jobs"]) == 100
    for job in data["jobs"]:
        assert set(job) == SEED_FIELDS
        assert MS_STAMP.match(job["created_date"]) and MS_STAMP.match(job["modified_date"])
        assert job["modified_date"] >= job["created_date"]
        assert re.fullmatch(r"don:core:dvrv-us-1:devo/1:job/\d+", job["id"])
        assert job["display_id"] == "JOB-" + job["id"].rsplit("/", 1)[1]
        assert job["created_by"]["type"] == "dev_user"
        assert 0 <= job["progress"] <= 100


async def test_defaults_are_created_date_desc_and_limit_50(devrev, devrev_app) -> None:
    data = await list_jobs(devrev)
    all_jobs = devrev_app.state.sim.store.jobs
    assert [j["id"] for j in data["jobs"]] == expected(all_jobs)[:50]
    assert "next_cursor" in data and "prev_cursor" not in data


async def test_get_and_post_agree(devrev) -> None:
    body = {"state": ["completed", "failed"], "sort_by": ["modified_date:asc"], "limit": 7}
    post = await list_jobs(devrev, **body)
    get = await devrev.get("/jobs.list", params=body)
    assert get.status_code == 200
    assert get.json() == post
    follow = await devrev.get("/jobs.list", params={**body, "cursor": post["next_cursor"]})
    assert follow.json() == await list_jobs(devrev, **body, cursor=post["next_cursor"])


async def test_open_enum_values_are_seeded(devrev_app) -> None:
    jobs = devrev_app.state.sim.store.jobs
    states = {j["state"] for j in jobs}
    categories = {j["job_category"] for j in jobs}
    assert {"queued", "running", "completed", "failed", "cancelled", "canceled", "paused"} <= states
    assert {"bulk_upgrade", "export", "import", "reindex"} <= categories


async def test_seeded_data_has_exact_timestamp_ties(devrev_app) -> None:
    jobs = devrev_app.state.sim.store.jobs
    created = [j["created_date"] for j in jobs]
    modified = [j["modified_date"] for j in jobs]
    assert len(set(created)) < len(created)
    assert len(set(modified)) < len(modified)


# --- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"limit": 0},
        {"limit": -3},
        {"limit": "ten"},
        {"limit": 2.5},
        {"limit": True},
        {"mode": "sideways"},
        {"mode": 1},
        {"sort_by": ["title:asc"]},
        {"sort_by": ["created_date"]},
        {"sort_by": ["created_date:up"]},
        {"sort_by": "created_date:asc"},
        {"sort_by": ["created_date:asc", "created_date:desc"]},
        {"state": "running"},
        {"category": [1]},
        {"created_by": "x"},
        {"owned_by_id": {"a": 1}},
        {"parent_ids": [None]},
        {"cursor": "garbage!!"},
        {"cursor": "eyJ2IjoxfQ"},
        {"cursor": 12},
    ],
)
async def test_bad_requests(devrev, body) -> None:
    response = await devrev.post("/jobs.list", json=body)
    assert response.status_code == 400, body
    assert response.json()["type"] == "bad_request"


@pytest.mark.parametrize(
    "params", [{"limit": "abc"}, {"limit": "0"}, {"mode": "x"}, {"sort_by": "id:asc"}]
)
async def test_bad_query_parameters(devrev, params) -> None:
    response = await devrev.get("/jobs.list", params=params)
    assert response.status_code == 400
    assert response.json()["type"] == "bad_request"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
async def test_body_must_be_a_json_object(devrev, raw) -> None:
    response = await devrev.post("/jobs.list", content=raw)
    assert response.status_code == 400
    assert response.json()["type"] == "bad_request"


async def test_empty_body_and_unknown_fields_are_fine(devrev) -> None:
    empty = await devrev.post("/jobs.list", content=b"")
    assert empty.status_code == 200
    unknown = await list_jobs(devrev, whatever=[1, 2], applies_to_parts=["x"])
    assert unknown == empty.json()


@pytest.mark.parametrize(("asked", "served"), [(1, 1), (100, 100), (101, 100), (10_000, 100)])
async def test_limit_is_capped_at_100(devrev, asked, served) -> None:
    assert len((await list_jobs(devrev, limit=asked))["jobs"]) == served
    query = await devrev.get("/jobs.list", params={"limit": str(asked)})
    assert len(query.json()["jobs"]) == served


# --- filters ---------------------------------------------------------------------


async def test_filters(devrev, devrev_app) -> None:
    sim = devrev_app.state.sim
    pairs = sim.store.snapshot(sim.clock.now())
    ada, grace = DEVREV_USERS[0]["id"], DEVREV_USERS[1]["id"]
    cases: list[tuple[dict[str, Any], Any]] = [
        ({"state": ["failed", "paused"]}, lambda i, j: j["state"] in ("failed", "paused")),
        ({"category": ["reindex"]}, lambda i, j: j["job_category"] == "reindex"),
        ({"created_by": [ada]}, lambda i, j: j["created_by"]["id"] == ada),
        ({"owned_by_id": [ada, grace]}, lambda i, j: bool({ada, grace} & set(i.owners))),
        ({"parent_ids": [DEVREV_PARENT_IDS[0]]}, lambda i, j: DEVREV_PARENT_IDS[0] in i.parents),
        (
            {"state": ["completed"], "category": ["export", "import"], "created_by": [grace]},
            lambda i, j: (
                j["state"] == "completed"
                and j["job_category"] in ("export", "import")
                and j["created_by"]["id"] == grace
            ),
        ),
        ({"state": ["no_such_state"]}, lambda i, j: False),
    ]
    for body, keep in cases:
        want = [j for i, j in pairs if keep(i, j)]
        assert want or body == {"state": ["no_such_state"]}, body
        got = await walk(devrev, {**body, "limit": 100})
        assert got == expected(want), body


async def test_empty_result_has_no_cursors(devrev) -> None:
    for mode in ("after", "before"):
        data = await list_jobs(devrev, state=["no_such_state"], mode=mode)
        assert data == {"jobs": []}


# --- ordering and cursors -----------------------------------------------------------


@pytest.mark.parametrize(
    "sort", ["created_date:desc", "created_date:asc", "modified_date:desc", "modified_date:asc"]
)
@pytest.mark.parametrize("limit", [7, 50])
async def test_cursor_walk_both_ways_equals_sorted_list(devrev, devrev_app, sort, limit) -> None:
    body = {
        "sort_by": [sort],
        "limit": limit,
        "state": ["completed", "failed", "running", "paused"],
    }
    want = expected(
        [j for j in devrev_app.state.sim.store.jobs if j["state"] in body["state"]], sort
    )
    assert len(want) > limit
    assert await walk(devrev, body, "after") == want
    assert await walk(devrev, body, "before") == want


async def test_asc_is_exactly_desc_reversed(devrev) -> None:
    for field in ("created_date", "modified_date"):
        asc = await walk(devrev, {"sort_by": [f"{field}:asc"], "limit": 100})
        desc = await walk(devrev, {"sort_by": [f"{field}:desc"], "limit": 100})
        assert asc == desc[::-1]


async def test_ties_are_ordered_by_id_in_the_sort_direction(devrev) -> None:
    data = await list_jobs(devrev, limit=100, sort_by=["created_date:asc"])
    rest = await list_jobs(
        devrev, limit=100, sort_by=["created_date:asc"], cursor=data["next_cursor"]
    )
    jobs = data["jobs"] + rest["jobs"]
    ties = 0
    for a, b in pairwise(jobs):
        assert a["created_date"] <= b["created_date"]
        if a["created_date"] == b["created_date"]:
            ties += 1
            assert a["id"] < b["id"]  # plain string order: "job/1000" < "job/999"
    assert ties > 0


async def test_cursor_presence_rules(devrev, devrev_app) -> None:
    want = expected(devrev_app.state.sim.store.jobs)
    first = await list_jobs(devrev, limit=10)
    assert "prev_cursor" not in first and "next_cursor" in first
    middle = await list_jobs(devrev, limit=10, cursor=first["next_cursor"])
    assert "prev_cursor" in middle and "next_cursor" in middle
    assert [j["id"] for j in middle["jobs"]] == want[10:20]

    last = await list_jobs(devrev, limit=10, mode="before")
    assert [j["id"] for j in last["jobs"]] == want[-10:]
    assert "next_cursor" not in last and "prev_cursor" in last

    back = await list_jobs(devrev, limit=10, mode="before", cursor=middle["prev_cursor"])
    assert [j["id"] for j in back["jobs"]] == want[:10]
    assert "prev_cursor" not in back and "next_cursor" in back

    # mode=before from a next_cursor: the entries up to and including the page's last one.
    upto = await list_jobs(devrev, limit=5, mode="before", cursor=middle["next_cursor"])
    assert [j["id"] for j in upto["jobs"]] == want[15:20]

    everything = await list_jobs(
        devrev, limit=100, sort_by=["created_date:asc"], category=["reindex"]
    )
    assert "next_cursor" not in everything and "prev_cursor" not in everything


async def test_past_the_end_page_is_empty_but_can_go_back(devrev, devrev_app) -> None:
    want = expected(devrev_app.state.sim.store.jobs)
    last = await list_jobs(devrev, limit=10, mode="before")
    # The last page has no next_cursor, so build one by walking: the page before
    # the last carries a next_cursor that lands exactly on the last page.
    before_last = await list_jobs(devrev, limit=10, mode="before", cursor=last["prev_cursor"])
    after = await list_jobs(devrev, limit=100, cursor=before_last["next_cursor"])
    assert [j["id"] for j in after["jobs"]] == want[-10:]
    assert "next_cursor" not in after
    beyond = after["prev_cursor"]
    again = await list_jobs(devrev, limit=10, mode="before", cursor=beyond)
    assert [j["id"] for j in again["jobs"]] == want[-20:-10]


async def test_cursor_positions_survive_inserts_elsewhere(devrev, devrev_app, clock) -> None:
    store = devrev_app.state.sim.store
    first = await list_jobs(devrev, limit=10)
    second_before = await list_jobs(devrev, limit=10, cursor=first["next_cursor"])
    # A brand-new job (newest: sorts before the cursor) and an old one far after the page.
    store.add({"created_date": clock.now().isoformat(), "title": "new"})
    old = store.add({"created_date": "2024-02-01T00:00:00Z", "title": "old"})
    second_after = await list_jobs(devrev, limit=10, cursor=first["next_cursor"])
    assert second_after["jobs"] == second_before["jobs"]
    back = await list_jobs(devrev, limit=10, mode="before", cursor=second_after["prev_cursor"])
    assert back["jobs"] == first["jobs"]
    assert "prev_cursor" in back  # the new job now precedes page one
    assert old["id"] in await walk(devrev, {"limit": 100})


async def test_cursor_positions_survive_deleting_the_boundary_job(devrev, devrev_app) -> None:
    store = devrev_app.state.sim.store
    want = expected(store.jobs)
    first = await list_jobs(devrev, limit=10)
    kept = [j for j in store.jobs if j["id"] != first["jobs"][-1]["id"]]
    store.clear()
    for job in kept:
        store.add(job)
    second = await list_jobs(devrev, limit=10, cursor=first["next_cursor"])
    assert [j["id"] for j in second["jobs"]] == want[10:20]


async def test_cursor_from_another_sort_is_rejected(devrev) -> None:
    page = await list_jobs(devrev, limit=5, sort_by=["modified_date:desc"])
    for sort in (["created_date:desc"], ["modified_date:asc"], None):
        body: dict[str, Any] = {"cursor": page["next_cursor"]}
        if sort:
            body["sort_by"] = sort
        response = await devrev.post("/jobs.list", json=body)
        assert response.status_code == 400
        assert response.json()["type"] == "bad_request"
    # An absent sort_by and the explicit default are the same sort.
    default = await list_jobs(devrev, limit=5)
    ok = await list_jobs(
        devrev, limit=5, sort_by=["created_date:desc"], cursor=default["next_cursor"]
    )
    assert ok["jobs"]


async def test_two_key_sort(devrev, devrev_app) -> None:
    jobs = devrev_app.state.sim.store.jobs
    # modified asc, then created desc, then id in the first key's direction (asc).
    want = [
        j["id"]
        for j in sorted(jobs, key=lambda j: (j["modified_date"], _neg(j["created_date"]), j["id"]))
    ]
    body = {"sort_by": ["modified_date:asc", "created_date:desc"], "limit": 9}
    assert await walk(devrev, body, "after") == want
    assert await walk(devrev, body, "before") == want


def _neg(stamp: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in stamp)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    limit=st.integers(1, 40),
    sort=st.sampled_from(
        ["created_date:desc", "created_date:asc", "modified_date:desc", "modified_date:asc"]
    ),
    states=st.lists(
        st.sampled_from(["completed", "failed", "running", "queued", "paused"]), max_size=3
    ),
    mode=st.sampled_from(["after", "before"]),
)
def test_any_walk_equals_sorted_list(limit: int, sort: str, states: list[str], mode: str) -> None:
    app = create_devrev_app(token="t", count=60, clock=SimClock(frozen=True), seed=limit)
    body: dict[str, Any] = {"sort_by": [sort], "limit": limit}
    if states:
        body["state"] = states
    jobs = [j for j in app.state.sim.store.jobs if not states or j["state"] in states]

    async def run() -> list[str]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://d",
            headers={"Authorization": "Bearer t"},
        ) as client:
            return await walk(client, body, mode)

    assert asyncio.run(run()) == expected(jobs, sort)


# --- jobs.get ------------------------------------------------------------------------


async def test_get_by_id(devrev, devrev_app) -> None:
    job = devrev_app.state.sim.store.jobs[3]
    by_query = await devrev.get("/jobs.get", params={"id": job["id"]})
    by_body = await devrev.post("/jobs.get", json={"id": job["id"]})
    assert by_query.status_code == by_body.status_code == 200
    assert by_query.json() == by_body.json() == {"job": job}


async def test_get_errors(devrev) -> None:
    missing = await devrev.post("/jobs.get", json={"id": "don:core:dvrv-us-1:devo/1:job/1"})
    assert missing.status_code == 404 and missing.json()["type"] == "not_found"
    for response in (
        await devrev.get("/jobs.get"),
        await devrev.post("/jobs.get", json={}),
        await devrev.post("/jobs.get", json={"id": 5}),
    ):
        assert response.status_code == 400 and response.json()["type"] == "bad_request"


async def test_unknown_paths_and_methods(devrev) -> None:
    response = await devrev.post("/works.list", json={})
    assert response.status_code == 404 and response.json()["type"] == "not_found"
    assert (await devrev.post("/jobs.list/", json={})).status_code == 404
    wrong = await devrev.delete("/jobs.list")
    assert wrong.status_code == 405 and wrong.json()["type"] == "bad_request"


# --- clock ---------------------------------------------------------------------------


async def test_frozen_clock_is_deterministic(clock) -> None:
    async def snapshot(seed: int) -> list[Any]:
        app = create_devrev_app(token="t", seed=seed, count=80, clock=clock)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="https://d",
            headers={"Authorization": "Bearer t"},
        ) as client:
            first = await list_jobs(client, limit=100)
            return [first, await list_jobs(client, limit=100)]

    a, b = await snapshot(7), await snapshot(7)
    assert a == b and a[0] == a[1]
    assert (await snapshot(8))[0] != a[0]


async def test_running_jobs_progress_with_the_clock(devrev, clock) -> None:
    running = (await list_jobs(devrev, state=["running"], limit=100))["jobs"]
    assert running
    job = min(running, key=lambda j: j["progress"])  # far enough from 100
    assert job["progress"] <= 94
    clock.advance(60)  # six 10-second steps
    later = (await devrev.post("/jobs.get", json={"id": job["id"]})).json()["job"]
    assert later["progress"] == min(100, job["progress"] + 6)
    assert later["modified_date"] > job["modified_date"]
    assert later["object_version"] > job["object_version"]

    clock.advance(1_000)  # 100 steps: every running job has finished
    after = (await list_jobs(devrev, state=["running"]))["jobs"]
    assert after == []
    done = (await devrev.post("/jobs.get", json={"id": job["id"]})).json()["job"]
    assert done["state"] == "completed" and done["progress"] == 100
    assert job["modified_date"] < done["modified_date"] < devrev_ts(clock.now())
    frozen_again = (await devrev.post("/jobs.get", json={"id": job["id"]})).json()["job"]
    assert frozen_again == done


async def test_unfrozen_clock_runs() -> None:
    clock = SimClock()
    first = clock.now()
    await asyncio.sleep(0.01)
    assert clock.now() > first
    clock.freeze()
    held = clock.now()
    await asyncio.sleep(0.01)
    assert clock.now() == held
    clock.advance(5)
    assert (clock.now() - held).total_seconds() == 5
    with pytest.raises(ValueError):
        clock.advance(-1)


# --- data control & stats ------------------------------------------------------------


async def test_add_job_fills_defaults(devrev, devrev_app, clock) -> None:
    response = await devrev.post(
        "/_sim/jobs",
        json={
            "state": "paused",
            "job_category": "archive",
            "_owned_by": ["don:identity:x"],
            "_parent_ids": ["don:p"],
            "extra_field": {"x": 1},
        },
    )
    assert response.status_code == 201
    job = response.json()
    assert SEED_FIELDS <= set(job) and job["extra_field"] == {"x": 1}
    assert "_owned_by" not in job
    assert job["created_date"] == job["modified_date"] == "2024-03-01T12:00:00.000Z"
    assert job["state"] == "paused" and job["progress"] == 0
    owned = await list_jobs(devrev, owned_by_id=["don:identity:x"])
    assert [j["id"] for j in owned["jobs"]] == [job["id"]]
    parented = await list_jobs(devrev, parent_ids=["don:p"])
    assert [j["id"] for j in parented["jobs"]] == [job["id"]]
    assert (await devrev.post("/_sim/jobs", json={"id": job["id"]})).status_code == 400
    assert (await devrev.post("/_sim/jobs", json={"created_date": "yesterday"})).status_code == 400
    cleared = await devrev.delete("/_sim/jobs")
    assert cleared.json() == {"deleted": 121}
    assert await list_jobs(devrev) == {"jobs": []}


async def test_jobs_argument_replaces_seed(clock) -> None:
    app = create_devrev_app(
        token="t",
        clock=clock,
        jobs=[
            {"title": "a"},
            {
                "title": "b",
                "state": "running",
                "progress": 98,
                "created_date": "2024-03-01T11:00:00+00:00",
            },
        ],
    )
    jobs = app.state.sim.store.jobs
    assert [j["title"] for j in jobs] == ["a", "b"]
    assert jobs[1]["created_date"] == "2024-03-01T11:00:00.000Z"
    assert [j["id"] for j in jobs] == [
        "don:core:dvrv-us-1:devo/1:job/1",
        "don:core:dvrv-us-1:devo/1:job/2",
    ]
    clock.advance(20)
    assert app.state.sim.store.jobs[1]["progress"] == 100
    assert app.state.sim.store.jobs[1]["state"] == "completed"


async def test_stats(devrev, devrev_app) -> None:
    stats = devrev_app.state.sim.stats
    await list_jobs(devrev, limit=5)
    await devrev.get("/jobs.list", params={"limit": 3})
    job_id = devrev_app.state.sim.store.jobs[0]["id"]
    await devrev.post("/jobs.get", json={"id": job_id})
    await devrev.post("/jobs.get", json={"id": "nope"})
    await devrev.get("/_sim/stats")
    assert stats.list_requests == 2 and stats.get_requests == 2
    assert stats.items_served == 9
    over_http = (await devrev.get("/_sim/stats")).json()
    assert over_http == {
        "requests": {"/jobs.list": 2, "/jobs.get": 2},
        "list_requests": 2,
        "get_requests": 2,
        "items_served": 9,
        "faults_injected": 0,
    }
    reset = await devrev.post("/_sim/stats/reset")
    assert reset.json()["requests"] == {} and stats.items_served == 0
    stats.items_served = 4
    stats.reset()
    assert stats.items_served == 0


async def test_clock_admin_endpoint(devrev, clock) -> None:
    state = (await devrev.post("/_sim/clock", json={"advance": 30})).json()
    assert state["frozen"] is True
    assert state["now"] == "2024-03-01T12:00:30+00:00"
    assert (await devrev.post("/_sim/clock", json={"advance": "x"})).status_code == 400
