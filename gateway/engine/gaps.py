"""Gaps and anchors: how a position inside an upstream stream is written down.

An anchor is a JSON value only its source understands (a DevRev cursor, a DocuRift second).
Two anchors are universal: `START` (before every entry, readable forwards only) and `END`
(after every entry, readable backwards only). A source whose anchors are documented for one
direction only (DevRev: a `next_cursor` continues with `mode=after`, a `prev_cursor` with
`mode=before`) wraps them with `after_only`/`before_only`; the planner then never reads
them the other way, whatever such a read would happen to return. A gap stores the nearest anchor on each side
with the number of entries in between, plus the ids around it so a read can check that it
landed where it meant to when the upstream shifted underneath (offset pages, new jobs).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.model import Job

Anchor = Any  # a JSON-serializable value, opaque outside its source
Boundary = tuple[int, str]  # an entry's sort timestamp (µs) and upstream id

START = "^"
END = "$"


_AFTER = ">"
_BEFORE = "<"


def after_only(value: Anchor) -> Anchor:
    """An anchor that may only be read forward (in the connection's reading order)."""
    return {_AFTER: value}


def before_only(value: Anchor) -> Anchor:
    """An anchor that may only be read backward."""
    return {_BEFORE: value}


def directional(anchor: Anchor) -> bool:
    """Whether the anchor is an upstream's opaque cursor (`after_only`/`before_only`).

    What such a cursor names is undocumented: a gap, an entry, or an offset that moves when
    jobs are created or deleted ahead of it. So a gap is never read from a cursor issued
    exactly at it: the read starts from the anchor before (behind) it, and its answer then
    holds the gap's remembered neighbour, by which the gap is found again whatever moved.
    """
    return isinstance(anchor, dict) and len(anchor) == 1 and (_AFTER in anchor or _BEFORE in anchor)


def anchor_value(anchor: Anchor) -> Anchor:
    """What the source gave, without the direction `after_only`/`before_only` put on it."""
    if isinstance(anchor, dict) and len(anchor) == 1:
        if _AFTER in anchor:
            return anchor[_AFTER]
        if _BEFORE in anchor:
            return anchor[_BEFORE]
    return anchor


def readable_forward(anchor: Anchor | None) -> bool:
    return anchor is not None and anchor != END and not (isinstance(anchor, dict) and _BEFORE in anchor)


def readable_backward(anchor: Anchor | None) -> bool:
    return anchor is not None and anchor != START and not (isinstance(anchor, dict) and _AFTER in anchor)


@dataclass(frozen=True, slots=True)
class Gap:
    """A position between two neighbouring entries of one stream.

    `fa` is the nearest known anchor at or before the gap (in the connection's order) and
    `fk` the number of entries from it to the gap; `ba`/`bk` the same after the gap.
    `prev`/`next` are the entries either side as `[sort timestamp in µs, upstream id]`,
    when known: the gap is found again in any answer by comparing keys, whatever shifted.
    """

    fa: Anchor | None = None
    fk: int = 0
    ba: Anchor | None = None
    bk: int = 0
    prev: Boundary | None = None
    next: Boundary | None = None
    w: int = 0  # a tie group's width: the gap spans it (`fk` counts to its start, `bk` from its end)

    @classmethod
    def start(cls) -> Gap:
        return cls(fa=START)

    @classmethod
    def end(cls) -> Gap:
        return cls(ba=END)

    def to_json(self) -> list[Any]:
        plain = [self.fa, self.fk, self.ba, self.bk, self.prev, self.next]
        return plain if not self.w else [*plain, self.w]

    def text(self) -> str:
        """The gap as it is written in cursors."""
        return orjson.dumps(self.to_json()).decode()

    @classmethod
    def from_json(cls, value: Any) -> Gap:
        """Rebuild a gap from a cursor; raises ValueError on anything malformed."""
        if not isinstance(value, list) or len(value) not in (6, 7):
            raise ValueError("gap")
        fa, fk, ba, bk, prev, next_, *rest = value
        w = rest[0] if rest else 0
        if not (_is_count(fk) and _is_count(bk) and _is_count(w)):
            raise ValueError("gap offsets")
        if fa is None and ba is None:
            raise ValueError("gap without anchor")
        return cls(fa, fk, ba, bk, _boundary(prev), _boundary(next_), w)


def _boundary(value: Any) -> Boundary | None:
    if value is None:
        return None
    if (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and isinstance(value[0], int)
        and not isinstance(value[0], bool)
        and isinstance(value[1], str)
    ):
        return (value[0], value[1])
    raise ValueError("gap boundary")


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1_000_000


@dataclass(slots=True)
class Run:
    """Consecutive entries of one stream as one upstream request returned them.

    `jobs` are in the connection's order whatever direction the request read in.
    `anchors` holds `(i, anchor)` pairs: an anchor at the gap before `jobs[i]` (i ==
    len(jobs): after the last); one place may have several (a directional pair), and
    indexes may lie outside the run when a source skipped entries upstream (page offsets).
    `origin` is the index of the gap the request read from (its anchor's place); `total`
    is the size of the whole stream when the upstream said so for an unnarrowed request.
    `first`/`last` say the run reaches the stream's start/end: nothing lies beyond it.
    """

    jobs: list[Job]
    anchors: list[tuple[int, Anchor]] = field(default_factory=list)
    origin: int = 0
    total: int | None = None
    first: bool = False
    last: bool = False

    def __len__(self) -> int:
        return len(self.jobs)


class GapIndex:
    """Answers "which gap is before entry i" for a run, in O(log anchors) per question.

    Built lazily: most pages only ever ask for a handful of gaps (cursors are computed on
    demand), so nothing here runs for a page whose cursors nobody selects.
    """

    __slots__ = ("_run", "_boundary", "_outer_index", "_outer", "_settled_outer", "_backward", "_lists", "_gaps", "_texts")

    def __init__(
        self,
        run: Run,
        boundary: Callable[[Job], Boundary],
        outer_index: int | None = None,
        outer: Gap | None = None,
        settled_outer: Gap | None = None,
        backward: bool = False,
    ) -> None:
        self._run = run
        self._boundary = boundary
        self._outer_index = outer_index
        self._outer = outer  # the gap the read was planned from, at `outer_index`
        self._settled_outer = settled_outer or outer  # the same gap as a cursor carries it
        self._backward = backward  # read backward: `outer_index` is a tie group's end, else its start
        self._lists: dict[bool, tuple[list[tuple[int, Anchor]], list[tuple[int, Anchor]]]] = {}
        self._gaps: dict[int, Gap] = {}
        self._texts: dict[int, str] = {}

    def text(self, index: int) -> str:
        """The gap as cursor JSON, made once: neighbouring edges' cursors share most gaps."""
        text = self._texts.get(index)
        if text is None:
            text = self._texts[index] = self.gap(index).text()
        return text

    def _sorted(self, fresh: bool) -> tuple[list[tuple[int, Anchor]], list[tuple[int, Anchor]]]:
        """The run's anchors by place, readable forward and backward.

        The gap the read was planned from lends its anchors too, at the places its counts
        put them: a run read one way has no anchors of the other way inside it, and its
        gaps are then reached from those (found again by key when read)."""
        lists = self._lists.get(fresh)
        if lists is None:
            items = sorted(self._run.anchors, key=_position)
            forward = [(i, a) for i, a in items if readable_forward(a)]
            backward = [(i, a) for i, a in items if readable_backward(a)]
            outer = self._outer if fresh else self._settled_outer
            at = self._outer_index
            if outer is not None and at is not None:
                # Lent for its own direction only: its place here is a count, maybe stale.
                start, end = (at - outer.w, at) if self._backward else (at, at + outer.w)
                placed = {_frozen(anchor) for _, anchor in items}  # the answer's places are newer
                if outer.fa is not None and _frozen(outer.fa) not in placed:
                    forward.append((start - outer.fk, outer.fa))
                    forward.sort(key=_position)
                if outer.ba is not None and _frozen(outer.ba) not in placed:
                    backward.append((end + outer.bk, outer.ba))
                    backward.sort(key=_position)
            lists = self._lists[fresh] = (forward, backward)
        return lists

    def gap(self, index: int) -> Gap:
        """The gap before `run.jobs[index]`; `index == len(run)` is the gap after the last.

        This is the gap as cursors carry it: read later, so from behind (see `directional`).
        """
        gap = self._gaps.get(index)
        if gap is None:
            gap = self._gaps[index] = self._compute(index, fresh=False)
        return gap

    def fresh_gap(self, index: int) -> Gap:
        """The gap for the next read of this same page, moments later: a cursor issued right
        at it, in the answer that also held the gap's neighbour, may be read directly. It
        never goes into a cursor."""
        return self._compute(index, fresh=True)

    def _compute(self, index: int, *, fresh: bool) -> Gap:
        forward, backward = self._sorted(fresh)
        jobs = self._run.jobs
        fa: Anchor | None = None
        fk = 0
        at = exact = bisect_right(forward, index, key=_position) - 1
        while not fresh and at >= 0 and forward[at][0] == index and directional(forward[at][1]):
            at -= 1  # footing: an upstream cursor is read from behind the gap (see `directional`)
        if at < 0:
            at = exact  # nothing behind: the cursor at the gap is all there is
        if at >= 0:
            fa, fk = forward[at][1], index - forward[at][0]
        ba: Anchor | None = None
        bk = 0
        at = exact = bisect_left(backward, index, key=_position)
        while not fresh and at < len(backward) and backward[at][0] == index and directional(backward[at][1]):
            at += 1
        if at >= len(backward):
            at = exact
        if at < len(backward):
            ba, bk = backward[at][1], backward[at][0] - index
        prev = self._boundary(jobs[index - 1]) if 0 < index <= len(jobs) else None
        next_ = self._boundary(jobs[index]) if 0 <= index < len(jobs) else None
        outer = self._outer if fresh else self._settled_outer
        if outer is not None and index == self._outer_index:
            # A tie group's gap knows the entry before its start and the one after its end.
            if not self._backward or not outer.w:
                prev = prev or outer.prev
            if self._backward or not outer.w:
                next_ = next_ or outer.next
        return Gap(fa, fk, ba, bk, prev, next_)


def _frozen(anchor: Anchor) -> bytes:
    return orjson.dumps(anchor, option=orjson.OPT_SORT_KEYS)


def _position(item: tuple[int, Anchor]) -> int:
    return item[0]
