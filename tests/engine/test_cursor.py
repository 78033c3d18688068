"""Cursor codec: round trips, and every kind of damage is INVALID_CURSOR, never a crash."""

import base64
import json
import zlib

import pytest
from hypothesis import given, strategies as st

from gateway.engine.cursor import EdgePosition, decode_cursor, encode_cursor, fingerprint
from gateway.engine.gaps import END, START, Gap
from gateway.errors import CursorMismatch, InvalidCursor

FP = fingerprint({"order": "x"})
STREAMS = frozenset({"DEVREV", "DOCURIFT:pending"})
POSITION = EdgePosition(
    {"DEVREV": Gap("cursor-1", 3, END, 0, (1, "a"), None), "DOCURIFT:pending": Gap({"t": 17}, 0, {"t": 16}, 2, None, (5, "b"))},
    "DEVREV",
    Gap("cursor-1", 2, END, 1, (0, "z"), (1, "a")),
    (1, 0, "a"),
)


def test_round_trip():
    assert decode_cursor(encode_cursor(POSITION, FP), FP, STREAMS) == POSITION


def test_a_position_that_is_no_edge_round_trips():
    start = EdgePosition({"DEVREV": Gap.start(), "DOCURIFT:pending": Gap.start()}, None, None, None)
    decoded = decode_cursor(encode_cursor(start, FP), FP, STREAMS)
    assert decoded == start and decoded.before_gaps() == start.gaps


def test_other_query_or_other_streams_is_a_mismatch():
    cursor = encode_cursor(POSITION, FP)
    with pytest.raises(CursorMismatch):
        decode_cursor(cursor, fingerprint({"order": "y"}), STREAMS)
    with pytest.raises(CursorMismatch):
        decode_cursor(cursor, FP, frozenset({"DEVREV"}))


def _pack(payload) -> str:
    return base64.urlsafe_b64encode(zlib.compress(json.dumps(payload).encode())).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a" * 5000,
        base64.urlsafe_b64encode(b"not zlib").decode(),
        _pack([1, 2]),
        _pack({"v": 2}),
        _pack({"v": 1, "q": FP, "g": {"DEVREV": [None, 0, None, 0, None, None]}, "o": None, "k": None}),
        _pack({"v": 1, "q": FP, "g": {"DEVREV": ["^", -1, None, 0, None, None]}, "o": None, "k": None}),
        _pack({"v": 1, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, [1], None]}, "o": None, "k": None}),
        _pack({"v": 1, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, None, None]}, "o": ["NOPE", ["^", 0, None, 0, None, None]], "k": None}),
        _pack({"v": 1, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, None, None]}, "o": None, "k": [1, "x", 2]}),
    ],
)
def test_damaged_cursors_are_invalid(cursor):
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, FP, frozenset({"DEVREV"}))


@given(st.text(max_size=300))
def test_no_string_crashes_the_decoder(text):
    try:
        decode_cursor(text, FP, STREAMS)
    except (InvalidCursor, CursorMismatch):
        pass


def test_start_and_end_gaps():
    assert Gap.start().fa == START and Gap.end().ba == END
