"""Cursor codec: round trips; every kind of damage is BAD_CURSOR (with a reason), never a crash."""

import base64
import hmac
import json

import pytest
from hypothesis import given, strategies as st

from gateway.engine.cursor import (
    DEFAULT_CURSOR_KEY,
    MAX_CURSOR_LENGTH,
    TAG_BYTES,
    EdgePosition,
    cursor_key,
    decode_cursor,
    encode_cursor,
    fingerprint,
)
from gateway.engine.gaps import END, START, Gap
from gateway.errors import BadCursor

FP = fingerprint({"order": "x"})
STREAMS = frozenset({"DEVREV", "DOCURIFT:pending"})
POSITION = EdgePosition(
    {"DEVREV": Gap("cursor-1", 3, END, 0, (1, "a"), None), "DOCURIFT:pending": Gap({"t": 17}, 0, {"t": 16}, 2, None, (5, "b"))},
    "DEVREV",
    Gap("cursor-1", 2, END, 1, (0, "z"), (1, "a")),
    (1, 0, "a"),
)


def reason(cursor: str, key: bytes = DEFAULT_CURSOR_KEY, streams: frozenset[str] = STREAMS) -> str:
    with pytest.raises(BadCursor) as caught:
        decode_cursor(cursor, FP, streams, key)
    assert caught.value.code == "BAD_CURSOR"
    return caught.value.reason


def test_round_trip():
    assert decode_cursor(encode_cursor(POSITION, FP), FP, STREAMS) == POSITION


def test_round_trip_with_a_secret():
    key = cursor_key("s3cret")
    assert decode_cursor(encode_cursor(POSITION, FP, key), FP, STREAMS, key) == POSITION


def test_a_position_that_is_no_edge_round_trips():
    start = EdgePosition({"DEVREV": Gap.start(), "DOCURIFT:pending": Gap.start()}, None, None, None)
    decoded = decode_cursor(encode_cursor(start, FP), FP, STREAMS)
    assert decoded == start and decoded.before_gaps() == start.gaps


def test_other_query_or_other_streams_is_other_query():
    cursor = encode_cursor(POSITION, FP)
    with pytest.raises(BadCursor) as caught:
        decode_cursor(cursor, fingerprint({"order": "y"}), STREAMS)
    assert caught.value.reason == "OTHER_QUERY"
    assert reason(cursor, streams=frozenset({"DEVREV"})) == "OTHER_QUERY"


def test_a_cursor_from_a_deployment_with_another_secret_is_refused():
    cursor = encode_cursor(POSITION, FP, cursor_key("theirs"))
    assert reason(cursor, cursor_key("ours")) == "TAMPERED"
    assert reason(cursor) == "TAMPERED"


def test_any_flipped_byte_or_truncation_is_refused():
    cursor = encode_cursor(POSITION, FP)
    packed = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for i in range(len(packed)):
        flipped = bytearray(packed)
        flipped[i] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")
        assert reason(text) == "TAMPERED"
    for cut in (1, 5, len(cursor) // 2, len(cursor) - 1):
        assert reason(cursor[:cut]) in {"TAMPERED", "MALFORMED"}


def _sealed(payload, key: bytes = DEFAULT_CURSOR_KEY) -> str:
    """A correctly signed cursor around an arbitrary payload: what only a key holder can make."""
    body = json.dumps(payload).encode()
    tag = hmac.digest(key, body, "sha256")[:TAG_BYTES]
    return base64.urlsafe_b64encode(tag + body).decode().rstrip("=")


def test_oversized_cursors_are_refused_before_decoding():
    assert reason("a" * (MAX_CURSOR_LENGTH + 1)) == "TOO_LONG"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        base64.urlsafe_b64encode(b"short").decode(),
        _sealed([1, 2]),
        _sealed({"v": 2}),
        _sealed({"v": 3, "q": FP, "g": {"DEVREV": [None, 0, None, 0, None, None]}, "o": None, "k": None}),
        _sealed({"v": 3, "q": FP, "g": {"DEVREV": ["^", -1, None, 0, None, None]}, "o": None, "k": None}),
        _sealed({"v": 3, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, [1], None]}, "o": None, "k": None}),
        _sealed({"v": 3, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, None, None]}, "o": ["NOPE", ["^", 0, None, 0, None, None]], "k": None}),
        _sealed({"v": 3, "q": FP, "g": {"DEVREV": ["^", 0, None, 0, None, None]}, "o": None, "k": [1, "x", 2]}),
    ],
)
def test_malformed_cursors_are_refused(cursor):
    assert reason(cursor, streams=frozenset({"DEVREV"})) == "MALFORMED"


def test_derived_parts_that_do_not_fit_are_refused():
    gap = ["^", 0, None, 0, None, None]
    for own, edge in (({"p": None}, None), (None, 0), ({"q": 1}, None)):  # no entry before a START gap; no prev for a key
        cursor = _sealed({"v": 3, "q": FP, "g": {"DEVREV": gap}, "o": ["DEVREV", own] if own else None, "k": edge})
        assert reason(cursor, streams=frozenset({"DEVREV"})) == "MALFORMED"


def test_long_forms_when_nothing_can_be_derived():
    other = EdgePosition(
        {"DEVREV": Gap("c2", 5, END, 0, (9, "q"), None), "DOCURIFT:pending": Gap.start()},
        "DEVREV",
        Gap({"t": 1}, 0, "c3", 2, None, (8, "p")),  # other anchors: written out
        (7, 0, "x"),  # not the gap's prev: written out
    )
    assert decode_cursor(encode_cursor(other, FP), FP, STREAMS) == other


GAPS = st.builds(
    Gap,
    st.sampled_from(["^", "c1", {"t": 5}]),
    st.integers(0, 5),
    st.sampled_from(["$", "c9", None]),
    st.integers(0, 5),
    st.one_of(st.none(), st.tuples(st.integers(0, 10**16), st.text(max_size=8))),
    st.one_of(st.none(), st.tuples(st.integers(0, 10**16), st.text(max_size=8))),
)


@given(GAPS, GAPS, GAPS, st.booleans(), st.one_of(st.none(), st.tuples(st.integers(0, 10**16), st.integers(0, 1), st.text(max_size=8))))
def test_any_position_round_trips(devrev, pending, before, derive, edge):
    if derive and devrev.fk >= 1:
        before = Gap(devrev.fa, devrev.fk - 1, devrev.ba, devrev.bk + 1, before.prev, devrev.prev)
        if edge is not None and devrev.prev is not None:
            edge = (devrev.prev[0], edge[1], devrev.prev[1])
    position = EdgePosition({"DEVREV": devrev, "DOCURIFT:pending": pending}, "DEVREV", before, edge)
    assert decode_cursor(encode_cursor(position, FP), FP, STREAMS) == position


@given(st.text(max_size=300))
def test_no_string_crashes_the_decoder(text):
    try:
        decode_cursor(text, FP, STREAMS)
    except BadCursor:
        pass


def test_start_and_end_gaps():
    assert Gap.start().fa == START and Gap.end().ba == END
