"""Security headers on every response; the GraphiQL page keeps its own nonce'd policy."""

from __future__ import annotations

import re

import httpx
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway import graphiql
from gateway.app import Gateway, internal_error
from gateway.security.errors import http_exception
from gateway.security.headers import ALWAYS, API_CSP, SecurityHeadersMiddleware


async def plain(request: Request) -> Response:
    return PlainTextResponse("ok")


async def own_policy(request: Request) -> Response:
    return PlainTextResponse("page", headers={"Content-Security-Policy": "default-src 'self'"})


async def boom(request: Request) -> Response:
    raise RuntimeError("a bug")


def app() -> Gateway:
    routes = [Route("/graphql", plain), Route("/page", own_policy), Route("/boom", boom), Route("/static/app.js", plain)]
    handlers = {HTTPException: http_exception, 500: internal_error}
    return Gateway(routes=routes, exception_handlers=handlers, security_headers={"cacheable": ("/static/",)})


async def get(path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.get(path)


async def test_api_answers_get_every_header_and_a_policy_that_allows_nothing():
    response = await get("/graphql")
    for name, value in ALWAYS.items():
        assert response.headers[name] == value
    assert response.headers["content-security-policy"] == API_CSP == "default-src 'none'; frame-ancestors 'none'"
    assert response.headers["cache-control"] == "no-store"


async def test_a_response_with_its_own_policy_keeps_it():
    response = await get("/page")
    assert response.headers["content-security-policy"] == "default-src 'self'"
    assert response.headers["x-frame-options"] == "DENY"


async def test_static_files_may_be_cached():
    assert "cache-control" not in (await get("/static/app.js")).headers


async def test_errors_get_them_too_even_a_500_and_it_is_coded():
    for path, status in (("/nowhere", 404), ("/boom", 500)):
        response = await get(path)
        assert response.status_code == status
        assert response.headers["x-content-type-options"] == "nosniff" and response.headers["cache-control"] == "no-store"
        assert response.json()["errors"][0]["extensions"]["code"] == ("NOT_FOUND" if status == 404 else "INTERNAL")
    assert "a bug" not in (await get("/boom")).text


async def test_non_http_scopes_pass_untouched():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    await SecurityHeadersMiddleware(inner)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]


def test_the_graphiql_policy_allows_its_nonce_not_inline_scripts():
    local = graphiql.content_security_policy("abc", cdn=None)
    directives = dict(part.split(" ", 1) for part in local.split("; "))
    assert directives["script-src"] == "'self' 'nonce-abc'"
    assert "unsafe-inline" in directives["style-src"] and directives["connect-src"] == "'self'"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "https://unpkg.com" not in local
    cdn = graphiql.content_security_policy("abc", cdn=graphiql.CDN)
    assert "script-src 'self' https://unpkg.com 'nonce-abc'" in cdn


def test_the_page_carries_the_nonce_its_policy_names():
    html = graphiql.render(assets_base="/a", local=True, subscriptions=False, default_headers={}, nonce="n0nce")
    inline = re.findall(r"<script( nonce=\"[^\"]*\")?>", html)
    assert inline == [' nonce="n0nce"']  # the one inline script; the others have a src
