"""A faithful stand-in for DocuRift's `GET /v1/jobs` and `GET /v1/jobs/{id}`.

Offset pages (which shift when a job is created mid-walk), second-precision
timestamps with many ties, single-value filters and DocuRift's error envelope
(`{"success": false, "error": {"code", "message"}}`) are all reproduced.

The list semantics live in `docurift_list`, the storage in `docurift_store`;
this module is the HTTP face: auth, errors, faults' wording.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import docurift_list
from .admin import admin_routes
from .clock import SimClock
from .data import seed_docurift
from .docurift_list import Invalid, ListParams
from .docurift_store import DocuRiftStore
from .fastlane import FastLane
from .faults import MISSING_FIELD_KEY, FaultMiddleware, Faults
from .state import SimState
from .view import Memo
from .wire import json_bytes, json_response

__all__ = ["create_docurift_app", "DocuRiftStore", "DocuRiftStyle", "docurift_error"]

PARSE_SLOTS = 1024
PARSE_MAX_BYTES = 4096
"""Parsed query strings are memoised (short ones only): parsing is pure."""


# --- errors -----------------------------------------------------------------

_CODES = {
    400: ("INVALID_PARAMETER", "Invalid query parameter value"),
    401: ("INVALID_API_KEY", "The provided API key is invalid or expired"),
    403: ("FORBIDDEN", "This API key may not access this resource"),
    404: ("NOT_FOUND", "Resource not found"),
    429: ("RATE_LIMIT_EXCEEDED", "Too many requests, please slow down"),
    500: ("INTERNAL_ERROR", "An unexpected error occurred"),
    503: ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable"),
}


def docurift_error(
    status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": code, "message": message}},
        status_code=status,
        headers=headers,
    )


class DocuRiftStyle:
    """How DocuRift words injected failures."""

    def classify(self, path: str) -> Literal["list", "get"] | None:
        if path == "/v1/jobs":
            return "list"
        if path.startswith("/v1/jobs/") and len(path) > len("/v1/jobs/"):
            return "get"  # `path` is decoded: an id's own '/' (sent as %2F) shows here
        return None

    def status_error(self, status: int, retry_after: int | None, reference_id: str) -> Response:
        default = ("BAD_REQUEST", "Bad request") if status < 500 else _CODES[500]
        code, message = _CODES.get(status, default)
        headers = {}
        if retry_after is not None and status in (429, 503):
            headers["Retry-After"] = str(retry_after)
        return docurift_error(status, code, message, headers=headers)

    def malformed(self, path: str) -> Response:
        if self.classify(path) == "get":
            return Response('{"success":true,"data":{"id":"job_', media_type="application/json")
        return Response(
            '{"success":true,"data":{"jobs":[{"id":"job_', media_type="application/json"
        )

    def envelope(self, path: str) -> Response:
        if self.classify(path) == "get":
            return JSONResponse({"success": True, "result": {}})
        return JSONResponse({"success": True, "data": {"results": [], "total": 0}})


# --- requests -----------------------------------------------------------------


def _auth_error(request: Request, expected: str) -> Response | None:
    """X-API-Key wins over Authorization; missing → UNAUTHORIZED, wrong → INVALID_API_KEY."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        key = value.strip() if scheme.lower() == "bearer" else ""
    if not key:
        return docurift_error(401, "UNAUTHORIZED", "Missing or invalid authentication credentials")
    if not hmac.compare_digest(key.encode(), expected.encode()):
        return docurift_error(401, "INVALID_API_KEY", "The provided API key is invalid or expired")
    return None


class DocuRiftApi:
    """`GET /v1/jobs` and `GET /v1/jobs/{id}` for one simulator's state."""

    def __init__(self, sim: SimState) -> None:
        self.sim = sim
        self._params = Memo(PARSE_SLOTS)  # raw query string -> ListParams

    def _list_params(self, request: Request) -> ListParams:
        raw: bytes = request.scope["query_string"]
        params: ListParams | None = self._params.peek(raw)
        if params is None:
            params = docurift_list.parse_list(request.query_params)
            if len(raw) <= PARSE_MAX_BYTES:
                self._params.put(raw, params)
        return params

    async def list_jobs(self, request: Request) -> Response:
        sim = self.sim
        if (denied := _auth_error(request, sim.credential)) is not None:
            return denied
        try:
            params = self._list_params(request)
        except Invalid as exc:
            return docurift_error(400, exc.code, exc.message)
        page = docurift_list.page(sim.store.view(sim.clock.now()), params)
        sim.stats.items_served += len(page.entries)
        drop = "createdAt" if request.scope.get(MISSING_FIELD_KEY) else None
        return json_response(page.body(drop))

    async def get_job(self, request: Request) -> Response:
        sim = self.sim
        if (denied := _auth_error(request, sim.credential)) is not None:
            return denied
        job_id = request.path_params["job_id"]
        entry = sim.store.view(sim.clock.now()).by_id.get(job_id)
        if entry is None:
            return docurift_error(404, "NOT_FOUND", f"Job {job_id} not found")
        sim.stats.items_served += 1
        if request.scope.get(MISSING_FIELD_KEY):  # the fault: the job loses createdAt
            job = json_bytes({k: v for k, v in entry.job.items() if k != "createdAt"})
        else:
            job = entry.json
        return json_response(b'{"success":true,"data":' + job + b"}")


async def _not_found(request: Request, exc: Exception) -> Response:
    return docurift_error(404, "NOT_FOUND", f"Route {request.method} {request.url.path} not found")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return docurift_error(
        405, "METHOD_NOT_ALLOWED", f"{request.method} is not supported here", headers=exc.headers
    )


def create_docurift_app(
    *,
    api_key: str,
    seed: int = 11,
    count: int = 300,
    clock: SimClock | None = None,
    faults: Faults | None = None,
    jobs: list[dict[str, Any]] | None = None,
) -> Starlette:
    """A DocuRift jobs API. `jobs`, if given, replaces the seeded data."""
    clock = clock if clock is not None else SimClock()
    store = DocuRiftStore(clock)
    if jobs is None:
        store.extend(seed_docurift(seed, count, clock.start))
    else:
        for job in jobs:
            store.add(job)
    sim = SimState(
        store=store,
        clock=clock,
        faults=faults if faults is not None else Faults(),
        credential=api_key,
    )
    api = DocuRiftApi(sim)
    app = Starlette(
        routes=[
            Route("/v1/jobs", api.list_jobs, methods=["GET"]),
            Route("/v1/jobs/{job_id}", api.get_job, methods=["GET"]),
            *admin_routes(),
        ],
        middleware=[
            Middleware(FaultMiddleware, sim=sim, style=DocuRiftStyle()),
            Middleware(
                FastLane,
                exact={("GET", "/v1/jobs"): api.list_jobs},
                segment={("GET", "/v1/jobs/"): (api.get_job, "job_id")},
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
