"""The query root's own logic: whether a totals request is wanted, however it is spelled."""

from types import SimpleNamespace

import pytest
from graphql import parse

from gateway.schema.query import _wants_total


def info_for(document: str) -> SimpleNamespace:
    """The parts of a resolver's info `_wants_total` reads, for the operation's first field."""
    tree = parse(document)
    operation = next(d for d in tree.definitions if d.kind == "operation_definition")
    fragments = {d.name.value: d for d in tree.definitions if d.kind == "fragment_definition"}
    field = operation.selection_set.selections[0]
    return SimpleNamespace(_raw_info=SimpleNamespace(field_nodes=[field], fragments=fragments))


@pytest.mark.parametrize(
    "document, wanted",
    [
        ("{ jobs { totalCount } }", True),
        ("{ jobs { edges { node { id } } } }", False),
        ("{ jobs { sources { source totalCount } } }", True),
        ("{ jobs { ... on JobConnection { totalCount } } }", True),
        ("{ jobs { ...Counts } } fragment Counts on JobConnection { pageInfo { endCursor } totalCount }", True),
        ("{ jobs { ...A } } fragment A on JobConnection { ...B } fragment B on JobConnection { edges { cursor } }", False),
        ("{ jobs { n: totalCount } }", True),
    ],
)
def test_totals_are_wanted_only_when_selected(document, wanted):
    assert _wants_total(info_for(document)) is wanted
