"""Property tests: paging the merged connection over the REAL clients and the simulators.

Every example builds both simulators (frozen clock, a few dozen jobs with many timestamp
ties), pages through `fetch_page` with the real `DevRevSource` and `DocuRiftSource` over
in-process HTTP, and compares with a brute-force oracle: every stored job, normalized by
the client's own `normalize`, filtered with the `JobFilter` semantics and sorted by the
connection's key.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st

from gateway.engine.order import sort_key
from gateway.model import (
    DocumentType,
    JobFilter,
    JobOrder,
    JobQuery,
    JobStatus,
    OrderDirection,
    OrderField,
    Source,
    SourceState,
)
from gateway.pagination import PageArgs, fetch_page
from gateway.simulators.data import DEVREV_USERS
from gateway.sources import devrev, docurift
from gateway.sources.base import Skipped

from sim_harness import START, World, devrev_at, docurift_at, traverse, world

# Modest by default (the whole file runs in well under a minute); SIM_EXAMPLES=500 digs deeper.
SETTINGS = settings(
    max_examples=int(os.environ.get("SIM_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

USERS = [user["id"] for user in DEVREV_USERS[:3]]
PARENTS = [f"don:integration:dvrv-us-1:devo/1:snap_in/{k}" for k in (1, 2, 3)]
DEVREV_STATES = ["queued", "running", "completed", "failed", "cancelled", "canceled", "paused", "hibernating"]
CATEGORIES = ["bulk_upgrade", "export", "import", "reindex", "brand_new"]
DOCURIFT_STATUSES = ["pending", "processing", "completed", "failed", "archived"]
DOCURIFT_TYPES = ["invoice", "receipt", "contract", "general", "bill_of_lading", "packing_list", "purchase_order"]

# Few distinct instants, so ties are common: within a source, and across sources on whole
# seconds (DevRev carries milliseconds, DocuRift whole seconds).
DEVREV_MS = [0, 0, 1, 2, 999, 1000, 1000, 1001, 2000, 2500, 3000, 3000]
DOCURIFT_S = [0, 0, 1, 1, 2, 3, 3]
BOUND_MS = [-1, 0, 1, 500, 999, 1000, 1500, 2000, 2999, 3001]  # bounds, some between seconds


def devrev_jobs(size: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    job = st.fixed_dictionaries(
        {
            "created_date": st.sampled_from(DEVREV_MS).map(devrev_at),
            "modified_date": st.sampled_from(DEVREV_MS).map(devrev_at),
            "state": st.sampled_from(DEVREV_STATES),
            "progress": st.integers(0, 99),
            "job_category": st.sampled_from(CATEGORIES),
            "created_by": st.sampled_from(DEVREV_USERS[:3]),
            "_owned_by": st.lists(st.sampled_from(USERS), max_size=2, unique=True),
            "_parent_ids": st.lists(st.sampled_from(PARENTS), max_size=2, unique=True),
        }
    )
    return st.lists(job, min_size=size, max_size=size)


def docurift_jobs(size: int) -> st.SearchStrategy[list[dict[str, Any]]]:
    job = st.fixed_dictionaries(
        {
            "createdAt": st.sampled_from(DOCURIFT_S).map(docurift_at),
            "updatedAt": st.sampled_from(DOCURIFT_S).map(docurift_at),
            "status": st.sampled_from(DOCURIFT_STATUSES),
            "progress": st.integers(0, 99),
            "documentType": st.sampled_from(DOCURIFT_TYPES),
        }
    )

    def with_ids(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Ids where one is a prefix of another ("job_1", "job_12"): the descending tie-break.
        return [{**job, "id": f"job_{n}"} for n, job in enumerate(jobs, start=1)]

    return st.lists(job, min_size=size, max_size=size).map(with_ids)


@st.composite
def job_sets(draw, low: int = 0, high: int = 40) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return draw(devrev_jobs(draw(st.integers(low, high)))), draw(docurift_jobs(draw(st.integers(low, high))))


def maybe(strategy: st.SearchStrategy, empty: Any = ()) -> st.SearchStrategy:
    """Mostly no constraint, sometimes one: random filters rarely match anything otherwise."""
    return st.one_of(st.just(empty), st.just(empty), st.just(empty), strategy)


def subset(values: list[Any], max_size: int = 3) -> st.SearchStrategy[tuple]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=max_size, unique=True).map(tuple)


def bound() -> st.SearchStrategy:
    return st.sampled_from(BOUND_MS).map(lambda ms: START - timedelta(milliseconds=ms, microseconds=250))


filters = st.builds(
    JobFilter,
    sources=st.sampled_from([(), (), (Source.DEVREV,), (Source.DOCURIFT,), (Source.DOCURIFT, Source.DEVREV)]),
    status=maybe(subset(list(JobStatus))),
    created_after=maybe(bound(), None),
    created_before=maybe(bound(), None),
    document_types=maybe(subset(list(DocumentType))),
    categories=maybe(subset(CATEGORIES, 2)),
    created_by=maybe(subset(USERS, 2)),
    owned_by=maybe(subset(USERS, 2)),
    parent_ids=maybe(subset(PARENTS, 2)),
)
orders = st.builds(JobOrder, field=st.sampled_from(list(OrderField)), direction=st.sampled_from(list(OrderDirection)))
page_sizes = st.lists(st.one_of(st.integers(1, 7), st.integers(8, 100)), min_size=1, max_size=3)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def check_reports(w: World, query: JobQuery, page: Any) -> None:
    """Sources a filter excludes are SKIPPED, the rest OK; a known total is exact."""
    states = {report.source: report.state for report in page.sources}
    for source in w.sources:
        skipped = isinstance(source.plan(query), Skipped)
        assert states[source.source] is (SourceState.SKIPPED if skipped else SourceState.OK)
    if page.total_count is not None:
        assert page.total_count == len(w.expected(query))


# --- traversals ------------------------------------------------------------------------


@SETTINGS
@given(job_sets(), filters, orders, page_sizes, st.booleans())
def test_traversal_equals_oracle(jobs, job_filter, order, sizes, backward):
    query = JobQuery(job_filter, order)

    async def scenario() -> None:
        async with world(*jobs) as w:
            walk = await traverse(w.sources, query, sizes, backward=backward)
            assert walk.ids == w.expected_ids(query)
            check_reports(w, query, walk.pages[0])

    run(scenario())


@SETTINGS
@given(job_sets(low=10), orders, st.sampled_from([1, 2, 3, 5, 8, 13, 40, 100]))
def test_unfiltered_traversals_both_ways(jobs, order, size):
    """Both directions, and all of it; the edges of a full list must never be lost."""
    query = JobQuery(JobFilter(), order)

    async def scenario() -> None:
        async with world(*jobs) as w:
            expected = w.expected_ids(query)
            forward = await traverse(w.sources, query, [size], backward=False)
            backward = await traverse(w.sources, query, [size], backward=True)
            assert forward.ids == expected
            assert backward.ids == expected

    run(scenario())


@SETTINGS
@given(job_sets(), filters, orders, st.integers(1, 9), st.integers(1, 12), st.booleans(), st.data())
def test_any_edge_cursor_resumes_exactly_there(jobs, job_filter, order, size, resume_size, backward, data):
    """An edge from any page of a traversal either way: after/before it is the oracle's slice."""
    query = JobQuery(job_filter, order)

    async def scenario() -> None:
        async with world(*jobs) as w:
            expected = w.expected_ids(query)
            walk = await traverse(w.sources, query, [size], backward=backward)
            edges = [edge for page in walk.pages for edge in page.edges]
            if not edges:
                assert expected == []
                return
            edge = edges[data.draw(st.integers(0, len(edges) - 1), label="edge")]
            at = expected.index(edge.node.id)
            after = await fetch_page(w.sources, query, PageArgs(resume_size, False, edge.cursor))
            assert [j.id for j in after.nodes] == expected[at + 1 : at + 1 + resume_size]
            assert after.has_next_page == (at + 1 + resume_size < len(expected))
            assert after.has_previous_page
            before = await fetch_page(w.sources, query, PageArgs(resume_size, True, edge.cursor))
            assert [j.id for j in before.nodes] == expected[max(0, at - resume_size) : at]
            assert before.has_previous_page == (at - resume_size > 0)
            assert before.has_next_page
            check_reports(w, query, after)

    run(scenario())


# --- jobs created upstream while a client pages ------------------------------------------


NEW_DEVREV = st.fixed_dictionaries(
    {
        "state": st.sampled_from(["queued", "completed", "paused"]),
        "job_category": st.sampled_from(CATEGORIES),
        "_owned_by": st.lists(st.sampled_from(USERS), max_size=1),
    }
)
NEW_DOCURIFT = st.fixed_dictionaries(
    {"status": st.sampled_from(["pending", "completed"]), "documentType": st.sampled_from(DOCURIFT_TYPES)}
)


@SETTINGS
@given(
    job_sets(),
    orders,
    st.sampled_from([JobFilter(), JobFilter(status=(JobStatus.PENDING, JobStatus.COMPLETED))]),
    st.integers(1, 9),
    st.lists(st.tuples(st.lists(NEW_DEVREV, max_size=2), st.lists(NEW_DOCURIFT, max_size=2)), min_size=1, max_size=3),
    st.sampled_from([0.0, 0.2, 0.5, 1.0, 1.5]),
    st.booleans(),
)
def test_jobs_created_while_paging_are_never_doubled_or_lost(jobs, order, job_filter, size, batches, step, backward):
    """New jobs (created "now", after the frozen clock moved on) land while a client pages.

    Whatever lands, nothing is seen twice, nothing that existed before is skipped, and the
    order holds. A new job that lands beyond every job that existed, in the client's
    reading direction (the end of an ascending list read forward, the start of a
    descending one read backward), is met too.
    """
    query = JobQuery(job_filter, order)
    key = sort_key(order)

    async def scenario() -> None:
        async with world(*jobs) as w:
            original = set(w.expected_ids(query))
            ahead: list[str] = []

            def create(turn: int, page: Any) -> None:
                if turn >= len(batches):
                    return
                w.clock.advance(step)  # well under a progress step: running jobs stand still
                existing = [key(job) for job in w.all_jobs()]
                new_devrev, new_docurift = batches[turn]
                created = [devrev.normalize(w.devrev_sim.store.add(job)) for job in new_devrev]
                created += [docurift.normalize(w.docurift_sim.store.add(job)) for job in new_docurift]
                if existing:
                    beyond = min(existing) if backward else max(existing)
                    ahead.extend(job.id for job in created if (key(job) < beyond if backward else key(job) > beyond))

            walk = await traverse(w.sources, query, [size], backward=backward, on_page=create)
            seen = walk.ids
            assert len(seen) == len(set(seen)), "a job was seen twice"
            assert original <= set(seen), "a job that existed before paging was skipped"
            everything = {job.id: job for job in w.all_jobs()}
            keys = [key(everything[i]) for i in seen]
            assert keys == sorted(keys), "out of order"
            matching = set(w.expected_ids(query))
            assert set(seen) <= matching
            missed = (set(ahead) & matching) - set(seen)
            assert not missed, "a job created ahead of the client was missed"

    run(scenario())


# --- larger lists: page caps, offset alignment, a crowded second ------------------------


def crowded_docurift(count: int) -> list[dict[str, Any]]:
    """`count` jobs, most of them created in one second (a bulk upload), updated apart."""
    return [
        {
            "id": f"job_{n}",
            "createdAt": docurift_at(0 if n % 5 else n % 3),
            "updatedAt": docurift_at(n % 7 if n % 2 else n),
            "status": DOCURIFT_STATUSES[n % 4],
            "documentType": DOCURIFT_TYPES[n % 3],
        }
        for n in range(count)
    ]


def test_more_than_a_page_cap_of_jobs_in_one_second_and_misaligned_offsets():
    """250 DocuRift jobs, 200 of them in one second: every page size, both ways, both orders.

    A created-order read cannot step past a crowded second by date alone, and offset pages
    do not line up with arbitrary ranges: edges from a forward walk, read backward (and the
    reverse), must still see every job exactly once.
    """

    async def scenario() -> None:
        async with world(docurift_jobs=crowded_docurift(250)) as w:
            for field in OrderField:
                for direction in OrderDirection:
                    query = JobQuery(JobFilter(), JobOrder(field, direction))
                    expected = w.expected_ids(query)
                    for size in (37, 100):
                        for backward in (False, True):
                            walk = await traverse(w.sources, query, [size], backward=backward)
                            assert walk.ids == expected, (field, direction, size, backward)
                    # Every 17th edge of a walk of 100s, resumed the other way with 100.
                    for backward in (False, True):
                        walk = await traverse(w.sources, query, [100], backward=backward)
                        edges = [edge for page in walk.pages for edge in page.edges]
                        for edge in edges[::23]:
                            at = expected.index(edge.node.id)
                            before = await fetch_page(w.sources, query, PageArgs(100, True, edge.cursor))
                            assert [j.id for j in before.nodes] == expected[max(0, at - 100) : at]
                            after = await fetch_page(w.sources, query, PageArgs(100, False, edge.cursor))
                            assert [j.id for j in after.nodes] == expected[at + 1 : at + 101]

    run(scenario())


# --- economy ---------------------------------------------------------------------------


economical_filters = st.builds(
    JobFilter,
    sources=st.sampled_from([(), (Source.DEVREV,), (Source.DOCURIFT,)]),
    status=maybe(subset([JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED], 2)),
    document_types=maybe(subset(list(DocumentType), 2)),
)


@SETTINGS
@given(job_sets(low=5), economical_filters, orders, st.integers(1, 100), st.booleans())
def test_first_page_costs_one_request_per_stream(jobs, job_filter, order, size, backward):
    """Without local filtering, a first page reads each stream once, at most N+1 entries,
    unless the entry after those is tied with the last (same sort time): a tie group is read
    whole (the gateway orders equal times itself), which costs more reads."""
    query = JobQuery(job_filter, order)

    async def scenario() -> None:
        async with world(*jobs) as w:
            streams = {}
            for source in w.sources:
                planned = source.plan(query)
                if not isinstance(planned, Skipped):
                    assert all(stream.keep is None for stream in planned)
                    streams[source.source] = len(planned)
            w.reset_stats()
            page = await fetch_page(w.sources, query, PageArgs(size, backward, None))
            assert [j.id for j in page.nodes] == (
                w.expected_ids(query)[-size:] if backward else w.expected_ids(query)[:size]
            )
            time = lambda job: job.sort_time(order.field)  # noqa: E731
            for source, sim in ((Source.DEVREV, w.devrev_sim), (Source.DOCURIFT, w.docurift_sim)):
                count = streams.get(source, 0)
                ordered = [job for job in w.expected(query) if job.source is source]
                ordered = ordered[::-1] if backward else ordered
                if any(time(a) == time(b) for a, b in zip(ordered[size - 1 : size + 1], ordered[size : size + 2])):
                    continue  # a tie group at the edge of what the page reads: read whole
                assert sim.stats.list_requests == count
                assert sim.stats.items_served <= count * (size + 1)
                assert sim.stats.get_requests == 0

    run(scenario())


def test_economy_over_full_traversals_report():
    """Not a property: average upstream cost per page over full traversals, printed.

    Measured without `totalCount` (which adds one `limit=1` request per DocuRift stream to
    every page after the first). Columns: pages; DevRev list requests and items served per
    page; the same for DocuRift; items served per job delivered.
    """
    cases = [
        (JobFilter(), "all", (1, 5, 20, 100)),
        (JobFilter(status=(JobStatus.COMPLETED, JobStatus.FAILED)), "2 statuses", (5, 20, 100)),
        (JobFilter(status=(JobStatus.UNKNOWN, JobStatus.COMPLETED)), "UNKNOWN (local)", (5, 20, 100)),
    ]
    rows: list[tuple[str, list[float]]] = []

    async def scenario() -> None:
        async with world(devrev_count=120, docurift_count=150) as w:
            for order in (JobOrder(), JobOrder(OrderField.UPDATED_AT, OrderDirection.ASC)):
                for job_filter, label, sizes in cases:
                    query = JobQuery(job_filter, order)
                    for size in sizes:
                        for backward in (False, True):
                            w.reset_stats()
                            walk = await traverse(w.sources, query, [size], backward=backward, want_total=False)
                            assert walk.ids == w.expected_ids(query)
                            pages = len(walk.pages)
                            dr, du = w.devrev_sim.stats, w.docurift_sim.stats
                            name = f"{order.field.value} {order.direction.value} {label} n={size} {'bwd' if backward else 'fwd'}"
                            rows.append(
                                (
                                    name,
                                    [
                                        pages,
                                        dr.list_requests / pages,
                                        dr.items_served / pages,
                                        du.list_requests / pages,
                                        du.items_served / pages,
                                        (dr.items_served + du.items_served) / max(1, len(walk.ids)),
                                    ],
                                )
                            )

    run(scenario())
    print("\nupstream cost per page over full traversals (120 DevRev + 150 DocuRift seeded jobs)")
    print(f"{'query':<44} {'pages':>5} {'DR req':>7} {'DR items':>9} {'DU req':>7} {'DU items':>9} {'items/job':>9}")
    for name, (pages, drr, dri, dur, dui, per_job) in rows:
        print(f"{name:<44} {pages:>5} {drr:>7.2f} {dri:>9.1f} {dur:>7.2f} {dui:>9.1f} {per_job:>9.2f}")
