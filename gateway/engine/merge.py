"""The k-way merge: several sorted stream windows in, one page of the connection out.

`Merge` is a small state machine so that the I/O stays outside: it says which streams it
needs more of, is fed their windows, and finally yields a page. An entry is only taken
once every unfinished stream has shown its next entry, so no later read can reveal an
entry that should have come earlier.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gateway.engine.gaps import Gap
from gateway.engine.reads import Entry, TieGroup, Window


@dataclass(slots=True)
class _Stream:
    resume: Gap  # where the next read on this page starts
    settled: Gap  # the same place as a cursor carries it
    locally_filtered: bool
    buffer: deque[Entry] = field(default_factory=deque)
    exhausted: bool = False
    total: int | None = None
    reads: int = 0
    unverified: bool = False
    held: list[Entry] = field(default_factory=list)  # a tie group the next read may go on with


@dataclass(slots=True)
class MergedPage:
    """One page: `entries` in the connection's order, and what lies beyond it."""

    entries: list[Entry]
    has_more: bool
    backward: bool
    frontier: dict[str, Gap]
    _indexes: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for position, entry in enumerate(self.entries):
            self._indexes.setdefault(entry.stream, []).append(position)

    def position_texts_at(self, position: int) -> dict[str, str]:
        """Each stream's gap just after the entries that sort at or before edge `position`,
        as cursor JSON (each gap serialized once per page).

        Reading forward from these gaps yields exactly the entries after that edge; the
        edge's own stream reads backward from `entries[position].before` instead.
        """
        texts: dict[str, str] = {}
        for name, (entry, after) in self._neighbours(position).items():
            if entry is None:
                texts[name] = self.frontier[name].text()
            else:
                texts[name] = entry.after_text if after else entry.before_text
        return texts

    def _neighbours(self, position: int) -> dict[str, tuple[Entry | None, bool]]:
        """Per stream: its last entry at or before `position` (take the gap after it), else
        its first entry past it (the gap before), else None (its frontier)."""
        found: dict[str, tuple[Entry | None, bool]] = {}
        for name in self.frontier:
            indexes = self._indexes.get(name)
            if not indexes:
                found[name] = (None, True)
                continue
            at = bisect_right(indexes, position) - 1
            if at >= 0:
                found[name] = (self.entries[indexes[at]], True)
            else:
                found[name] = (self.entries[indexes[bisect_left(indexes, position)]], False)
        return found


class Merge:
    """Merge stream windows into `size` entries in reading order (backward: largest first)."""

    def __init__(
        self,
        starts: Mapping[str, Gap],
        size: int,
        *,
        backward: bool,
        locally_filtered: Iterable[str] = (),
        bound: tuple | None = None,
    ) -> None:
        filtered = set(locally_filtered)
        self._bound = bound
        self.size = size
        self.backward = backward
        self._streams = {name: _Stream(gap, gap, name in filtered) for name, gap in starts.items()}
        self._taken: list[Entry] = []
        self._has_more = False

    def wanted(self) -> dict[str, tuple[Gap, int]]:
        """Advance as far as the windows allow; return the streams to read next and how much.

        An empty answer means the page is decided.
        """
        streams = self._streams
        taken = self._taken
        while len(taken) < self.size:
            hungry = {
                name: (s.resume, _want(s, self.size - len(taken)))
                for name, s in streams.items()
                if not s.buffer and not s.exhausted
            }
            if hungry:
                return hungry
            best: _Stream | None = None
            for s in streams.values():
                if s.buffer and (best is None or self._before(s.buffer[0], best.buffer[0])):
                    best = s
            if best is None:
                self._has_more = False
                return {}
            taken.append(best.buffer.popleft())
        if any(s.buffer for s in streams.values()):
            self._has_more = True
            return {}
        # With nothing buffered, "more" rests on the upstream's word: fine for a stream it
        # answered on this page, unknown for one never read (first: 0) or filtered here.
        unsure = {
            name: (s.resume, _want(s, max(self.size, 1)))
            for name, s in streams.items()
            if not s.exhausted and (s.locally_filtered or s.reads == 0)
        }
        if unsure:
            return unsure
        self._has_more = any(not s.exhausted for s in streams.values())
        return {}

    def _before(self, a: Entry, b: Entry) -> bool:
        return a.key > b.key if self.backward else a.key < b.key

    def feed(self, name: str, window: Window) -> None:
        stream = self._streams[name]
        pending = stream.held + window.entries if stream.held else window.entries
        groups = _tie_groups(pending)
        stream.held = []
        if groups and not window.exhausted and window.far_time == groups[-1][0].key[0]:
            # The read ended inside this group: the next one may hold more of it.
            stream.held = groups.pop()
        for group in groups:
            self._release(stream, group)
        stream.resume = window.resume
        stream.settled = window.settled or window.resume
        stream.exhausted = window.exhausted and not stream.held
        stream.reads += 1
        stream.unverified = stream.unverified or window.unverified
        if window.total is not None:
            stream.total = window.total

    def _release(self, stream: _Stream, group: list[Entry]) -> None:
        """Put a whole tie group in the buffer in the connection's order (see `TieGroup`)."""
        if len(group) > 1:
            tie = TieGroup(group, self.backward)
            for entry in group:
                entry.group = tie
            group = sorted(group, key=_key, reverse=self.backward)
        bound = self._bound
        if bound is None:
            stream.buffer.extend(group)
        elif self.backward:
            stream.buffer.extend(e for e in group if e.key < bound)
        else:
            stream.buffer.extend(e for e in group if e.key > bound)

    def fail(self, name: str) -> None:
        """Stop waiting for a stream whose upstream failed; its entries are not taken."""
        stream = self._streams[name]
        stream.buffer.clear()
        stream.held = []
        stream.exhausted = True
        stream.total = None

    def total(self, name: str) -> int | None:
        return self._streams[name].total

    def settled(self, name: str) -> Gap:
        """Where the stream's next read starts, as a cursor carries it (see `_Stream`)."""
        return self._streams[name].settled

    def reads(self, name: str) -> int:
        return self._streams[name].reads

    def unverified(self) -> list[str]:
        """Streams read on from a position their upstream's answer did not vouch for."""
        return [name for name, s in self._streams.items() if s.unverified]

    def page(self) -> MergedPage:
        entries = list(reversed(self._taken)) if self.backward else list(self._taken)
        frontier: dict[str, Gap] = {}
        for name, s in self._streams.items():
            if s.buffer:
                head = s.buffer[0]
                frontier[name] = head.after if self.backward else head.before
            elif s.held:
                # Never shown: go on from before the group (it is read whole again).
                head = s.held[0]
                frontier[name] = head.gaps.gap(head.index + 1) if self.backward else head.gaps.gap(head.index)
            else:
                frontier[name] = s.settled
        return MergedPage(entries, self._has_more, self.backward, frontier)


def _key(entry: Entry) -> tuple:
    return entry.key


def _tie_groups(entries: list[Entry]) -> list[list[Entry]]:
    """Runs of consecutive entries with the same sort time (the key's first part)."""
    groups: list[list[Entry]] = []
    for entry in entries:
        if groups and groups[-1][0].key[0] == entry.key[0]:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def _want(stream: _Stream, need: int) -> int:
    """How many entries to ask a stream for when `need` more are missing from the page.

    A stream filtered here may drop most of what it reads: each further read of it on one
    page asks for twice as many, so a sparse filter costs a few requests, not one per
    kept entry (the read planner caps every ask at the stream's page size). The same goes
    for a tie group still being read.
    """
    # One more than needed: the last entry read waits for the next read to show whether its
    # tie group goes on (see `Merge.feed`), so it is a look-ahead, not part of the page.
    need += 1
    if stream.held:
        # Finishing a tie group: it may be long (it is read whole), so ask in growing steps.
        need = max(need, 2 * len(stream.held))
    return need << min(stream.reads, 7) if stream.locally_filtered else need
