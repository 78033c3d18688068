"""Apollo's own tools accept the gateway as a subgraph: composition, and @apollo/gateway in front.

The stack: both simulators and our gateway (as in test_gateway_http.py), a second subgraph in
Node (`federation/reviews-subgraph.mjs`, which adds `Job.reviewNote` and `Job.review`), and
Apollo's gateway over both. Our app is wrapped to count the operations it serves.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app

from live import serve
from node_harness import NodeProcess, node_process, node_workspace

TOKEN, KEY = "apollo-fed-token", "frc_apollofed000000000000000000000"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class OperationCounter:
    """ASGI middleware: records each GraphQL POST body our subgraph receives."""

    app: Any
    bodies: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def spy() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(json.loads(b"".join(chunks) or b"{}"))
            return message

        await self.app(scope, spy, send)

    def entities_calls(self) -> list[int]:
        """For each `_entities` operation served: how many representations it carried."""
        return [len(b["variables"]["representations"]) for b in self.bodies if "_entities" in b.get("query", "")]

    def jobs_calls(self) -> int:
        return sum(1 for b in self.bodies if "jobs" in b.get("query", "") and "_entities" not in b.get("query", ""))


@dataclass
class Federation:
    jobs_url: str
    apollo_url: str
    counter: OperationCounter
    reviews: NodeProcess
    devrev: Any
    docurift: Any

    def query(self, url: str, query: str, **variables: Any) -> dict[str, Any]:
        response = httpx.post(url, json={"query": query, "variables": variables}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def reviews_entities_calls(self) -> list[int]:
        return [m["entities"] for m in self.reviews.messages if m.get("operation") == "_entities"]


@pytest.fixture(scope="module")
def federation():
    node, workspace = node_workspace("federation")
    clock = SimClock(frozen=True)
    devrev_app = create_devrev_app(token=TOKEN, seed=21, count=40, clock=clock)
    docurift_app = create_docurift_app(api_key=KEY, seed=22, count=40, clock=clock)
    with serve(devrev_app) as devrev_url, serve(docurift_app) as docurift_url:
        settings = Settings(devrev_base_url=devrev_url, devrev_token=TOKEN, docurift_base_url=docurift_url, docurift_api_key=KEY)
        counter = OperationCounter(create_app(settings))
        with serve(counter) as jobs_url, node_process(node, workspace, "reviews-subgraph.mjs") as reviews:
            reviews_url = reviews.wait_for(lambda m: m.get("ready") == "reviews")["url"]
            subgraphs = ["--subgraph", f"jobs={jobs_url}/graphql", "--subgraph", f"reviews={reviews_url}"]
            with node_process(node, workspace, "apollo-gateway.mjs", subgraphs) as apollo:
                apollo_url = apollo.wait_for(lambda m: m.get("ready") == "gateway")["url"]
                yield Federation(f"{jobs_url}/graphql", apollo_url, counter, reviews, devrev_app.state.sim, docurift_app.state.sim)


def review_note(job_id: str) -> str:
    """What federation/reviews-schema.mjs computes."""
    return f"reviewed:{len(job_id)}:{job_id[-6:]}"


def compose(node: str, *args: str) -> dict[str, Any]:
    _, workspace = node_workspace("federation")
    done = subprocess.run([node, "compose.mjs", *args], check=False, cwd=workspace, capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_apollo_composition_accepts_the_committed_and_the_served_sdl(federation):
    node, _ = node_workspace("federation")
    for args in ((), ("--url", federation.jobs_url)):
        report = compose(node, *args)
        assert report == {"ok": True, "errors": [], "hints": []}, report


PAGE = """
query Page($after: String) {
  jobs(first: 5, after: $after) {
    edges { cursor node { id source sourceId title status reviewNote review { note job { id status sourceStatus } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

DIRECT = """
query Page($after: String) {
  jobs(first: 5, after: $after) {
    edges { cursor node { id source sourceId title status sourceStatus } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_two_pages_through_apollo_gateway_join_both_subgraphs(federation):
    expected, cursor = [], None
    for _ in range(2):  # what our gateway says on its own
        body = federation.query(federation.jobs_url, DIRECT, after=cursor)
        assert "errors" not in body, body
        expected.append(body["data"]["jobs"])
        cursor = body["data"]["jobs"]["pageInfo"]["endCursor"]
    federation.counter.bodies.clear()
    federation.reviews.messages.clear()

    pages, cursor = [], None
    for _ in range(2):
        body = federation.query(federation.apollo_url, PAGE, after=cursor)
        assert "errors" not in body, body
        pages.append(body["data"]["jobs"])
        cursor = body["data"]["jobs"]["pageInfo"]["endCursor"]

    for page, direct in zip(pages, expected):
        assert page["pageInfo"] == direct["pageInfo"] and page["pageInfo"]["hasNextPage"]
        assert [e["cursor"] for e in page["edges"]] == [e["cursor"] for e in direct["edges"]]
        for edge, mine in zip(page["edges"], direct["edges"]):
            node, ours = edge["node"], mine["node"]
            assert {k: node[k] for k in ("id", "source", "sourceId", "title", "status")} == {k: ours[k] for k in ("id", "source", "sourceId", "title", "status")}
            assert node["reviewNote"] == review_note(node["id"]) == node["review"]["note"]
            assert node["review"]["job"] == {"id": node["id"], "status": ours["status"], "sourceStatus": ours["sourceStatus"]}
    ids = [e["node"]["id"] for p in pages for e in p["edges"]]
    assert len(set(ids)) == 10
    assert {e["node"]["source"] for p in pages for e in p["edges"]} == {"DEVREV", "DOCURIFT"}

    # Per page: `jobs` once here, one batch to reviews, one batch of the review's jobs back here.
    assert federation.counter.jobs_calls() == 2
    assert federation.counter.entities_calls() == [5, 5]
    assert federation.reviews_entities_calls() == [5, 5]


def test_entities_from_the_other_subgraph_cost_one_upstream_read_per_job(federation):
    ids = [e["node"]["id"] for e in federation.query(federation.jobs_url, DIRECT)["data"]["jobs"]["edges"]]
    federation.counter.bodies.clear()
    federation.devrev.stats.reset()
    federation.docurift.stats.reset()
    body = federation.query(federation.apollo_url, "query($ids: [ID!]!) { reviews(jobIds: $ids) { note job { id source title } } }", ids=ids + ids)
    assert "errors" not in body, body
    assert [r["job"]["id"] for r in body["data"]["reviews"]] == ids + ids
    # Apollo sends every representation, repeats included; our subgraph reads each job once.
    assert federation.counter.entities_calls() == [2 * len(ids)]
    assert federation.devrev.stats.get_requests + federation.docurift.stats.get_requests == len(ids)
