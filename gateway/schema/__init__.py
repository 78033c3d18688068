"""The GraphQL schema: thin types over the model, one query root, caches and error codes."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.federation.schema import FederationAny
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext, Info

from gateway.errors import BadUserInput
from gateway.schema.errors import ErrorCodes, coded, shows_suggestions
from gateway.schema.execution import FastExecutionContext
from gateway.schema.limits import QueryLimits, limit_extensions
from gateway.schema.query import Query
from gateway.schema.types import Job, describe_values


FEDERATION_VERSION = "2.7"


class GatewaySchema(strawberry.federation.Schema):
    limits: QueryLimits

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Code the errors strawberry answers early with (parse, validation), in place.

        Nothing is logged here: `coded` logs the unexpected ones, with their reference.
        """
        suggestions = shows_suggestions(self)
        errors[:] = [coded(error, suggestions=suggestions) for error in errors]

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> list[FederationAny]:
        """Apollo's `_entities`, with every malformed representation that item's
        `BAD_USER_INPUT` (strawberry's own answers `INTERNAL` to a `__typename` that is not an
        entity, a missing key or one too many, or a representation that is not an object)."""
        return [_entity(representation, index, info) for index, representation in enumerate(representations)]


def _entity(representation: object, index: int, info: Any) -> Any:
    where = f"`representations[{index}]`"
    if not isinstance(representation, dict):
        return BadUserInput(f'{where} must be an object like {{"__typename": "Job", "id": "..."}}.', argument="representations")
    if representation.get("__typename") != "Job":
        return BadUserInput(f'{where}: `__typename` must be "Job", the one entity this subgraph resolves.', argument="representations")
    key = representation.get("id")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)  # as the ID scalar takes it
    if not isinstance(key, str):
        return BadUserInput(f"{where}: `id` must be a job id (a string).", argument="representations")
    return Job.resolve_reference(key, info)


def build_schema(limits: QueryLimits | None = None) -> GatewaySchema:
    """The schema, enforcing `limits` (None: `QueryLimits.from_env()`)."""
    limits = QueryLimits.from_env() if limits is None else limits
    schema = GatewaySchema(
        query=Query,
        types=[Job],
        federation_version=FEDERATION_VERSION,
        config=StrawberryConfig(batching_config={"max_operations": limits.max_operations}),
        execution_context_class=FastExecutionContext,
        extensions=[
            ErrorCodes,
            *limit_extensions(limits),
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
    )
    schema.limits = limits
    describe_values(schema._schema)
    return schema


def export_sdl() -> str:
    return build_schema(QueryLimits()).as_str() + "\n"


__all__: list[Any] = ["QueryLimits", "build_schema", "export_sdl"]
