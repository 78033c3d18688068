"""Property tests: paging the merged connection equals slicing a brute-force sorted list."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import given, strategies as st

from gateway.engine.order import sort_key
from gateway.model import JobFilter, JobOrder, JobQuery, JobStatus, OrderDirection, OrderField, Source
from gateway.pagination import PageArgs, fetch_page

from engine.fakes import CURSOR_MEANINGS, EPOCH, TIE_ORDERS, FakeSource, make_job, matches

# Every property runs under every reading of what the upstreams leave undocumented: what a
# DevRev cursor names, whether it works in the other mode, whether it dies with its entry,
# and how either upstream orders equal timestamps (the gateway orders them by id itself).
variants = pytest.mark.parametrize(("cursors", "ties"), [(c, t) for c in CURSOR_MEANINGS for t in TIE_ORDERS])

STATUSES = [JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED]


@st.composite
def worlds(draw, cursors="gap", ties="id"):
    """Two sources with few distinct timestamps (many ties) and random anchor regimes."""
    sources = []
    for source in (Source.DEVREV, Source.DOCURIFT):
        size = draw(st.integers(0, 40))
        seconds = draw(st.lists(st.integers(0, 12), min_size=size, max_size=size))
        statuses = draw(st.lists(st.sampled_from(STATUSES), min_size=size, max_size=size))
        updates = draw(st.lists(st.integers(0, 12), min_size=size, max_size=size))
        jobs = [
            make_job(source, f"{source.value[:2].lower()}{i:03d}", EPOCH + timedelta(seconds=s), st_, EPOCH + timedelta(seconds=u))
            for i, (s, st_, u) in enumerate(zip(seconds, statuses, updates))
        ]
        sources.append(
            FakeSource(
                source,
                jobs,
                offset_pages=draw(st.booleans()),
                split_by_status=draw(st.booleans()),
                page_cap=draw(st.sampled_from([3, 7, 100])),
                cursors=cursors,
                ties=ties,
            )
        )
    return sources


filters = st.builds(
    JobFilter,
    sources=st.sampled_from([(), (Source.DEVREV,), (Source.DOCURIFT,)]),
    status=st.sampled_from([(), (JobStatus.PENDING,), (JobStatus.PENDING, JobStatus.FAILED), (JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED)]),
    created_after=st.one_of(st.none(), st.integers(0, 12).map(lambda s: EPOCH + timedelta(seconds=s))),
    created_before=st.one_of(st.none(), st.integers(0, 12).map(lambda s: EPOCH + timedelta(seconds=s))),
)
orders = st.builds(JobOrder, field=st.sampled_from(list(OrderField)), direction=st.sampled_from(list(OrderDirection)))


def oracle(sources, query):
    jobs = [job for source in sources for job in source.jobs if matches(job, query.filter)]
    return [job.id for job in sorted(jobs, key=sort_key(query.order))]


def traverse(sources, query, sizes, *, backward, on_page=None, warnings=None):
    """Page to the end, checking the stuck-page invariant on every page: with every source
    OK, a page that says more follows is never empty, and following it makes progress.

    Before engine v4 this failed for DevRev cursors that name the page's last entry: a read
    backward from a `next_cursor` came back one short, forever (issue 10).
    """
    seen = []
    cursor = None
    for turn in range(500):
        size = sizes[turn % len(sizes)]
        args = PageArgs(size, backward, cursor)
        page = asyncio.run(fetch_page(sources, query, args))
        assert not page.failures
        if warnings is not None:
            warnings.extend(page.warnings)
        else:
            assert not page.warnings, "a position went unverified with no cause"
        ids = [job.id for job in page.nodes]
        assert len(ids) <= size
        seen = ids + seen if backward else seen + ids
        more = page.page_info.has_previous_page if backward else page.page_info.has_next_page
        if not more:
            return seen
        if on_page is not None:
            on_page(turn)
        assert ids, "a page with more to come must not be empty"
        cursor = page.page_info.start_cursor if backward else page.page_info.end_cursor
    raise AssertionError("traversal did not end")


@variants
@given(st.data(), filters, orders, st.lists(st.integers(1, 9), min_size=1, max_size=4), st.booleans())
def test_traversal_equals_oracle(cursors, ties, data, job_filter, order, sizes, backward):
    sources = data.draw(worlds(cursors, ties))
    query = JobQuery(job_filter, order)
    assert traverse(sources, query, sizes, backward=backward) == oracle(sources, query)


@variants
@given(st.data(), filters, orders, st.integers(1, 9))
def test_any_edge_cursor_resumes_exactly_there(cursors, ties, data, job_filter, order, size):
    sources = data.draw(worlds(cursors, ties))
    query = JobQuery(job_filter, order)
    expected = oracle(sources, query)
    page = asyncio.run(fetch_page(sources, query, PageArgs(size, False, None)))
    if not page.edges:
        assert expected == []
        return
    pick = data.draw(st.integers(0, len(page.edges) - 1))
    edge = page.edges[pick]
    at = expected.index(edge.node.id)
    after = asyncio.run(fetch_page(sources, query, PageArgs(size, False, edge.cursor)))
    assert [j.id for j in after.nodes] == expected[at + 1 : at + 1 + size]
    assert after.has_next_page == (at + 1 + size < len(expected))
    before = asyncio.run(fetch_page(sources, query, PageArgs(size, True, edge.cursor)))
    assert [j.id for j in before.nodes] == expected[max(0, at - size) : at]
    assert before.has_previous_page == (at - size > 0)


@variants
@given(st.data(), orders, st.integers(1, 9), st.integers(1, 3))
def test_jobs_created_while_paging_are_never_doubled_or_lost(cursors, ties, data, order, size, per_page):
    sources = data.draw(worlds(cursors, ties))
    query = JobQuery(JobFilter(), order)
    original = set(oracle(sources, query))
    created = [0]

    def create(turn):
        if turn >= 3:
            return
        for source in sources:
            for _ in range(per_page):
                created[0] += 1
                now = EPOCH + timedelta(seconds=13 + created[0])
                source.jobs.append(make_job(source.source, f"new{created[0]:04d}", now, JobStatus.PENDING, now))

    for backward in (False, True):
        warnings = []
        seen = traverse(sources, query, [size], backward=backward, on_page=create, warnings=warnings)
        assert len(seen) == len(set(seen)), "a job was seen twice"
        everything = {job.id: job for s in sources for job in s.jobs}
        keys = [sort_key(order)(everything[i]) for i in seen]
        assert keys == sorted(keys), "out of order"
        # Position cursors move when jobs are created ahead of them: a page may then say it
        # could not vouch for its position. Without such a word, nothing is ever lost.
        assert not warnings or cursors == "offset"
        if not warnings:
            assert original <= set(seen), "a job that existed before paging was skipped"
            if backward == (order.direction is OrderDirection.DESC):
                # New jobs land ahead of the client: it must meet every one of them.
                assert set(seen) == set(everything), "a job created ahead of the client was missed"
        original = set(oracle(sources, query))


@variants
@given(st.data(), filters, orders, st.integers(1, 9), st.booleans(), st.data())
def test_jobs_deleted_while_paging_never_cost_a_survivor(cursors, ties, data, job_filter, order, size, backward, picks):
    """Between pages, delete the job the cursor sits on, one of its neighbours, or any job;
    every job that exists throughout still appears exactly once, in order (or, for position
    cursors, a page says it could not vouch for its position)."""
    sources = data.draw(worlds(cursors, ties))
    query = JobQuery(job_filter, order)
    expected = oracle(sources, query)
    deleted: set[str] = set()
    state = {"cursor_ids": []}

    def delete(turn):
        alive = [job for s in sources for job in s.jobs]
        if turn >= 4 or not alive:
            return
        shown = state["cursor_ids"]
        near = [job for job in alive if job.id in shown] if shown else []
        victim = picks.draw(st.sampled_from(near or alive))
        for s in sources:
            if victim in s.jobs:
                s.jobs.remove(victim)
        deleted.add(victim.id)

    def remember(page_ids):
        state["cursor_ids"] = page_ids[-2:] if not backward else page_ids[:2]

    warnings = []
    seen = []
    cursor = None
    for turn in range(500):
        page = asyncio.run(fetch_page(sources, query, PageArgs(size, backward, cursor)))
        assert not page.failures
        warnings.extend(page.warnings)
        ids = [job.id for job in page.nodes]
        seen = ids + seen if backward else seen + ids
        more = page.page_info.has_previous_page if backward else page.page_info.has_next_page
        if not more:
            break
        assert ids, "a page with more to come must not be empty"
        remember(ids)
        delete(turn)
        cursor = page.page_info.start_cursor if backward else page.page_info.end_cursor
    else:
        raise AssertionError("traversal did not end")
    assert len(seen) == len(set(seen)), "a job was seen twice"
    assert set(seen) <= set(expected)
    survivors = [i for i in expected if i not in deleted]
    in_order = [i for i in seen if i not in deleted]
    # A page may warn when the job it follows on from and everything up to the anchor behind
    # it were deleted (nothing tells that apart from a moved anchor). Only where anchors do
    # move (position cursors, offset pages) may a warned traversal miss a survivor.
    positional = cursors == "offset" or any(source.offset_pages for source in sources)
    if not warnings or not positional:
        assert in_order == survivors, "a job that existed throughout was lost or misplaced"
    else:
        assert in_order == [i for i in survivors if i in set(in_order)], "out of order"


def test_first_zero_reports_whether_anything_exists():
    source = FakeSource(Source.DEVREV, [make_job(Source.DEVREV, "a", EPOCH)])
    page = asyncio.run(fetch_page([source], JobQuery(), PageArgs(0, False, None)))
    assert page.nodes == [] and page.has_next_page is True
    empty = asyncio.run(fetch_page([FakeSource(Source.DEVREV, [])], JobQuery(), PageArgs(0, False, None)))
    assert empty.has_next_page is False


@variants
@given(st.data(), filters, orders, st.integers(1, 9), st.booleans(), st.integers(0, 2**16))
def test_flapping_source_provisional_pages_retried_lose_nothing(cursors, ties, data, job_filter, order, size, backward, seed):
    """A page where a source failed is provisional: retrying it until it is whole, and
    paging on from there, yields exactly the oracle's sequence."""
    sources = data.draw(worlds(cursors, ties))
    query = JobQuery(job_filter, order)
    expected = oracle(sources, query)
    for number, source in enumerate(sources):
        source.failure_rate = 0.3
        source.dice.seed(seed + number)
    seen, cursor, provisional = [], None, 0
    for _ in range(2000):
        page = asyncio.run(fetch_page(sources, query, PageArgs(size, backward, cursor)))
        if page.failures:
            provisional += 1
            assert page.total_count is None
            assert {e.cursor for e in page.edges} <= {page.resume_cursor}
            follow = page.page_info.start_cursor if backward else page.page_info.end_cursor
            assert follow == page.resume_cursor
            cursor = follow  # following the provisional cursor re-reads the same stretch
            continue
        ids = [job.id for job in page.nodes]
        seen = ids + seen if backward else seen + ids
        more = page.page_info.has_previous_page if backward else page.page_info.has_next_page
        if not more:
            break
        cursor = page.page_info.start_cursor if backward else page.page_info.end_cursor
    assert seen == expected


class Sparse(FakeSource):
    """A filter only the gateway can apply: one job in `every` matches."""

    def __init__(self, *args, every, **kwargs):
        super().__init__(*args, **kwargs)
        self.every = every

    def plan(self, query):
        from gateway.sources.base import StreamPlan

        return [StreamPlan("DEVREV", None, keep=lambda job: int(job.source_id[1:]) % self.every == 0, max_limit=self.page_cap)]


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("cap", [3, 100])
def test_pages_under_a_sparse_local_filter_are_full_or_say_why(backward, cap):
    """One job in 200 matches. Every page is full, or the last, or says it was cut short
    (PAGE_INCOMPLETE), and it is never empty while it says more follow without saying so."""
    jobs = [make_job(Source.DEVREV, f"a{i:05d}", EPOCH + timedelta(seconds=i)) for i in range(2000)]
    source = Sparse(Source.DEVREV, jobs, page_cap=cap, every=200)
    query = JobQuery(JobFilter(), JobOrder(OrderField.CREATED_AT, OrderDirection.ASC))
    expected = [job.id for job in jobs if int(job.source_id[1:]) % 200 == 0]
    cursor, seen, pages, marked = None, [], 0, 0
    while True:
        pages += 1
        assert pages < 200
        page = asyncio.run(fetch_page([source], query, PageArgs(3, backward, cursor)))
        ids = [job.id for job in page.nodes]
        seen = ids + seen if backward else seen + ids
        more = page.has_previous_page if backward else page.has_next_page
        if not more:
            break
        incomplete = [w for w in page.warnings if w.code == "PAGE_INCOMPLETE"]
        assert len(ids) == 3 or incomplete, "a short page with more to come must say why"
        marked += bool(incomplete)
        cursor = page.page_info.start_cursor if backward else page.page_info.end_cursor
        assert cursor is not None, "a page that says more follows must say from where"
    assert seen == expected
    if cap == 100:
        assert marked == 0, "with a page cap of 100 every page fills within its round budget"
    else:
        assert marked > 0, "with a cap of 3, 40 rounds cannot reach 3 matches 200 apart"


