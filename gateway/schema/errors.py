"""Every error a client sees carries `extensions.code`; our own bugs are masked.

Expected failures (`GatewayError`) keep their message and extensions. Anything else is a
bug: the client gets `INTERNAL` with a reference id, and the log gets the traceback under
that same id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError
from gateway.schema.limits import QUERY_TOO_DEEP, TOO_MANY_TOKENS

log = logging.getLogger("gateway.errors")


def coded(error: GraphQLError, *, suggestions: bool = True) -> GraphQLError:
    """The error as a client may see it: with a code; our bugs masked as `INTERNAL`.

    `suggestions=False` (introspection off) also strips graphql-core's "Did you mean ...?"
    hints, which would otherwise spell out the schema field by field.
    """
    error = _coded(error)
    if not suggestions and "Did you mean" in error.message:
        return _replace(error, _SUGGESTION.sub("", error.message), dict(error.extensions or {}))
    return error


# graphql-core's `did_you_mean`: " Did you mean 'a', 'b' or 'c'?" / "... the enum value 'X'?"
_SUGGESTION = re.compile(r" ?Did you mean [^?]*\?")
_TOO_MANY_TOKENS = re.compile(r"^Syntax Error: Document contains more than \d+ tokens\.")


def _coded(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, GatewayError):
        return _replace(error, original.message, {"code": original.code, **original.extensions})
    if original is not None and not isinstance(original, GraphQLError):
        reference = uuid.uuid4().hex[:12]
        log.error("internal error %s at %s", reference, error.path, exc_info=original)
        return _replace(error, f"Internal error (reference {reference}).", {"code": "INTERNAL", "referenceId": reference})
    if error.extensions and "code" in error.extensions:
        return error
    if _TOO_MANY_TOKENS.match(error.message):
        code = TOO_MANY_TOKENS  # strawberry's MaxTokensLimiter: the parser's own refusal
    elif error.message == "Maximum introspection depth exceeded":
        code = QUERY_TOO_DEEP  # graphql-core's MaxIntrospectionDepthRule (`fields { type { fields ...`)
    elif error.message.startswith("Syntax Error"):
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
        suggestions = shows_suggestions(self.execution_context.schema)
        # In place: strawberry's early answers (parse errors) hold these very lists.
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors[:] = [coded(error, suggestions=suggestions) for error in result.errors]
        # Errors a resolver reported beside its data (a failed source on a partial page).
        reported = getattr(self.execution_context.context, "errors", None)
        if result is not None and reported:
            result.errors = [*(result.errors or []), *reported]
        errors = self.execution_context.pre_execution_errors
        if errors:
            errors[:] = [coded(error, suggestions=suggestions) for error in errors]


def shows_suggestions(schema: object) -> bool:
    """Suggestions name schema fields: shown only while introspection is on."""
    limits = getattr(schema, "limits", None)
    return limits is None or limits.introspection
