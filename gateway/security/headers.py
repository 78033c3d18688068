"""Security headers on every response, the refusals of the layers inside included.

API answers are data, never a page: a Content-Security-Policy that allows nothing, no
framing, no sniffing, no caching. A response that brings its own policy (the GraphiQL
page, with a nonce for its script) keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.security.paths import route_path

API_CSP = "default-src 'none'; frame-ancestors 'none'"

ALWAYS: Mapping[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """Adds `ALWAYS`, a CSP unless the response set one, and `no-store` outside `cacheable`."""

    def __init__(self, app: ASGIApp, *, cacheable: tuple[str, ...] = ()) -> None:
        self.app = app
        self.cacheable = cacheable  # path prefixes of static files, which may be cached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        store = not route_path(scope).startswith(self.cacheable)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers[name] = value
                headers.setdefault("Content-Security-Policy", API_CSP)
                if store:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
