"""Cursors carry upstream ids (the keys either side of every gap, and the edge's own): any
id text an upstream can send must survive a cursor's round trip (issue 16)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from gateway.engine.cursor import MAX_CURSOR_LENGTH, EdgePosition, decode_cursor, encode_cursor, fingerprint
from gateway.engine.gaps import END, Gap

FP = fingerprint({"order": "x"})
STREAMS = frozenset({"DEVREV", "DOCURIFT"})
UPSTREAM_IDS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400)
ANCHORS = st.one_of(st.text(st.characters(blacklist_categories=("Cs",))), st.builds(lambda t: {"t": t}, st.integers(0, 2**40)))
MICROS = st.integers(0, 2**62)


def position(ids: list[str], anchor: object, ts: int) -> EdgePosition:
    """A two-source edge as a page builds it: the edge is DevRev's `prev`, DocuRift's gap between two jobs."""
    a, b, c, d = ids
    devrev = Gap(anchor, 3, END, 0, (ts, a), (ts - 1, b))
    return EdgePosition(
        {"DEVREV": devrev, "DOCURIFT": Gap({"t": 17}, 0, {"t": 16}, 2, (ts + 5, c), (ts - 5, d))},
        "DEVREV",
        Gap(anchor, 2, END, 1, (ts + 1, "z"), (ts, a)),
        (ts, 0, a),
    )


@given(ids=st.lists(UPSTREAM_IDS, min_size=4, max_size=4), anchor=ANCHORS, ts=MICROS)
def test_any_upstream_id_survives_a_cursor(ids, anchor, ts):
    edge = position(ids, anchor, ts)
    cursor = encode_cursor(edge, FP)
    if len(cursor) <= MAX_CURSOR_LENGTH:
        assert decode_cursor(cursor, FP, STREAMS) == edge


@pytest.mark.parametrize(
    "upstream_id",
    ["job_ünïcødé_04", "job 1", "e\u0301", "job\x00\x07\x1b[31m\x7f", "x" * 300, "🧪" * 10 + "x" * 290, "a/b?c#d%2F+&=;", ".."],
)
def test_odd_ids_fit_a_cursor(upstream_id):
    edge = position([upstream_id] * 4, "cursor-abc", 1_700_000_000_000_000)
    cursor = encode_cursor(edge, FP)
    assert len(cursor) <= MAX_CURSOR_LENGTH
    assert decode_cursor(cursor, FP, STREAMS) == edge


@pytest.mark.parametrize("upstream_id", ["\x00" * 300, "🧪" * 300, "\x01" * 2000])
def test_cursors_the_gateway_issues_are_never_too_long(upstream_id):
    edge = position([upstream_id] * 4, "cursor-abc", 1_700_000_000_000_000)
    cursor = encode_cursor(edge, FP)
    assert decode_cursor(cursor, FP, STREAMS) == edge
