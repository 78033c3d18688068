"""Refusals shaped like GraphQL answers, so a client reads every failure the same way.

A request refused before GraphQL runs (no credentials, too big, not a GraphQL body) still
gets `{"errors": [{"message", "extensions": {"code"}}]}`, with the HTTP status that says
why. Messages are fixed text: nothing the client sent is echoed back.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

BAD_REQUEST = "BAD_REQUEST"
UNAUTHENTICATED = "UNAUTHENTICATED"
AUTH_UNAVAILABLE = "AUTH_UNAVAILABLE"
REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
TOO_MANY_OPERATIONS = "TOO_MANY_OPERATIONS"
NOT_FOUND = "NOT_FOUND"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"

_BY_STATUS = {400: BAD_REQUEST, 401: UNAUTHENTICATED, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: REQUEST_TOO_LARGE}


class Rejection(Exception):
    """A request refused with `status` and a coded GraphQL-shaped body."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message  # for the client
        self.headers = dict(headers or {})
        self.reason = reason or message  # for the log: may say more, never a credential

    def response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    *,
    extensions: Mapping[str, object] | None = None,
) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": code, **(extensions or {})}}]}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


def code_for_status(status: int) -> str:
    return _BY_STATUS.get(status, BAD_REQUEST if status < 500 else "INTERNAL")


async def http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (unknown path, wrong method), coded like the rest."""
    status = int(getattr(exc, "status_code", 500))
    detail = str(getattr(exc, "detail", "") or "Error")
    headers = getattr(exc, "headers", None)
    return error_response(status, code_for_status(status), detail, headers)
