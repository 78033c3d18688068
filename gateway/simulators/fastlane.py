"""Direct dispatch of the hot API endpoints, past Starlette's router.

Routing, exception wrapping and per-route scope bookkeeping cost about as much
as answering a cached request. This sits inside `FaultMiddleware` (faults,
latency and counters still apply) and takes only requests the router would
send to the very same endpoint: an exact method and path, or one path segment
after a prefix. A segment is taken as sent, then decoded: an encoded '/' (`%2F`) in it
is part of the id, as servers that route on the raw path see it (Starlette's router
would split it). Everything else (HEAD, 404/405 wording, admin paths) goes the
usual way, and an endpoint's exception still reaches Starlette's 500 handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["Endpoint", "FastLane"]

Endpoint = Callable[[Request], Awaitable[Response]]


class FastLane:
    """`exact`: (method, path) -> endpoint; `segment`: (method, prefix) -> (endpoint, param)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        exact: Mapping[tuple[str, str], Endpoint],
        segment: Mapping[tuple[str, str], tuple[Endpoint, str]] | None = None,
    ) -> None:
        self.app = app
        self.exact = dict(exact)
        self.segment = dict(segment or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._route(scope) if scope["type"] == "http" else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def _route(self, scope: Scope) -> Endpoint | None:
        if scope.get("root_path"):  # the router would strip it first; let it
            return None
        method: str = scope["method"]
        path: str = scope["path"]
        endpoint = self.exact.get((method, path))
        if endpoint is not None or not self.segment:
            return endpoint
        prefix, _, rest = _raw_path(scope).rpartition("/")
        found = self.segment.get((method, prefix + "/"))
        if found is None or not rest:
            return None
        endpoint, param = found
        scope["path_params"] = {param: unquote(rest)}
        return endpoint


def _raw_path(scope: Scope) -> str:
    """The path as sent: a segment may hold an encoded '/' (`%2F`), which `path` has decoded."""
    raw = scope.get("raw_path")
    if not raw:
        return quote(scope["path"])
    return raw.decode("latin-1").partition("?")[0]  # httpx's ASGI transport includes the query
