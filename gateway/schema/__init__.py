"""The GraphQL schema: thin types over the model, one query root, caches and error codes."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from gateway.schema.errors import ErrorCodes, coded
from gateway.schema.query import Query
from gateway.schema.types import Job, describe_values


FEDERATION_VERSION = "2.7"


class GatewaySchema(strawberry.federation.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Code the errors strawberry answers early with (parse, validation), in place.

        Nothing is logged here: `coded` logs the unexpected ones, with their reference.
        """
        errors[:] = [coded(error) for error in errors]


def build_schema() -> GatewaySchema:
    schema = GatewaySchema(
        query=Query,
        types=[Job],
        federation_version=FEDERATION_VERSION,
        extensions=[
            ErrorCodes,
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
        ],
    )
    describe_values(schema._schema)
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"


__all__: list[Any] = ["build_schema", "export_sdl"]
