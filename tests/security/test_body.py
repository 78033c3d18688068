"""Body size while streaming, and the shape of a parsed body, as plain ASGI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.security.body import BodyLimitMiddleware, BodyTooLarge, check_operations
from gateway.security.errors import Rejection

LIMIT = 1000


class Exchange:
    """One request through the middleware: feeds `chunks`, records what the server sends."""

    def __init__(self, chunks: list[bytes], headers: dict[str, str] | None = None) -> None:
        self.chunks = list(chunks)
        self.headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        self.received_calls = 0
        self.sent: list[dict[str, Any]] = []

    @property
    def scope(self) -> dict[str, Any]:
        return {"type": "http", "method": "POST", "path": "/graphql", "headers": self.headers}

    async def receive(self) -> dict[str, Any]:
        self.received_calls += 1
        body = self.chunks.pop(0) if self.chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(self.chunks)}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))

    def header(self, name: str) -> str | None:
        return dict(self.sent[0]["headers"]).get(name.encode(), b"").decode() or None


async def reading_app(scope, receive, send) -> None:
    """Reads the whole body, then answers with its length."""
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


async def run(exchange: Exchange, app=reading_app) -> Exchange:
    await BodyLimitMiddleware(app, max_bytes=LIMIT)(exchange.scope, exchange.receive, exchange.send)
    return exchange


def assert_too_large(exchange: Exchange) -> None:
    assert exchange.status == 413 and exchange.header("connection") == "close"
    assert exchange.body == {"errors": [{"message": f"The request body is larger than {LIMIT} bytes.", "extensions": {"code": "REQUEST_TOO_LARGE"}}]}


async def test_a_declared_length_over_the_limit_is_refused_before_reading():
    exchange = await run(Exchange([b"x" * 5000], {"Content-Length": "5000"}))
    assert_too_large(exchange)
    assert exchange.received_calls == 0


async def test_a_streamed_body_over_the_limit_is_refused_while_it_streams():
    exchange = await run(Exchange([b"x" * 400] * 10))  # chunked: no Content-Length
    assert_too_large(exchange)
    assert exchange.received_calls == 3  # stopped at the chunk that crossed the limit


async def test_a_lying_content_length_does_not_help():
    exchange = await run(Exchange([b"x" * 600, b"x" * 600], {"Content-Length": "10"}))
    assert_too_large(exchange)


@pytest.mark.parametrize("size", [0, 1, LIMIT])
async def test_bodies_up_to_the_limit_pass(size):
    exchange = await run(Exchange([b"x" * size], {"Content-Length": str(size)}))
    assert exchange.status == 200 and exchange.sent[1]["body"] == str(size).encode()


async def test_if_the_answer_already_started_the_error_is_not_hidden():
    async def answers_then_reads(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive()).get("more_body"):
            pass

    with pytest.raises(BodyTooLarge):
        await run(Exchange([b"x" * 600] * 3), answers_then_reads)


async def test_other_scopes_pass_untouched():
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])

    await BodyLimitMiddleware(app, max_bytes=1)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


@pytest.mark.parametrize(
    "data, batching, code",
    [
        ({"query": "{ a }"}, False, None),
        ({"query": "{ a }"}, True, None),
        ([{"query": "{ a }"}] * 3, True, None),
        ([{"query": "{ a }"}] * 4, True, "TOO_MANY_OPERATIONS"),
        ([{"query": "{ a }"}] * 500, True, "TOO_MANY_OPERATIONS"),
        ([{"query": "{ a }"}], False, "BAD_REQUEST"),
        ([], True, "BAD_REQUEST"),
        ([{"query": "{ a }"}, "{ b }"], True, "BAD_REQUEST"),
        ("{ a }", False, "BAD_REQUEST"),
        (5, True, "BAD_REQUEST"),
        (None, False, "BAD_REQUEST"),
        (True, False, "BAD_REQUEST"),
    ],
)
def test_the_shape_of_a_graphql_body(data, batching, code):
    if code is None:
        check_operations(data, batching=batching, max_operations=3)
        return
    with pytest.raises(Rejection) as raised:
        check_operations(data, batching=batching, max_operations=3)
    assert raised.value.status == 400 and raised.value.code == code
    if code == "TOO_MANY_OPERATIONS":
        assert "at most 3 operations" in raised.value.message
