"""The fast executor answers exactly what graphql-core's own executor answers.

Every query runs twice on the same schema — once with `FastExecutionContext`, once with
strawberry's stock executor — and the two responses (data, errors, their paths and
locations) must be equal. Queries are generated from the gateway's own types, with
aliases, repeated fields, fragments, `@skip`/`@include`, `__typename`, abstract types
(`nodes`), and jobs whose data break non-null promises or whose properties raise.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import strawberry
from hypothesis import given, settings
from hypothesis import strategies as st
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from engine.fakes import FakeSource
from gateway import model
from gateway.context import RequestContext
from gateway.ids import encode_job_id
from gateway.model import Source
from gateway.schema import build_schema
from gateway.schema.execution import FastExecutionContext, info_free

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _job(source: Source, n: int, rng: random.Random) -> model.Job:
    user = model.User(
        id=f"don:identity:devu/{n % 3}",
        display_name=rng.choice([None, "ada", "grace"]),
        display_picture=rng.choice([None, model.Artifact(id=f"art/{n}", file=model.ArtifactFile("image/png", "a.png", 12))]),
    )
    return model.Job(
        id=encode_job_id(source, f"job/{n}"),
        source=source,
        source_id=f"job/{n}",
        status=rng.choice(list(model.JobStatus)),
        source_status=rng.choice(["running", "queued", "weird_new_state"]),
        created_at=T0 + timedelta(seconds=n * 7 % 101),
        title=rng.choice([None, f"Job {n}"]),
        progress=rng.choice([None, 0, 50, 100]),
        document_type=rng.choice([None, *model.DocumentType]) if source is Source.DOCURIFT else None,
        updated_at=rng.choice([None, T0 + timedelta(seconds=n)]),
        created_by=user if source is Source.DEVREV else None,
        metadata=[model.JobMetadata("k", rng.choice([None, "v"]), "str")] * (n % 3),
        output_artifacts=[model.Artifact(id=f"out/{n}")] if n % 2 else [],
        error=model.JobError("E", None) if n % 5 == 0 else None,
    )


def _sources(seed: int, broken: bool = False) -> list[FakeSource]:
    rng = random.Random(seed)
    devrev = [_job(Source.DEVREV, n, rng) for n in range(12)]
    docurift = [_job(Source.DOCURIFT, 100 + n, rng) for n in range(12)]
    if broken:
        devrev[3].source_status = None  # type: ignore[assignment]  # breaks `String!`
        docurift[2].status = "not an enum member"  # type: ignore[assignment]  # fails to serialize
    return [FakeSource(Source.DEVREV, devrev), FakeSource(Source.DOCURIFT, docurift, offset_pages=True)]


FAST = build_schema()
STOCK = build_schema()
STOCK.execution_context_class = StrawberryGraphQLCoreExecutionContext


async def _both(schema_query: str, variables: dict[str, Any], sources: list[FakeSource]) -> tuple[Any, Any]:
    answers = []
    for schema in (FAST, STOCK):
        result = await schema.execute(schema_query, variable_values=variables, context_value=RequestContext(sources))
        errors = sorted((_unreferenced(e.formatted) for e in result.errors or []), key=repr)
        answers.append((result.data, errors))
    return answers[0], answers[1]


def _unreferenced(error: dict[str, Any]) -> dict[str, Any]:
    """INTERNAL errors carry a fresh reference id each time; compare everything else."""
    reference = error.get("extensions", {}).get("referenceId")
    if reference:
        error = {**error, "message": error["message"].replace(reference, "*"), "extensions": {**error["extensions"], "referenceId": "*"}}
    return error


def test_the_gateway_schema_uses_the_fast_executor():
    assert FAST.execution_context_class is FastExecutionContext


LEAVES = ["id", "source", "sourceId", "displayId", "title", "status", "sourceStatus", "progress", "category",
          "documentType", "createdAt", "updatedAt", "retryCount", "__typename"]
NESTED = [
    "createdBy { id displayName __typename displayPicture { id file { name size } } }",
    "metadata { key value type }",
    "outputArtifacts { id displayId file { type } }",
    "error { code message }",
]


@st.composite
def job_selection(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 8))):
        field = draw(st.sampled_from(LEAVES + NESTED))
        if draw(st.booleans()) and not field.startswith("__"):
            field = f"{draw(st.sampled_from(['a', 'b', 'title']))}: {field}" if "{" not in field else f"n{draw(st.integers(0, 2))}: {field}"
        directive = draw(st.sampled_from(["", " @include(if: $flag)", " @skip(if: $flag)"]))
        name, _, rest = field.partition(" {")
        parts.append(f"{name}{directive}" + (f" {{{rest}" if rest else ""))
    if depth == 0 and draw(st.booleans()):
        parts.append("... on Job { " + draw(job_selection(depth=1)) + " }")
    if depth == 0 and draw(st.booleans()):
        parts.append("...JobBits")
    return " ".join(parts)


@st.composite
def queries(draw: st.DrawFn) -> str:
    selection = draw(job_selection())
    root = draw(st.sampled_from(["edges", "nodes", "lookup"]))
    if root == "edges":
        body = f"jobs(first: $first) {{ edges {{ cursor node {{ {selection} }} }} pageInfo {{ hasNextPage endCursor }} totalCount }}"
    elif root == "nodes":
        body = f"jobs(first: $first) {{ nodes {{ {selection} }} sources {{ source state totalCount message }} }}"
    else:
        body = f"nodes(ids: $ids) {{ __typename ... on Job {{ {selection} }} }}"
    fragment = " fragment JobBits on Job { id status createdBy { id } }" if "...JobBits" in selection else ""
    return f"query Q($first: Int, $flag: Boolean!, $ids: [ID!]!) {{ {body} }}{fragment}"


IDS = [encode_job_id(Source.DEVREV, "job/1"), "not-an-id", encode_job_id(Source.DOCURIFT, "job/104"), encode_job_id(Source.DEVREV, "job/999")]


@settings(max_examples=150, deadline=None)
@given(query=queries(), first=st.integers(0, 30), flag=st.booleans(), seed=st.integers(0, 3), broken=st.booleans())
async def test_fast_and_stock_executors_answer_the_same(query, first, flag, seed, broken):
    sources = _sources(seed, broken)
    fast, stock = await _both(query, {"first": first, "flag": flag, "ids": IDS}, sources)
    assert fast == stock


async def test_broken_data_still_reports_the_stock_errors():
    query = "query Q($ids: [ID!]!) { jobs(first: 30) { edges { node { sourceId sourceStatus status } } } nodes(ids: $ids) { ... on Job { sourceStatus } } }"
    fast, stock = await _both(query, {"ids": IDS}, _sources(1, broken=True))
    assert fast == stock
    assert fast[1], "the broken jobs must produce errors"


# --- a small schema of its own: raising properties, nulls in non-null lists ---------------------------


class Thing:
    def __init__(self, n: int) -> None:
        self.n = n
        self.tags = ["a", None] if n == 2 else ["a", "b"]

    @property
    def boom(self) -> str:
        if self.n == 1:
            raise ValueError("boom")
        return "ok"


@strawberry.type
class ThingType:
    n: int
    boom: str
    tags: list[str]

    @classmethod
    @info_free
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        return isinstance(obj, Thing)


@strawberry.type
class Root:
    @strawberry.field
    def things(self) -> list[ThingType | None]:
        return [Thing(0), Thing(1), Thing(2), "not a thing"]  # type: ignore[list-item]

    @strawberry.field
    def strict(self) -> list[ThingType]:
        return [Thing(0), Thing(1)]  # type: ignore[list-item]


@pytest.mark.parametrize(
    "query",
    [
        "{ things { n boom tags } }",
        "{ things { n } strict { n } }",
        "{ strict { boom } }",
        "{ things { t: tags n: n } things { boom } }",
    ],
)
def test_anomalies_take_the_stock_path(query):
    fast = strawberry.Schema(query=Root, execution_context_class=FastExecutionContext).execute_sync(query)
    stock = strawberry.Schema(query=Root).execute_sync(query)
    assert fast.data == stock.data
    assert [e.formatted for e in fast.errors or []] == [e.formatted for e in stock.errors or []]
