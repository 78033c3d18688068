"""The gateway as an Apollo Federation v2 subgraph: `_service` and `_entities`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest


from live import gateway_stack

ROOT = Path(__file__).resolve().parents[2]
TOKEN, KEY = "fed-token", "frc_fed00000000000000000000000000000"

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Job { id source sourceId status } }
}
"""


@pytest.fixture(scope="module")
def stack():
    with gateway_stack(token=TOKEN, key=KEY, seeds=(5, 6), count=80) as live:
        yield live.url, live.devrev, live.docurift


def post(url: str, query: str, **variables) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30)
    assert response.status_code == 200
    return response.json()


def test_service_sdl_is_the_exported_schema(stack):
    url, _, _ = stack
    sdl = post(url, "{ _service { sdl } }")["data"]["_service"]["sdl"]
    assert sdl + "\n" == (ROOT / "schema.graphql").read_text()
    assert '@key(fields: "id")' in sdl and "union _Entity = Job" in sdl
    assert "type PageInfo @shareable" in sdl


def test_entities_batch_costs_one_upstream_call_per_distinct_job(stack):
    url, devrev, docurift = stack
    page = post(url, "{ jobs(first: 50) { nodes { id source sourceId } } }")["data"]["jobs"]["nodes"]
    representations = [{"__typename": "Job", "id": node["id"]} for node in page for _ in range(2)]
    representations = representations[:100]
    devrev.stats.reset()
    docurift.stats.reset()
    body = post(url, ENTITIES, representations=representations)
    assert "errors" not in body, body
    assert [e["id"] for e in body["data"]["_entities"]] == [r["id"] for r in representations]
    distinct = {r["id"] for r in representations}
    assert devrev.stats.get_requests + docurift.stats.get_requests == len(distinct)


def test_entities_with_an_unknown_or_malformed_id(stack):
    url, _, _ = stack
    from gateway.ids import encode_job_id
    from gateway.model import Source

    body = post(url, ENTITIES, representations=[
        {"__typename": "Job", "id": encode_job_id(Source.DEVREV, "don:core:dvrv-us-1:devo/1:job/999999")},
        {"__typename": "Job", "id": "garbage"},
    ])
    assert body["data"]["_entities"] == [None, None]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_ID"]
