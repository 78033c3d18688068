"""Hostile requests over real HTTP: each gets its code, costs no upstream request, and the
gateway goes on serving (issue 6; the OWASP GraphQL Cheat Sheet's list).

"Fast" is shown by what the gateway does not do — no upstream call is made for any of
these — not by a timing: tests assert no durations.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from live import gateway_stack
from gateway.engine.cursor import MAX_CURSOR_LENGTH
from gateway.ids import encode_job_id
from gateway.model import Source

TOKEN, KEY = "hostile-token", "frc_hostile000000000000000000000000001"
PAGE = "query($first: Int, $after: String, $filter: JobFilter) { jobs(first: $first, after: $after, filter: $filter) { edges { cursor node { id } } pageInfo { endCursor } } }"
ALL_FIELDS = (
    "id source sourceId displayId title status sourceStatus progress category documentType sourceDocumentType documentId "
    "createdAt updatedAt completedAt failedAt retryCount objectVersion createdBy { id displayName email } "
    "modifiedBy { id } metadata { key value } outputArtifacts { id file { name } } error { code message }"
)


@pytest.fixture(scope="module")
def stack():
    with gateway_stack(token=TOKEN, key=KEY, count=40) as live, httpx.Client(timeout=60) as client:
        yield live, client


def upstream_calls(live: Any) -> int:
    return sum(sum(sim.stats.requests.values()) for sim in (live.devrev, live.docurift))


def flipped(cursor: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[len(raw) // 2] ^= 0x20
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def depth_bomb() -> dict:
    """Our own types nest at most seven deep; introspection is where depth can explode."""
    inner = "name"
    for _ in range(6):
        inner = f"fields {{ type {{ {inner} }} }}"
    return {"query": f"{{ __schema {{ types {{ {inner} }} }} }}"}


def ids(n: int) -> list[str]:
    return [encode_job_id(Source.DEVREV, f"job/{i}") for i in range(n)]


LOOKUP = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


CASES: list[tuple[str, Any, int, str]] = [
    ("depth bomb", depth_bomb(), 200, "QUERY_TOO_DEEP"),
    ("alias bomb", {"query": "{ " + " ".join(f"a{i}: jobs(first: 1) {{ totalCount }}" for i in range(40)) + " }"}, 200, "TOO_MANY_ALIASES"),
    ("token bomb", {"query": "{ " + "__typename " * 5000 + "}"}, 200, "TOO_MANY_TOKENS"),
    ("cost bomb", {"query": "{ " + " ".join(f"p{i}: jobs(first: 100) {{ edges {{ node {{ {ALL_FIELDS} }} }} }}" for i in range(8)) + " }"}, 200, "QUERY_TOO_COSTLY"),
    ("500 batched operations", [{"query": "{ __typename }"}] * 500, 400, "TOO_MANY_OPERATIONS"),
    ("first: 99999999", {"query": PAGE, "variables": {"first": 99999999}}, 200, "BAD_USER_INPUT"),
    ("10,000 ids", {"query": LOOKUP, "variables": {"ids": ids(10_000)}}, 413, "REQUEST_TOO_LARGE"),  # 310 KB: the body limit first
    ("1,000 ids", {"query": LOOKUP, "variables": {"ids": ids(1_000)}}, 200, "BAD_USER_INPUT"),
    ("a tampered id", {"query": "query($id: ID!) { job(id: $id) { id } }", "variables": {"id": encode_job_id(Source.DEVREV, "job/1")[:-2] + "AA"}}, 200, "BAD_ID"),
    ("a 10,000-character id", {"query": "query($id: ID!) { job(id: $id) { id } }", "variables": {"id": encode_job_id(Source.DOCURIFT, "job_1") + "A" * 10_000}}, 200, "BAD_ID"),
    ("an id whose upstream id is empty", {"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": "Sm9iOmRldnJldjp4BcyD"}}, 200, "BAD_ID"),
    ("a JSON string body", "just a string", 400, "BAD_REQUEST"),
    ("a JSON number body", 12345, 400, "BAD_REQUEST"),
    ("not JSON at all", b"{nope", 400, "BAD_REQUEST"),
]


def post(client: httpx.Client, url: str, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"{url}/graphql", content=content, headers={"content-type": "application/json"})


def codes_of(response: httpx.Response) -> set[str]:
    body = response.json()
    items = body if isinstance(body, list) else [body]
    return {error["extensions"]["code"] for item in items for error in item.get("errors") or []}


def still_serving(client: httpx.Client, url: str) -> None:
    body = post(client, url, {"query": PAGE, "variables": {"first": 3}}).json()
    assert "errors" not in body and len(body["data"]["jobs"]["edges"]) == 3


@pytest.mark.parametrize("name, body, status, code", CASES, ids=[case[0] for case in CASES])
def test_a_hostile_request_gets_its_code_and_costs_nothing_upstream(stack, name, body, status, code):
    live, client = stack
    before = upstream_calls(live)
    response = post(client, live.url, body)
    assert response.status_code == status, response.text[:300]
    assert code in codes_of(response), response.text[:300]
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert upstream_calls(live) == before, f"{name} reached an upstream"
    still_serving(client, live.url)


def test_a_five_megabyte_body_is_refused_unread(stack):
    live, client = stack
    before = upstream_calls(live)
    padding = "x" * (5 * 1024 * 1024)
    response = post(client, live.url, {"query": "{ __typename }", "variables": {"pad": padding}})
    assert response.status_code == 413 and codes_of(response) == {"REQUEST_TOO_LARGE"}
    assert upstream_calls(live) == before
    still_serving(client, live.url)


@pytest.mark.parametrize("how", ["flipped bytes", "another filter", "truncated", "oversized"])
def test_a_bad_cursor_is_refused_before_any_upstream_call(stack, how):
    live, client = stack
    cursor = post(client, live.url, {"query": PAGE, "variables": {"first": 2}}).json()["data"]["jobs"]["pageInfo"]["endCursor"]
    variables: dict[str, Any] = {"first": 2}
    if how == "flipped bytes":
        variables["after"] = flipped(cursor)
    elif how == "another filter":
        variables.update(after=cursor, filter={"status": ["FAILED"]})
    elif how == "truncated":
        variables["after"] = cursor[: len(cursor) // 8 * 4]  # still base64: the tag check refuses it
    else:
        variables["after"] = cursor * (MAX_CURSOR_LENGTH // len(cursor) + 1)
    before = upstream_calls(live)
    response = post(client, live.url, {"query": PAGE, "variables": variables})
    assert codes_of(response) == {"BAD_CURSOR"}
    reason = response.json()["errors"][0]["extensions"]["reason"]
    assert reason == {"flipped bytes": "TAMPERED", "another filter": "OTHER_QUERY", "truncated": "TAMPERED", "oversized": "TOO_LONG"}[how]
    assert upstream_calls(live) == before
    still_serving(client, live.url)
