"""SharedPages: identical page requests in flight at once share one fetch; others never do."""

import asyncio
import random
from datetime import datetime, timedelta, timezone

from engine.fakes import FakeSource, make_job
from gateway.model import JobFilter, JobQuery, JobStatus, Source
from gateway.pagination import PageArgs, SharedPages

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def sources() -> list[FakeSource]:
    # Distinct times within a source: a tie group at a page's edge would cost a read more
    # (it is read whole), and these tests count reads.
    rng = random.Random(3)
    return [
        FakeSource(Source.DEVREV, [make_job(Source.DEVREV, f"d{n}", T0 + timedelta(seconds=t)) for n, t in enumerate(rng.sample(range(500), 40))]),
        FakeSource(Source.DOCURIFT, [make_job(Source.DOCURIFT, f"r{n}", T0 + timedelta(seconds=t)) for n, t in enumerate(rng.sample(range(500), 40))], offset_pages=True),
    ]


class Slow(FakeSource):
    """Answers only when released, so callers pile up on one flight."""

    release: asyncio.Event

    async def read(self, *args, **kwargs):
        await self.release.wait()
        return await super().read(*args, **kwargs)


def slow(source: FakeSource, release: asyncio.Event) -> Slow:
    clone = Slow(source.source, source.jobs, offset_pages=source.offset_pages)
    clone.release = release
    return clone


async def test_identical_requests_in_flight_share_one_page():
    release = asyncio.Event()
    shared = [slow(s, release) for s in sources()]
    pages = SharedPages()
    calls = [asyncio.create_task(pages.fetch(shared, JobQuery(), PageArgs.from_relay(10, None, None, None))) for _ in range(32)]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*calls)
    assert all(page is results[0] for page in results)
    assert [s.requests for s in shared] == [1, 1]
    assert len({results[0].cursor_at(i) for i in range(10)}) == 10  # cursors made once, for all


async def test_different_queries_args_or_sources_do_not_share():
    release = asyncio.Event()
    first, second = [slow(s, release) for s in sources()], [slow(s, release) for s in sources()]
    pages = SharedPages()
    args = PageArgs.from_relay(10, None, None, None)
    calls = [
        pages.fetch(first, JobQuery(), args),
        pages.fetch(first, JobQuery(JobFilter(status=(JobStatus.COMPLETED,))), args),
        pages.fetch(first, JobQuery(), PageArgs.from_relay(5, None, None, None)),
        pages.fetch(second, JobQuery(), args),  # other source objects: another caller's credentials
    ]
    tasks = [asyncio.create_task(call) for call in calls]
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.gather(*tasks)
    assert len({id(page) for page in results}) == 4
    assert [s.requests for s in first] == [3, 3] and [s.requests for s in second] == [1, 1]


async def test_nothing_outlives_the_flight():
    plain = sources()
    pages = SharedPages()
    args = PageArgs.from_relay(10, None, None, None)
    one = await pages.fetch(plain, JobQuery(), args)
    two = await pages.fetch(plain, JobQuery(), args)
    assert one is not two and [s.requests for s in plain] == [2, 2]
