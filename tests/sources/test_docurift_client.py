"""The real DocuRift client against the DocuRift simulator, in process.

Normalization of every field (open enums included), how a query becomes `GET /v1/jobs`
parameters, DevRev-only filters skipping DocuRift, the fan-out of multi-valued filters into
one stream per value and its local-filtering fallback, lookups by id, and typed errors.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gateway.engine.gaps import END, START
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
    JobError,
    JobFilter,
    JobOrder,
    JobQuery,
    JobStatus,
    OrderDirection,
    OrderField,
    Source,
)
from gateway.pagination import PageArgs, fetch_page
from gateway.sources.base import Skipped
from gateway.sources.docurift import MAX_FANOUT, DocuRiftSource, page_window

from live import serve
from sim_harness import SINGLE_ATTEMPT, DOCURIFT_URL, KEY, START as T0, docurift_at, frozen_clock, world

DESC = JobOrder(OrderField.CREATED_AT, OrderDirection.DESC)
ASC = JobOrder(OrderField.CREATED_AT, OrderDirection.ASC)

COMPLETED = {
    "id": "job_completed01",
    "status": "completed",
    "progress": 100,
    "documentType": "invoice",
    "documentId": "doc_xyz789ghi012",
    "createdAt": "2024-01-27T10:30:00Z",
    "updatedAt": "2024-01-27T10:30:45Z",
    "completedAt": "2024-01-27T10:30:45Z",
}
FAILED = {
    "id": "job_failed00001",
    "status": "failed",
    "progress": 15,
    "documentType": "contract",
    "error": {"code": "UNSUPPORTED_FORMAT", "message": "The document format is not supported"},
    "createdAt": "2024-01-27T10:25:00Z",
    "updatedAt": "2024-01-27T10:25:10Z",
    "failedAt": "2024-01-27T10:25:10Z",
}


def small_set() -> list[dict]:
    """Twelve jobs, four per second, every status and document type (and two unknown ones)."""
    statuses = ["pending", "processing", "completed", "failed"]
    types = ["invoice", "receipt", "contract", "general", "bill_of_lading", "packing_list", "purchase_order"]
    jobs = []
    for i in range(12):
        jobs.append(
            {
                "id": f"job_{i:012x}",
                "status": "archived" if i == 11 else statuses[i % 4],
                "progress": 30 if statuses[i % 4] == "processing" else 0,
                "documentType": types[i % len(types)],
                "createdAt": docurift_at(10 * (i // 4)),
                "updatedAt": docurift_at(i % 5),
            }
        )
    return jobs


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


# --- normalization -------------------------------------------------------------------


async def test_every_field_is_normalized():
    async with world(docurift_jobs=[COMPLETED, FAILED]) as w:
        (stream,) = w.docurift.plan(JobQuery())
        run = await w.docurift.read(JobQuery(), stream, RawRead(START, False, 0, 10))
        fetched = await w.docurift.fetch([COMPLETED["id"], FAILED["id"]])
    completed, failed = run.jobs
    assert fetched == {COMPLETED["id"]: completed, FAILED["id"]: failed}
    assert decode_job_id(completed.id) == (Source.DOCURIFT, "job_completed01")
    assert completed.source is Source.DOCURIFT and completed.source_id == "job_completed01"
    assert completed.status is JobStatus.COMPLETED and completed.source_status == "completed"
    assert completed.progress == 100
    assert completed.document_type is DocumentType.INVOICE and completed.source_document_type == "invoice"
    assert completed.document_id == "doc_xyz789ghi012"
    assert completed.created_at == datetime(2024, 1, 27, 10, 30, tzinfo=UTC)
    assert completed.updated_at == completed.completed_at == datetime(2024, 1, 27, 10, 30, 45, tzinfo=UTC)
    assert completed.failed_at is None and completed.error is None
    # DevRev-only fields stay empty.
    assert completed.title is None and completed.category is None and completed.created_by is None
    assert completed.metadata == [] and completed.output_artifacts == []

    assert failed.status is JobStatus.FAILED and failed.progress == 15
    assert failed.document_type is DocumentType.CONTRACT
    assert failed.error == JobError("UNSUPPORTED_FORMAT", "The document format is not supported")
    assert failed.failed_at == datetime(2024, 1, 27, 10, 25, 10, tzinfo=UTC)
    assert failed.document_id is None and failed.completed_at is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", JobStatus.PENDING),
        ("processing", JobStatus.RUNNING),
        ("completed", JobStatus.COMPLETED),
        ("failed", JobStatus.FAILED),
        ("archived", JobStatus.UNKNOWN),
    ],
)
async def test_statuses_map_and_unknown_ones_are_kept(status, expected):
    async with world(docurift_jobs=[{"id": "job_1", "status": status, "progress": 5}]) as w:
        job = (await w.docurift.fetch(["job_1"]))["job_1"]
    assert job is not None and job.status is expected and job.source_status == status


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("invoice", DocumentType.INVOICE),
        ("receipt", DocumentType.RECEIPT),
        ("contract", DocumentType.CONTRACT),
        ("general", DocumentType.GENERAL),
        ("bill_of_lading", DocumentType.BILL_OF_LADING),
        ("packing_list", DocumentType.PACKING_LIST),
        ("purchase_order", None),
        ("x_ray", None),
    ],
)
async def test_document_types_map_and_unknown_ones_are_kept(wire, expected):
    async with world(docurift_jobs=[{"id": "job_1", "documentType": wire}]) as w:
        job = (await w.docurift.fetch(["job_1"]))["job_1"]
    assert job is not None
    assert job.document_type is expected
    assert job.source_document_type == wire


async def test_failed_job_without_error_details():
    odd = {"id": "job_odd", "status": "failed", "error": {"message": "no code"}, "progress": None}
    async with world(docurift_jobs=[odd]) as w:
        job = (await w.docurift.fetch(["job_odd"]))["job_odd"]
    assert job is not None and job.error == JobError("UNKNOWN", "no code") and job.progress is None


# --- request translation ---------------------------------------------------------------


async def test_query_becomes_list_parameters():
    low = T0 - timedelta(seconds=25, microseconds=400_000)  # rounds up to -25 s
    high = T0 - timedelta(seconds=4, microseconds=300_000)  # rounds down to -5 s
    query = JobQuery(
        JobFilter(status=(JobStatus.COMPLETED,), document_types=(DocumentType.INVOICE,), created_after=low, created_before=high),
        DESC,
    )
    async with world(docurift_jobs=small_set()) as w:
        (stream,) = w.docurift.plan(query)
        assert stream.name == "DOCURIFT:completed:invoice" and stream.keep is None and stream.cheap_skip
        await w.docurift.read(query, stream, RawRead(START, False, 0, 7))
        sent = w.docurift_log.last
        assert (sent.method, sent.url.path) == ("GET", "/v1/jobs")
        assert sent.headers["x-api-key"] == KEY
        assert params(sent) == {
            "sortBy": "createdAt",
            "status": "completed",
            "documentType": "invoice",
            "page": "1",
            "limit": "7",
            "sortOrder": "desc",
            "startDate": docurift_at(25),
            "endDate": docurift_at(5),
        }


async def test_created_order_reads_from_seconds():
    async with world(docurift_jobs=small_set()) as w:
        query = JobQuery(JobFilter(), DESC)
        (stream,) = w.docurift.plan(query)
        everything = await w.docurift.read(query, stream, RawRead(START, False, 0, 100))
        assert everything.first and everything.last and everything.total == 12
        assert [j.source_id for j in everything.jobs] == [j.source_id for j in w.expected(query)]
        seconds = [int(j.created_at.timestamp()) for j in everything.jobs]
        # An anchor at every change of second, and at both ends.
        assert dict(everything.anchors) == {0: {"t": seconds[0]}, 4: {"t": seconds[4]}, 8: {"t": seconds[8]}, 12: END}

        # Forward from a second includes it: endDate is that second.
        anchor = dict(everything.anchors)[4]
        run = await w.docurift.read(query, stream, RawRead(anchor, False, 0, 3))
        assert params(w.docurift_log.last)["endDate"] == docurift_at(10)
        assert params(w.docurift_log.last)["sortOrder"] == "desc"
        assert [j.source_id for j in run.jobs] == [j.source_id for j in everything.jobs[4:7]]
        assert run.total is None  # narrowed by the anchor: not the stream's size

        # Backward from it excludes it: startDate is the next second, read ascending.
        run = await w.docurift.read(query, stream, RawRead(anchor, True, 0, 3))
        assert params(w.docurift_log.last)["startDate"] == docurift_at(9)
        assert params(w.docurift_log.last)["sortOrder"] == "asc"
        assert run.origin == 3 and dict(run.anchors)[3] == anchor
        assert [j.source_id for j in run.jobs] == [j.source_id for j in everything.jobs[1:4]]

        # Skipping is cheap in creation order too: entries [5, 8) from the end are the
        # second page of four; the run says where its anchor lies (four entries later).
        tail = await w.docurift.read(query, stream, RawRead(END, True, 5, 3))
        assert (params(w.docurift_log.last)["page"], params(w.docurift_log.last)["limit"]) == ("2", "4")
        assert tail.origin == 8 and dict(tail.anchors)[8] == END and not tail.last
        assert [j.source_id for j in tail.jobs] == [j.source_id for j in everything.jobs[4:8]]

        # Skipping from a second anchor: the anchor lies `skip` entries before the run.
        skipped = await w.docurift.read(query, stream, RawRead(anchor, False, 2, 2))
        assert (params(w.docurift_log.last)["page"], params(w.docurift_log.last)["limit"]) == ("2", "2")
        assert skipped.origin == -2 and dict(skipped.anchors)[-2] == anchor
        assert [j.source_id for j in skipped.jobs] == [j.source_id for j in everything.jobs[6:8]]


async def test_ascending_anchors_flip():
    async with world(docurift_jobs=small_set()) as w:
        query = JobQuery(JobFilter(), ASC)
        (stream,) = w.docurift.plan(query)
        everything = await w.docurift.read(query, stream, RawRead(START, False, 0, 100))
        assert [j.source_id for j in everything.jobs] == [j.source_id for j in w.expected(query)]
        anchor = dict(everything.anchors)[8]
        forward = await w.docurift.read(query, stream, RawRead(anchor, False, 0, 100))
        assert params(w.docurift_log.last)["startDate"] == docurift_at(0)
        assert [j.source_id for j in forward.jobs] == [j.source_id for j in everything.jobs[8:]]
        backward = await w.docurift.read(query, stream, RawRead(anchor, True, 0, 100))
        assert params(w.docurift_log.last)["endDate"] == docurift_at(1)
        assert [j.source_id for j in backward.jobs] == [j.source_id for j in everything.jobs[:8]]
        assert backward.first and dict(backward.anchors)[0] == START


async def test_update_order_reads_pages():
    async with world(docurift_jobs=small_set()) as w:
        query = JobQuery(JobFilter(), JobOrder(OrderField.UPDATED_AT, OrderDirection.DESC))
        (stream,) = w.docurift.plan(query)
        assert stream.cheap_skip
        expected = [j.source_id for j in w.expected(query)]
        run = await w.docurift.read(query, stream, RawRead(START, False, 6, 3))
        sent = params(w.docurift_log.last)
        assert (sent["sortBy"], sent["sortOrder"], sent["page"], sent["limit"]) == ("updatedAt", "desc", "3", "3")
        assert run.origin == -6 and dict(run.anchors) == {-6: START}
        assert [j.source_id for j in run.jobs] == expected[6:9]
        tail = await w.docurift.read(query, stream, RawRead(END, True, 2, 4))
        assert params(w.docurift_log.last)["sortOrder"] == "asc"
        # Entries [2, 6) from the end fit one page only as page 1 of 6: all six come back.
        assert (params(w.docurift_log.last)["page"], params(w.docurift_log.last)["limit"]) == ("1", "6")
        assert tail.origin == 6 and dict(tail.anchors) == {6: END} and not tail.first
        assert [j.source_id for j in tail.jobs] == expected[6:12]
        with pytest.raises(ValueError):
            await w.docurift.read(query, stream, RawRead({"t": 1}, False, 0, 3))


@pytest.mark.parametrize(
    ("skip", "limit"),
    [(0, 1), (0, 100), (5, 3), (99, 1), (99, 2), (99, 100), (150, 100), (150, 75), (250, 100), (1234, 37)],
)
@pytest.mark.parametrize("toward", [False, True])
def test_page_window_covers_what_it_can(skip, limit, toward):
    page, size = page_window(skip, limit, toward=toward)
    assert 1 <= size <= 100
    start, end = (page - 1) * size, page * size
    wanted = range(skip, skip + limit)
    covered = [i for i in wanted if start <= i < end]
    if any(((skip // s) + 1) * s >= skip + limit for s in range(limit, 101)):
        assert covered == list(wanted)  # one page covers it all
    else:
        # Otherwise as much as one page can, from the end that matters.
        assert covered and covered[-1 if toward else 0] == (wanted[-1] if toward else wanted[0])
        best = max(
            (len([i for i in wanted if (p - 1) * s <= i < p * s]), s)
            for s in range(1, 101)
            for p in {skip // s + 1, (skip + limit - 1) // s + 1}
            if ((p - 1) * s <= (wanted[-1] if toward else wanted[0]) < p * s)
        )
        assert len(covered) == best[0]
        assert len(covered) >= limit // 2


async def test_counts():
    async with world(docurift_jobs=small_set()) as w:
        query = JobQuery(JobFilter(status=(JobStatus.PENDING,)))
        (stream,) = w.docurift.plan(query)
        assert await w.docurift.count(query, stream) == 3
        assert params(w.docurift_log.last)["limit"] == "1"
        local = JobQuery(JobFilter(status=(JobStatus.UNKNOWN,)))
        (stream,) = w.docurift.plan(local)
        assert await w.docurift.count(local, stream) is None


# --- plan: skipped sources, fan-out ---------------------------------------------------------


def plan(query: JobQuery):
    return DocuRiftSource(httpx.AsyncClient(), DOCURIFT_URL, KEY).plan(query)


@pytest.mark.parametrize(
    "job_filter",
    [
        JobFilter(sources=(Source.DEVREV,)),
        JobFilter(categories=("export",)),
        JobFilter(created_by=("someone",)),
        JobFilter(owned_by=("someone",)),
        JobFilter(parent_ids=("snap",)),
        JobFilter(sources=(Source.DOCURIFT,), categories=("export",)),
    ],
)
def test_devrev_only_filters_skip_docurift(job_filter):
    planned = plan(JobQuery(job_filter))
    assert isinstance(planned, Skipped) and planned.reason


def test_cancelled_only_plans_no_stream():
    assert plan(JobQuery(JobFilter(status=(JobStatus.CANCELLED,)))) == []


@pytest.mark.parametrize(
    ("after_us", "before_us"),
    [(250, 750), (1, 999_999), (750, 750), (2_000_000, 1_000_000)],
)
def test_a_range_without_a_whole_second_plans_no_stream(after_us, before_us):
    """DocuRift compares whole seconds: such a range matches nothing, and asking for it
    upstream would be rejected (`endDate` before `startDate`)."""
    job_filter = JobFilter(
        created_after=T0 + timedelta(microseconds=after_us), created_before=T0 + timedelta(microseconds=before_us)
    )
    assert plan(JobQuery(job_filter)) == []


def test_a_range_inside_one_second_still_includes_that_whole_second():
    job_filter = JobFilter(created_after=T0, created_before=T0 + timedelta(microseconds=999_999))
    assert len(plan(JobQuery(job_filter))) == 1


async def test_an_empty_range_costs_no_request():
    inside = JobFilter(created_after=T0 - timedelta(microseconds=750), created_before=T0 - timedelta(microseconds=250))
    async with world(docurift_jobs=small_set()) as w:
        for order in (DESC, JobOrder(OrderField.UPDATED_AT, OrderDirection.ASC)):
            page = await fetch_page([w.docurift], JobQuery(inside, order), PageArgs(5, False, None))
            assert page.nodes == [] and not page.has_next_page and page.total_count == 0
        assert w.docurift_sim.stats.list_requests == 0


@pytest.mark.parametrize(
    ("statuses", "types", "names", "local"),
    [
        ((), (), ["DOCURIFT"], False),
        ((JobStatus.FAILED, JobStatus.PENDING), (), ["DOCURIFT:failed", "DOCURIFT:pending"], False),
        (
            (JobStatus.RUNNING, JobStatus.CANCELLED),
            (DocumentType.RECEIPT, DocumentType.INVOICE),
            ["DOCURIFT:processing:invoice", "DOCURIFT:processing:receipt"],
            False,
        ),
        (
            (JobStatus.COMPLETED, JobStatus.FAILED),
            (DocumentType.INVOICE, DocumentType.RECEIPT),
            [
                "DOCURIFT:completed:invoice",
                "DOCURIFT:completed:receipt",
                "DOCURIFT:failed:invoice",
                "DOCURIFT:failed:receipt",
            ],
            False,
        ),
        # 2 x 3 > MAX_FANOUT: the larger dimension (types) is filtered here.
        (
            (JobStatus.COMPLETED, JobStatus.FAILED),
            (DocumentType.INVOICE, DocumentType.RECEIPT, DocumentType.GENERAL),
            ["DOCURIFT:completed", "DOCURIFT:failed"],
            True,
        ),
        # 3 x 2: statuses are filtered here.
        (
            (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.PENDING),
            (DocumentType.INVOICE, DocumentType.RECEIPT),
            ["DOCURIFT:invoice", "DOCURIFT:receipt"],
            True,
        ),
        # Every status, six types: still four streams, types filtered here.
        (
            (JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED),
            tuple(DocumentType),
            ["DOCURIFT:completed", "DOCURIFT:failed", "DOCURIFT:pending", "DOCURIFT:processing"],
            True,
        ),
        # UNKNOWN cannot be asked for: status is filtered here, types still fan out.
        ((JobStatus.UNKNOWN, JobStatus.FAILED), (DocumentType.INVOICE,), ["DOCURIFT:invoice"], True),
        ((JobStatus.UNKNOWN,), tuple(DocumentType)[:5], ["DOCURIFT"], True),
    ],
)
def test_fan_out(statuses, types, names, local):
    planned = plan(JobQuery(JobFilter(status=statuses, document_types=types)))
    assert not isinstance(planned, Skipped)
    assert sorted(p.name for p in planned) == names
    assert len(planned) <= MAX_FANOUT
    assert all((p.keep is not None) == local for p in planned)
    for p in planned:
        asked = [p.params.get("status"), p.params.get("documentType")]
        assert p.name.split(":")[1:] == [value for value in asked if value is not None]


FANOUT_FILTERS = [
    JobFilter(status=(JobStatus.COMPLETED, JobStatus.FAILED)),
    JobFilter(status=(JobStatus.PENDING, JobStatus.RUNNING), document_types=(DocumentType.INVOICE, DocumentType.GENERAL)),
    JobFilter(status=(JobStatus.COMPLETED, JobStatus.FAILED), document_types=tuple(DocumentType)[:3]),
    JobFilter(status=(JobStatus.UNKNOWN, JobStatus.PENDING)),
    JobFilter(status=(JobStatus.UNKNOWN,), document_types=tuple(DocumentType)),
    JobFilter(document_types=(DocumentType.RECEIPT, DocumentType.CONTRACT, DocumentType.PACKING_LIST)),
]


@pytest.mark.parametrize("job_filter", FANOUT_FILTERS)
@pytest.mark.parametrize("order", [DESC, JobOrder(OrderField.UPDATED_AT, OrderDirection.ASC)])
async def test_fanned_out_streams_merge_to_the_filtered_list(job_filter, order):
    query = JobQuery(job_filter, order)
    async with world(docurift_jobs=small_set()) as w:
        planned = w.docurift.plan(query)
        w.reset_stats()
        page = await fetch_page([w.docurift], query, PageArgs(100, False, None))
        assert [j.id for j in page.nodes] == w.expected_ids(query)
        # One request per stream answers everything: the streams are read in parallel.
        assert w.docurift_sim.stats.list_requests == len(planned)
        exact = all(p.keep is None for p in planned)
        assert page.total_count == (len(page.nodes) if exact else None)


# --- fetch by id ---------------------------------------------------------------------


async def test_fetch_by_ids_with_unknown_ids():
    async with world(docurift_jobs=small_set() + [{"id": "job odd?#1", "status": "pending"}]) as w:
        ids = ["job_000000000003", "job_nope", "job odd?#1"]
        found = await w.docurift.fetch(ids)
        assert list(found) == ids and found["job_nope"] is None
        assert found["job_000000000003"] is not None and found["job_000000000003"].status is JobStatus.FAILED
        assert found["job odd?#1"] is not None
        paths = sorted(r.url.raw_path.decode() for r in w.docurift_log.requests)
        assert "/v1/jobs/job%20odd%3F%231" in paths


# --- errors ----------------------------------------------------------------------------


async def list_once(source: DocuRiftSource) -> None:
    (stream,) = source.plan(JobQuery())
    await source.read(JobQuery(), stream, RawRead(START, False, 0, 5))


async def test_wrong_key_is_an_auth_error():
    async with world(docurift_jobs=small_set()) as w:
        wrong = DocuRiftSource(w.docurift._client, DOCURIFT_URL, "frc_" + "x" * 32, policy=SINGLE_ATTEMPT)
        with pytest.raises(UpstreamAuth) as caught:
            await list_once(wrong)
        assert caught.value.source == "DocuRift" and "frc_xxxx" not in caught.value.message
        with pytest.raises(UpstreamAuth):
            await wrong.fetch(["job_000000000001"])
        with pytest.raises(UpstreamAuth):
            await wrong.count(JobQuery(), wrong.plan(JobQuery())[0])


@pytest.mark.parametrize("kind", ["malformed", "envelope", "missing_field"])
@pytest.mark.parametrize("endpoint", ["list", "get"])
async def test_broken_answers_are_bad_responses(kind, endpoint):
    async with world(docurift_jobs=small_set()) as w:
        w.docurift_sim.faults.set(kind=kind)
        with pytest.raises(UpstreamBadResponse):
            if endpoint == "list":
                await list_once(w.docurift)
            else:
                await w.docurift.fetch(["job_000000000001"])


@pytest.mark.parametrize(("retry_after", "expected"), [(30, 30.0), (None, None)])
async def test_429_is_rate_limited_with_retry_after(retry_after, expected):
    async with world(docurift_jobs=small_set()) as w:
        w.docurift_sim.faults.set(kind="status", status=429, retry_after=retry_after)
        with pytest.raises(UpstreamRateLimited) as caught:
            await list_once(w.docurift)
        assert caught.value.retry_after == expected
        with pytest.raises(UpstreamRateLimited):
            await w.docurift.fetch(["job_000000000001"])


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_failures_are_unavailable(status):
    async with world(docurift_jobs=small_set()) as w:
        w.docurift_sim.faults.set(kind="status", status=status, retry_after=5)
        with pytest.raises(UpstreamUnavailable):
            await list_once(w.docurift)


async def test_dropped_connection_is_unavailable():
    async with world(docurift_jobs=small_set()) as w:
        w.docurift_sim.faults.set(kind="reset")
        with pytest.raises(UpstreamUnavailable):
            await w.docurift.fetch(["job_000000000001"])


async def test_hung_upstream_times_out():
    """httpx timeouts need a real socket: ASGITransport never times out."""
    from gateway.simulators import create_docurift_app

    app = create_docurift_app(api_key=KEY, clock=frozen_clock(), jobs=small_set())
    app.state.sim.faults.set(kind="hang")
    try:
        with serve(app) as url:
            async with httpx.AsyncClient(timeout=0.3) as client:
                source = DocuRiftSource(client, url, KEY, policy=SINGLE_ATTEMPT)
                with pytest.raises(UpstreamTimeout):
                    await list_once(source)
                with pytest.raises(UpstreamTimeout):
                    await source.fetch(["job_000000000001"])
    finally:
        app.state.sim.faults.clear()
