"""Upstream credentials, `server` and `forward` modes, over real sockets.

In forward mode two callers with different credentials go through one gateway to one URL per
upstream; in front of the simulators sits a small router that sends each credential to its own
tenant (its own simulator with its own seeded jobs), as a real multi-tenant upstream would.
Each caller must see only its own tenant's jobs — in pages, lookups, and when both ask the
same thing at the same time (coalescing is keyed by credential) — and no secret may appear in
any response or log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from live import serve
from gateway.app import create_app
from gateway.config import Settings
from gateway.ids import decode_job_id
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app

TENANTS = {
    "alice": ("dvr-alice-token-0001", "frc_alice0000000000000000000000000001", (21, 22)),
    "bob": ("dvr-bob-token-0002", "frc_bob000000000000000000000000000002", (31, 32)),
}
SECRETS = [secret for token, key, _ in TENANTS.values() for secret in (token, key)]

PAGE = """
query($first: Int, $after: String) {
  jobs(first: $first, after: $after) {
    edges { cursor node { id source sourceId title } }
    pageInfo { hasNextPage endCursor }
    sources { source state message }
  }
}
"""
LOOKUP = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Job { id sourceId } } }"


def by_credential(header: str, apps: dict[str, Any], prefix: str = "") -> Any:
    """An ASGI app sending each request to the tenant app its credential belongs to."""

    async def route(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await apps[next(iter(apps))](scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        presented = headers.get(header.lower(), "").removeprefix(prefix)
        app = apps.get(presented) or apps[next(iter(apps))]  # a wrong credential meets a tenant that refuses it
        await app(scope, receive, send)

    return route


@dataclass
class Tenant:
    token: str
    key: str
    direct_url: str  # a server-mode gateway over this tenant's upstreams alone: the reference


@contextmanager
def forward_stack() -> Iterator[tuple[str, dict[str, Tenant]]]:
    clock = SimClock(frozen=True)
    tenants: dict[str, Tenant] = {}
    devrev_apps, docurift_apps = {}, {}
    with ExitStack() as stack:
        for name, (token, key, (seed_a, seed_b)) in TENANTS.items():
            devrev = create_devrev_app(token=token, seed=seed_a, count=30, clock=clock)
            docurift = create_docurift_app(api_key=key, seed=seed_b, count=30, clock=clock)
            devrev_apps[token], docurift_apps[key] = devrev, docurift
            direct = Settings(
                devrev_base_url=stack.enter_context(serve(devrev)),
                devrev_token=token,
                docurift_base_url=stack.enter_context(serve(docurift)),
                docurift_api_key=key,
            )
            tenants[name] = Tenant(token, key, stack.enter_context(serve(create_app(direct))))
        devrev_url = stack.enter_context(serve(by_credential("authorization", devrev_apps, prefix="Bearer ")))
        docurift_url = stack.enter_context(serve(by_credential("x-api-key", docurift_apps)))
        settings = Settings(devrev_base_url=devrev_url, docurift_base_url=docurift_url, credentials_mode="forward")
        url = stack.enter_context(serve(create_app(settings)))
        yield url, tenants


def headers_of(tenant: Tenant, *, devrev: bool = True, docurift: bool = True) -> dict[str, str]:
    headers = {}
    if devrev:
        headers["X-DevRev-Token"] = tenant.token
    if docurift:
        headers["X-DocuRift-Key"] = tenant.key
    return headers


def traverse(client: httpx.Client, url: str, headers: dict[str, str]) -> list[dict]:
    nodes, after = [], None
    while True:
        body = client.post(f"{url}/graphql", json={"query": PAGE, "variables": {"first": 25, "after": after}}, headers=headers).json()
        assert "errors" not in body, body
        page = body["data"]["jobs"]
        nodes += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


@pytest.fixture(scope="module")
def stack():
    with forward_stack() as (url, tenants):
        yield url, tenants


def test_each_caller_sees_only_its_own_jobs(stack):
    url, tenants = stack
    seen: dict[str, list[dict]] = {}
    with httpx.Client(timeout=30) as client:
        for name, tenant in tenants.items():
            nodes = traverse(client, url, headers_of(tenant))
            assert nodes == traverse(client, tenant.direct_url, {})  # exactly this tenant's jobs
            assert len(nodes) == 60 and {node["source"] for node in nodes} == {"DEVREV", "DOCURIFT"}
            seen[name] = nodes
    assert seen["alice"] != seen["bob"]


def test_lookups_use_the_callers_credential(stack):
    url, tenants = stack
    alice, bob = tenants["alice"], tenants["bob"]
    with httpx.Client(timeout=30) as client:
        ids = [node["id"] for node in traverse(client, url, headers_of(alice))[:6]]
        own = client.post(f"{url}/graphql", json={"query": LOOKUP, "variables": {"ids": ids}}, headers=headers_of(alice)).json()
        assert [node["id"] for node in own["data"]["nodes"]] == ids
        # Bob names Alice's jobs: his tenants do not know them.
        other = client.post(f"{url}/graphql", json={"query": LOOKUP, "variables": {"ids": ids}}, headers=headers_of(bob)).json()
        reference = client.post(f"{tenants['bob'].direct_url}/graphql", json={"query": LOOKUP, "variables": {"ids": ids}}).json()
        assert other["data"]["nodes"] == reference["data"]["nodes"]  # what Bob's own upstreams say
        assert other["data"]["nodes"] != own["data"]["nodes"]


def test_concurrent_identical_queries_from_two_callers_are_not_shared(stack):
    url, tenants = stack

    async def run() -> dict[str, list[set[str]]]:
        async with httpx.AsyncClient(timeout=30) as client:
            async def one(name: str) -> tuple[str, set[str]]:
                body = (await client.post(f"{url}/graphql", json={"query": PAGE, "variables": {"first": 20}}, headers=headers_of(tenants[name]))).json()
                return name, {edge["node"]["sourceId"] for edge in body["data"]["jobs"]["edges"]}

            results = await asyncio.gather(*(one(name) for _ in range(10) for name in tenants))
        by_name: dict[str, list[set[str]]] = {}
        for name, ids in results:
            by_name.setdefault(name, []).append(ids)
        return by_name

    by_name = asyncio.run(run())
    alice, bob = by_name["alice"], by_name["bob"]
    assert all(ids == alice[0] for ids in alice) and all(ids == bob[0] for ids in bob)
    assert not alice[0] & bob[0]


def test_a_missing_header_skips_that_source_with_a_message(stack):
    url, tenants = stack
    with httpx.Client(timeout=30) as client:
        body = client.post(
            f"{url}/graphql", json={"query": PAGE, "variables": {"first": 10}}, headers=headers_of(tenants["alice"], docurift=False)
        ).json()
    page = body["data"]["jobs"]
    states = {s["source"]: (s["state"], s["message"]) for s in page["sources"]}
    assert states["DEVREV"][0] == "OK"
    assert states["DOCURIFT"][0] == "SKIPPED" and "X-DocuRift-Key" in states["DOCURIFT"][1]
    assert {edge["node"]["source"] for edge in page["edges"]} == {"DEVREV"}
    assert decode_job_id(page["edges"][0]["node"]["id"])[1] == page["edges"][0]["node"]["sourceId"]


def test_a_wrong_credential_is_that_sources_failure_and_no_secret_leaks(stack, caplog):
    url, tenants = stack
    wrong = {"X-DevRev-Token": "dvr-not-a-tenant-9999", "X-DocuRift-Key": tenants["bob"].key}
    caplog.set_level(logging.DEBUG)
    with httpx.Client(timeout=30) as client:
        response = client.post(f"{url}/graphql", json={"query": PAGE, "variables": {"first": 10}}, headers=wrong)
    body = response.json()
    codes = {(e["extensions"]["code"], e["extensions"].get("source")) for e in body["errors"]}
    assert ("UPSTREAM_AUTH", "DevRev") in codes
    assert {edge["node"]["source"] for edge in body["data"]["jobs"]["edges"]} == {"DOCURIFT"}
    for secret in [*SECRETS, "dvr-not-a-tenant-9999"]:
        assert secret not in response.text
        assert secret not in caplog.text


def test_server_mode_ignores_forwarded_headers():
    from live import gateway_stack

    with gateway_stack(token="server-token", key="frc_server0000000000000000000000000001", count=10) as live:
        with httpx.Client(timeout=30) as client:
            body = client.post(
                f"{live.url}/graphql",
                json={"query": PAGE, "variables": {"first": 50}},
                headers={"X-DevRev-Token": "someone-else", "X-DocuRift-Key": "frc_someone"},
            ).json()
    assert "errors" not in body
    assert len(body["data"]["jobs"]["edges"]) == 20


def test_forward_mode_is_a_setting():
    assert Settings.from_env({"CREDENTIALS_MODE": "forward"}).credentials_mode == "forward"
    assert Settings.from_env({}).credentials_mode == "server"
    with pytest.raises(ValueError, match="CREDENTIALS_MODE"):
        Settings.from_env({"CREDENTIALS_MODE": "both"})
