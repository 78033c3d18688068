"""Global ids: every id we issue round-trips; anything else is BAD_ID before any upstream call."""

import base64
import zlib

import pytest
from hypothesis import given, strategies as st

from gateway.errors import BadId
from gateway.ids import decode_job_id, encode_job_id
from gateway.model import Source

# Any text an upstream can send: every code point JSON can carry (no lone surrogates, which
# orjson refuses), spaces, separators, control characters, NUL, combining marks; and long.
UPSTREAM_IDS = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=3000),
    st.text(st.sampled_from(" \t\n\r\x00\x1f\x7f/?#%+&=:\u0301\u00a0\u2028\ufeff\U0001f600e"), min_size=1),
)
ODD_IDS = [
    "job_ünïcødé_04", "job 1", "e\u0301", "job\x01bell", "\x00", "x" * 300, "%2F", "a/b?c#d", " ", "\U0001f600",
    "don:core:dvrv-us-1:devo/1:job/12", "é" * 100_000,
]


@given(source=st.sampled_from(list(Source)), source_id=UPSTREAM_IDS)
def test_every_issued_id_round_trips(source, source_id):
    assert decode_job_id(encode_job_id(source, source_id)) == (source, source_id)


@pytest.mark.parametrize("source_id", ODD_IDS)
@pytest.mark.parametrize("source", list(Source))
def test_odd_upstream_ids_round_trip(source, source_id):
    global_id = encode_job_id(source, source_id)
    assert decode_job_id(global_id) == (source, source_id)
    assert set(global_id) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_lone_surrogates_never_reach_the_encoder():
    """Why the encoder may insist on UTF-8: upstream JSON is decoded by orjson, which refuses them."""
    import orjson

    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(b'{"id": "job_\\ud800"}')


def _b64(raw: str) -> str:
    """Well-formed apart from what the test names: with a correct check value."""
    data = raw.encode()
    return base64.urlsafe_b64encode(data + zlib.crc32(data).to_bytes(4, "big")).decode()


GOOD = encode_job_id(Source.DEVREV, "don:core:dvrv-us-1:devo/1:job/12")


@pytest.mark.parametrize(
    "global_id",
    [
        "",
        "not an id",
        GOOD[:-3],  # truncated
        GOOD[:10] + ("A" if GOOD[10] != "A" else "B") + GOOD[11:],  # a flipped character
        GOOD + "==",  # padded: not how we issue it
        GOOD.replace("-", "+").replace("_", "/") + ("" if "-" in GOOD or "_" in GOOD else "+"),  # other alphabet
        "A" * 10_000,  # long, and no id
        GOOD + "A" * 10_000,  # one of ours, lengthened
        base64.urlsafe_b64encode(b"Job:devrev:123").decode().rstrip("="),  # no check value (old format)
        _b64("User:devrev:123").rstrip("="),  # another type
        _b64("Job:jira:123").rstrip("="),  # unknown source
        _b64("Job:devrev:").rstrip("="),  # no upstream id
        _b64("Job:devrev").rstrip("="),  # no separator
        base64.urlsafe_b64encode(b"Job:devrev:\xff" + zlib.crc32(b"Job:devrev:\xff").to_bytes(4, "big")).decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"Job:devrev:\xed\xa0\x80" + zlib.crc32(b"Job:devrev:\xed\xa0\x80").to_bytes(4, "big")).decode(),  # a surrogate
        GOOD + "\u00e9",  # not base64
    ],
)
def test_anything_else_is_bad_id(global_id):
    with pytest.raises(BadId) as caught:
        decode_job_id(global_id)
    assert caught.value.code == "BAD_ID"
    assert len(caught.value.message) < 120  # an oversized id is not echoed whole


@given(st.text(max_size=400))
def test_no_string_crashes_the_decoder(text):
    try:
        source, source_id = decode_job_id(text)
    except BadId:
        return
    assert encode_job_id(source, source_id) == text
