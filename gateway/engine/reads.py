"""Reading from a gap: which upstream requests to make, and what they mean once answered.

`plan_read` turns "the next n entries after (or before) this gap" into one or two raw
reads from anchors; `assemble` turns their answers back into entries with gaps. The
trade-off lives in `_cost`: a request costs as much as reading `n` extra entries, so a
cursor-paged upstream (DevRev) re-reads up to one page from an earlier anchor in a single
request rather than splitting, and splits only when the re-read would be longer.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.engine.gaps import END, START, Anchor, Boundary, Gap, GapIndex, Run, readable_backward, readable_forward
from gateway.model import Job


@dataclass(frozen=True, slots=True)
class RawRead:
    """One upstream request: up to `limit` entries next to `anchor`, after skipping `skip`.

    Forward reads return the entries after the anchor; backward reads the ones before it,
    nearest first skipped. A source that cannot skip upstream reads `skip + limit` and
    returns them all; the run's `origin` tells `assemble` where the anchor was.

    `toward` marks the first read of a split: it runs from a far anchor toward the gap, so
    its last entries matter most. A source that can only answer part of the range (offset
    pages that do not line up with it) should then answer the end of it, not the start.
    """

    anchor: Anchor
    backward: bool
    skip: int
    limit: int
    toward: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class ReadPlan:
    gap: Gap
    backward: bool
    reads: tuple[RawRead, ...]
    kind: str  # "exact", "reread" or "split": how assemble finds the gap in the answers


class UnreadableGap(ValueError):
    """The gap has no anchor that can be read in the wanted direction."""


class AnchorRejected(Exception):
    """The upstream refused an anchor it once issued (a cursor that expired with its entry,
    say). The read is planned again from the gap's other anchors, or from the list's end."""

    def __init__(self, anchor: Anchor, message: str = "anchor refused") -> None:
        super().__init__(message)
        self.anchor = anchor


def without_anchor(gap: Gap, anchor: Anchor) -> Gap:
    """The gap, forgetting a refused anchor; with none left, the list's end on that side.

    Counts from a list end are only a guess, so the read relies on the remembered
    neighbour's key to find the gap again (see `_realign`), which reads as far as needed.
    """
    fa, fk, ba, bk = gap.fa, gap.fk, gap.ba, gap.bk
    if fa == anchor:
        fa, fk = None, 0
    if ba == anchor:
        ba, bk = None, 0
    if fa is None and ba is None:
        fa, fk = START, 0
        ba, bk = END, 0
    return Gap(fa, fk, ba, bk, gap.prev, gap.next)


def plan_read(
    gap: Gap,
    *,
    backward: bool,
    want: int,
    cheap_skip: bool = False,
    max_limit: int = 100,
    allow_split: bool = True,
) -> ReadPlan:
    """Choose the cheapest reads that return `want` entries next to `gap`.

    No read asks for more than the upstream's page cap, so a read toward the gap always
    reaches it; one more round (the merge asks) fetches what did not fit.
    """
    want = max(1, min(want, max_limit - 1))
    # A tie group's gap (width w) is read from the near side's edge of the group.
    if backward:
        near, near_k, far, far_k = gap.ba, gap.bk, gap.fa, gap.fk + gap.w
        near_ok, far_ok = readable_backward, readable_forward
    else:
        near, near_k, far, far_k = gap.fa, gap.fk, gap.ba, gap.bk + gap.w
        near_ok, far_ok = readable_forward, readable_backward

    # An anchor exactly at the gap: read straight from it.
    if near_ok(near) and near_k == 0:
        return ReadPlan(gap, backward, (RawRead(near, backward, 0, want),), "exact")
    if far_ok(far) and far_k == 0 and near_ok(far):
        return ReadPlan(gap, backward, (RawRead(far, backward, 0, want),), "exact")

    options: list[tuple[int, ReadPlan]] = []
    if near_ok(near):
        # Re-read from the anchor behind the gap, one entry early to check our footing.
        read = RawRead(near, backward, near_k - 1, want + 1)
        overread = 0 if cheap_skip else near_k - 1
        options.append((_cost(1, overread, want), ReadPlan(gap, backward, (read,), "reread")))
    if far_ok(far) and (allow_split or not options):
        # Read back from the anchor ahead of the gap, then on past it if that is not enough.
        skip = max(0, far_k - want)
        reads = [RawRead(far, not backward, skip, far_k - skip + 1, toward=True)]
        if far_k < want and near_ok(far):
            reads.append(RawRead(far, backward, 0, want - far_k))
        overread = 0 if cheap_skip else skip
        options.append((_cost(len(reads), overread, want), ReadPlan(gap, backward, tuple(reads), "split")))
    if not options:
        raise UnreadableGap("no anchor to read from")
    return min(options, key=lambda option: option[0])[1]


def _cost(requests: int, overread: int, want: int) -> int:
    return requests * want + overread


@dataclass(slots=True)
class Entry:
    """One job in a stream, with the gaps either side computed on demand.

    In a tie group (see `TieGroup`) both gaps are the group's: the engine orders equal
    timestamps itself, so a position inside a group is the whole group plus the edge key.
    """

    key: tuple
    job: Job
    stream: str
    index: int
    gaps: GapIndex
    group: TieGroup | None = None

    @property
    def before(self) -> Gap:
        return self.gaps.gap(self.index) if self.group is None else self.group.gap

    @property
    def after(self) -> Gap:
        return self.gaps.gap(self.index + 1) if self.group is None else self.group.gap

    @property
    def before_text(self) -> str:
        return self.gaps.text(self.index) if self.group is None else self.group.text

    @property
    def after_text(self) -> str:
        return self.gaps.text(self.index + 1) if self.group is None else self.group.text


class TieGroup:
    """Entries of one stream with equal sort timestamps, as the upstream listed them.

    Upstreams do not document how they order equal timestamps (by id either way, by
    insertion, ...), and may list them otherwise when asked in the other direction. So the
    merge reads a group whole, orders it by the connection's key, and a cursor inside it
    names the whole group: its start for reading forward, its end for reading backward (the
    gap's `prev`/`next` are the entries around the group). The edge key then keeps exactly
    the group's entries on the right side of the edge.
    """

    __slots__ = ("_start", "_end", "_width", "_gap", "_text")

    def __init__(self, members: Sequence[Entry], backward: bool) -> None:
        first, last = (members[-1], members[0]) if backward else (members[0], members[-1])
        self._start = first  # the member first in the connection's order, as listed
        self._end = last
        # Upstream entries between the group's edges, those filtered out here included.
        spans: dict[int, list[int]] = {}
        for member in members:
            span = spans.setdefault(id(member.gaps), [member.index, member.index])
            span[0], span[1] = min(span[0], member.index), max(span[1], member.index)
        self._width = sum(high - low + 1 for low, high in spans.values())
        self._gap: Gap | None = None
        self._text: str | None = None

    @property
    def gap(self) -> Gap:
        if self._gap is None:
            start = self._start.gaps.gap(self._start.index)
            end = self._end.gaps.gap(self._end.index + 1)
            self._gap = Gap(start.fa, start.fk, end.ba, end.bk, start.prev, end.next, self._width)
        return self._gap

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.gap.text()
        return self._text


@dataclass(slots=True)
class Window:
    """What one read yielded for a stream: entries in reading order and where to go on."""

    entries: list[Entry]
    resume: Gap  # where this page's next read of the stream starts
    exhausted: bool
    total: int | None = None
    lost: bool = False  # the read missed the gap's neighbour: discard it, read from nearer
    settled: Gap | None = None  # the same place as a cursor carries it (None: `resume`)
    unverified: bool = False  # the answer did not hold the gap's neighbour: see `_footing_holds`
    far_time: int | None = None  # sort time of the last entry read (kept or not), if the stream goes on


@dataclass(frozen=True, slots=True)
class StreamView:
    """How the engine sees one stream: its name, order key and local filtering."""

    name: str
    key: Callable[[Job], tuple]
    boundary: Callable[[Job], Boundary]
    boundary_key: Callable[[Boundary], tuple]
    keep: Callable[[Job], bool] | None = None
    stop_forward: Callable[[Job], bool] | None = None
    stop_backward: Callable[[Job], bool] | None = None


def assemble(plan: ReadPlan, runs: Sequence[Run], view: StreamView, settled: Gap | None = None) -> Window:
    """Turn the answers to `plan`'s reads into entries next to `plan.gap`, in reading order.

    `settled` is `plan.gap` as a cursor would carry it (see `GapIndex.fresh_gap`).
    """
    run, target = _locate(plan, runs)
    target = _realign(run, target, plan.gap, view, plan.backward)
    if plan.kind == "split" and _missed_neighbour(run, target, plan):
        return Window([], plan.gap, False, lost=True)
    unverified = plan.kind == "reread" and not _footing_holds(run, target, plan.gap, plan.backward, view.boundary)
    if (target < 0 and not plan.backward) or (target > len(run.jobs) and plan.backward):
        # The whole answer lies past the gap in the direction read: reading on cannot reach
        # what lies between. The anchor's own place is the best reckoning (exact for a
        # cursor issued right there; a re-read that lost its footing says so above).
        target = 0 if target < 0 else len(run.jobs)
    index = GapIndex(run, view.boundary, target, plan.gap, settled, backward=plan.backward)
    jobs = run.jobs
    total = next((r.total for r in runs if r.total is not None), None)
    keep = view.keep
    entries: list[Entry] = []
    if plan.backward:
        stop = view.stop_backward
        first = target if target <= len(jobs) else 0
        resume_at = target if first <= 0 or target > len(jobs) else first
        exhausted = 0 <= target <= len(jobs) and run.first  # a gap outside the run ends nothing
        for i in range(first - 1, -1, -1):
            job = jobs[i]
            if stop is not None and stop(job):
                exhausted = True
                break
            resume_at = i
            if keep is None or keep(job):
                entries.append(Entry(view.key(job), job, view.name, i, index))
    else:
        stop = view.stop_forward
        first = max(target, 0) if target >= 0 else len(jobs)
        resume_at = target if first >= len(jobs) else len(jobs)
        exhausted = 0 <= target <= len(jobs) and run.last  # a gap outside the run ends nothing
        for i in range(first, len(jobs)):
            job = jobs[i]
            if stop is not None and stop(job):
                exhausted = True
                resume_at = i
                break
            if keep is None or keep(job):
                entries.append(Entry(view.key(job), job, view.name, i, index))
    far_time = None
    if not exhausted and jobs:
        far_time = view.key(jobs[0 if plan.backward else -1])[0]
    return Window(
        entries,
        index.fresh_gap(resume_at),
        exhausted,
        total,
        settled=index.gap(resume_at),
        unverified=unverified,
        far_time=far_time,
    )


def _locate(plan: ReadPlan, runs: Sequence[Run]) -> tuple[Run, int]:
    """Stitch the answers into one run and find the gap's index in it."""
    gap = plan.gap
    if plan.kind == "exact":
        (run,) = runs
        return run, run.origin
    if plan.kind == "reread":
        (run,) = runs
        if plan.backward:
            return run, run.origin - gap.bk
        return run, run.origin + gap.fk
    # split: runs[0] reads from the far anchor back towards the gap, runs[1] beyond it.
    toward = runs[0]
    if plan.backward:
        beyond = runs[1] if len(runs) > 1 else None
        run = _join(beyond, toward) if beyond is not None else toward
        shift = len(beyond.jobs) if beyond is not None else 0
        return run, shift + toward.origin + gap.fk + gap.w
    beyond = runs[1] if len(runs) > 1 else None
    run = _join(toward, beyond) if beyond is not None else toward
    return run, toward.origin - gap.bk - gap.w


def reach_on(plan: ReadPlan, toward: Run, view: StreamView) -> RawRead | None:
    """The read that carries a split's first read on toward the gap, if it stopped short.

    That read runs from a far anchor toward the gap and must reach one entry past it (the
    gap's neighbour on the near side, its footing). An upstream that cannot skip answers
    with its page cap only, and counts go stale when jobs come and go; so while the answer
    neither holds the footing nor has passed the footing's time, read on from where it
    ended, with the cursor it came with (`extend` joins the answers).
    """
    if plan.kind != "split":
        return None
    first = plan.reads[0]
    footing = plan.gap.next if plan.backward else plan.gap.prev
    jobs = toward.jobs
    if footing is not None:
        if any(job.source_id == footing[1] for job in jobs):
            return None
        t = view.boundary_key(footing)[0]
        if jobs and (view.key(jobs[0])[0] < t if first.backward else view.key(jobs[-1])[0] > t):
            return None  # past its place: it is gone, and the keys place the gap
    elif len(jobs) >= first.skip + first.limit:
        return None
    if first.backward:
        if toward.first or toward.origin != len(jobs):
            return None
        anchors = [a for i, a in toward.anchors if i == 0 and readable_backward(a)]
    else:
        if toward.last or toward.origin != 0:
            return None
        anchors = [a for i, a in toward.anchors if i == len(jobs) and readable_forward(a)]
    if not anchors:
        return None
    return RawRead(anchors[0], first.backward, 0, max(first.skip + first.limit - len(jobs), first.limit), toward=True)


def extend(run: Run, more: Run, backward: bool) -> Run:
    """A run and the one read on from its end in the same direction, as one run."""
    if backward:
        shift = len(more.jobs)
        anchors = more.anchors + [(place + shift, anchor) for place, anchor in run.anchors]
        return Run(more.jobs + run.jobs, anchors, origin=run.origin + shift, first=more.first, last=run.last)
    shift = len(run.jobs)
    anchors = run.anchors + [(place + shift, anchor) for place, anchor in more.anchors]
    return Run(run.jobs + more.jobs, anchors, origin=run.origin, first=run.first, last=more.last)


def _join(first: Run, second: Run) -> Run:
    """Join two runs that meet at one anchor: `first` ends at it, `second` starts at it."""
    if first.origin != len(first.jobs) or second.origin != 0:
        raise ValueError("runs do not meet")
    offset = len(first.jobs)
    anchors = first.anchors + [(position + offset, anchor) for position, anchor in second.anchors]
    return Run(first.jobs + second.jobs, anchors, origin=first.origin, first=first.first, last=second.last)


def _index_of(jobs: list[Job], source_id: str) -> int | None:
    for i, job in enumerate(jobs):
        if job.source_id == source_id:
            return i
    return None


def _footing_holds(run: Run, target: int, gap: Gap, backward: bool, boundary: Callable[[Job], Boundary]) -> bool:
    """Whether a read from behind the gap found its footing.

    A re-read starts behind the gap so that its answer holds the gap's neighbour on that
    side (or, if that job was deleted, an entry at or before its key). If instead the whole
    answer lies beyond the gap, the anchor moved (an upstream cursor that counts positions,
    with jobs deleted or created ahead of it) and whatever lay between is unaccounted for.
    (An answer that starts right at the gap's other neighbour is whole all the same.)
    The read still goes on from its best reckoning; the page says so.
    """
    jobs = run.jobs
    if backward:
        if gap.next is None or target < len(jobs) or run.last:
            return True
        return target == len(jobs) > 0 and gap.prev is not None and boundary(jobs[-1]) == gap.prev
    if gap.prev is None or target > 0 or run.first:
        return True
    return target == 0 < len(jobs) and gap.next is not None and boundary(jobs[0]) == gap.next


def _missed_neighbour(run: Run, target: int, plan: ReadPlan) -> bool:
    """A split read starts at an anchor beyond the gap and reads back toward it, one entry
    past it. If that entry is not in the answer, entries were inserted or the far anchor
    (a list end) moved: whatever lies between cannot be vouched for."""
    if plan.backward:
        return plan.gap.next is not None and target >= len(run.jobs) and not run.last
    return plan.gap.prev is not None and target <= 0 and not run.first


def _realign(run: Run, target: int, gap: Gap, view: StreamView, backward: bool = False) -> int:
    """Find the gap by key, not by count: upstream lists shift (new jobs, offset pages).

    The offsets only chose what to read; the run is in key order, so the gap sits after
    every entry that sorts at or before the entry remembered before it (or before the one
    remembered after it). Without a remembered neighbour, the offset is all there is.

    A gap that sits right at its anchor on the side it is read toward, with no entry
    remembered on that side, stays at the anchor: whatever lies between the anchor and the
    remembered neighbour arrived since and was never shown, so it is read (the edge's key
    still keeps out anything that would be out of order). Locating it by the neighbour
    instead would skip those entries, and a short read could then never get past them.
    """
    jobs = run.jobs
    if not jobs:
        # Nothing there: if nothing lies beyond the anchor in the direction read either, the
        # gap has nothing beyond it (whatever the counts said, jobs were deleted).
        reached = run.first if backward else run.last
        return 0 if reached else target
    if not backward and gap.prev is None and gap.fk == 0 and gap.fa is not None and (target, gap.fa) in run.anchors:
        return target
    if backward and gap.next is None and gap.bk == 0 and gap.ba is not None and (target, gap.ba) in run.anchors:
        return target
    # The neighbour on the side the read comes from (its footing) places the gap: by
    # identity when the answer holds it; else by time, since upstreams order equal times
    # as they please: entries before its time lie before the gap, after it beyond, and
    # among equal times the anchor's count decides (a cursor's gaps sit at the edges of tie
    # groups, see `TieGroup`, so there the count is only a tie-break). The other neighbour
    # only bounds the gap: in a tie group's gap it lies beyond the whole group.
    n = len(jobs)
    times = [view.key(job)[0] for job in jobs]  # non-decreasing in the connection's order
    near, far = (gap.next, gap.prev) if backward else (gap.prev, gap.next)
    if near is None:
        if far is None:
            return target
        at = _index_of(jobs, far[1])
        if backward:
            low = at + 1 if at is not None else bisect_right(times, view.boundary_key(far)[0])
            return max(target, low) if target <= n else target
        high = at if at is not None else bisect_left(times, view.boundary_key(far)[0])
        return min(target, high) if target >= 0 else target
    at = _index_of(jobs, near[1])
    if at is not None:
        return at if backward else at + 1
    t = view.boundary_key(near)[0]
    lo, hi = bisect_left(times, t), bisect_right(times, t)
    # Nothing at the neighbour's time, and the whole answer on one side of it: the gap is
    # outside the answer, ahead of it (read on) or behind it (see `assemble`).
    if lo == hi == n and not run.last:
        return max(target, n + 1)
    if lo == hi == 0 and not run.first:
        return min(target, -1)
    return min(max(target, lo), hi)
