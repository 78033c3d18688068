"""Joins, cancellations and deadlines through page sharing and upstream coalescing: every
caller that is not cancelled gets a `jobs` field with `sources`, and every error it sees is
coded; none is ever `INTERNAL`.

Real DevRev and DocuRift clients over the simulators in process, slowed by a few
milliseconds so that callers overlap; the schedule (when each caller arrives, its deadline,
its query, whether it is cancelled) is drawn by hypothesis. Times here only arrange the
overlaps; nothing asserts how long anything took.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from hypothesis import given, strategies as st

from gateway.context import RequestContext
from gateway.pagination import SharedPages
from gateway.schema import build_schema
from gateway.schema.limits import QueryLimits
from gateway.upstream.deadline import deadline

from sim_harness import world

SCHEMA = build_schema(QueryLimits())
QUERIES = (
    "{ jobs(first: 5) { edges { node { id } } sources { source state } } }",
    "{ jobs(first: 5) { totalCount edges { node { id } } sources { source state totalCount } } }",
    "{ jobs(first: 7, orderBy: {field: UPDATED_AT, direction: ASC}) { edges { cursor } sources { source state } } }",
    # A filter the gateway applies itself (DocuRift has no status filter): several rounds.
    "{ jobs(first: 20, filter: {status: [FAILED]}) { edges { node { id } } sources { source state } } }",
)
TYPED = {"UPSTREAM_TIMEOUT", "PAGE_INCOMPLETE", "UPSTREAM_POSITION_UNVERIFIED"}


@dataclass(frozen=True)
class Caller:
    arrive_ms: int
    deadline_ms: int | None
    query: int
    cancel_ms: int | None


callers = st.builds(
    Caller,
    arrive_ms=st.integers(0, 40),
    deadline_ms=st.one_of(st.none(), st.integers(1, 120)),
    query=st.integers(0, len(QUERIES) - 1),
    cancel_ms=st.one_of(st.none(), st.none(), st.integers(0, 80)),
)


async def ask(caller: Caller, sources: list[Any], pages: SharedPages) -> Any:
    await asyncio.sleep(caller.arrive_ms / 1000)
    seconds = None if caller.deadline_ms is None else caller.deadline_ms / 1000
    with deadline(seconds):
        context = RequestContext(sources, pages=pages)
        return await SCHEMA.execute(QUERIES[caller.query], context_value=context)


async def scenario(schedule: list[Caller], devrev_ms: int, docurift_ms: int) -> None:
    async with world(devrev_count=40, docurift_count=40) as w:
        w.devrev_sim.faults.set(latency_ms=devrev_ms)
        w.docurift_sim.faults.set(latency_ms=docurift_ms)
        pages = SharedPages()
        tasks = [asyncio.create_task(ask(caller, w.sources, pages)) for caller in schedule]

        async def cancel(task: asyncio.Task[Any], after_ms: int) -> None:
            await asyncio.sleep(after_ms / 1000)
            task.cancel()

        cancels = [cancel(task, c.cancel_ms) for task, c in zip(tasks, schedule) if c.cancel_ms is not None]
        await asyncio.gather(*cancels)
        results = await asyncio.gather(*tasks, return_exceptions=True)

    for caller, result in zip(schedule, results):
        if isinstance(result, asyncio.CancelledError):
            assert caller.cancel_ms is not None
            continue
        assert not isinstance(result, BaseException), (caller, result)
        codes = {error.extensions["code"] for error in result.errors or []}
        assert codes <= TYPED, (caller, result.errors)
        jobs = result.data["jobs"]
        assert jobs is not None and len(jobs["sources"]) == 2, (caller, result)
        states = {s["state"] for s in jobs["sources"]}
        assert ("FAILED" in states) == ("UPSTREAM_TIMEOUT" in codes), (caller, result)
    assert len(pages._flights) == 0  # nothing left in flight once every caller has its answer


@given(
    schedule=st.lists(callers, min_size=1, max_size=12),
    devrev_ms=st.integers(0, 40),
    docurift_ms=st.integers(0, 40),
)
def test_no_schedule_of_joins_cancellations_and_deadlines_produces_internal(
    schedule: list[Caller], devrev_ms: int, docurift_ms: int
) -> None:
    asyncio.run(scenario(schedule, devrev_ms, docurift_ms))
