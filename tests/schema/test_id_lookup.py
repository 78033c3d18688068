"""Every id the gateway lists resolves through `job`, `node`, `nodes` and `_entities`,
whatever the upstream id's text (issue 16): in process, over fake upstreams."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings, strategies as st

from engine.fakes import FakeSource, make_job
from gateway.context import RequestContext
from gateway.model import Source
from gateway.schema import build_schema

SCHEMA = build_schema()
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
UPSTREAM_IDS = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
QUERY = """
query($id: ID!, $ids: [ID!]!, $reps: [_Any!]!) {
  job(id: $id) { id sourceId }
  node(id: $id) { ... on Job { id sourceId } }
  nodes(ids: $ids) { ... on Job { id sourceId } }
  _entities(representations: $reps) { ... on Job { id sourceId } }
}"""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ids=st.lists(UPSTREAM_IDS, min_size=1, max_size=6, unique=True), source=st.sampled_from(list(Source)))
async def test_any_listed_id_resolves(ids, source):
    jobs = [make_job(source, upstream_id, T0 - timedelta(seconds=n)) for n, upstream_id in enumerate(ids)]
    other = Source.DOCURIFT if source is Source.DEVREV else Source.DEVREV
    sources = [FakeSource(source, jobs, offset_pages=source is Source.DOCURIFT), FakeSource(other, [])]
    listed = await SCHEMA.execute("{ jobs(first: 10) { nodes { id sourceId } } }", context_value=RequestContext(sources))
    assert not listed.errors, listed.errors
    nodes = listed.data["jobs"]["nodes"]
    assert sorted(node["sourceId"] for node in nodes) == sorted(ids)
    for node in nodes:
        variables = {"id": node["id"], "ids": [n["id"] for n in nodes], "reps": [{"__typename": "Job", "id": n["id"]} for n in nodes]}
        result = await SCHEMA.execute(QUERY, variable_values=variables, context_value=RequestContext(sources))
        assert not result.errors, result.errors
        assert result.data["job"] == node and result.data["node"] == node
        assert result.data["nodes"] == nodes and result.data["_entities"] == nodes
