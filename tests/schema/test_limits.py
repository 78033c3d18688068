"""Query limits: each one just under and just over, its code, and no resolver run when refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import Lexer, TokenKind, get_introspection_query
from graphql import Source as GraphQLSource

from gateway.context import RequestContext
from gateway.ids import encode_job_id
from gateway.model import Source
from gateway.schema import build_schema
from gateway.schema.limits import QueryLimits, query_cost
from gateway.sources.base import Unconfigured

ROOT = Path(__file__).resolve().parents[2]


class Probe:
    """A request context that counts resolver visits (every resolver reads the context)."""

    def __init__(self) -> None:
        self.touched = 0
        self.errors: list = []
        self._inner: RequestContext | None = None

    def __getattr__(self, name: str) -> Any:  # anything but `errors`, `touched`, `_inner`
        self.touched += 1
        if self._inner is None:  # its loader needs the running loop
            sources = [Unconfigured(Source.DEVREV, "off"), Unconfigured(Source.DOCURIFT, "off")]
            self._inner = RequestContext(sources, errors=self.errors)
        return getattr(self._inner, name)


DEFAULTS = QueryLimits()
_SCHEMAS: dict[QueryLimits, Any] = {}


def schema_for(limits: QueryLimits) -> Any:
    if limits not in _SCHEMAS:
        _SCHEMAS[limits] = build_schema(limits)
    return _SCHEMAS[limits]


def run(query: str, variables: dict | None = None, limits: QueryLimits = DEFAULTS, probe: Probe | None = None) -> tuple[Any, list[dict]]:
    probe = probe or Probe()
    result = asyncio.run(schema_for(limits).execute(query, variable_values=variables, context_value=probe))
    errors = [{"message": e.message, **(e.extensions or {})} for e in result.errors or []]
    return result.data, errors


def codes(errors: list[dict]) -> list[str]:
    return [e["code"] for e in errors]


def refused(query: str, code: str, variables: dict | None = None, limits: QueryLimits = DEFAULTS) -> dict:
    probe = Probe()
    data, errors = run(query, variables, limits, probe)
    assert data is None and codes(errors) == [code], errors
    assert probe.touched == 0, "a resolver ran for a refused query"
    return errors[0]


def allowed(query: str, variables: dict | None = None, limits: QueryLimits = DEFAULTS) -> Any:
    data, errors = run(query, variables, limits)
    assert errors == [], errors
    return data


# --- settings ---------------------------------------------------------------------------


def test_defaults_and_environment():
    assert QueryLimits.from_env({}) == QueryLimits()
    assert QueryLimits() == QueryLimits(10, 30, 2000, 10, 100, 20_000, True)
    env = {
        "GATEWAY_MAX_DEPTH": "7",
        "GATEWAY_MAX_ALIASES": " 5 ",
        "GATEWAY_MAX_TOKENS": "900",
        "GATEWAY_MAX_OPERATIONS": "3",
        "GATEWAY_MAX_PAGE_SIZE": "50",
        "GATEWAY_MAX_COST": "1234",
        "INTROSPECTION": "off",
    }
    assert QueryLimits.from_env(env) == QueryLimits(7, 5, 900, 3, 50, 1234, False)
    assert QueryLimits.from_env({"INTROSPECTION": "TRUE"}).introspection is True


@pytest.mark.parametrize(
    "name, value",
    [
        ("GATEWAY_MAX_DEPTH", "ten"),
        ("GATEWAY_MAX_ALIASES", "0"),
        ("GATEWAY_MAX_TOKENS", "-5"),
        ("GATEWAY_MAX_OPERATIONS", "2.5"),
        ("GATEWAY_MAX_PAGE_SIZE", "101"),
        ("GATEWAY_MAX_COST", "lots"),
        ("INTROSPECTION", "maybe"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        QueryLimits.from_env({name: value})


def test_build_schema_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GATEWAY_MAX_DEPTH", "2")
    monkeypatch.setenv("INTROSPECTION", "false")
    schema = build_schema()
    assert schema.limits.max_depth == 2 and schema.limits.introspection is False
    assert schema.config.batching_config == {"max_operations": 10}


def test_limits_leave_the_exported_schema_alone():
    text = (ROOT / "schema.graphql").read_text()
    assert build_schema(QueryLimits(max_depth=3, introspection=False, max_operations=2)).as_str() + "\n" == text


# --- depth ------------------------------------------------------------------------------

DEPTH_3 = "{ jobs { edges { node { id } } } }"
DEPTH_4 = "{ jobs { edges { node { createdBy { id } } } } }"
DEPTH_4_FRAGMENTS = """
query { jobs { ...Edges } }
fragment Edges on JobConnection { edges { ...Node } }
fragment Node on JobEdge { node { ... on Job { createdBy { id } } } }
"""


def test_depth_just_under_and_over():
    three = QueryLimits(max_depth=3)
    allowed(DEPTH_3, limits=three)
    error = refused(DEPTH_4, "QUERY_TOO_DEEP", limits=three)
    assert error["message"] == "The query nests 4 levels deep; the limit is 3."
    assert (error["depth"], error["limit"]) == (4, 3)
    refused(DEPTH_4_FRAGMENTS, "QUERY_TOO_DEEP", limits=three)
    allowed(DEPTH_4_FRAGMENTS, limits=QueryLimits(max_depth=4))


def test_the_deepest_real_query_passes_the_default_depth():
    deepest = "{ jobs { edges { node { createdBy { displayPicture { file { name } } } } } } }"
    allowed(deepest)
    refused(deepest, "QUERY_TOO_DEEP", limits=QueryLimits(max_depth=5))


def test_introspection_fields_do_not_count_toward_depth():
    allowed(get_introspection_query(), limits=QueryLimits(max_depth=2))


def test_nested_introspection_is_refused_as_too_deep():
    nasty = "{ __schema { types { fields { type { fields { type { fields { type { fields { name } } } } } } } } } }"
    refused(nasty, "QUERY_TOO_DEEP")


# --- aliases ----------------------------------------------------------------------------


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def test_aliases_just_under_and_over():
    allowed(aliased(30))
    error = refused(aliased(31), "TOO_MANY_ALIASES")
    assert error["message"] == "The query uses 31 aliases; the limit is 30."


def test_aliases_in_a_fragment_count_at_every_spread():
    query = "query { ...A a: jobs { b: totalCount ...B } }\nfragment A on Query { x: __typename }\nfragment B on JobConnection { ...C ...C }\nfragment C on JobConnection { c: totalCount }"
    allowed(query, limits=QueryLimits(max_aliases=5))  # x, a, b, c, c
    refused(query, "TOO_MANY_ALIASES", limits=QueryLimits(max_aliases=4))


def test_aliases_are_counted_per_operation():
    document = "query One { a: __typename b: __typename } query Two { c: __typename d: __typename }"
    result = asyncio.run(schema_for(QueryLimits(max_aliases=2)).execute(document, operation_name="Two", context_value=Probe()))
    assert result.errors is None and result.data == {"c": "Query", "d": "Query"}


# --- tokens -----------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    lexer, count = Lexer(GraphQLSource(text)), 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def with_tokens(total: int) -> str:
    # { jobs ( filter : { categories : [ ... ] } ) { totalCount } }: 16 tokens around the list
    query = "{ jobs(filter: {categories: [" + '"c" ' * (total - 16) + "]}) { totalCount } }"
    assert count_tokens(query) == total
    return query


def test_tokens_just_under_and_over():
    allowed(with_tokens(2000))
    error = refused(with_tokens(2001), "TOO_MANY_TOKENS")
    assert "more than 2000 tokens" in error["message"]
    allowed(with_tokens(50), limits=QueryLimits(max_tokens=50))
    refused(with_tokens(51), "TOO_MANY_TOKENS", limits=QueryLimits(max_tokens=50))


def test_comments_count_as_tokens():
    padded = "{ __typename }\n" + "#\n" * 3000
    refused(padded, "TOO_MANY_TOKENS")


# --- documents built to make the checks themselves slow or crash -------------------------


def fragment_ladder(rungs: int, leaf: str) -> str:
    """Each fragment spreads the next twice: the expanded query has 2**rungs leaves."""
    parts = ["query { ...F0 }"]
    parts += [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(rungs)]
    parts.append(f"fragment F{rungs} on Query {{ {leaf} }}")
    return "\n".join(parts)


@pytest.mark.parametrize(
    "leaf, code",
    [("a: __typename", "TOO_MANY_ALIASES"), ("jobs { totalCount }", "QUERY_TOO_COSTLY")],
)
def test_fragment_ladders_are_refused_at_once(leaf, code):
    # strawberry's QueryDepthLimiter and MaxAliasesLimiter walk each spread: 40 rungs would take days.
    start = time.perf_counter()
    refused(fragment_ladder(40, leaf), code)
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    "query",
    [
        "{ jobs { } }",  # graphql-core 3.3 accepts empty selection sets
        "{ jobs { ...Missing } }",
        "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
        "{ jobs(first: 5) { totalCount } jobs(first: 5) { totalCount } }",
    ],
)
def test_odd_documents_get_a_coded_answer_not_an_internal_error(query):
    _, errors = run(query)
    assert "INTERNAL" not in codes(errors)


# --- page sizes and ids -----------------------------------------------------------------

PAGE = "query($first: Int, $last: Int) { jobs(first: $first, last: $last) { totalCount } }"


def test_page_size_just_under_and_over():
    allowed(PAGE, {"first": 100})
    allowed(PAGE, {"last": 100})
    for name in ("first", "last"):
        error = refused(PAGE, "BAD_USER_INPUT", {name: 101})
        assert error["message"] == f"`{name}` must be between 0 and 100; got 101." and error["argument"] == name
    refused(PAGE, "BAD_USER_INPUT", {"first": -1})
    refused("{ jobs(first: 101) { totalCount } }", "BAD_USER_INPUT")


def test_page_size_limit_from_the_environment():
    fifty = QueryLimits.from_env({"GATEWAY_MAX_PAGE_SIZE": "50"})
    allowed(PAGE, {"first": 50}, limits=fifty)
    error = refused(PAGE, "BAD_USER_INPUT", {"first": 51}, limits=fifty)
    assert error["message"] == "`first` must be between 0 and 50; got 51."


def test_an_oversized_page_beside_a_valid_one_runs_neither():
    refused("{ ok: jobs(first: 5) { totalCount } big: jobs(first: 500) { totalCount } }", "BAD_USER_INPUT")


LOOKUP = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def job_ids(count: int) -> list[str]:
    return [encode_job_id(Source.DOCURIFT, f"job_{i:012d}") for i in range(count)]


def test_ids_just_under_and_over():
    # Unconfigured sources answer each id with an error: what matters is that it was looked up.
    probe = Probe()
    data, errors = run(LOOKUP, {"ids": job_ids(100)}, probe=probe)
    assert len(data["nodes"]) == 100 and probe.touched > 0 and "BAD_USER_INPUT" not in codes(errors)
    error = refused(LOOKUP, "BAD_USER_INPUT", {"ids": job_ids(101)})
    assert error["message"] == "`ids` takes at most 100 ids; got 101." and error["argument"] == "ids"


def test_ten_thousand_ids_are_refused_before_any_lookup():
    start = time.perf_counter()
    refused(LOOKUP, "BAD_USER_INPUT", {"ids": job_ids(10_000)})
    assert time.perf_counter() - start < 2
    literal = "{ nodes(ids: [" + ", ".join(f'"{i}"' for i in job_ids(10_000)) + "]) { id } }"
    refused(literal, "TOO_MANY_TOKENS")


# --- cost -------------------------------------------------------------------------------

JOB_FIELDS = """id source sourceId displayId title status sourceStatus progress category documentType
  sourceDocumentType documentId createdAt updatedAt completedAt failedAt retryCount objectVersion
  createdBy { ...U } modifiedBy { ...U } metadata { key value type } outputArtifacts { ...A } error { code message }"""
FRAGMENTS = """
fragment U on User { id displayId displayName fullName email state type displayPicture { ...A } }
fragment A on Artifact { id displayId file { type name size } }
"""
HEAVY_PAGE = (
    "query($first: Int) { jobs(first: $first) { totalCount sources { source state totalCount message } "
    "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { " + JOB_FIELDS + " } } } }" + FRAGMENTS
)
HEAVY_LOOKUP = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Job { " + JOB_FIELDS + " } } }" + FRAGMENTS


def cost(query: str, variables: dict | None = None) -> int:
    return query_cost(build_schema(QueryLimits())._schema, query, variables)


def test_cost_model():
    assert cost("{ jobs(first: 3) { edges { node { id } } } }") == 1 + 3 * 3
    assert cost("{ jobs { edges { node { id } } } }") == 1 + 20 * 3  # default page size
    assert cost("{ jobs(last: 5) { totalCount pageInfo { endCursor } } }") == 1 + 5 * 3
    assert cost("query($n: Int = 7) { jobs(first: $n) { totalCount } }") == 1 + 7
    assert cost("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": 4}) == 1 + 4
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Job { title } } }", {"ids": ["a", "b", "c"]}) == 1 + 3 * 2
    assert cost('{ _entities(representations: [{__typename: "Job", id: "x"}, {__typename: "Job", id: "y"}]) { ... on Job { id } } }') == 1 + 2 * 1
    assert cost("{ a: job(id: \"x\") { id } b: __typename }") == 2 + 1
    # Variables inside a list, a single value for a list, a filter that is not coerced for the cost.
    assert cost("query($a: ID!, $b: ID!) { nodes(ids: [$a, $b, \"c\"]) { id } }", {"a": "x", "b": "y"}) == 1 + 3
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": "one"}) == 1 + 1
    assert cost("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": 7}) == 1 + 1  # an int is an ID too
    assert cost("query($f: JobFilter, $n: Int) { jobs(first: $n, filter: $f) { totalCount } }", {"n": 9, "f": {"createdAfter": "garbage"}}) == 1 + 9
    # Fragments are followed, and every spread counts.
    assert cost("query($n: Int) { ...Q ...Q } fragment Q on Query { jobs(first: $n) { ...E } } fragment E on JobConnection { edges { node { id } } }", {"n": 2}) == 2 * (1 + 2 * 3)


def test_documented_heavy_queries_fit_the_default_cost():
    assert cost(HEAVY_PAGE, {"first": 100}) <= QueryLimits().max_cost
    assert cost(HEAVY_LOOKUP, {"ids": job_ids(100)}) <= QueryLimits().max_cost
    allowed(HEAVY_PAGE, {"first": 100})
    data, errors = run(HEAVY_LOOKUP, {"ids": job_ids(100)})
    assert len(data["nodes"]) == 100 and "QUERY_TOO_COSTLY" not in codes(errors)
    # Three full pages at once fit, four do not.
    pages = "query { " + " ".join(f"p{i}: jobs(first: 100) {{ edges {{ node {{ {JOB_FIELDS} }} }} }}" for i in range(4)) + " }" + FRAGMENTS
    refused(pages, "QUERY_TOO_COSTLY")


FRAGMENTED = """
query Page($n: Int, $ids: [ID!]!) { ...Both }
fragment Both on Query { jobs(first: $n) { ...Conn } nodes(ids: $ids) { ...N } }
fragment Conn on JobConnection { totalCount edges { cursor node { ...N } } }
fragment N on Node { id ... on Job { title status } }
"""


def test_cost_just_under_and_over_with_fragments_and_variables():
    variables = {"n": 10, "ids": job_ids(4)}
    total = cost(FRAGMENTED, variables)
    assert total == (1 + 10 * (1 + 1 + 1 + 1 + 3)) + (1 + 4 * 3)
    allowed(FRAGMENTED, {"n": 10, "ids": []}, limits=QueryLimits(max_cost=cost(FRAGMENTED, {"n": 10, "ids": []})))
    data, errors = run(FRAGMENTED, variables, QueryLimits(max_cost=total))
    assert "QUERY_TOO_COSTLY" not in codes(errors) and data["jobs"]["totalCount"] == 0
    error = refused(FRAGMENTED, "QUERY_TOO_COSTLY", variables, limits=QueryLimits(max_cost=total - 1))
    assert error["message"].startswith(f"The query costs {total}; the limit is {total - 1}.")
    assert (error["cost"], error["limit"]) == (total, total - 1)
    # The same document with a bigger page, through the variable only.
    refused(FRAGMENTED, "QUERY_TOO_COSTLY", {"n": 11, "ids": job_ids(4)}, limits=QueryLimits(max_cost=total))


def test_cost_is_judged_per_request_not_per_cached_document():
    limits = QueryLimits(max_cost=100)
    query = "query($n: Int) { jobs(first: $n) { edges { node { id } } } }"
    allowed(query, {"n": 33}, limits=limits)  # 1 + 33 * 3 = 100
    refused(query, "QUERY_TOO_COSTLY", {"n": 34}, limits=limits)
    allowed(query, {"n": 1}, limits=limits)


@pytest.mark.parametrize(
    "query, variables",
    [
        ("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": "many"}),
        ("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": [1, 2]}),
        ("query($n: Int) { jobs(last: $n) { totalCount } }", {"n": 2**31}),
        ("query($n: Int) { jobs(first: $n) { totalCount } }", {"n": True}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": {"a": 1}}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": None}),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {}),
    ],
)
def test_bad_variables_are_left_to_graphql(query, variables):
    _, errors = run(query, variables)
    assert codes(errors) == ["BAD_USER_INPUT"], errors


# --- introspection and suggestions --------------------------------------------------------

OFF = QueryLimits(introspection=False)


def test_introspection_on_by_default():
    data = allowed("{ __schema { queryType { name } } __type(name: \"Job\") { name } }")
    assert data == {"__schema": {"queryType": {"name": "Query"}}, "__type": {"name": "Job"}}


@pytest.mark.parametrize("query", ["{ __schema { queryType { name } } }", '{ __type(name: "Job") { name fields { name } } }', get_introspection_query()])
def test_introspection_off_is_refused_with_a_code(query):
    error = refused(query, "INTROSPECTION_DISABLED", limits=OFF)
    assert "disabled" in error["message"]


def test_typename_and_federation_sdl_work_with_introspection_off():
    data = allowed("{ __typename _service { sdl } }", limits=OFF)
    assert data["__typename"] == "Query"
    assert data["_service"]["sdl"] + "\n" == (ROOT / "schema.graphql").read_text()


SUGGESTING = [
    ("{ jobs { nodez { id } } }", None),  # field
    ("{ jobs(frist: 1) { totalCount } }", None),  # argument
    ("{ jobs(orderBy: {direction: DES}) { totalCount } }", None),  # enum value
    ("{ jobs(filter: {statuss: [PENDING]}) { totalCount } }", None),  # input field
    ("query($f: JobFiltr) { jobs(filter: $f) { totalCount } }", None),  # type
    ("query($o: JobOrder) { jobs(orderBy: $o) { totalCount } }", {"o": {"direction": "DES"}}),  # enum in variables
]


@pytest.mark.parametrize("query, variables", SUGGESTING)
def test_suggestions_only_while_introspection_is_on(query, variables):
    _, errors = run(query, variables)
    assert any("Did you mean" in e["message"] for e in errors), errors
    _, errors = run(query, variables, OFF)
    assert errors and not any("Did you mean" in e["message"] for e in errors), errors
    assert all(e["code"] in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT") for e in errors)


# --- batching, end to end -----------------------------------------------------------------


async def test_a_batch_of_two_runs_end_to_end():
    from gateway.app import create_app

    app = create_app()
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
        batch = [
            {"query": "{ __typename }"},
            {"query": "query($n: Int) { jobs(first: $n) { totalCount sources { source state } } }", "variables": {"n": 2}},
        ]
        response = await client.post("/graphql", json=batch)
        assert response.status_code == 200, response.text
        first, second = response.json()
        assert first == {"data": {"__typename": "Query"}}
        assert {s["state"] for s in second["data"]["jobs"]["sources"]} == {"SKIPPED"}
        too_many = await client.post("/graphql", json=[{"query": "{ __typename }"}] * 11)
        assert 400 <= too_many.status_code < 500
