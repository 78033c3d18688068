"""The whole gateway over real HTTP against both simulators, used as a frontend would."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import Settings
from gateway.engine.order import sort_key
from gateway.model import JobOrder, OrderDirection, OrderField
from gateway.simulators import SimClock
from gateway.sources import devrev, docurift

from live import gateway_stack, serve

TOKEN = "dr-secret-token-e2e-5b1f"
KEY = "frc_e2esecretkey000000000000000000"
START = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $filter: JobFilter, $orderBy: JobOrder) {
  jobs(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
    totalCount
    sources { source state totalCount message }
    edges { cursor node { id source sourceId status sourceStatus createdAt updatedAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


@dataclass
class Stack:
    url: str
    devrev: Any
    docurift: Any
    client: httpx.Client

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post(f"{self.url}/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        return response.json()

    def page(self, **variables: Any) -> dict[str, Any]:
        body = self.graphql(PAGE, **variables)
        assert "errors" not in body, body
        return body["data"]["jobs"]


@pytest.fixture(scope="module")
def stack():
    clock = SimClock(start=START, frozen=True)
    with gateway_stack(token=TOKEN, key=KEY, seeds=(3, 4), clock=clock) as live, httpx.Client(timeout=30) as client:
        yield Stack(live.url, live.devrev, live.docurift, client)


def everything(stack: Stack, order: JobOrder) -> list[str]:
    jobs = [devrev.normalize(j) for j in stack.devrev.store.jobs] + [docurift.normalize(j) for j in stack.docurift.store.jobs]
    return [job.id for job in sorted(jobs, key=sort_key(order))]


@pytest.mark.parametrize("size", [1, 7, 50, 100])
@pytest.mark.parametrize("field", ["CREATED_AT", "UPDATED_AT"])
@pytest.mark.parametrize("direction", ["DESC", "ASC"])
def test_forward_and_backward_traversals_return_every_job_once_in_order(stack, size, field, direction):
    order = {"field": field, "direction": direction}
    expected = everything(stack, JobOrder(OrderField(field), OrderDirection(direction)))
    forward, cursor = [], None
    while True:
        page = stack.page(first=size, after=cursor, orderBy=order)
        forward += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert forward == expected
    backward, cursor = [], None
    while True:
        page = stack.page(last=size, before=cursor, orderBy=order)
        backward = [edge["node"]["id"] for edge in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        cursor = page["pageInfo"]["startCursor"]
    assert backward == expected


def test_first_page_costs_one_upstream_request_per_source_and_reports_totals(stack):
    stack.devrev.stats.reset()
    stack.docurift.stats.reset()
    page = stack.page(first=20)
    assert len(page["edges"]) == 20
    assert stack.devrev.stats.list_requests == 1
    assert stack.docurift.stats.list_requests == 1
    assert stack.devrev.stats.items_served <= 21 and stack.docurift.stats.items_served <= 21
    by_source = {s["source"]: s for s in page["sources"]}
    assert by_source["DOCURIFT"] == {"source": "DOCURIFT", "state": "OK", "totalCount": 120, "message": None}
    assert by_source["DEVREV"]["state"] == "OK" and by_source["DEVREV"]["totalCount"] is None
    assert page["totalCount"] is None  # DevRev reports no total


def test_filter_on_a_field_one_source_lacks_skips_that_source(stack):
    page = stack.page(first=5, filter={"documentTypes": ["INVOICE"]})
    by_source = {s["source"]: s for s in page["sources"]}
    assert by_source["DEVREV"]["state"] == "SKIPPED" and "DocuRift" in by_source["DEVREV"]["message"]
    assert page["totalCount"] == by_source["DOCURIFT"]["totalCount"] > 0
    assert {edge["node"]["source"] for edge in page["edges"]} == {"DOCURIFT"}


def test_multi_status_filter_with_date_is_exact(stack):
    after = (START - timedelta(days=2)).isoformat()
    expected_jobs = [
        j for j in [devrev.normalize(j) for j in stack.devrev.store.jobs] + [docurift.normalize(j) for j in stack.docurift.store.jobs]
        if j.status.value in ("PENDING", "RUNNING") and j.created_at >= START - timedelta(days=2)
    ]
    expected = [j.id for j in sorted(expected_jobs, key=sort_key(JobOrder()))]
    seen, cursor = [], None
    while True:
        page = stack.page(first=3, after=cursor, filter={"status": ["PENDING", "RUNNING"], "createdAfter": after})
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert seen == expected and expected


def test_jobs_created_between_pages_are_neither_doubled_nor_skipped(stack):
    before = everything(stack, JobOrder())
    seen, cursor, turn = [], None, 0
    while True:
        page = stack.page(first=15, after=cursor)
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if turn < 3:
            stack.devrev.clock.advance(1)
            stack.devrev.store.add({"title": f"created while paging {turn}"})
            stack.docurift.store.add({"status": "pending", "documentType": "receipt"})
        turn += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        cursor = page["pageInfo"]["endCursor"]
    assert seen == before  # newest-first: the new jobs sit before the client's position


ERRORS = [
    ({"first": 1000}, "BAD_USER_INPUT"),
    ({"first": -1}, "BAD_USER_INPUT"),
    ({"first": 5, "last": 5}, "BAD_USER_INPUT"),
    ({"first": 5, "after": "garbage!!"}, "BAD_CURSOR"),
    ({"first": 5, "after": "eyJ2IjoxfQ"}, "BAD_CURSOR"),
]


@pytest.mark.parametrize("variables, code", ERRORS)
def test_bad_arguments_get_a_coded_error_and_the_server_keeps_serving(stack, variables, code):
    body = stack.graphql(PAGE, **variables)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    assert stack.client.get(f"{stack.url}/healthz").json()["status"] == "ok"


def test_a_cursor_reused_with_another_filter_or_order_is_rejected(stack):
    cursor = stack.page(first=2)["pageInfo"]["endCursor"]
    for variables in ({"filter": {"status": ["FAILED"]}}, {"orderBy": {"direction": "ASC"}}):
        body = stack.graphql(PAGE, first=2, after=cursor, **variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_CURSOR"
        assert body["errors"][0]["extensions"]["reason"] == "OTHER_QUERY"


def test_graphql_validation_errors_carry_codes(stack):
    body = stack.graphql("{ jobs(first: 1) { nope } }")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = stack.graphql("{ jobs(first: ")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    body = stack.graphql("query($n: Int) { jobs(first: $n) { totalCount } }", n="many")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


LOOKUP = """
query($ids: [ID!]!, $one: ID!) {
  nodes(ids: $ids) { id ... on Job { sourceId source status } }
  job(id: $one) { id title }
  node(id: $one) { id }
}
"""


def test_lookups_are_batched_per_source_and_deduplicated(stack):
    page = stack.page(first=30)
    ids = [edge["node"]["id"] for edge in page["edges"]]
    stack.devrev.stats.reset()
    stack.docurift.stats.reset()
    body = stack.graphql(LOOKUP, ids=ids + ids[:5], one=ids[0])
    assert "errors" not in body, body
    assert [n["id"] for n in body["data"]["nodes"]] == ids + ids[:5]
    assert body["data"]["job"]["id"] == ids[0] and body["data"]["node"]["id"] == ids[0]
    distinct = {edge["node"]["source"]: set() for edge in page["edges"]}
    for edge in page["edges"]:
        distinct[edge["node"]["source"]].add(edge["node"]["sourceId"])
    assert stack.devrev.stats.get_requests == len(distinct.get("DEVREV", ()))
    assert stack.docurift.stats.get_requests == len(distinct.get("DOCURIFT", ()))


def test_malformed_and_unknown_ids(stack):
    from gateway.ids import encode_job_id
    from gateway.model import Source

    unknown = encode_job_id(Source.DOCURIFT, "job_000000000000")
    body = stack.graphql(LOOKUP, ids=["not-an-id", unknown], one="%%%")
    assert body["data"]["nodes"] == [None, None]
    assert body["data"]["job"] is None and body["data"]["node"] is None
    codes = sorted((tuple(e["path"]), e["extensions"]["code"]) for e in body["errors"])
    assert codes == [(("job",), "BAD_ID"), (("node",), "BAD_ID"), (("nodes", 0), "BAD_ID")]


def test_unconfigured_source_is_skipped_with_a_message(stack):
    settings = Settings(devrev_base_url="http://127.0.0.1:9", devrev_token=None, docurift_base_url=stack.docurift_url if hasattr(stack, "docurift_url") else "http://127.0.0.1:9", docurift_api_key=None)
    with serve(create_app(settings)) as url:
        body = httpx.post(f"{url}/graphql", json={"query": "{ jobs { totalCount edges { cursor } sources { source state message } } }"}).json()
    assert body["data"]["jobs"]["edges"] == []
    states = {s["source"]: (s["state"], s["message"]) for s in body["data"]["jobs"]["sources"]}
    assert states == {
        "DEVREV": ("SKIPPED", "DevRev is not configured: set DEVREV_TOKEN."),
        "DOCURIFT": ("SKIPPED", "DocuRift is not configured: set DOCURIFT_API_KEY."),
    }


def test_graphiql_is_served_to_browsers(stack):
    response = stack.client.get(f"{stack.url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_upstream_auth_failure_is_typed_and_never_leaks_the_secret(stack):
    settings = Settings(devrev_base_url=f"{stack.url}/nowhere", devrev_token="wrong-" + TOKEN, docurift_base_url="http://127.0.0.1:9", docurift_api_key=KEY)
    with serve(create_app(settings)) as url:
        response = httpx.post(f"{url}/graphql", json={"query": "{ jobs(first: 3) { edges { cursor } } }"})
    assert response.status_code == 200
    assert TOKEN not in response.text and KEY not in response.text
    assert response.json()["errors"][0]["extensions"]["code"].startswith("UPSTREAM_")


def test_a_failing_source_gives_a_provisional_page_with_the_other_sources_jobs(stack):
    stack.docurift.faults.set(kind="status", status=503)
    try:
        body = stack.graphql(PAGE, first=10)
    finally:
        stack.docurift.faults.clear()
    page = body["data"]["jobs"]
    assert {edge["node"]["source"] for edge in page["edges"]} == {"DEVREV"} and page["edges"]
    states = {s["source"]: s["state"] for s in page["sources"]}
    assert states == {"DEVREV": "OK", "DOCURIFT": "FAILED"}
    [error] = body["errors"]
    assert error["path"] == ["jobs"]
    assert error["extensions"]["code"] == "UPSTREAM_UNAVAILABLE" and error["extensions"]["source"] == "DocuRift"
    assert page["totalCount"] is None and page["pageInfo"]["hasNextPage"] is True
    # Provisional: following endCursor re-reads the same stretch, now whole.
    retry = stack.page(first=10, after=page["pageInfo"]["endCursor"])
    assert retry["edges"] == stack.page(first=10)["edges"]
    assert KEY not in str(body) and TOKEN not in str(body)
