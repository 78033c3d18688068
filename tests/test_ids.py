"""Global ids: every id we issue round-trips; anything else is BAD_ID before any upstream call."""

import base64
import zlib

import pytest
from hypothesis import given, strategies as st

from gateway.errors import BadId
from gateway.ids import MAX_ID_LENGTH, decode_job_id, encode_job_id
from gateway.model import Source

UPSTREAM_IDS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=160)


@given(source=st.sampled_from(list(Source)), source_id=UPSTREAM_IDS)
def test_every_issued_id_round_trips(source, source_id):
    assert decode_job_id(encode_job_id(source, source_id)) == (source, source_id)


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
        "A" * (MAX_ID_LENGTH + 1),  # oversized
        base64.urlsafe_b64encode(b"Job:devrev:123").decode().rstrip("="),  # no check value (old format)
        _b64("User:devrev:123").rstrip("="),  # another type
        _b64("Job:jira:123").rstrip("="),  # unknown source
        _b64("Job:devrev:").rstrip("="),  # no upstream id
        _b64("Job:devrev:has space").rstrip("="),
        _b64("Job:docurift:" + "x" * 161).rstrip("="),
        _b64("Job:devrev:\x00").rstrip("="),
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
