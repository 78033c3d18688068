"""The real DevRev client against the DevRev simulator, in process.

Normalization of every field (open enums included), how a query becomes a `jobs.list`
body, which filters skip DevRev, lookups by id, and every failure as a typed error.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.engine.gaps import END, START, anchor_value, readable_backward, readable_forward
from gateway.engine.reads import RawRead
from gateway.errors import (
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.ids import decode_job_id
from gateway.model import (
    DocumentType,
    JobFilter,
    JobOrder,
    JobQuery,
    JobStatus,
    OrderDirection,
    OrderField,
    Source,
)
from gateway.simulators.data import DEVREV_USERS
from gateway.sources.base import Skipped
from gateway.sources.devrev import DevRevSource

from live import serve
from sim_harness import SINGLE_ATTEMPT, DEVREV_URL, START as T0, TOKEN, devrev_at, frozen_clock, world

ADA, GRACE, ALAN, EDSGER = (user["id"] for user in DEVREV_USERS[:4])
SNAP = "don:integration:dvrv-us-1:devo/1:snap_in/{}".format
DESC = JobOrder(OrderField.CREATED_AT, OrderDirection.DESC)

FULL_JOB = {
    "id": "don:core:dvrv-us-1:devo/1:job/4242",
    "display_id": "JOB-4242",
    "title": "Export issues to CSV",
    "created_date": "2024-02-29T11:59:58.123Z",
    "modified_date": "2024-02-29T12:00:01.456Z",
    "created_by": DEVREV_USERS[0],
    "modified_by": DEVREV_USERS[3],
    "state": "completed",
    "job_category": "export",
    "progress": 100,
    "retry_count": 2,
    "object_version": 7,
    "metadata_list": [
        {"type": "string", "key": "format", "value": "csv"},
        {"type": "bool", "key": "dry_run", "value": "false"},
    ],
    "output_artifacts": [
        {
            "display_id": "ARTIFACT-5042",
            "id": "don:core:dvrv-us-1:devo/1:artifact/5042",
            "file": {"type": "text/csv", "name": "issues.csv", "size": 12345},
        }
    ],
    "_owned_by": [ADA, GRACE],
    "_parent_ids": [SNAP(1)],
}


def small_set() -> list[dict]:
    """Eight jobs with ties, every documented state and two the gateway has never seen."""
    states = ["queued", "running", "completed", "failed", "cancelled", "canceled", "paused", "archived_v2"]
    categories = ["bulk_upgrade", "export", "import", "reindex", "export", "brand_new_category", "import", "export"]
    jobs = []
    for i, (state, category) in enumerate(zip(states, categories, strict=True)):
        jobs.append(
            {
                "created_date": devrev_at(1000 * (i // 3)),  # three jobs per millisecond
                "modified_date": devrev_at(500 * (i % 4)),
                "state": state,
                "progress": 40 if state == "running" else 0,
                "job_category": category,
                "created_by": DEVREV_USERS[i % 3],
                "_owned_by": [DEVREV_USERS[i % 2]["id"]],
                "_parent_ids": [SNAP(1 + i % 3)] if i % 2 else [],
            }
        )
    return jobs


def body(request: httpx.Request) -> dict:
    return json.loads(request.content)


# --- normalization -------------------------------------------------------------------


async def test_every_field_is_normalized():
    async with world([FULL_JOB]) as w:
        stream = w.devrev.plan(JobQuery())[0]
        run = await w.devrev.read(JobQuery(), stream, RawRead(START, False, 0, 10))
        fetched = (await w.devrev.fetch([FULL_JOB["id"]]))[FULL_JOB["id"]]
    (job,) = run.jobs
    assert fetched == job
    assert decode_job_id(job.id) == (Source.DEVREV, FULL_JOB["id"])
    assert job.source is Source.DEVREV and job.source_id == FULL_JOB["id"]
    assert job.status is JobStatus.COMPLETED and job.source_status == "completed"
    assert job.created_at == datetime(2024, 2, 29, 11, 59, 58, 123000, tzinfo=UTC)
    assert job.updated_at == datetime(2024, 2, 29, 12, 0, 1, 456000, tzinfo=UTC)
    assert job.display_id == "JOB-4242" and job.title == "Export issues to CSV"
    assert job.progress == 100 and job.retry_count == 2 and job.object_version == 7
    assert job.category == "export"
    assert job.document_type is None and job.source_document_type is None and job.document_id is None
    assert job.completed_at is None and job.failed_at is None and job.error is None

    creator = job.created_by
    assert creator is not None
    assert (creator.id, creator.display_id, creator.display_name) == (ADA, "DEVU-1", "ada")
    assert (creator.full_name, creator.email, creator.state, creator.type) == (
        "Ada Lovelace",
        "ada@example.com",
        "active",
        "dev_user",
    )
    picture = creator.display_picture
    assert picture is not None and picture.id.endswith(":artifact/901") and picture.display_id == "ARTIFACT-901"
    assert picture.file is not None
    assert (picture.file.type, picture.file.name, picture.file.size) == ("image/png", "ada.png", 19_111)
    modifier = job.modified_by
    assert modifier is not None and modifier.id == EDSGER and modifier.display_picture is None

    assert [(m.key, m.value, m.type) for m in job.metadata] == [("format", "csv", "string"), ("dry_run", "false", "bool")]
    (artifact,) = job.output_artifacts
    assert artifact.id.endswith(":artifact/5042") and artifact.display_id == "ARTIFACT-5042"
    assert artifact.file is not None
    assert (artifact.file.type, artifact.file.name, artifact.file.size) == ("text/csv", "issues.csv", 12345)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("queued", JobStatus.PENDING),
        ("running", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("cancelled", JobStatus.CANCELLED),
        ("canceled", JobStatus.CANCELLED),
        ("paused", JobStatus.UNKNOWN),
        ("archived_v2", JobStatus.UNKNOWN),
    ],
)
async def test_states_map_and_unknown_ones_are_kept(state, status):
    async with world([{"state": state, "job_category": "category_from_the_future", "progress": 10}]) as w:
        page = await w.devrev.fetch(["don:core:dvrv-us-1:devo/1:job/1"])
    job = page["don:core:dvrv-us-1:devo/1:job/1"]
    assert job is not None
    assert job.status is status
    assert job.source_status == state
    assert job.category == "category_from_the_future"


async def test_sparse_job_normalizes_with_nones():
    """Only id and created_date are required; everything else may be missing or odd."""
    sparse = {
        "id": "don:core:dvrv-us-1:devo/1:job/7",
        "created_date": "2024-02-01T00:00:00.000Z",
        "modified_date": None,
        "created_by": None,
        "modified_by": "not-an-object",
        "state": None,
        "progress": "50",
        "retry_count": True,
        "metadata_list": [{"value": "no key"}, {"key": "k"}],
        "output_artifacts": [{"display_id": "no id"}],
    }
    async with world([sparse]) as w:
        job = (await w.devrev.fetch([sparse["id"]]))[sparse["id"]]
    assert job is not None
    assert job.status is JobStatus.UNKNOWN and job.source_status == ""
    assert job.updated_at == job.created_at  # the simulator defaults modified_date
    assert job.created_by is None and job.modified_by is None
    assert job.progress is None and job.retry_count is None
    assert [(m.key, m.value) for m in job.metadata] == [("k", None)]
    assert job.output_artifacts == []


# --- request translation ---------------------------------------------------------------


async def test_query_becomes_a_jobs_list_body():
    query = JobQuery(
        JobFilter(
            status=(JobStatus.CANCELLED, JobStatus.PENDING),
            categories=("export", "import"),
            created_by=(ADA,),
            owned_by=(GRACE, ALAN),
            parent_ids=(SNAP(2),),
        ),
        JobOrder(OrderField.UPDATED_AT, OrderDirection.ASC),
    )
    async with world(small_set()) as w:
        (stream,) = w.devrev.plan(query)
        assert stream.keep is None and stream.name == "DEVREV"
        await w.devrev.read(query, stream, RawRead(START, False, 0, 5))
        sent = w.devrev_log.last
        assert (sent.method, sent.url.path) == ("POST", "/jobs.list")
        assert sent.headers["authorization"] == f"Bearer {TOKEN}"
        assert body(sent) == {
            "sort_by": ["modified_date:asc"],
            "state": ["cancelled", "canceled", "queued"],
            "category": ["export", "import"],
            "created_by": [ADA],
            "owned_by_id": [GRACE, ALAN],
            "parent_ids": [SNAP(2)],
            "limit": 5,
            "mode": "after",
        }


async def test_reads_walk_cursors_both_ways():
    async with world(small_set()) as w:
        query = JobQuery(JobFilter(), DESC)
        (stream,) = w.devrev.plan(query)
        everything = await w.devrev.read(query, stream, RawRead(START, False, 0, 100))
        assert everything.first and everything.last and len(everything) == 8
        assert sorted(everything.anchors) == [(0, START), (8, END)]

        first = await w.devrev.read(query, stream, RawRead(START, False, 0, 3))
        assert first.first and not first.last and first.origin == 0
        anchors = dict(first.anchors)
        assert anchors[0] == START and isinstance(anchor_value(anchors[3]), str)
        assert not readable_backward(anchors[3]), "a next_cursor is only read with mode=after"
        assert [j.source_id for j in first.jobs] == [j.source_id for j in everything.jobs[:3]]

        # The next cursor reads on after the third entry with mode=after ...
        cursor = anchors[3]
        after = await w.devrev.read(query, stream, RawRead(cursor, False, 0, 3))
        assert body(w.devrev_log.last)["cursor"] == anchor_value(cursor) and body(w.devrev_log.last)["mode"] == "after"
        assert [j.source_id for j in after.jobs] == [j.source_id for j in everything.jobs[3:6]]
        # ... and that page's prev_cursor reads back before its first entry with mode=before.
        prev = next(anchor for place, anchor in after.anchors if place == 0 and readable_backward(anchor))
        assert not readable_forward(prev)
        before = await w.devrev.read(query, stream, RawRead(prev, True, 0, 2))
        assert body(w.devrev_log.last)["mode"] == "before"
        assert before.origin == 2 and not before.first
        assert [j.source_id for j in before.jobs] == [j.source_id for j in everything.jobs[1:3]]

        # Skipping is not something DevRev can do: the client reads skip + limit.
        await w.devrev.read(query, stream, RawRead(END, True, 4, 3))
        assert body(w.devrev_log.last)["limit"] == 7 and "cursor" not in body(w.devrev_log.last)
        big = await w.devrev.read(query, stream, RawRead(START, False, 90, 50))
        assert body(w.devrev_log.last)["limit"] == 100 and len(big) == 8

        tail = await w.devrev.read(query, stream, RawRead(END, True, 0, 3))
        assert tail.last and not tail.first and tail.origin == 3
        assert [j.source_id for j in tail.jobs] == [j.source_id for j in everything.jobs[-3:]]


async def test_empty_answer_keeps_the_anchor():
    async with world([]) as w:
        (stream,) = w.devrev.plan(JobQuery())
        run = await w.devrev.read(JobQuery(), stream, RawRead(START, False, 0, 5))
    assert run.jobs == [] and sorted(run.anchors) == [(0, END), (0, START)] and run.first and run.last


async def test_no_totals():
    async with world(small_set()) as w:
        (stream,) = w.devrev.plan(JobQuery())
        assert await w.devrev.count(JobQuery(), stream) is None
        assert w.devrev_sim.stats.list_requests == 0


# --- plan: skipped sources and local filtering ------------------------------------------


def plan(query: JobQuery):
    return DevRevSource(httpx.AsyncClient(), DEVREV_URL, TOKEN).plan(query)


@pytest.mark.parametrize(
    "job_filter",
    [
        JobFilter(sources=(Source.DOCURIFT,)),
        JobFilter(document_types=(DocumentType.INVOICE,)),
        JobFilter(sources=(Source.DEVREV,), document_types=(DocumentType.RECEIPT, DocumentType.GENERAL)),
    ],
)
def test_docurift_only_filters_skip_devrev(job_filter):
    planned = plan(JobQuery(job_filter))
    assert isinstance(planned, Skipped) and planned.reason


@pytest.mark.parametrize(
    "job_filter",
    [
        JobFilter(),
        JobFilter(sources=(Source.DEVREV,)),
        JobFilter(sources=(Source.DEVREV, Source.DOCURIFT)),
        JobFilter(categories=("export",), owned_by=(ADA,), parent_ids=(SNAP(1),), created_by=(ADA,)),
    ],
)
def test_devrev_takes_part(job_filter):
    planned = plan(JobQuery(job_filter))
    assert not isinstance(planned, Skipped) and len(planned) == 1


def test_local_filtering_only_where_devrev_cannot_filter():
    assert plan(JobQuery(JobFilter(status=(JobStatus.FAILED,))))[0].keep is None
    unknown = plan(JobQuery(JobFilter(status=(JobStatus.UNKNOWN, JobStatus.CANCELLED))))[0]
    assert unknown.keep is not None and "state" not in unknown.params
    dated = plan(JobQuery(JobFilter(created_after=T0 - timedelta(seconds=1))))[0]
    assert dated.keep is not None


async def test_unknown_status_and_dates_are_filtered_locally():
    low = T0 - timedelta(milliseconds=1500)
    query = JobQuery(JobFilter(status=(JobStatus.UNKNOWN, JobStatus.CANCELLED), created_after=low), DESC)
    async with world(small_set()) as w:
        (stream,) = w.devrev.plan(query)
        run = await w.devrev.read(query, stream, RawRead(START, False, 0, 100))
        assert "state" not in body(w.devrev_log.last)
        kept = [job for job in run.jobs if stream.keep(job)]
        assert {job.source_status for job in kept} == {
            job.source_status
            for job in w.all_jobs()
            if job.status in (JobStatus.UNKNOWN, JobStatus.CANCELLED) and job.created_at >= low
        }
        assert all(job.created_at >= low for job in kept)


# --- fetch by id ---------------------------------------------------------------------


async def test_fetch_by_ids_with_unknown_ids():
    async with world(small_set()) as w:
        ids = ["don:core:dvrv-us-1:devo/1:job/3", "don:core:dvrv-us-1:devo/1:job/999", "don:core:dvrv-us-1:devo/1:job/1"]
        found = await w.devrev.fetch(ids)
        assert list(found) == ids
        assert found[ids[1]] is None
        assert found[ids[0]] is not None and found[ids[0]].source_id == ids[0]
        assert found[ids[2]] is not None and found[ids[2]].status is JobStatus.PENDING
        gets = [r for r in w.devrev_log.requests if r.url.path == "/jobs.get"]
        assert sorted(r.url.params["id"] for r in gets) == sorted(ids)
        assert await w.devrev.fetch([]) == {}


# --- errors ----------------------------------------------------------------------------


async def list_once(source: DevRevSource) -> None:
    (stream,) = source.plan(JobQuery())
    await source.read(JobQuery(), stream, RawRead(START, False, 0, 5))


async def test_wrong_token_is_an_auth_error():
    async with world(small_set()) as w:
        wrong = DevRevSource(w.devrev._client, DEVREV_URL, "not-the-token", policy=SINGLE_ATTEMPT)
        with pytest.raises(UpstreamAuth) as caught:
            await list_once(wrong)
        assert caught.value.code == "UPSTREAM_AUTH" and caught.value.source == "DevRev"
        assert "not-the-token" not in caught.value.message
        with pytest.raises(UpstreamAuth):
            await wrong.fetch(["don:core:dvrv-us-1:devo/1:job/1"])


@pytest.mark.parametrize("kind", ["malformed", "envelope", "missing_field"])
@pytest.mark.parametrize("endpoint", ["list", "get"])
async def test_broken_answers_are_bad_responses(kind, endpoint):
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind=kind)
        with pytest.raises(UpstreamBadResponse) as caught:
            if endpoint == "list":
                await list_once(w.devrev)
            else:
                await w.devrev.fetch(["don:core:dvrv-us-1:devo/1:job/1"])
        assert caught.value.code == "UPSTREAM_BAD_RESPONSE"


@pytest.mark.parametrize(("retry_after", "expected"), [(7, 7.0), (None, None)])
async def test_429_is_rate_limited_with_retry_after(retry_after, expected):
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind="status", status=429, retry_after=retry_after)
        with pytest.raises(UpstreamRateLimited) as caught:
            await list_once(w.devrev)
        assert caught.value.retry_after == expected
        assert caught.value.extensions.get("retryAfter") == expected
        with pytest.raises(UpstreamRateLimited):
            await w.devrev.fetch(["don:core:dvrv-us-1:devo/1:job/1"])


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_failures_are_unavailable(status):
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind="status", status=status)
        with pytest.raises(UpstreamUnavailable) as caught:
            await list_once(w.devrev)
        assert caught.value.code == "UPSTREAM_UNAVAILABLE"


async def test_dropped_connection_is_unavailable():
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind="reset")
        with pytest.raises(UpstreamUnavailable):
            await list_once(w.devrev)


async def test_rejected_request_is_a_bad_response():
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind="status", status=400)
        with pytest.raises(UpstreamBadResponse):
            await list_once(w.devrev)


async def test_faults_clear_and_the_client_recovers():
    async with world(small_set()) as w:
        w.devrev_sim.faults.set(kind="status", status=503, count=1)
        with pytest.raises(UpstreamUnavailable):
            await list_once(w.devrev)
        await list_once(w.devrev)


async def test_hung_upstream_times_out():
    """httpx timeouts need a real socket: ASGITransport never times out."""
    from gateway.simulators import create_devrev_app

    app = create_devrev_app(token=TOKEN, clock=frozen_clock(), jobs=small_set())
    app.state.sim.faults.set(kind="hang")
    try:
        with serve(app) as url:
            async with httpx.AsyncClient(timeout=0.3) as client:
                source = DevRevSource(client, url, TOKEN, policy=SINGLE_ATTEMPT)
                with pytest.raises(UpstreamTimeout) as caught:
                    await list_once(source)
                assert caught.value.code == "UPSTREAM_TIMEOUT"
                with pytest.raises(UpstreamTimeout):
                    await source.fetch(["don:core:dvrv-us-1:devo/1:job/1"])
    finally:
        app.state.sim.faults.clear()
