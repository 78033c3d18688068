"""Every error a client sees carries `extensions.code`; our own bugs are masked.

Expected failures (`GatewayError`) keep their message and extensions. Anything else is a
bug: the client gets `INTERNAL` with a reference id, and the log gets the traceback under
that same id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError

log = logging.getLogger("gateway.errors")


def coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError):
        return _replace(error, original.message, {"code": original.code, **original.extensions})
    if original is not None and not isinstance(original, GraphQLError):
        reference = uuid.uuid4().hex[:12]
        log.error("internal error %s at %s", reference, error.path, exc_info=original)
        return _replace(error, f"Internal error (reference {reference}).", {"code": "INTERNAL", "referenceId": reference})
    if error.extensions and "code" in error.extensions:
        return error
    if error.message.startswith("Syntax Error"):
        code = "GRAPHQL_PARSE_FAILED"
    elif error.message.startswith("Variable ") or "got invalid value" in error.message:
        code = "BAD_USER_INPUT"
    else:
        code = "GRAPHQL_VALIDATION_FAILED"
    return _replace(error, error.message, {**(error.extensions or {}), "code": code})


def _replace(error: GraphQLError, message: str, extensions: dict) -> GraphQLError:
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )


class ErrorCodes(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        # In place: strawberry's early answers (parse errors) hold these very lists.
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors[:] = [coded(error) for error in result.errors]
        # Errors a resolver reported beside its data (a failed source on a partial page).
        reported = getattr(self.execution_context.context, "errors", None)
        if result is not None and reported:
            result.errors = [*(result.errors or []), *reported]
        errors = self.execution_context.pre_execution_errors
        if errors:
            errors[:] = [coded(error) for error in errors]
