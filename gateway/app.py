"""The ASGI app: Starlette routes, one shared HTTP client opened and closed with the app."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import orjson
from cross_web import HTTPException as ViewHTTPException
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.base import BaseSchema

from gateway import graphiql
from gateway.admission import Admission, AdmissionMiddleware, AdmissionSettings
from gateway.config import Settings
from gateway.context import RequestContext
from gateway.schema import build_schema
from gateway.security import SecuritySettings
from gateway.security.auth import Authenticator, AuthMiddleware, public_routes
from gateway.security.body import BodyLimitMiddleware, check_operations
from gateway.security.cors import cors_middleware
from gateway.security.errors import (
    TOO_MANY_OPERATIONS,
    Rejection,
    code_for_status,
    error_response,
    http_exception,
)
from gateway.security.headers import SecurityHeadersMiddleware
from gateway.engine.cursor import cursor_key
from gateway.pagination import SharedPages
from gateway.sources import build_sources
from gateway.sources.base import Unconfigured
from gateway.upstream import DeadlineMiddleware, Metrics, UpstreamPolicy


# The body `parse_http_body` checked, with its parse, for strawberry's own `parse_json` call
# in the same request (a context variable: each request is its own task).
_parsed_body: contextvars.ContextVar[tuple[bytes, Any] | None] = contextvars.ContextVar("parsed_body", default=None)


class GatewayGraphQL(GraphQL):
    """Strawberry's view, with every refusal coded and GraphQL-shaped instead of plain text."""

    def __init__(self, schema: BaseSchema, *, security: SecuritySettings, ide_headers: Mapping[str, str] | None = None) -> None:
        super().__init__(schema, graphql_ide="graphiql" if security.graphiql else None)
        self.max_operations = security.max_operations
        self.ide_headers = dict(ide_headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except Rejection as rejection:
            response = rejection.response()
        except ViewHTTPException as error:  # strawberry's own 400/404/405, plain text until here
            code = TOO_MANY_OPERATIONS if error.reason == "Too many operations" else code_for_status(error.status_code)
            response = error_response(error.status_code, code, error.reason)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> bytes:
        """orjson: the response of a 100-job page encodes several times faster (bench/README.md)."""
        return orjson.dumps(data)

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        state = request.app.state
        return RequestContext(state.sources.for_request(request.headers), cursor_key=state.cursor_key, pages=state.pages)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return graphiql.wants_ide(request.method, request.query_params, request.headers.get("accept", ""))

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        # Served assets (no CDN once fetched); the headers editor starts with the auth header.
        return graphiql.page(request, self.schema, default_headers=self.ide_headers)

    async def parse_http_body(self, request: Any) -> Any:
        """Check a JSON body's shape first: strawberry would answer a JSON string with a 500.

        The body is parsed once: strawberry's own parse of the same bytes, in this request's
        task, gets the result kept in `_parsed_body` (see `parse_json`).
        """
        content_type, _ = parse_content_type(request.content_type or "")
        if request.method == "POST" and "application/json" in content_type:
            batching = self.schema.config.batching_config
            limit = self.max_operations if batching is None else min(self.max_operations, batching["max_operations"])
            body = await request.get_body()
            data = self.parse_json(body)
            check_operations(data, batching=batching is not None, max_operations=limit)
            _parsed_body.set((body, data))
        return await super().parse_http_body(request)

    def parse_json(self, data: str | bytes) -> Any:
        parsed = _parsed_body.get()
        if parsed is not None and parsed[0] is data:
            return parsed[1]
        return super().parse_json(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)  # its errors are json.JSONDecodeError, as strawberry expects


class Gateway(Starlette):
    """Starlette with the security headers outside even its 500 handler: on every response."""

    def __init__(self, *args: Any, security_headers: Mapping[str, Any], **kwargs: Any) -> None:
        self.security_headers = dict(security_headers)
        super().__init__(*args, **kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeadersMiddleware(super().build_middleware_stack(), **self.security_headers)


async def metrics(request: Request) -> PlainTextResponse:
    """Per-source upstream counters, breaker state and admission, in Prometheus' text format."""
    text = request.app.state.metrics.prometheus() + request.app.state.admission.prometheus()
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4")


async def healthz(request: Request) -> JSONResponse:
    sources = {
        source.source.value: ("unconfigured" if isinstance(source, Unconfigured) else "configured")
        for source in request.app.state.sources
    }
    return JSONResponse({"status": "ok", "sources": sources})


async def internal_error(request: Request, exc: Exception) -> Response:
    """A bug outside GraphQL execution (which masks its own): coded, no traceback."""
    return error_response(500, "INTERNAL", "Internal server error.")


def create_app(
    settings: Settings | None = None,
    *,
    security: SecuritySettings | None = None,
    policy: UpstreamPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    admission: AdmissionSettings | None = None,
) -> Starlette:
    """The gateway. `transport` lets tests and the demo route upstream calls in-process.

    `security` defaults to the environment's (`SecuritySettings.from_env`); pass
    `SecuritySettings()` for the open demo. `admission` too (`AdmissionSettings.from_env`).
    """
    settings = settings or Settings.from_env()
    security = SecuritySettings.from_env() if security is None else security
    policy = policy or UpstreamPolicy.from_env()
    registry = Metrics()
    slots = Admission(AdmissionSettings.from_env() if admission is None else admission)
    authenticator = Authenticator.from_settings(security)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport) as client:
            app.state.sources = build_sources(client, settings, policy, registry)
            app.state.cursor_key = cursor_key(settings.cursor_secret)
            app.state.pages = SharedPages()  # identical pages in flight at once are made once
            app.state.metrics = registry
            yield

    ide_headers = authenticator.ide_headers if authenticator is not None else {}
    graphql = GatewayGraphQL(build_schema(), security=security, ide_headers=ide_headers)
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if security.graphiql:
        routes.append(graphiql.mount())
    auth = [] if authenticator is None else [
        Middleware(AuthMiddleware, authenticator=authenticator, public=public_routes(graphiql_on=security.graphiql))
    ]
    app = Gateway(
        routes=routes,
        lifespan=lifespan,
        # Outermost first: security headers (see Gateway), CORS, auth, body size, deadline,
        # admission.
        middleware=[
            *cors_middleware(security.cors_origins),
            *auth,
            Middleware(BodyLimitMiddleware, max_bytes=security.max_body_bytes),
            # Every request gets one overall deadline that all its upstream calls share; it
            # starts with the request's headers, so time spent queueing for a slot counts.
            Middleware(DeadlineMiddleware, seconds=policy.request_deadline),
            # A bounded number of requests in execution; the excess waits briefly, then 503.
            Middleware(AdmissionMiddleware, admission=slots, exempt=("/healthz", "/metrics")),
        ],
        exception_handlers={HTTPException: http_exception, 500: internal_error},
        security_headers={"cacheable": (graphiql.ASSETS_PATH + "/",)},
    )
    app.state.admission = slots
    return app


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory gateway.app:app_from_env`."""
    return create_app(Settings.from_env(), security=SecuritySettings.from_env())
