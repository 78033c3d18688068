"""Issue 6 over real HTTP: uvicorn, both simulators, and the gateway as deployed.

Who may ask (API keys, JWTs), how much (body size, batch size), what a bad request gets
(coded GraphQL-shaped errors), and what is exposed (GraphiQL, CORS, security headers).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import httpx
import pytest
from live import serve
from security.jwt_keys import (
    AUDIENCE,
    ISSUER,
    SECRET,
    hs256,
    hs256_with_public_key,
    rs256,
    rsa_key,
    tampered,
    unsigned,
    write_jwks,
)

import gateway.app
from gateway import graphiql
from gateway.app import create_app
from gateway.config import Settings
from gateway.security import SecuritySettings
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app

UPSTREAM_TOKEN = "dr-secret-token-sec-7c1e"
UPSTREAM_KEY = "frc_secsecretkey0000000000000000000"
KEYS = ("gateway-key-one-0123456789", "gateway-key-two-0123456789")
QUERY = "{ jobs(first: 5) { edges { node { id source } } sources { source state } } }"
ORIGIN = "https://app.example.com"
HS = SecuritySettings(api_keys=KEYS, jwt_secret=SECRET, jwt_issuer=ISSUER, jwt_audience=(AUDIENCE,))


@pytest.fixture(scope="module")
def upstreams() -> Iterator[Settings]:
    clock = SimClock(frozen=True)
    devrev = create_devrev_app(token=UPSTREAM_TOKEN, seed=7, count=40, clock=clock)
    docurift = create_docurift_app(api_key=UPSTREAM_KEY, seed=11, count=40, clock=clock)
    with serve(devrev) as devrev_url, serve(docurift) as docurift_url:
        yield Settings(
            devrev_base_url=devrev_url, devrev_token=UPSTREAM_TOKEN,
            docurift_base_url=docurift_url, docurift_api_key=UPSTREAM_KEY,
        )


@contextmanager
def gateway_at(upstreams: Settings, security: SecuritySettings, *, batching: int | None = None) -> Iterator[str]:
    """The gateway with `security`; batching forced on (max `batching`) or off, whatever the schema's default."""
    build = gateway.app.build_schema

    def schema(*args: Any, **kwargs: Any) -> Any:
        built = build(*args, **kwargs)
        built.config.batching_config = None if batching is None else {"max_operations": batching}
        return built

    with mock.patch.object(gateway.app, "build_schema", schema):
        app = create_app(upstreams, security=security)
    with serve(app) as url:
        yield url


@pytest.fixture(scope="module")
def open_url(upstreams) -> Iterator[str]:
    with gateway_at(upstreams, SecuritySettings()) as url:
        yield url


@pytest.fixture(scope="module")
def locked_url(upstreams) -> Iterator[str]:
    with gateway_at(upstreams, HS) as url:
        yield url


def post(url: str, body: Any = None, *, headers: dict[str, str] | None = None, content: bytes | None = None) -> httpx.Response:
    if content is None:
        content = json.dumps({"query": QUERY} if body is None else body).encode()
    return httpx.post(f"{url}/graphql", content=content, headers={"Content-Type": "application/json", **(headers or {})}, timeout=30)


def assert_jobs(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    assert {s["state"] for s in body["data"]["jobs"]["sources"]} == {"OK"} and len(body["data"]["jobs"]["edges"]) == 5


def assert_coded(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code and error["message"]
    return error


# --- who may ask -------------------------------------------------------------------------------


def test_open_mode_works_without_credentials(open_url):
    assert_jobs(post(open_url))
    assert_jobs(httpx.get(f"{open_url}/graphql", params={"query": QUERY}))
    assert httpx.get(f"{open_url}/metrics").status_code == 200


def test_an_api_key_in_either_header_gets_in(locked_url):
    assert_jobs(post(locked_url, headers={"X-API-Key": KEYS[0]}))
    assert_jobs(post(locked_url, headers={"Authorization": f"Bearer {KEYS[1]}"}))
    assert_jobs(httpx.get(f"{locked_url}/graphql", params={"query": QUERY}, headers={"X-API-Key": KEYS[1]}))
    assert httpx.get(f"{locked_url}/metrics", headers={"X-API-Key": KEYS[0]}).status_code == 200


def test_without_credentials_only_health_and_the_ide_shell_answer(locked_url):
    for response in (post(locked_url), httpx.get(f"{locked_url}/graphql", params={"query": QUERY}), httpx.get(f"{locked_url}/metrics")):
        assert_coded(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(f"{locked_url}/healthz").json()["status"] == "ok"
    page = httpx.get(f"{locked_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    config = json.loads(re.search(r"const CONFIG = (.*);", page.text).group(1))  # type: ignore[union-attr]
    assert json.loads(config["defaultHeaders"]) == {"X-API-Key": ""}  # the headers editor, ready for a key


def test_a_wrong_key_is_401_coded_and_appears_in_no_answer_and_no_log(locked_url, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "gateway-key-wrong-0123456789"
    for headers in ({"X-API-Key": wrong}, {"Authorization": f"Bearer {wrong}"}):
        response = post(locked_url, headers=headers)
        assert_coded(response, 401, "UNAUTHENTICATED")
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
        assert wrong not in response.text
    time.sleep(0.1)  # the server thread's log lines
    assert wrong not in caplog.text and "refused POST /graphql" in caplog.text
    assert not any(key in caplog.text for key in KEYS)


BAD_TOKENS = {
    "expired": lambda: hs256(exp=int(time.time()) - 120),
    "wrong audience": lambda: hs256(aud="another-service"),
    "wrong issuer": lambda: hs256(iss="https://evil.example"),
    "alg none": lambda: unsigned(),
    "tampered": lambda: tampered(hs256(), sub="admin"),
    "other secret": lambda: hs256(secret="x" * 40),
}


def test_hs256_jwts_valid_gets_in_the_rest_get_401(locked_url, caplog):
    caplog.set_level(logging.DEBUG)
    assert_jobs(post(locked_url, headers={"Authorization": f"Bearer {hs256()}"}))
    presented = []
    for name, make in BAD_TOKENS.items():
        token = make()
        presented.append(token)
        response = post(locked_url, headers={"Authorization": f"Bearer {token}"})
        error = assert_coded(response, 401, "UNAUTHENTICATED")
        assert error["message"] == ("The token has expired." if name == "expired" else "Invalid token."), name
        assert all(part not in response.text for part in token.split(".")[1:] if part)
    time.sleep(0.1)
    for token in presented:
        assert all(part not in caplog.text for part in token.split(".")[1:] if part)
    assert SECRET not in caplog.text


def test_rs256_from_a_jwks_file(upstreams, tmp_path):
    key = rsa_key()
    security = SecuritySettings(jwt_jwks=str(write_jwks(tmp_path / "jwks.json", key)), jwt_issuer=ISSUER, jwt_audience=(AUDIENCE,))
    with gateway_at(upstreams, security) as url:
        assert_jobs(post(url, headers={"Authorization": f"Bearer {rs256(key)}"}))
        for token in (rs256(rsa_key()), rs256(key, kid="other"), hs256_with_public_key(key), unsigned(), rs256(key, aud="x")):
            assert_coded(post(url, headers={"Authorization": f"Bearer {token}"}), 401, "UNAUTHENTICATED")
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert '\\"Authorization\\": \\"Bearer \\"' in page.text  # the editor, ready for a token


# --- how much they may ask ---------------------------------------------------------------------


def test_a_5_mb_body_is_refused_fast_and_the_next_request_is_served(locked_url):
    body = b'{"query": "' + b"x" * 5_000_000 + b'"}'
    with httpx.Client(timeout=30) as client:
        started = time.monotonic()
        response = client.post(f"{locked_url}/graphql", content=body, headers={"Content-Type": "application/json", "X-API-Key": KEYS[0]})
        elapsed = time.monotonic() - started
        assert_coded(response, 413, "REQUEST_TOO_LARGE")
        assert elapsed < 2, elapsed
        response = client.post(f"{locked_url}/graphql", json={"query": QUERY}, headers={"X-API-Key": KEYS[0]})
        assert_jobs(response)


def test_a_chunked_body_over_the_limit_is_refused_too(open_url):
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 10_000

    response = httpx.post(f"{open_url}/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert_coded(response, 413, "REQUEST_TOO_LARGE")
    assert_jobs(post(open_url))


@pytest.fixture(scope="module")
def unbatched_url(upstreams) -> Iterator[str]:
    with gateway_at(upstreams, SecuritySettings(), batching=None) as url:
        yield url


@pytest.mark.parametrize("content", [b'[{"query": "{ __typename }"}]', b'"{ __typename }"', b"42", b"null", b"{nope"])
def test_a_body_that_is_not_one_operation_is_400_coded(unbatched_url, content):
    error = assert_coded(post(unbatched_url, content=content), 400, "BAD_REQUEST")
    assert content.decode() not in error["message"]
    assert_jobs(post(unbatched_url))


def test_batches_are_served_up_to_the_limit_and_refused_beyond(upstreams):
    with gateway_at(upstreams, SecuritySettings(max_operations=10), batching=50) as url:
        ok = post(url, [{"query": "{ __typename }"}, {"query": QUERY}])
        assert ok.status_code == 200 and [sorted(item) for item in ok.json()] == [["data"], ["data"]]
        error = assert_coded(post(url, [{"query": "{ __typename }"}] * 500), 400, "TOO_MANY_OPERATIONS")
        assert "at most 10 operations" in error["message"]
        assert_coded(post(url, [{"query": "{ __typename }"}, 7]), 400, "BAD_REQUEST")
        assert_coded(post(url, []), 400, "BAD_REQUEST")


# --- what is exposed ---------------------------------------------------------------------------


def test_cors_allows_the_listed_origin_only(upstreams):
    security = SecuritySettings(api_keys=KEYS, cors_origins=(ORIGIN,))
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-api-key"}
    with gateway_at(upstreams, security) as url:
        allowed = httpx.options(f"{url}/graphql", headers={"Origin": ORIGIN, **preflight})
        assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "x-api-key" in allowed.headers["access-control-allow-headers"].lower()
        denied = httpx.options(f"{url}/graphql", headers={"Origin": "https://evil.example", **preflight})
        assert denied.status_code == 400 and "access-control-allow-origin" not in denied.headers
        # A browser app on the allowed origin can read its answers, refusals included.
        answered = post(url, headers={"Origin": ORIGIN, "X-API-Key": KEYS[0]})
        assert_jobs(answered)
        assert answered.headers["access-control-allow-origin"] == ORIGIN
        refused = post(url, headers={"Origin": ORIGIN})
        assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-origin" not in post(url, headers={"Origin": "https://evil.example", "X-API-Key": KEYS[0]}).headers


def test_no_cors_headers_without_origins(open_url):
    response = httpx.options(f"{open_url}/graphql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-resource-policy": "same-origin",
}


def test_security_headers_on_answers_refusals_and_the_ide(locked_url, monkeypatch):
    answers = [
        post(locked_url, headers={"X-API-Key": KEYS[0]}),
        post(locked_url),  # 401
        post(locked_url, content=b"x" * 300_000, headers={"X-API-Key": KEYS[0]}),  # 413
        httpx.get(f"{locked_url}/healthz"),
        httpx.get(f"{locked_url}/nowhere", headers={"X-API-Key": KEYS[0]}),  # 404
    ]
    assert [a.status_code for a in answers] == [200, 401, 413, 200, 404]
    for answer in answers:
        assert {k: answer.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
        assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert answer.headers["cache-control"] == "no-store"
    page = httpx.get(f"{locked_url}/graphql", headers={"Accept": "text/html"})
    assert {k: page.headers.get(k) for k in SECURITY_HEADERS} == SECURITY_HEADERS
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert f'<script nonce="{nonce}">' in page.text and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    again = httpx.get(f"{locked_url}/graphql", headers={"Accept": "text/html"}).headers["content-security-policy"]
    assert again != policy  # a fresh nonce per response


def test_graphiql_off_means_no_ide_and_no_assets(upstreams):
    with gateway_at(upstreams, SecuritySettings(graphiql=False)) as url:
        assert_coded(httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}), 404, "NOT_FOUND")
        asset = graphiql.ASSETS[0].relative
        assert httpx.get(f"{url}{graphiql.ASSETS_PATH}/{asset}").status_code == 404
        assert_jobs(httpx.get(f"{url}/graphql", params={"query": QUERY}))  # the API itself is unchanged
    with gateway_at(upstreams, SecuritySettings(api_keys=KEYS, graphiql=False)) as url:
        assert_coded(httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}), 401, "UNAUTHENTICATED")
