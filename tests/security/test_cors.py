"""CORS by allow-list: named origins get the headers, no one else does."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.security.cors import HEADERS, cors_middleware

ALLOWED = "https://app.example.com"


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def send(method: str, origin: str, **headers: str) -> httpx.Response:
    app = Starlette(routes=[Route("/graphql", ok, methods=["GET", "POST"])], middleware=cors_middleware((ALLOWED,)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        return await client.request(method, "/graphql", headers={"Origin": origin, **headers})


def test_no_origins_no_middleware():
    assert cors_middleware(()) == []


async def test_an_allowed_origin_may_post_with_the_auth_headers():
    preflight = await send("OPTIONS", ALLOWED, **{
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization, x-api-key",
    })
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert set(preflight.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    allowed = {h.lower() for h in preflight.headers["access-control-allow-headers"].split(", ")}
    assert {h.lower() for h in HEADERS} <= allowed
    assert "access-control-allow-credentials" not in preflight.headers
    actual = await send("POST", ALLOWED)
    assert actual.headers["access-control-allow-origin"] == ALLOWED


async def test_another_origin_gets_nothing():
    preflight = await send("OPTIONS", "https://evil.example", **{"Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-origin" not in (await send("POST", "https://evil.example")).headers
    refused = await send("OPTIONS", ALLOWED, **{"Access-Control-Request-Method": "DELETE"})
    assert refused.status_code == 400
