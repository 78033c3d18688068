"""GraphiQL served by the gateway itself, from assets fetched off the npm registry at build time.

Strawberry's page loads React and GraphiQL from a CDN, which a browser on a closed network
cannot reach. `gateway fetch-graphiql` packs the same files (same versions, same integrity
hashes) with `npm pack` into a cache directory; the gateway serves them under
`/graphiql/assets/` and points its page there. Without them the page still works from the
CDN and says how to fetch them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

CDN = "https://unpkg.com"
ASSETS_PATH = "/graphiql/assets"
DIR_ENV = "GATEWAY_GRAPHIQL_DIR"


@dataclass(frozen=True)
class Asset:
    """One file of one npm package, pinned by the hash strawberry's own page pins it by."""

    package: str
    version: str
    path: str
    integrity: str
    kind: Literal["script", "style"]

    @property
    def relative(self) -> str:
        return f"{self.package}@{self.version}/{self.path}"


# Strawberry's versions and hashes (strawberry/static/graphiql.html), in load order.
ASSETS: tuple[Asset, ...] = (
    Asset("react", "18.2.0", "umd/react.production.min.js",
          "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8", "script"),
    Asset("react-dom", "18.2.0", "umd/react-dom.production.min.js",
          "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh", "script"),
    Asset("graphiql", "3.8.3", "graphiql.min.css",
          "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM", "style"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/style.css",
          "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi", "style"),
    Asset("graphiql", "3.8.3", "graphiql.min.js",
          "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie", "script"),
    Asset("@graphiql/plugin-explorer", "1.0.2", "dist/index.umd.js",
          "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9", "script"),
)


def asset_dir() -> Path:
    """Where fetched assets live: `$GATEWAY_GRAPHIQL_DIR`, else `gateway/static/graphiql/`."""
    configured = os.environ.get(DIR_ENV)
    return Path(configured) if configured else Path(__file__).resolve().parent / "static" / "graphiql"


def fetched(directory: Path | None = None) -> bool:
    """True when every asset is on disk, so the page can do without the CDN."""
    root = directory or asset_dir()
    return all((root / asset.relative).is_file() for asset in ASSETS)


def integrity(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def fetch(directory: Path | None = None, *, npm: str = "npm") -> list[Path]:
    """Pack each package with npm (its cache and registry settings apply) and keep the files.

    Every file is checked against its pinned hash before it is written, so a registry or
    cache can never put other code into the page.
    """
    root = directory or asset_dir()
    executable = shutil.which(npm)
    if executable is None:
        raise RuntimeError(f"{npm} not found: install Node.js and npm to fetch the GraphiQL assets")
    specs = sorted({f"{asset.package}@{asset.version}" for asset in ASSETS})
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="graphiql-") as tmp:
        packed = subprocess.run(
            [executable, "pack", "--json", "--pack-destination", tmp, *specs],
            check=True, capture_output=True, text=True, cwd=tmp,
        )
        tarballs = {f"{item['name']}@{item['version']}": Path(tmp) / item["filename"] for item in json.loads(packed.stdout)}
        for asset in ASSETS:
            with tarfile.open(tarballs[f"{asset.package}@{asset.version}"]) as tar:
                member = tar.extractfile(f"package/{asset.path}")
                if member is None:
                    raise RuntimeError(f"{asset.relative} is not a file in its package")
                data = member.read()
            if integrity(data) != asset.integrity:
                raise RuntimeError(f"{asset.relative} does not match its pinned hash {asset.integrity}")
            target = root / asset.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            partial.write_bytes(data)
            partial.replace(target)
            written.append(target)
    return written


class _Assets(StaticFiles):
    """Static files that answer 404, not 500, while the assets are not fetched yet."""

    async def check_config(self) -> None:
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()


def wants_ide(method: str, query_params: Mapping[str, str], accept: str) -> bool:
    """Strawberry's rule for "this GET is a browser asking for the IDE", in one place.

    The view and the auth middleware both use it: the page is public (it holds no data
    and has a headers editor for the key), the API behind it is not.
    """
    return method == "GET" and query_params.get("query") is None and ("text/html" in accept or "*/*" in accept)


def content_security_policy(nonce: str, *, cdn: str | None) -> str:
    """What the page may load: its own assets (or the CDN's), one nonce'd inline script.

    GraphiQL and React set inline styles, so styles keep 'unsafe-inline'; scripts do not.
    The page talks only to this gateway (`connect-src 'self'`).
    """
    hosts = f" {cdn}" if cdn else ""
    return "; ".join([
        "default-src 'none'",
        f"script-src 'self'{hosts} 'nonce-{nonce}'",
        f"style-src 'self'{hosts} 'unsafe-inline'",
        "img-src 'self' data:",
        f"font-src 'self'{hosts} data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def mount() -> Mount:
    """The static route for the assets; it exists even before they are fetched."""
    return Mount(ASSETS_PATH, app=_Assets(directory=asset_dir(), check_dir=False), name="graphiql-assets")


def page(request: Request, schema: Any, *, default_headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """The GraphiQL page for this request.

    `default_headers` prefill the headers editor: inbound auth passes its API-key header here.
    """
    local = fetched()
    base = request.scope.get("root_path", "") + ASSETS_PATH if local else CDN
    nonce = secrets.token_urlsafe(18)  # fresh per response: only this page's own script runs
    html = render(
        assets_base=base,
        local=local,
        subscriptions=getattr(schema, "subscription", None) is not None,
        default_headers=default_headers or {},
        nonce=nonce,
    )
    policy = content_security_policy(nonce, cdn=None if local else CDN)
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


def render(
    *,
    assets_base: str,
    local: bool,
    subscriptions: bool,
    default_headers: Mapping[str, str],
    nonce: str | None = None,
) -> str:
    """The page's HTML: strawberry's GraphiQL setup, with asset URLs under `assets_base`."""
    styles = "\n    ".join(_tag(asset, assets_base) for asset in ASSETS if asset.kind == "style")
    scripts = "\n    ".join(_tag(asset, assets_base) for asset in ASSETS if asset.kind == "script")
    headers_text = json.dumps(dict(default_headers), indent=2) if default_headers else ""
    replacements = {
        "{{STYLES}}": styles,
        "{{SCRIPTS}}": scripts,
        "{{NOTE}}": "" if local else _CDN_NOTE,
        "{{NONCE}}": f' nonce="{nonce}"' if nonce else "",
        "{{CONFIG}}": _script_json({"subscriptions": subscriptions, "defaultHeaders": headers_text, "example": EXAMPLE_QUERY}),
    }
    html = _TEMPLATE
    for token, value in replacements.items():
        html = html.replace(token, value)
    return html


def _tag(asset: Asset, base: str) -> str:
    url = f"{base}/{asset.relative}"
    if asset.kind == "style":
        return f'<link rel="stylesheet" crossorigin href="{url}" integrity="{asset.integrity}" />'
    return f'<script crossorigin src="{url}" integrity="{asset.integrity}"></script>'


def _script_json(value: Any) -> str:
    """JSON that is safe inside a <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


EXAMPLE_QUERY = """# Jobs from DevRev and DocuRift, merged newest first.
# Run with Ctrl-Enter; pass pageInfo.endCursor as "after" for the next page.
query Jobs($first: Int = 10, $after: String) {
  jobs(first: $first, after: $after) {
    totalCount
    sources { source state totalCount message }
    edges { cursor node { id source title status progress createdAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

_CDN_NOTE = """<div id="graphiql-note" role="status">
      GraphiQL is loading from unpkg.com because its assets have not been fetched, so this page
      needs the internet. Run <code>gateway fetch-graphiql</code> (needs npm) and reload to serve
      them from this gateway.
    </div>"""

_TEMPLATE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Job Gateway · GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      html, body { height: 100%; margin: 0; overflow: hidden; }
      body { display: flex; flex-direction: column; }
      #graphiql { flex: 1; min-height: 0; display: flex; }
      #graphiql-note { padding: 8px 16px; background: #fff4ce; color: #3b2f00; font: 14px/1.4 sans-serif; border-bottom: 1px solid #e0c060; }
      .graphiql-explorer-actions select { margin-left: 4px; }
    </style>
    {{STYLES}}
  </head>
  <body>
    {{NOTE}}
    <div id="graphiql" class="graphiql-container">Loading...</div>
    {{SCRIPTS}}
    <script{{NONCE}}>
      const CONFIG = {{CONFIG}};

      // URL parameters share a query, its variables and headers, as in strawberry's page.
      const parameters = {};
      for (const entry of window.location.search.slice(1).split("&")) {
        const eq = entry.indexOf("=");
        if (eq >= 0) {
          parameters[decodeURIComponent(entry.slice(0, eq))] = decodeURIComponent(entry.slice(eq + 1));
        }
      }

      function updateURL(data) {
        Object.assign(parameters, data);
        const search = "?" + Object.keys(parameters)
          .filter(function (key) { return Boolean(parameters[key]); })
          .map(function (key) { return encodeURIComponent(key) + "=" + encodeURIComponent(parameters[key]); })
          .join("&");
        history.replaceState(null, null, search);
      }

      const fetchURL = window.location.href.split("?")[0];

      function webSocketURL(url) {
        const parsed = new URL(url);
        parsed.protocol = parsed.protocol === "http:" ? "ws:" : "wss:";
        parsed.hash = "";
        return parsed.toString();
      }

      const defaultHeaders = {};
      const csrf = document.cookie.match(/(?:^|;\\s*)csrftoken=([^;]*)/);
      if (csrf) {
        defaultHeaders["x-csrftoken"] = decodeURIComponent(csrf[1]);
      }

      const fetcher = GraphiQL.createFetcher({
        url: fetchURL,
        headers: defaultHeaders,
        subscriptionUrl: CONFIG.subscriptions ? webSocketURL(fetchURL) : undefined,
      });

      function GatewayGraphiQL() {
        const [query, setQuery] = React.useState(parameters.q || CONFIG.example);
        const [variables, setVariables] = React.useState(parameters.variables);
        const [headers, setHeaders] = React.useState(parameters.headers);
        const explorer = React.useMemo(function () { return GraphiQLPluginExplorer.explorerPlugin(); }, []);

        return React.createElement(GraphiQL, {
          fetcher: fetcher,
          defaultEditorToolsVisibility: true,
          plugins: [explorer],
          query: query,
          variables: variables,
          headers: headers,
          defaultHeaders: CONFIG.defaultHeaders || undefined,
          onEditQuery: function (value) { setQuery(value); updateURL({ q: value }); },
          onEditVariables: function (value) { setVariables(value); updateURL({ variables: value }); },
          onEditHeaders: function (value) { setHeaders(value); },
          inputValueDeprecation: true,
          isHeadersEditorEnabled: true,
          // Headers may hold an API key or an upstream token: keep them out of localStorage.
          shouldPersistHeaders: false,
        });
      }

      ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GatewayGraphiQL));
    </script>
  </body>
</html>
"""
