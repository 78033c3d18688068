"""Upstream text is passed through faithfully, and every id the gateway issues resolves
(issue 16), over real HTTP: both simulators hold the odd jobs of `oddities.py` (ids with
Unicode, spaces, '/', dots, control characters, 300 characters; 10 kB titles; missing
and null fields; states and types nobody has seen). `jobs` is paged to its end, then
every listed id is looked up through `job`, `node`, `nodes` and `_entities`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from live import gateway_stack
from gateway.simulators.oddities import ODD_IDS, add_oddities
from gateway.sources.devrev import STATE_TO_STATUS
from gateway.sources.docurift import DOCUMENT_TYPE_FROM_WIRE, STATUS_FROM_WIRE

TOKEN, KEY = "odd-token", "frc_odd00000000000000000000000000001"
FIELDS = (
    "id source sourceId displayId title status sourceStatus progress category documentType sourceDocumentType "
    "documentId completedAt retryCount objectVersion createdBy { id displayName email } modifiedBy { id } "
    "metadata { key value type } outputArtifacts { id file { name size } } error { code message }"
)
PAGE = f"""query($after: String) {{
  jobs(first: 20, after: $after) {{ edges {{ cursor node {{ {FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }}
}}"""


@pytest.fixture(scope="module")
def stack():
    with gateway_stack(token=TOKEN, key=KEY, count=15) as live, httpx.Client(timeout=60) as client:
        devrev = add_oddities(live.devrev.store, live.devrev.clock.now())
        docurift = add_oddities(live.docurift.store, live.docurift.clock.now())
        yield live, client, {("DEVREV", job["id"]): job for job in devrev} | {("DOCURIFT", job["id"]): job for job in docurift}


def graphql(client: httpx.Client, url: str, query: str, **variables: Any) -> dict[str, Any]:
    response = client.post(f"{url}/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text[:500]
    assert "Traceback" not in response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


@pytest.fixture(scope="module")
def listed(stack) -> list[dict[str, Any]]:
    live, client, _ = stack
    nodes, after = [], None
    while True:
        page = graphql(client, live.url, PAGE, after=after)["jobs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def expected_devrev(wire: dict[str, Any]) -> dict[str, Any]:
    def user(raw: Any) -> Any:
        return None if not isinstance(raw, dict) else {"id": raw["id"], "displayName": raw.get("display_name"), "email": raw.get("email")}

    state = wire.get("state") or ""
    return {
        "sourceId": wire["id"], "displayId": wire.get("display_id"), "title": wire.get("title"),
        "status": STATE_TO_STATUS[state.lower()].name if state.lower() in STATE_TO_STATUS else "UNKNOWN",
        "sourceStatus": state, "progress": wire.get("progress"), "category": wire.get("job_category"),
        "documentType": None, "sourceDocumentType": None, "documentId": None, "error": None,
        "retryCount": wire.get("retry_count"), "objectVersion": wire.get("object_version"),
        "createdBy": user(wire.get("created_by")),
        "modifiedBy": None if wire.get("modified_by") is None else {"id": wire["modified_by"]["id"]},
        "metadata": [{"key": m["key"], "value": m.get("value"), "type": m.get("type")} for m in wire.get("metadata_list") or ()],
        "outputArtifacts": [
            {"id": a["id"], "file": None if a.get("file") is None else {"name": a["file"].get("name"), "size": a["file"].get("size")}}
            for a in wire.get("output_artifacts") or ()
        ],
    }


def expected_docurift(wire: dict[str, Any]) -> dict[str, Any]:
    status = wire.get("status") or ""
    document_type = wire.get("documentType")
    error = wire.get("error")
    return {
        "sourceId": wire["id"], "displayId": None, "title": None,
        "status": STATUS_FROM_WIRE[status.lower()].name if status.lower() in STATUS_FROM_WIRE else "UNKNOWN",
        "sourceStatus": status, "progress": wire.get("progress"), "category": None,
        "documentType": DOCUMENT_TYPE_FROM_WIRE[document_type.lower()].name if (document_type or "").lower() in DOCUMENT_TYPE_FROM_WIRE else None,
        "sourceDocumentType": document_type, "documentId": wire.get("documentId"),
        "completedAt": None if wire.get("completedAt") is None else datetime.fromisoformat(wire["completedAt"]),
        "error": None if not isinstance(error, dict) else {"code": error.get("code") or "UNKNOWN", "message": error.get("message")},
        "createdBy": None, "modifiedBy": None, "metadata": [], "outputArtifacts": [],
    }


def test_every_odd_job_is_listed_once_exactly_as_the_upstream_wrote_it(stack, listed):
    _, _, odd = stack
    seen = [(node["source"], node["sourceId"]) for node in listed]
    assert len(seen) == len(set(seen)) == 2 * 15 + len(odd)
    by_key = {(node["source"], node["sourceId"]): node for node in listed}
    for (source, upstream_id), wire in odd.items():
        node = by_key[(source, upstream_id)]
        want = expected_devrev(wire) if source == "DEVREV" else expected_docurift(wire)
        got = {key: node[key] for key in want}
        if got.get("completedAt") is not None:
            got["completedAt"] = datetime.fromisoformat(got["completedAt"])
        assert got == want, upstream_id


def test_ten_kilobyte_titles_and_decomposed_accents_come_back_byte_for_byte(stack, listed):
    _, _, odd = stack
    titles = {node["sourceId"]: node["title"] for node in listed if node["source"] == "DEVREV"}
    big = odd[("DEVREV", ODD_IDS[0])]["title"]
    assert len(big.encode()) > 10_000 and titles[ODD_IDS[0]].encode() == big.encode()
    assert titles["e\u0301"] is None  # missing, not invented
    assert "e\u0301" in {node["sourceId"] for node in listed if node["source"] == "DOCURIFT"}  # not composed to "é"


def test_every_listed_id_resolves_through_job_node_and_nodes(stack, listed):
    live, client, _ = stack
    one = f"query($id: ID!) {{ job(id: $id) {{ {FIELDS} }} node(id: $id) {{ ... on Job {{ {FIELDS} }} }} }}"
    for node in listed:
        data = graphql(client, live.url, one, id=node["id"])
        assert data["job"] == node and data["node"] == node, node["sourceId"]
    many = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Job {{ {FIELDS} }} }} }}"
    for start in range(0, len(listed), 50):
        batch = listed[start : start + 50]
        assert graphql(client, live.url, many, ids=[node["id"] for node in batch])["nodes"] == batch


def test_every_listed_id_resolves_through_entities(stack, listed):
    live, client, _ = stack
    query = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on Job {{ {FIELDS} }} }} }}"
    representations = [{"__typename": "Job", "id": node["id"]} for node in listed]
    for start in range(0, len(listed), 50):
        assert graphql(client, live.url, query, r=representations[start : start + 50])["_entities"] == listed[start : start + 50]


def test_every_cursor_pages_on_from_its_odd_job(stack, listed):
    """Cursors carry upstream ids too: each odd job's edge cursor resumes right after it."""
    live, client, odd = stack
    edges, after = [], None
    query = "query($after: String) { jobs(first: 20, after: $after) { edges { cursor node { id source sourceId } } pageInfo { hasNextPage endCursor } } }"
    while True:
        page = graphql(client, live.url, query, after=after)["jobs"]
        edges += page["edges"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    for i, edge in enumerate(edges):
        if (edge["node"]["source"], edge["node"]["sourceId"]) in odd:
            following = graphql(client, live.url, query.replace("first: 20", "first: 1"), after=edge["cursor"])["jobs"]["edges"]
            assert [e["node"]["id"] for e in following] == [e["node"]["id"] for e in edges[i + 1 : i + 2]]
