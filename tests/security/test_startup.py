"""`gateway serve` checks the security settings before starting, and warns when it is open."""

from __future__ import annotations

import logging

import pytest

from gateway import cli

NAMES = (
    "GATEWAY_API_KEYS", "GATEWAY_JWT_SECRET", "GATEWAY_JWT_JWKS", "GATEWAY_JWT_ISSUER", "GATEWAY_JWT_AUDIENCE",
    "GATEWAY_MAX_BODY_BYTES", "GATEWAY_MAX_OPERATIONS", "GATEWAY_CORS_ORIGINS", "GRAPHIQL", "INTROSPECTION",
)


@pytest.fixture
def env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def started(monkeypatch):
    calls: list[dict] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: calls.append({"app": app, **options}))
    return calls


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("gateway")]


def test_an_open_api_gets_one_clear_warning(env, started, caplog):
    caplog.set_level(logging.INFO)
    assert cli.main(["serve", "--port", "8123"]) == 0
    [warning] = warnings(caplog)
    assert "UNAUTHENTICATED" in warning and ":8123" in warning and "GATEWAY_API_KEYS" in warning
    assert "introspect" in warning
    assert started and started[0]["server_header"] is False


def test_with_keys_there_is_no_warning_and_no_key_in_the_log(env, started, caplog):
    key = "serve-key-0123456789abcdef"
    env.setenv("GATEWAY_API_KEYS", key)
    env.setenv("INTROSPECTION", "off")
    caplog.set_level(logging.DEBUG)
    assert cli.main(["serve"]) == 0
    assert warnings(caplog) == [] and key not in caplog.text
    assert "auth: 1 API key(s)" in caplog.text and "introspection: off" in caplog.text


def test_bad_settings_stop_the_start_and_the_secret_stays_out_of_the_log(env, started, caplog):
    secret = "short-secret"
    env.setenv("GATEWAY_JWT_SECRET", secret)
    env.setenv("GATEWAY_JWT_ISSUER", "i")
    env.setenv("GATEWAY_JWT_AUDIENCE", "a")
    assert cli.main(["serve"]) == 2
    assert started == [] and "GATEWAY_JWT_SECRET" in caplog.text and secret not in caplog.text


def test_a_broken_jwks_file_stops_the_start(env, started, caplog, tmp_path):
    broken = tmp_path / "jwks.json"
    broken.write_text("[]")
    env.setenv("GATEWAY_JWT_JWKS", str(broken))
    env.setenv("GATEWAY_JWT_ISSUER", "i")
    env.setenv("GATEWAY_JWT_AUDIENCE", "a")
    assert cli.main(["serve"]) == 2 and "GATEWAY_JWT_JWKS" in caplog.text
