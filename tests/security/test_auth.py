"""Inbound auth as plain ASGI: who gets through, what the refused get, what is logged."""

from __future__ import annotations

import hmac
import logging

import httpx
import pytest
from jwt_keys import AUDIENCE, ISSUER, SECRET, hs256
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.security.auth import ApiKeys, Authenticator, AuthMiddleware, public_routes
from gateway.security.settings import SecuritySettings
from gateway.security.tokens import KeysUnavailable, SecretKey, TokenVerifier

KEYS = ("first-key-0123456789abcdef", "second-key-0123456789abcdef")


async def whoami(request: Request) -> JSONResponse:
    principal = getattr(request.state, "principal", None)
    return JSONResponse(None if principal is None else {"kind": principal.kind, "id": principal.id})


def app(authenticator: Authenticator, *, graphiql_on: bool = True) -> Starlette:
    routes = [Route(path, whoami, methods=["GET", "POST"]) for path in ("/graphql", "/healthz", "/metrics", "/graphiql/assets/x.js")]
    inner = Starlette(routes=routes)
    return AuthMiddleware(inner, authenticator=authenticator, public=public_routes(graphiql_on=graphiql_on))  # type: ignore[return-value]


def keys_and_tokens() -> Authenticator:
    return Authenticator(ApiKeys(KEYS), TokenVerifier(SecretKey(SECRET), issuer=ISSUER, audience=(AUDIENCE,)))


async def call(asgi, method: str = "POST", path: str = "/graphql", headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://gateway") as client:
        return await client.request(method, path, headers=headers or {})


@pytest.mark.parametrize(
    "headers, principal",
    [
        ({"X-API-Key": KEYS[0]}, {"kind": "api_key", "id": "0"}),
        ({"X-API-Key": f"  {KEYS[1]} "}, {"kind": "api_key", "id": "1"}),
        ({"Authorization": f"Bearer {KEYS[1]}"}, {"kind": "api_key", "id": "1"}),
        ({"Authorization": f"bearer {hs256()}"}, {"kind": "jwt", "id": "user-42"}),
    ],
)
async def test_a_key_in_either_header_or_a_jwt_lets_the_request_through_with_its_principal(headers, principal):
    response = await call(app(keys_and_tokens()), headers=headers)
    assert response.status_code == 200 and response.json() == principal


@pytest.mark.parametrize(
    "headers, message, challenge",
    [
        ({}, "Authentication required: send an API key (X-API-Key: <key>) or a bearer token (Authorization: Bearer <token>).", "Bearer"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authentication required", "Bearer"),
        ({"X-API-Key": "wrong-key-0123456789abcdef"}, "Invalid API key.", 'Bearer error="invalid_token"'),
        ({"X-API-Key": "wrong-key-0123456789abcdef", "Authorization": f"Bearer {KEYS[0]}"}, "Invalid API key.", 'Bearer error="invalid_token"'),
        ({"Authorization": "Bearer wrong-key-0123456789abcdef"}, "Invalid credentials.", 'Bearer error="invalid_token"'),
        ({"Authorization": f"Bearer {hs256(aud='other')}"}, "Invalid token.", 'Bearer error="invalid_token"'),
        ({"Authorization": f"Bearer {hs256(exp=1)}"}, "The token has expired.", 'Bearer error="invalid_token"'),
    ],
)
async def test_refusals_are_401_coded_and_never_echo_or_log_the_credential(headers, message, challenge, caplog):
    caplog.set_level(logging.DEBUG)
    response = await call(app(keys_and_tokens()), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"} and error["message"].startswith(message)
    presented = [value.split(" ", 1)[-1] for value in headers.values()]
    for value in presented:
        assert value.strip() not in response.text and value.strip() not in caplog.text
    assert "refused POST /graphql" in caplog.text


async def test_only_the_configured_ways_are_offered_and_accepted():
    only_keys = Authenticator(ApiKeys(KEYS), None)
    response = await call(app(only_keys), headers={"Authorization": f"Bearer {hs256()}"})
    assert response.status_code == 401 and response.json()["errors"][0]["message"] == "Invalid credentials."
    assert "bearer token" not in (await call(app(only_keys))).json()["errors"][0]["message"]
    only_tokens = Authenticator(None, TokenVerifier(SecretKey(SECRET), issuer=ISSUER, audience=(AUDIENCE,)))
    # X-API-Key means nothing without keys configured; the bearer token decides.
    response = await call(app(only_tokens), headers={"X-API-Key": KEYS[0], "Authorization": f"Bearer {hs256()}"})
    assert response.json() == {"kind": "jwt", "id": "user-42"}
    assert only_tokens.ide_headers == {"Authorization": "Bearer "} and only_keys.ide_headers == {"X-API-Key": ""}


@pytest.mark.parametrize(
    "method, path, headers, open_",
    [
        ("GET", "/healthz", {}, True),
        ("GET", "/graphql", {"Accept": "text/html"}, True),  # the GraphiQL page
        ("GET", "/graphql", {"Accept": "*/*"}, True),
        ("GET", "/graphiql/assets/x.js", {}, True),
        ("GET", "/graphql?query={__typename}", {"Accept": "text/html"}, False),  # a query, not the page
        ("GET", "/graphql", {"Accept": "application/json"}, False),
        ("POST", "/graphql", {"Accept": "text/html"}, False),
        ("GET", "/metrics", {}, False),
        ("POST", "/healthz", {}, False),
        ("GET", "/unknown", {}, False),
    ],
)
async def test_public_routes_hold_no_data(method, path, headers, open_):
    response = await call(app(keys_and_tokens()), method, path, headers)
    assert (response.status_code != 401) is open_


async def test_with_graphiql_off_its_page_and_assets_are_not_public():
    asgi = app(keys_and_tokens(), graphiql_on=False)
    assert (await call(asgi, "GET", "/graphql", {"Accept": "text/html"})).status_code == 401
    assert (await call(asgi, "GET", "/graphiql/assets/x.js")).status_code == 401
    assert (await call(asgi, "GET", "/healthz")).status_code == 200


async def test_a_jwks_outage_is_503_not_401(monkeypatch):
    class Down:
        async def key_for(self, token: str):
            raise KeysUnavailable("down")

    authenticator = Authenticator(None, TokenVerifier(Down(), issuer=ISSUER, audience=(AUDIENCE,)))
    response = await call(app(authenticator), headers={"Authorization": f"Bearer {hs256()}"})
    assert response.status_code == 503 and response.json()["errors"][0]["extensions"]["code"] == "AUTH_UNAVAILABLE"


def test_every_key_is_compared_even_after_a_match(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    keys = ApiKeys(KEYS + ("third-key-0123456789abcdef",))
    assert keys.match(KEYS[0]) == 0 and len(calls) == 3
    assert keys.match("nope") is None and len(calls) == 6
    assert KEYS[0] not in repr(keys)


def test_open_settings_build_no_authenticator():
    assert Authenticator.from_settings(SecuritySettings()) is None
    with pytest.raises(ValueError):
        Authenticator(None, None)
