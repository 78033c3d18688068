"""A faithful stand-in for DevRev's `jobs.list` and `jobs.get`.

Keyset cursors, open enums, millisecond timestamps with ties, and DevRev's
error bodies (`{"type", "message", "detail", ...}`) are all reproduced, so the
gateway meets the same edge cases it would meet at `api.devrev.ai`.

The list semantics live in `devrev_list`, the storage in `devrev_store`; this
module is the HTTP face: auth, parameters, errors, faults' wording.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import devrev_list
from .admin import admin_routes
from .clock import SimClock
from .data import seed_devrev
from .devrev_list import ARRAY_FIELDS, BadRequest, ListQuery
from .devrev_store import DevRevStore
from .fastlane import FastLane
from .faults import MISSING_FIELD_KEY, FaultMiddleware, Faults
from .state import SimState
from .view import Memo
from .wire import json_bytes, json_response

__all__ = ["create_devrev_app", "DevRevStore", "DevRevStyle", "devrev_error"]

PARSE_SLOTS = 1024
PARSE_MAX_BYTES = 4096
"""Parsed requests are memoised by their raw bytes (short ones only): parsing is pure."""

_KINDS: dict[str, Literal["list", "get"]] = {"/jobs.list": "list", "/jobs.get": "get"}


# --- errors -----------------------------------------------------------------

_TYPES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthenticated", "Unauthenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    413: ("request_entity_too_large", "Request entity too large"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal error"),
    503: ("service_unavailable", "Service unavailable"),
}


def devrev_error(
    status: int,
    type_: str,
    message: str,
    detail: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """DevRev's error body; field order follows the published examples."""
    body = {"detail": detail if detail is not None else message, "message": message, "type": type_}
    return JSONResponse({**body, **extra}, status_code=status, headers=headers)


def _bad_request(message: str) -> JSONResponse:
    return devrev_error(400, "bad_request", message)


class DevRevStyle:
    """How DevRev words injected failures."""

    def classify(self, path: str) -> Literal["list", "get"] | None:
        return _KINDS.get(path)

    def status_error(self, status: int, retry_after: int | None, reference_id: str) -> Response:
        default = _TYPES[400] if status < 500 else _TYPES[500]
        type_, message = _TYPES.get(status, default)
        extra: dict[str, Any] = {}
        headers: dict[str, str] = {}
        if type_ == "request_entity_too_large":
            extra["max_bytes"] = 1_048_576
        if type_ == "internal_error":
            extra["reference_id"] = reference_id
        if retry_after is not None and status in (429, 503):
            headers["Retry-After"] = str(retry_after)
            if status == 429:
                extra["retry_after"] = retry_after
        return devrev_error(status, type_, message, headers=headers, **extra)

    def malformed(self, path: str) -> Response:
        body = '{"jobs":[{"created_by":{"type":"dev_user","display_id":"DEVU-1","id":"don:ident'
        if path == "/jobs.get":
            body = '{"job":{"created_by":{"type":"dev_user","display_id":"DEVU-1","id":"don:ident'
        return Response(body, media_type="application/json")

    def envelope(self, path: str) -> Response:
        if path == "/jobs.get":
            return JSONResponse({"data": {"job": None}})
        return JSONResponse({"data": {"jobs": []}, "cursor": None})


# --- requests -----------------------------------------------------------------


async def _params(request: Request) -> dict[str, Any]:
    """GET query parameters or the POST JSON body, as one dict of fields."""
    if request.method == "GET":
        query = request.query_params
        params: dict[str, Any] = {n: query.getlist(n) for n in ARRAY_FIELDS if n in query}
        params.update({n: query[n] for n in ("cursor", "limit", "mode", "id") if n in query})
        return params
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


async def _raw(request: Request) -> tuple[bool, bytes]:
    """What `_params` reads: the query string for GET, the body otherwise."""
    if request.method == "GET":
        return True, request.scope["query_string"]
    return False, await request.body()


def _authorized(request: Request, expected: str) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def _unauthenticated() -> JSONResponse:
    return devrev_error(
        401, "unauthenticated", "Unauthenticated", "missing or invalid bearer token"
    )


class DevRevApi:
    """`jobs.list` and `jobs.get` for one simulator's state."""

    def __init__(self, sim: SimState) -> None:
        self.sim = sim
        self._queries = Memo(PARSE_SLOTS)  # raw request -> ListQuery
        self._ids = Memo(PARSE_SLOTS)  # raw request -> the `id` field (any JSON value)

    async def _query(self, request: Request) -> ListQuery:
        raw = await _raw(request)
        query: ListQuery | None = self._queries.peek(raw)
        if query is None:
            query = devrev_list.parse_list(await _params(request))
            if len(raw[1]) <= PARSE_MAX_BYTES:
                self._queries.put(raw, query)
        return query

    async def _job_id(self, request: Request) -> Any:
        raw = await _raw(request)
        found: tuple[Any] | None = self._ids.peek(raw)
        if found is None:
            found = ((await _params(request)).get("id"),)
            if len(raw[1]) <= PARSE_MAX_BYTES:
                self._ids.put(raw, found)
        return found[0]

    async def list_jobs(self, request: Request) -> Response:
        sim = self.sim
        if not _authorized(request, sim.credential):
            return _unauthenticated()
        try:
            query = await self._query(request)
            page = devrev_list.page(sim.store.view(sim.clock.now()), query)
        except BadRequest as exc:
            return _bad_request(exc.message)
        sim.stats.items_served += len(page.entries)
        return json_response(page.body("id" if request.scope.get(MISSING_FIELD_KEY) else None))

    async def get_job(self, request: Request) -> Response:
        sim = self.sim
        if not _authorized(request, sim.credential):
            return _unauthenticated()
        try:
            job_id = await self._job_id(request)
        except BadRequest as exc:
            return _bad_request(exc.message)
        if not isinstance(job_id, str) or not job_id:
            return _bad_request("id is required")
        entry = sim.store.view(sim.clock.now()).by_id.get(job_id)
        if entry is None:
            return devrev_error(404, "not_found", "Not found", f"job {job_id} does not exist")
        sim.stats.items_served += 1
        if request.scope.get(MISSING_FIELD_KEY):  # the fault: the job loses its id
            job = json_bytes({k: v for k, v in entry.job.items() if k != "id"})
        else:
            job = entry.json
        return json_response(b'{"job":' + job + b"}")


async def _not_found(request: Request, exc: Exception) -> Response:
    return devrev_error(404, "not_found", "Not found", f"no such endpoint: {request.url.path}")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return devrev_error(
        405,
        "bad_request",
        "Method not allowed",
        f"{request.method} is not supported here",
        headers=exc.headers,
    )


def create_devrev_app(
    *,
    token: str,
    seed: int = 7,
    count: int = 300,
    clock: SimClock | None = None,
    faults: Faults | None = None,
    jobs: list[dict[str, Any]] | None = None,
) -> Starlette:
    """A DevRev jobs API. `jobs`, if given, replaces the seeded data."""
    clock = clock if clock is not None else SimClock()
    store = DevRevStore(clock)
    if jobs is None:
        store.extend(seed_devrev(seed, count, clock.start))
    else:
        for job in jobs:
            store.add(job)
    sim = SimState(
        store=store,
        clock=clock,
        faults=faults if faults is not None else Faults(),
        credential=token,
    )
    api = DevRevApi(sim)
    app = Starlette(
        routes=[
            Route("/jobs.list", api.list_jobs, methods=["GET", "POST"]),
            Route("/jobs.get", api.get_job, methods=["GET", "POST"]),
            *admin_routes(),
        ],
        middleware=[
            Middleware(FaultMiddleware, sim=sim, style=DevRevStyle()),
            Middleware(
                FastLane,
                exact={
                    (method, path): endpoint
                    for path, endpoint in (("/jobs.list", api.list_jobs), ("/jobs.get", api.get_job))
                    for method in ("GET", "POST")
                },
            ),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
