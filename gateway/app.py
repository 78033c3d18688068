"""The ASGI app: Starlette routes, one shared HTTP client opened and closed with the app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL

from gateway import graphiql
from gateway.config import Settings
from gateway.context import RequestContext
from gateway.schema import build_schema
from gateway.sources import build_sources
from gateway.sources.base import Unconfigured
from gateway.upstream import DeadlineMiddleware, Metrics, UpstreamPolicy


class GatewayGraphQL(GraphQL):
    async def get_context(self, request: Any, response: Any) -> RequestContext:
        return RequestContext(request.app.state.sources)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        return graphiql.page(request, self.schema)  # served assets, no CDN once fetched


async def metrics(request: Request) -> PlainTextResponse:
    """Per-source upstream counters and breaker state, in Prometheus' text format."""
    return PlainTextResponse(request.app.state.metrics.prometheus(), media_type="text/plain; version=0.0.4")


async def healthz(request: Request) -> JSONResponse:
    sources = {
        source.source.value: ("unconfigured" if isinstance(source, Unconfigured) else "configured")
        for source in request.app.state.sources
    }
    return JSONResponse({"status": "ok", "sources": sources})


def create_app(
    settings: Settings | None = None,
    *,
    policy: UpstreamPolicy | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The gateway. `transport` lets tests and the demo route upstream calls in-process."""
    settings = settings or Settings.from_env()
    policy = policy or UpstreamPolicy.from_env()
    registry = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        timeout = httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        async with httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport) as client:
            app.state.sources = build_sources(client, settings, policy, registry)
            app.state.metrics = registry
            yield

    graphql = GatewayGraphQL(build_schema(), graphql_ide="graphiql")
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            graphiql.mount(),
        ],
        lifespan=lifespan,
        # Every request gets one overall deadline that all its upstream calls share.
        middleware=[Middleware(DeadlineMiddleware, seconds=policy.request_deadline)],
    )


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory gateway.app:app_from_env`."""
    return create_app(Settings.from_env())
