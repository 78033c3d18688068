"""Every query in examples/ runs as written against the demo's data, with sensible answers.

The stack is the demo's: both simulators with the demo's seeds and sizes (so the ids in
node-lookup.json exist), the gateway over HTTP in front.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY

from live import gateway_stack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def example(name: str) -> tuple[str, dict[str, Any]]:
    """The query of examples/NAME.graphql and its variables from NAME.json, if any."""
    variables = EXAMPLES / f"{name}.json"
    return (EXAMPLES / f"{name}.graphql").read_text(), json.loads(variables.read_text()) if variables.exists() else {}


@pytest.fixture(scope="module")
def run():
    with gateway_stack(token=DEMO_DEVREV_TOKEN, key=DEMO_DOCURIFT_KEY, count=300) as live, httpx.Client(timeout=30) as client:

        def execute(name: str, **overrides: Any) -> dict[str, Any]:
            query, variables = example(name)
            response = client.post(f"{live.url}/graphql", json={"query": query, "variables": {**variables, **overrides}})
            assert response.status_code == 200, response.text
            body = response.json()
            assert "errors" not in body, body
            return body["data"]

        yield execute


def ids(jobs: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in jobs["edges"]]


def test_every_example_has_a_test():
    names = {path.stem for path in EXAMPLES.glob("*.graphql")}
    assert names == {"first-page", "next-page", "backward-page", "filters", "document-types", "node-lookup"}
    for variables in EXAMPLES.glob("*.json"):
        assert (EXAMPLES / f"{variables.stem}.graphql").exists(), variables


def test_first_page(run):
    jobs = run("first-page")["jobs"]
    assert len(jobs["edges"]) == 10 and len(set(ids(jobs))) == 10
    assert {edge["node"]["source"] for edge in jobs["edges"]} == {"DEVREV", "DOCURIFT"}
    created = [datetime.fromisoformat(edge["node"]["createdAt"]) for edge in jobs["edges"]]
    assert created == sorted(created, reverse=True)
    assert {s["source"]: s["state"] for s in jobs["sources"]} == {"DEVREV": "OK", "DOCURIFT": "OK"}
    assert jobs["pageInfo"]["hasNextPage"] and not jobs["pageInfo"]["hasPreviousPage"]


def test_next_page_continues_from_the_first_pages_end_cursor(run):
    first = run("first-page")["jobs"]
    following = run("next-page", after=first["pageInfo"]["endCursor"])["jobs"]
    assert len(following["edges"]) == 10 and not set(ids(first)) & set(ids(following))
    assert following["pageInfo"]["hasPreviousPage"]
    both = ids(run("first-page", first=20)["jobs"])
    assert ids(first) + ids(following) == both


def test_backward_page(run):
    oldest = run("backward-page")["jobs"]
    assert len(oldest["edges"]) == 10
    assert oldest["pageInfo"]["hasPreviousPage"] and not oldest["pageInfo"]["hasNextPage"]
    first = run("first-page")["jobs"]
    following = run("next-page", after=first["pageInfo"]["endCursor"])["jobs"]
    back = run("backward-page", before=following["pageInfo"]["startCursor"])["jobs"]
    assert ids(back) == ids(first)


def test_filters(run):
    _, variables = example("filters")
    jobs = run("filters")["jobs"]
    assert jobs["edges"], "the demo data has pending and running jobs"
    since = datetime.fromisoformat(variables["filter"]["createdAfter"])
    for edge in jobs["edges"]:
        assert edge["node"]["status"] in ("PENDING", "RUNNING")
        assert datetime.fromisoformat(edge["node"]["createdAt"]) >= since
    updated = [datetime.fromisoformat(edge["node"]["updatedAt"]) for edge in jobs["edges"]]
    assert updated == sorted(updated, reverse=True)
    assert {s["source"]: s["state"] for s in jobs["sources"]} == {"DEVREV": "OK", "DOCURIFT": "OK"}


def test_document_types_filter_leaves_devrev_out(run):
    jobs = run("document-types")["jobs"]
    assert jobs["nodes"] and all(n["source"] == "DOCURIFT" and n["documentType"] in ("INVOICE", "RECEIPT") for n in jobs["nodes"])
    states = {s["source"]: s for s in jobs["sources"]}
    assert states["DEVREV"]["state"] == "SKIPPED" and states["DOCURIFT"]["state"] == "OK"
    assert jobs["totalCount"] == states["DOCURIFT"]["totalCount"] >= len(jobs["nodes"])


def test_node_lookup_finds_the_demo_jobs(run):
    _, variables = example("node-lookup")
    data = run("node-lookup")
    assert data["job"]["id"] == data["node"]["id"] == variables["id"]
    assert data["job"]["source"] == "DEVREV" and data["job"]["title"]
    assert [n["id"] for n in data["nodes"]] == variables["ids"]
    assert [n["source"] for n in data["nodes"]] == ["DEVREV", "DOCURIFT"]
