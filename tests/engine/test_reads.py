"""The read planner's choices: exact when it can, else the cheaper of re-read and split."""

from hypothesis import given, strategies as st

from gateway.engine.gaps import END, START, Gap
from gateway.engine.reads import RawRead, plan_read


def test_an_anchor_at_the_gap_is_read_directly():
    plan = plan_read(Gap("c", 0, "d", 4), backward=False, want=10)
    assert plan.kind == "exact" and plan.reads == (RawRead("c", False, 0, 10),)


def test_a_short_reread_beats_a_split():
    plan = plan_read(Gap("c", 3, "d", 7), backward=False, want=10)
    assert plan.kind == "reread" and plan.reads == (RawRead("c", False, 2, 11),)


def test_a_long_reread_loses_to_a_split():
    plan = plan_read(Gap("c", 40, "d", 4), backward=False, want=10)
    assert plan.kind == "split"
    assert plan.reads == (RawRead("d", True, 0, 5), RawRead("d", False, 0, 6))


def test_list_ends_are_only_read_away_from_the_edge():
    forward = plan_read(Gap(START, 5, END, 0), backward=False, want=3)
    assert all(read.anchor != END or read.backward for read in forward.reads)
    backward = plan_read(Gap(START, 0, END, 5), backward=True, want=3)
    assert all(read.anchor != START or not read.backward for read in backward.reads)


def test_cheap_skip_always_rereads():
    plan = plan_read(Gap(START, 500, None, 0), backward=False, want=10, cheap_skip=True)
    assert plan.reads == (RawRead(START, False, 499, 11),)


def test_reads_fit_the_page_cap():
    plan = plan_read(Gap("c", 3, "d", 90), backward=True, want=100, max_limit=100)
    assert all(read.limit <= 100 for read in plan.reads)


@given(st.lists(st.text(max_size=6), max_size=30))
def test_descending_strings_sort_in_reverse(texts):
    from gateway.engine.order import Descending

    assert sorted(Descending(t) for t in texts) == sorted(texts, reverse=True)
    keys = [(1, 0, Descending(t)) for t in texts]
    assert [k[2] for k in sorted(keys)] == sorted(texts, reverse=True)
    for a in texts[:5]:
        for b in texts[:5]:
            assert (Descending(a) < b) == (a > b) and (a < Descending(b)) == (a > b)
            assert (Descending(a) == b) == (a == b) and hash(Descending(a)) == hash(a)
