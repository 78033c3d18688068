"""`gateway serve`'s connection and admission settings: defaults, overrides, bad values."""

from __future__ import annotations

import pytest

from gateway import cli

NAMES = ("GATEWAY_KEEP_ALIVE", "GATEWAY_MAX_CONCURRENCY", "GATEWAY_MAX_QUEUE", "GATEWAY_QUEUE_TIMEOUT", "GATEWAY_RETRY_AFTER")


@pytest.fixture
def started(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    calls: list[dict] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **options: calls.append(options))
    return calls


def test_keep_alive_outlasts_a_load_balancers_idle_timeout_by_default(started):
    assert cli.main(["serve"]) == 0
    assert started[0]["timeout_keep_alive"] == 75 > 60  # AWS ALB's default idle timeout


def test_keep_alive_is_configurable(started, monkeypatch):
    monkeypatch.setenv("GATEWAY_KEEP_ALIVE", "650")
    assert cli.main(["serve"]) == 0
    assert started[0]["timeout_keep_alive"] == 650


@pytest.mark.parametrize("name, raw", [("GATEWAY_KEEP_ALIVE", "0"), ("GATEWAY_KEEP_ALIVE", "long"), ("GATEWAY_MAX_CONCURRENCY", "-2")])
def test_a_bad_value_stops_the_start_and_names_the_variable(started, monkeypatch, caplog, name, raw):
    monkeypatch.setenv(name, raw)
    assert cli.main(["serve"]) == 2
    assert started == [] and name in caplog.text
