"""The gateway as an Apollo Federation v2 subgraph: `_service` and `_entities`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app

from live import serve

ROOT = Path(__file__).resolve().parents[2]
TOKEN, KEY = "fed-token", "frc_fed00000000000000000000000000000"

ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on Job { id source sourceId status } }
}
"""


@pytest.fixture(scope="module")
def stack():
    clock = SimClock(frozen=True)
    devrev_app = create_devrev_app(token=TOKEN, seed=5, count=80, clock=clock)
    docurift_app = create_docurift_app(api_key=KEY, seed=6, count=80, clock=clock)
    with serve(devrev_app) as devrev_url, serve(docurift_app) as docurift_url:
        settings = Settings(devrev_base_url=devrev_url, devrev_token=TOKEN, docurift_base_url=docurift_url, docurift_api_key=KEY)
        with serve(create_app(settings)) as url:
            yield url, devrev_app.state.sim, docurift_app.state.sim


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
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_ID"]
