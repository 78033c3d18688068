"""Fuzzing the whole gateway: generated queries, random variables, garbage arguments and text.

The real app (`create_app`) runs in process over `httpx.ASGITransport`, in front of both
simulators, also in process (one routing transport); the clock is frozen. Every answer must
be a well-formed GraphQL response: never a 5xx, never a traceback, a JSON object with `data`
and/or `errors`, every error with a message and `extensions.code`, and never `INTERNAL`
(which means a bug).

Queries come from `hypothesis-graphql` (valid ones, and ones with one schema violation each),
from fixed operations with random variables (well-typed, near the limits, or any JSON), from
valid queries cut or spliced with garbage, and from random text. Under the `ci` profile it
runs 1,000 examples; `FUZZ_EXAMPLES` sets another number.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import graphql
import httpx
import hypothesis_graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from gateway.app import create_app
from gateway.config import Settings
from gateway.ids import encode_job_id
from gateway.model import Source
from gateway.schema import build_schema
from gateway.schema.limits import QueryLimits
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app
from gateway.sources import devrev, docurift
from gateway.upstream import UpstreamPolicy

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or {"ci": 1000, "deep": 5000}.get(PROFILE, 200))

TOKEN = "fuzz-devrev-token"
KEY = "frc_" + "fuzz".ljust(32, "0")
START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
SCHEMA = build_schema(QueryLimits())._schema


class World:
    """Both simulators, built once: their jobs' ids feed the id strategies."""

    def __init__(self) -> None:
        clock = SimClock(start=START, frozen=True)
        self.devrev = create_devrev_app(token=TOKEN, seed=21, count=60, clock=clock)
        self.docurift = create_docurift_app(api_key=KEY, seed=22, count=60, clock=clock)
        self.ids = [devrev.normalize(j).id for j in self.devrev.state.sim.store.jobs[:10]]
        self.ids += [docurift.normalize(j).id for j in self.docurift.state.sim.store.jobs[:10]]


WORLD = World()


class Upstreams(httpx.AsyncBaseTransport):
    """Routes each upstream call to its simulator by host."""

    def __init__(self) -> None:
        self.routes = {
            "devrev.fuzz": httpx.ASGITransport(app=WORLD.devrev),
            "docurift.fuzz": httpx.ASGITransport(app=WORLD.docurift),
        }

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.routes[request.url.host].handle_async_request(request)


class Gateway:
    """The app with its lifespan entered, on a loop of its own that the test drives."""

    def __init__(self) -> None:
        settings = Settings(
            devrev_base_url="http://devrev.fuzz",
            devrev_token=TOKEN,
            docurift_base_url="http://docurift.fuzz",
            docurift_api_key=KEY,
        )
        policy = UpstreamPolicy(max_attempts=1, breaker_threshold=1_000_000)
        self.app = create_app(settings, policy=policy, transport=Upstreams())
        self.loop = asyncio.new_event_loop()
        self.lifespan = self.app.router.lifespan_context(self.app)
        self.loop.run_until_complete(self.lifespan.__aenter__())
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://gateway.fuzz", timeout=30)

    def post(self, body: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.post("/graphql", json=body))

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.run_until_complete(self.lifespan.__aexit__(None, None, None))
        self.loop.close()


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    gw = Gateway()
    try:
        yield gw
    finally:
        gw.close()


# --- what every answer must be ------------------------------------------------------------


def check_result(result: Any) -> None:
    assert isinstance(result, dict) and result, result
    assert set(result) <= {"data", "errors", "extensions"} and ("data" in result or "errors" in result), result
    for error in result.get("errors") or ():
        assert isinstance(error.get("message"), str) and error["message"], error
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and code, error
        assert code != "INTERNAL", f"a bug: {error}"
    if result.get("data") is None:
        assert result.get("errors"), result


def check(response: httpx.Response, batch: bool = False) -> Any:
    text = response.text
    assert response.status_code < 500, text
    assert "Traceback" not in text and 'File "' not in text, text
    body = json.loads(text)
    if batch and isinstance(body, list):
        assert response.status_code == 200
        for result in body:
            check_result(result)
    else:
        check_result(body)
    return body


# --- strategies -------------------------------------------------------------------------

GARBAGE_TEXT = st.text(max_size=40)
CURSORS = st.one_of(
    GARBAGE_TEXT,
    st.sampled_from(["", "eyJ2IjoxfQ", "AAAA", "bnVsbA", "e30", "W10", "eJwDAAAAAAE", "%%%"]),
    st.binary(max_size=60).map(lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")),
)
IDS = st.one_of(
    st.sampled_from(WORLD.ids),
    GARBAGE_TEXT,
    st.builds(encode_job_id, st.sampled_from(list(Source)), st.text(min_size=1, max_size=30)),  # upstream ids are never empty
)
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
DATES = st.one_of(
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.none() | OFFSETS).map(datetime.isoformat),
    # Representable, but not in UTC: refused as BAD_USER_INPUT; the extremes of the range.
    st.sampled_from([
        "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z", "0999-06-01T00:00:00Z",
        "9999-12-31T23:59:59.5Z", "2026-11-01", "2026-13-01T00:00:00Z", "", "now",
    ]),
    GARBAGE_TEXT,
)
SIZES = st.one_of(st.sampled_from([-1, 0, 1, 2, 20, 99, 100, 101, 1000, 2**31 - 1, 2**31]), st.integers(-5, 120))

CUSTOM_SCALARS = {
    "DateTime": DATES.map(nodes.String),
    "ID": IDS.map(nodes.String),
    "Int": SIZES.filter(lambda n: -(2**31) <= n < 2**31).map(nodes.Int),
    "_Any": st.builds(
        lambda typename, ident: nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value="__typename"), value=nodes.String(typename)),
                graphql.ObjectFieldNode(name=graphql.NameNode(value="id"), value=nodes.String(ident)),
            ]
        ),
        st.sampled_from(["Job", "Job", "User", "Nope"]),
        IDS,
    ),
}

GENERATED = hypothesis_graphql.from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS)
GENERATED_WRONG = hypothesis_graphql.from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE)

OPERATIONS = [
    """query Page($first: Int, $after: String, $last: Int, $before: String, $filter: JobFilter, $orderBy: JobOrder) {
      jobs(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
        totalCount sources { source state totalCount message }
        edges { cursor node { id source sourceId title status sourceStatus progress createdAt updatedAt createdBy { displayName } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    }""",
    """query Lookup($ids: [ID!]!, $one: ID!) {
      nodes(ids: $ids) { id ... on Job { sourceId source status documentType error { code } } }
      job(id: $one) { id title outputArtifacts { id file { name } } }
      node(id: $one) { id }
    }""",
    """query Entities($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on Job { id source createdAt metadata { key value } } }
    }""",
    "query Both($n: Int, $ids: [ID!]!) { ...Q } fragment Q on Query { jobs(first: $n) { nodes { id } } nodes(ids: $ids) { id } }",
]

FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "sources": st.lists(st.sampled_from(["DEVREV", "DOCURIFT", "OTHER"]), max_size=3),
        "status": st.lists(st.sampled_from(["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "UNKNOWN", "nope"]), max_size=4),
        "createdAfter": DATES,
        "createdBefore": DATES,
        "documentTypes": st.lists(st.sampled_from(["INVOICE", "RECEIPT", "CONTRACT", "GENERAL", "BILL_OF_LADING", "PACKING_LIST"]), max_size=7),
        "categories": st.lists(GARBAGE_TEXT, max_size=3),
        "createdBy": st.lists(GARBAGE_TEXT, max_size=3),
        "ownedBy": st.lists(GARBAGE_TEXT, max_size=3),
        "parentIds": st.lists(GARBAGE_TEXT, max_size=3),
    },
)
ORDERS = st.fixed_dictionaries(
    {}, optional={"field": st.sampled_from(["CREATED_AT", "UPDATED_AT", "x"]), "direction": st.sampled_from(["ASC", "DESC", "DES"])}
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | GARBAGE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(GARBAGE_TEXT, inner, max_size=4),
    max_leaves=12,
)
TYPED_VARIABLES = st.fixed_dictionaries(
    {},
    optional={
        "first": SIZES,
        "last": SIZES,
        "after": CURSORS,
        "before": CURSORS,
        "filter": FILTERS,
        "orderBy": ORDERS,
        "ids": st.lists(IDS, max_size=105),
        "one": IDS,
        "n": SIZES,
        "representations": st.lists(
            st.fixed_dictionaries({"__typename": st.sampled_from(["Job", "User"]), "id": IDS}) | JSON, max_size=8
        ),
    },
)
VARIABLES = st.one_of(TYPED_VARIABLES, st.dictionaries(st.sampled_from(["first", "ids", "filter", "one", "n", "representations", "x"]), JSON, max_size=4))


@st.composite
def with_variables(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"query": draw(st.sampled_from(OPERATIONS))}
    variables = draw(st.one_of(VARIABLES, VARIABLES, VARIABLES, JSON))
    if variables is not None:
        body["variables"] = variables
    if draw(st.booleans()):
        body["operationName"] = draw(st.sampled_from(["Page", "Lookup", "Entities", "Both", "Nope", ""]))
    return body


@st.composite
def mangled(draw: st.DrawFn) -> dict[str, Any]:
    """A valid query cut short or with garbage spliced in."""
    text = draw(st.sampled_from(OPERATIONS) | GENERATED.map(str))
    at = draw(st.integers(0, len(text)))
    cut = draw(st.integers(0, 20))
    junk = draw(st.text(alphabet="{}()[]:$@!.\"#,=| \n\tabcXYZ0123456789_-…\x00", max_size=12))
    return {"query": text[:at] + junk + text[at + cut :]}


BODIES = st.one_of(
    GENERATED.map(lambda q: {"query": q}),
    GENERATED.map(lambda q: {"query": q}),
    GENERATED_WRONG.map(lambda q: {"query": q}),
    with_variables(),
    with_variables(),
    mangled(),
    st.text(max_size=200).map(lambda q: {"query": q}),
)


@settings(
    settings.default,
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example, HealthCheck.filter_too_much],
)
@given(body=BODIES)
def test_every_answer_is_a_well_formed_graphql_response(gateway, body):
    check(gateway.post(body))


@settings(settings.default, max_examples=max(20, EXAMPLES // 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies=st.lists(st.one_of(GENERATED.map(lambda q: {"query": q}), with_variables()), min_size=1, max_size=3))
def test_batches_answer_each_operation(gateway, bodies):
    response = gateway.post(bodies)
    body = check(response, batch=True)
    if isinstance(body, list):
        assert len(body) == len(bodies)
    else:  # strawberry refuses a whole batch when one operation cannot be picked (unknown operationName)
        assert 400 <= response.status_code < 500, body


def test_the_stack_really_serves_jobs(gateway):
    """A sanity check that the fuzzing talks to working upstreams, not to two failing ones."""
    body = check(gateway.post({"query": OPERATIONS[0], "variables": {"first": 5}}))
    page = body["data"]["jobs"]
    assert len(page["edges"]) == 5 and {s["state"] for s in page["sources"]} == {"OK"}
    body = check(gateway.post({"query": OPERATIONS[1], "variables": {"ids": WORLD.ids[:3], "one": WORLD.ids[-1]}}))
    assert [n["id"] for n in body["data"]["nodes"]] == WORLD.ids[:3] and body["data"]["job"]["id"] == WORLD.ids[-1]


# --- what fuzzing found -------------------------------------------------------------------

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Job { id } } }"


@pytest.mark.parametrize(
    "representation",
    [
        {"__typename": "User", "id": "x"},  # a type, but not an entity: strawberry raised TypeError
        {"__typename": "Nope", "id": "x"},  # no such type: KeyError
        {"__typename": "String", "id": "x"},  # a scalar
        {"__typename": "Job"},  # no key
        {"__typename": "Job", "id": ["x"]},
        {"id": "x"},
        "Job",
        17,
    ],
)
def test_malformed_entity_representations_are_bad_input(gateway, representation):
    body = check(gateway.post({"query": ENTITIES, "variables": {"r": [representation, {"__typename": "Job", "id": WORLD.ids[0]}]}}))
    assert body["data"]["_entities"][0] is None and body["data"]["_entities"][1] == {"id": WORLD.ids[0]}
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["_entities", 0], "BAD_USER_INPUT")]


def test_entity_extra_keys_are_ignored_and_int_ids_read_as_strings(gateway):
    body = check(gateway.post({"query": ENTITIES, "variables": {"r": [{"__typename": "Job", "id": WORLD.ids[0], "extra": 1}, {"__typename": "Job", "id": 5}]}}))
    assert body["data"]["_entities"][0] == {"id": WORLD.ids[0]} and body["data"]["_entities"][1] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_ID"]


def test_a_batch_item_with_variables_that_are_not_an_object(gateway):
    body = check(gateway.post([{"query": "{ __typename }"}, {"query": OPERATIONS[0], "variables": [1, 2]}]), batch=True)
    assert body[0] == {"data": {"__typename": "Query"}}
    assert body[1]["data"] is None and [e["extensions"]["code"] for e in body[1]["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_a_date_outside_utc_range_is_bad_input(gateway, moment):
    body = check(gateway.post({"query": OPERATIONS[0], "variables": {"filter": {"createdAfter": moment}}}))
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


def test_created_after_in_the_last_second_of_9999(gateway):
    check(gateway.post({"query": OPERATIONS[0], "variables": {"filter": {"createdAfter": "9999-12-31T23:59:59.5Z"}}}))


def test_created_after_year_one_keeps_docurift(gateway):
    body = check(gateway.post({"query": OPERATIONS[0], "variables": {"first": 3, "filter": {"createdAfter": "0001-01-01T00:00:00Z"}}}))
    assert {s["state"] for s in body["data"]["jobs"]["sources"]} == {"OK"}, body
