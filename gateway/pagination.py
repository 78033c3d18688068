"""One page of the merged connection: plan streams, read them concurrently, merge.

This is the only place the connection awaits. Everything it decides is delegated to the
pure engine (`gateway.engine`); everything it fetches, to the sources.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from gateway.engine.cursor import DEFAULT_CURSOR_KEY, EdgePosition, decode_cursor, encode_cursor, encode_cursor_text, fingerprint
from gateway.engine.gaps import END, START, Gap
from gateway.engine.merge import MergedPage, Merge
from gateway.engine.order import boundary, boundary_key, micros, range_stops, sort_key
from gateway.engine.reads import (
    AnchorRejected,
    StreamView,
    UnreadableGap,
    Window,
    assemble,
    extend,
    plan_read,
    reach_on,
    without_anchor,
)
from gateway.errors import BadCursor, BadUserInput, GatewayError, PageIncomplete, PositionUnverified, UpstreamBadResponse, UpstreamError
from gateway.upstream.deadline import remaining as deadline_remaining
from gateway.model import Job, JobQuery, OrderField, Source, SourceState
from gateway.sources.base import JobSource, Skipped, StreamPlan, Unconfigured
from gateway.upstream.coalesce import Coalescer

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# A filter the upstream cannot express is applied here, so a page may need many reads to
# fill. It reads on, each further read of a stream asking twice as much (up to its page cap),
# for at most MAX_ROUNDS rounds and while at least ROUND_RESERVE of the request's deadline
# remains; a page cut short by either says so (`PageIncomplete`). 40 rounds at a cap of 100
# scan up to ~3,500 jobs per stream per page (bench/README.md measures it).
MAX_ROUNDS = 40
ROUND_RESERVE = 1.0  # seconds of the request's deadline kept for the page's last round
MAX_REJECTED_ANCHORS = 3  # refused anchors per read before the page reports the source failed
MAX_REACH_READS = 20  # reads carrying one read toward its gap on, past an upstream's page cap


@dataclass(frozen=True, slots=True)
class PageArgs:
    """Validated Relay arguments: `size` entries after `cursor` (or before, if backward)."""

    size: int
    backward: bool
    cursor: str | None

    @classmethod
    def from_relay(cls, first: int | None, after: str | None, last: int | None, before: str | None) -> PageArgs:
        if first is not None and last is not None:
            raise BadUserInput("Pass either `first` or `last`, not both.")
        if (first is not None or after is not None) and before is not None:
            raise BadUserInput("`before` pages backward: use it with `last`, not with `first`/`after`.")
        if last is not None and after is not None:
            raise BadUserInput("`after` pages forward: use it with `first`, not with `last`.")
        for name, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= MAX_PAGE_SIZE:
                raise BadUserInput(f"`{name}` must be between 0 and {MAX_PAGE_SIZE}; got {value}.", argument=name)
        for name, value in (("after", after), ("before", before)):
            if value is not None and not value:
                raise BadCursor("MALFORMED", f"`{name}` is an empty string; omit it to start at the beginning.")
        if last is not None or before is not None:
            return cls(DEFAULT_PAGE_SIZE if last is None else last, True, before)
        return cls(DEFAULT_PAGE_SIZE if first is None else first, False, after)


@dataclass(frozen=True, slots=True)
class SourceReport:
    source: Source
    state: SourceState
    total_count: int | None = None
    message: str | None = None


@dataclass(slots=True)
class JobEdge:
    node: Job
    _page: JobPage
    _position: int

    @property
    def cursor(self) -> str:
        return self._page.cursor_at(self._position)


@dataclass(frozen=True, slots=True)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@dataclass
class JobPage:
    """A page of the connection. Cursors are encoded only when somebody reads them.

    When a source failed, the page is *provisional*: it shows what the other sources had,
    but every cursor on it (`resume_cursor`) points where the page started, so following
    `endCursor` — or simply retrying — reads the same stretch again once the source is
    back. No job is skipped, none is shown out of order; a client that replaces a
    provisional page rather than appending it sees every job exactly once.
    """

    merged: MergedPage
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None
    sources: list[SourceReport]
    query_fingerprint: str
    order_field: OrderField
    failures: list[UpstreamError] = field(default_factory=list)
    warnings: list[GatewayError] = field(default_factory=list)  # shown, but with a caveat
    resume_cursor: str | None = None
    cursor_key: bytes = DEFAULT_CURSOR_KEY
    _cursors: dict[int, str] = field(default_factory=dict)

    @property
    def nodes(self) -> list[Job]:
        return [entry.job for entry in self.merged.entries]

    @cached_property
    def edges(self) -> list[JobEdge]:
        return [JobEdge(entry.job, self, i) for i, entry in enumerate(self.merged.entries)]

    @property
    def page_info(self) -> PageInfo:
        last = len(self.merged.entries) - 1
        if self.resume_cursor is not None:
            return PageInfo(self.has_next_page, self.has_previous_page, self.resume_cursor, self.resume_cursor)
        return PageInfo(
            has_next_page=self.has_next_page,
            has_previous_page=self.has_previous_page,
            start_cursor=self.cursor_at(0) if last >= 0 else None,
            end_cursor=self.cursor_at(last) if last >= 0 else None,
        )

    def cursor_at(self, position: int) -> str:
        if self.resume_cursor is not None:
            return self.resume_cursor
        cursor = self._cursors.get(position)
        if cursor is None:
            entry = self.merged.entries[position]
            job = entry.job
            edge_key = (micros(job.sort_time(self.order_field)), job.source.rank, job.source_id)
            cursor = self._cursors[position] = encode_cursor_text(
                self.merged.position_texts_at(position),
                (entry.stream, entry.before, entry.after),
                edge_key,
                self.query_fingerprint,
                self.cursor_key,
            )
        return cursor


def query_fingerprint(query: JobQuery) -> str:
    f = query.filter
    return fingerprint(
        {
            "sources": sorted(s.value for s in f.sources),
            "status": sorted(s.value for s in f.status),
            "after": f.created_after.isoformat() if f.created_after else None,
            "before": f.created_before.isoformat() if f.created_before else None,
            "types": sorted(t.value for t in f.document_types),
            "categories": sorted(f.categories),
            "created_by": sorted(f.created_by),
            "owned_by": sorted(f.owned_by),
            "parents": sorted(f.parent_ids),
            "order": [query.order.field.value, query.order.direction.value],
        }
    )


async def fetch_page(
    sources: Sequence[JobSource | Unconfigured],
    query: JobQuery,
    args: PageArgs,
    *,
    want_total: bool = True,
    cursor_key: bytes = DEFAULT_CURSOR_KEY,
) -> JobPage:
    """Read one page of the merged connection."""
    reports: dict[Source, SourceReport] = {}
    streams: dict[str, tuple[JobSource, StreamPlan]] = {}
    for source in sources:
        if isinstance(source, Unconfigured):
            reports[source.source] = SourceReport(source.source, SourceState.SKIPPED, message=source.reason)
            continue
        planned = source.plan(query)
        if isinstance(planned, Skipped):
            reports[source.source] = SourceReport(source.source, SourceState.SKIPPED, message=planned.reason)
            continue
        for stream in planned:
            streams[stream.name] = (source, stream)

    query_print = query_fingerprint(query)
    position = decode_cursor(args.cursor, query_print, frozenset(streams), cursor_key) if args.cursor else None
    starts = _start_gaps(args, position, frozenset(streams))
    key = sort_key(query.order)
    remember = boundary(query.order)
    stop_forward, stop_backward = range_stops(query.order, query.filter)
    views = {
        name: StreamView(
            name,
            key,
            remember,
            boundary_key(query.order, source.source.rank),
            stream.keep,
            stop_forward,
            stop_backward,
        )
        for name, (source, stream) in streams.items()
    }
    merge = Merge(
        starts,
        args.size,
        backward=args.backward,
        locally_filtered=[name for name, (_, stream) in streams.items() if stream.keep is not None],
        bound=_edge_key(query, position),
    )

    counting: dict[str, asyncio.Task[int | None]] = {}
    if want_total:
        for name, (source, stream) in streams.items():
            gap = starts[name]
            if not (gap.fa == START and gap.fk == 0) and not (gap.ba == END and gap.bk == 0):
                counting[name] = asyncio.ensure_future(source.count(query, stream))

    failures: dict[Source, UpstreamError] = {}

    async def read_stream(name: str, gap: Gap, want: int) -> None:
        source, stream = streams[name]
        if source.source not in failures:
            try:
                window = await _read_window(source, query, stream, views[name], gap, merge.settled(name), args.backward, want)
            except UpstreamError as error:
                failures.setdefault(source.source, error)
            else:
                merge.feed(name, window)
                return
        # One failed stream fails its whole source: the page stops waiting for it.
        for other, (other_source, _) in streams.items():
            if other_source is source:
                merge.fail(other)

    try:
        rounds = 0
        cut_short: str | None = None
        while wanted := merge.wanted():
            rounds += 1
            if rounds > MAX_ROUNDS:
                cut_short = f"it read {MAX_ROUNDS} rounds of upstream pages"
                break
            left = deadline_remaining()
            if rounds > 1 and left is not None and left < ROUND_RESERVE:
                cut_short = "the request's deadline was nearly spent"
                break
            await asyncio.gather(*(read_stream(name, gap, want) for name, (gap, want) in wanted.items()))
        counted = dict(zip(counting, await asyncio.gather(*counting.values(), return_exceptions=True)))
    finally:
        for task in counting.values():
            task.cancel()

    merged = merge.page()
    if cut_short is not None:
        merged.has_more = True

    totals_known = True
    total = 0
    by_source: dict[Source, list[int | None]] = {}
    for name, (source, _) in streams.items():
        stream_total = counted[name] if name in counted else merge.total(name)
        if isinstance(stream_total, BaseException):
            if not isinstance(stream_total, UpstreamError):
                raise stream_total
            stream_total = None  # a failed count costs the total, not the page
        by_source.setdefault(source.source, []).append(stream_total)
    for failed, error in failures.items():
        reports[failed] = SourceReport(failed, SourceState.FAILED, message=error.message)
    for source in sources:
        if source.source in reports:
            continue
        stream_totals = by_source.get(source.source, [])
        known = all(t is not None for t in stream_totals)
        source_total = sum(t for t in stream_totals if t is not None) if known else None
        reports[source.source] = SourceReport(source.source, SourceState.OK, source_total)
    for report in reports.values():
        if report.state is SourceState.FAILED or report.state is SourceState.OK and report.total_count is None:
            totals_known = False
        elif report.total_count is not None:
            total += report.total_count

    if args.backward:
        has_next, has_previous = args.cursor is not None, merged.has_more
    else:
        has_next, has_previous = merged.has_more, args.cursor is not None
    resume = None
    if cut_short is not None and not merged.entries:
        # A sparse local filter read its fill without a match: hand back where every stream
        # stopped, so the client can go on from there rather than be stuck with no cursor.
        edge = position.edge if position is not None else None
        resume = encode_cursor(EdgePosition(merged.frontier, None, None, edge), query_print, cursor_key)
    if failures:
        # Provisional: every cursor points where this page started (see JobPage).
        resume = args.cursor or encode_cursor(EdgePosition(starts, None, None, None), query_print, cursor_key)
        if args.backward:
            has_previous = True
        else:
            has_next = True
    return JobPage(
        merged=merged,
        has_next_page=has_next,
        has_previous_page=has_previous,
        total_count=total if totals_known and want_total else None,
        sources=[reports[s.source] for s in sources],
        query_fingerprint=query_print,
        order_field=query.order.field,
        failures=list(failures.values()),
        warnings=_unverified(merge, streams) + _incomplete(cut_short, args, len(merged.entries)),
        resume_cursor=resume,
        cursor_key=cursor_key,
    )


class SharedPages:
    """Identical page requests in flight at the same moment share one `fetch_page`.

    Thirty-two clients asking for the same first page at once need one merge and one set
    of cursors, not thirty-two. This is coalescing, not caching: nothing outlives the
    flight, so nothing can be stale. The key holds the request's sources by identity — in
    forward mode each caller's credential has its own source views — so callers with
    different credentials never share a page.

    A caller whose deadline ends before the flight's does not join it: it makes its own
    page under its own deadline (its upstream calls are still shared). Waiting would end in
    a bare timeout that loses the whole field; its own page says which sources ran out of
    time (`UPSTREAM_TIMEOUT`) and keeps `sources` and whatever did arrive.
    """

    def __init__(self) -> None:
        self._flights = Coalescer()

    async def fetch(
        self,
        sources: Sequence[JobSource | Unconfigured],
        query: JobQuery,
        args: PageArgs,
        *,
        want_total: bool = True,
        cursor_key: bytes = DEFAULT_CURSOR_KEY,
    ) -> JobPage:
        key = (tuple(id(source) for source in sources), query, args, want_total, cursor_key)
        return await self._flights.run(
            key,
            lambda: fetch_page(sources, query, args, want_total=want_total, cursor_key=cursor_key),
            alone_if_sooner=True,
        )


async def _read_window(
    source: JobSource,
    query: JobQuery,
    stream: StreamPlan,
    view: StreamView,
    gap: Gap,
    settled: Gap,
    backward: bool,
    want: int,
) -> Window:
    """Read a stream next to a gap; re-read from the near side if a split read lost its footing."""
    allow_split = True
    for _ in range(MAX_REJECTED_ANCHORS + 2):
        try:
            plan = plan_read(
                gap,
                backward=backward,
                want=want,
                cheap_skip=stream.cheap_skip,
                max_limit=stream.max_limit,
                allow_split=allow_split,
            )
        except UnreadableGap:
            raise BadCursor() from None
        try:
            runs = list(await asyncio.gather(*(source.read(query, stream, raw) for raw in plan.reads)))
        except AnchorRejected as refused:
            gap, settled = without_anchor(gap, refused.anchor), without_anchor(settled, refused.anchor)
            continue
        for _ in range(MAX_REACH_READS):
            more = reach_on(plan, runs[0], view)
            if more is None:
                break
            runs[0] = extend(runs[0], await source.read(query, stream, more), more.backward)
        window = assemble(plan, runs, view, settled)
        if not window.lost or not allow_split:
            return window
        allow_split = False
    raise UpstreamBadResponse(
        source.source.value, f"{source.source.value} refused every position the gateway could resume this page from."
    )


def _incomplete(cut_short: str | None, args: PageArgs, found: int) -> list[GatewayError]:
    if cut_short is None:
        return []
    return [
        PageIncomplete(
            f"This page holds {found} of the {args.size} jobs asked for, though more may match: "
            f"the filter is applied by the gateway and {cut_short}. Follow the page's cursor to read on.",
            found=found,
        )
    ]


def _unverified(merge: Merge, streams: dict[str, tuple[JobSource, StreamPlan]]) -> list[UpstreamError]:
    names = sorted({streams[name][0].source.value for name in merge.unverified()})
    return [
        PositionUnverified(
            name,
            f"{name}'s answer did not include the job this page follows on from: jobs deleted or "
            "created meanwhile may have moved its position, so a job may be missing before this page.",
        )
        for name in names
    ]


def _edge_key(query: JobQuery, position: EdgePosition | None) -> tuple | None:
    if position is None or position.edge is None:
        return None
    ts, rank, ident = position.edge
    return boundary_key(query.order, rank)((ts, ident))


def _start_gaps(args: PageArgs, position: EdgePosition | None, names: frozenset[str]) -> dict[str, Gap]:
    if position is None:
        start = Gap.end() if args.backward else Gap.start()
        return {name: start for name in names}
    return position.before_gaps() if args.backward else position.after_gaps()
