"""What a request body may be: at most so many bytes, and a GraphQL request once parsed.

Size is checked twice: a `Content-Length` over the limit is refused before a byte is read,
and the bytes actually received are counted as they stream in (a chunked body, or a client
that lies, cannot get past either). The refusal closes the connection, so the rest of an
oversized body is never read.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security.errors import BAD_REQUEST, REQUEST_TOO_LARGE, TOO_MANY_OPERATIONS, Rejection


class BodyTooLarge(Exception):
    """Raised out of `receive` when the body passes the limit; caught by the middleware."""


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413 `REQUEST_TOO_LARGE`."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(Headers(scope=scope))
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:  # an answer is already on its way; nothing sensible left to say
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes} bytes."
        # `Connection: close`: the unread rest of the body must not be taken for a next request.
        rejection = Rejection(413, REQUEST_TOO_LARGE, message, {"Connection": "close"})
        await rejection.response()(scope, receive, send)


def check_operations(data: object, *, batching: bool, max_operations: int) -> None:
    """Refuse a parsed JSON body that is not a GraphQL request (or, batching on, a batch).

    Strawberry answers a JSON string or number with a 500 (it calls `.get` on it), and a
    batch with plain text; these are the coded answers instead.
    """
    if isinstance(data, dict):
        return
    if isinstance(data, list):
        if not batching:
            raise Rejection(400, BAD_REQUEST, "Batching is not enabled: send one operation as a JSON object.")
        if len(data) > max_operations:
            message = f"A batch may hold at most {max_operations} operations; this one holds {len(data)}."
            raise Rejection(400, TOO_MANY_OPERATIONS, message)
        if not data or not all(isinstance(item, dict) for item in data):
            raise Rejection(400, BAD_REQUEST, "A batch must be a non-empty JSON array of operation objects.")
        return
    shape = 'a JSON object like {"query": "..."}' + (", or an array of them" if batching else "")
    raise Rejection(400, BAD_REQUEST, f"The request body must be {shape}.")


def _content_length(headers: Headers) -> int | None:
    raw = headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None  # the server refuses a malformed length itself
