"""GraphiQL needs no internet: the page references only the gateway, proven in a real browser.

The page tests run anywhere. The browser tests drive Debian's Chromium with playwright-core
(`browser/graphiql-check.mjs`) against `gateway demo` with every non-loopback request aborted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import graphiql
from gateway.app import create_app
from gateway.config import Settings

from live import free_port, serve
from node_harness import ROOT, node_workspace, require

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
EXTERNAL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def unconfigured() -> Settings:
    return Settings(devrev_base_url="http://127.0.0.1:9", devrev_token=None, docurift_base_url="http://127.0.0.1:9", docurift_api_key=None)


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fetched assets: the ones `gateway fetch-graphiql` left, else fetched now with npm."""
    if graphiql.fetched():
        return graphiql.asset_dir()
    require("npm", shutil.which("npm") is not None, "install Node.js and npm, then run `gateway fetch-graphiql`")
    directory = tmp_path_factory.mktemp("graphiql-assets")
    graphiql.fetch(directory)
    return directory


@pytest.fixture
def asset_env(assets: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(graphiql.DIR_ENV, str(assets))
    return assets


# --- the page, without a browser ---------------------------------------------------------------


def test_page_with_fetched_assets_references_no_other_host(asset_env):
    with serve(create_app(unconfigured())) as url:
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert EXTERNAL.findall(page.text) == [] and "graphiql-note" not in page.text.split("<body>")[1]
        for asset in graphiql.ASSETS:
            assert f'"/graphiql/assets/{asset.relative}" integrity="{asset.integrity}"' in page.text
            served = httpx.get(f"{url}/graphiql/assets/{asset.relative}")
            assert served.status_code == 200 and graphiql.integrity(served.content) == asset.integrity
        assert httpx.get(f"{url}/graphiql/assets/../app.py").status_code == 404


def test_page_without_assets_uses_the_cdn_and_says_how_to_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv(graphiql.DIR_ENV, str(tmp_path / "nothing"))
    with serve(create_app(unconfigured())) as url:
        page = httpx.get(f"{url}/graphql", headers={"Accept": "text/html"}).text
        assert httpx.get(f"{url}/graphiql/assets/react@18.2.0/umd/react.production.min.js").status_code == 404
    hosts = {re.sub(r"^(?:https?:)?//([^/]+).*", r"\1", link) for link in EXTERNAL.findall(page)}
    assert hosts == {"unpkg.com"}
    assert 'id="graphiql-note"' in page and "gateway fetch-graphiql" in page


def test_default_headers_hook_prefills_the_headers_editor_safely():
    html = graphiql.render(assets_base="/a", local=True, subscriptions=True, default_headers={"X-API-Key": "</script><b>"})
    config = json.loads(re.search(r"const CONFIG = (.*);", html).group(1))  # type: ignore[union-attr]
    assert json.loads(config["defaultHeaders"]) == {"X-API-Key": "</script><b>"}
    assert config["subscriptions"] is True and "</script><b>" not in html
    plain = graphiql.render(assets_base="/a", local=True, subscriptions=False, default_headers={})
    assert json.loads(re.search(r"const CONFIG = (.*);", plain).group(1))["defaultHeaders"] == ""  # type: ignore[union-attr]


# --- in Chromium --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(assets: Path) -> Iterator[str]:
    """`gateway demo` as a person starts it, serving the fetched assets."""
    port = free_port()
    env = {**os.environ, graphiql.DIR_ENV: str(assets)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gateway demo did not start: {process.communicate(timeout=5)[1]}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> tuple[str, Path]:
    """Node with playwright-core installed, and Chromium: checked before any stack starts."""
    node, workspace = node_workspace("browser")
    require("Chromium", Path(CHROMIUM).exists(), f"{CHROMIUM} not found: `apt-get install chromium` (or set CHROMIUM)")
    return node, workspace


def browse(browser: tuple[str, Path], url: str, screenshot: Path, mode: str = "run") -> dict[str, Any]:
    node, workspace = browser
    done = subprocess.run(
        [node, "graphiql-check.mjs", "--url", url, "--screenshot", str(screenshot), "--chromium", CHROMIUM, "--mode", mode],
        check=False, cwd=workspace, capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout)


def loopback(url: str) -> bool:
    return re.match(r"^(?:data:|blob:|about:|https?://(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?/)", url) is not None


def test_graphiql_pages_through_both_sources_with_no_outside_request(browser, demo, tmp_path):
    screenshot = tmp_path / "graphiql.png"
    report = browse(browser, f"{demo}/graphql", screenshot)
    assert report["blocked"] == [], "the page asked for a host other than the gateway"
    assert report["requests"] and all(loopback(u) for u in report["requests"]), report["requests"]
    assert report["failed"] == [] and report["pageErrors"] == [] and report["consoleErrors"] == []
    assert report["note"] is None
    assert report["typed"].startswith("query Page($after: String) { jobs(first: 12, after: $after)")
    first, second = (page["result"] for page in report["pages"])
    assert "errors" not in first and "errors" not in second
    edges = first["data"]["jobs"]["edges"] + second["data"]["jobs"]["edges"]
    assert len(edges) == 24 and len({e["node"]["id"] for e in edges}) == 24
    assert {e["node"]["source"] for e in edges} == {"DEVREV", "DOCURIFT"}
    assert json.loads(report["variables"]) == {"after": first["data"]["jobs"]["pageInfo"]["endCursor"]}
    assert '"source"' in report["visibleResult"]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000


def test_without_assets_the_page_says_how_to_fetch_them(browser, tmp_path, monkeypatch):
    monkeypatch.setenv(graphiql.DIR_ENV, str(tmp_path / "nothing"))
    with serve(create_app(unconfigured())) as url:
        report = browse(browser, f"{url}/graphql", tmp_path / "fallback.png", mode="fallback")
    assert "gateway fetch-graphiql" in report["note"]
    assert report["blocked"] and all(u.startswith("https://unpkg.com/") for u in report["blocked"])
