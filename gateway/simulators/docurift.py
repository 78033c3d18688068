"""A faithful stand-in for DocuRift's `GET /v1/jobs` and `GET /v1/jobs/{id}`.

Offset pages (which shift when a job is created mid-walk), second-precision
timestamps with many ties, single-value filters and DocuRift's error envelope
(`{"success": false, "error": {"code", "message"}}`) are all reproduced.
"""

from __future__ import annotations

import hmac
import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .admin import admin_routes
from .clock import SimClock
from .data import DOCURIFT_FILTER_TYPES, seed_docurift
from .faults import MISSING_FIELD_KEY, FaultMiddleware, Faults
from .state import SimState
from .store import JobStore, Run, StoredJob, digest_hex, timestamp_field
from .timefmt import canonical_docurift, docurift_ts, parse_ts

__all__ = ["create_docurift_app", "DocuRiftStore", "DocuRiftStyle", "docurift_error"]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
STATUSES = ("pending", "processing", "completed", "failed")
WIRE_ORDER = (
    "id",
    "status",
    "progress",
    "documentType",
    "documentId",
    "error",
    "createdAt",
    "updatedAt",
    "completedAt",
    "failedAt",
)
DEFAULT_FAILURE = {"code": "PROCESSING_FAILED", "message": "The document could not be processed"}


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


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DocuRiftStyle:
    """How DocuRift words injected failures."""

    def classify(self, path: str) -> Literal["list", "get"] | None:
        if path == "/v1/jobs":
            return "list"
        if path.startswith("/v1/jobs/") and "/" not in path[len("/v1/jobs/") :]:
            return "get"
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


# --- storage ----------------------------------------------------------------


def _document_id(job_id: str) -> str:
    return f"doc_{digest_hex('document:' + job_id, 12)}"


def _ordered(job: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in the order the docs show them; unknown keys last."""
    ordered = {key: job[key] for key in WIRE_ORDER if key in job}
    ordered.update({k: v for k, v in job.items() if k not in ordered})
    return ordered


class DocuRiftStore(JobStore):
    """DocuRift jobs; a processing job advances with the clock until completed."""

    def build(self, job: Mapping[str, Any], now: datetime) -> StoredJob:
        given = dict(job)
        private = sorted(k for k in given if k.startswith("_"))
        if private:
            raise ValueError(f"unknown control field(s): {', '.join(private)}")
        status = given.get("status", "pending")
        progress = given.get("progress", 100 if status == "completed" else 0)
        created = timestamp_field(given, "createdAt", docurift_ts(now), canonical_docurift)
        updated = timestamp_field(given, "updatedAt", created, canonical_docurift)
        job_id = given.get("id") or self._new_id(created)
        if not isinstance(job_id, str):
            raise ValueError("id must be a string")
        wire: dict[str, Any] = {
            "id": job_id,
            "status": status,
            "progress": progress,
            "documentType": given.get("documentType", "general"),
            "createdAt": created,
            "updatedAt": updated,
        }
        if status == "completed":
            wire["documentId"] = given.get("documentId", _document_id(job_id))
            wire["completedAt"] = timestamp_field(given, "completedAt", updated, canonical_docurift)
        if status == "failed":
            wire["error"] = given.get("error", dict(DEFAULT_FAILURE))
            wire["failedAt"] = timestamp_field(given, "failedAt", updated, canonical_docurift)
        wire.update({k: v for k, v in given.items() if k not in wire})
        run = None
        if status == "processing":
            if isinstance(progress, bool) or not isinstance(progress, int):
                raise ValueError("progress of a processing job must be an integer")
            if progress < 100:
                run = Run(t0=now, p0=progress)
        return StoredJob(wire=_ordered(wire), run=run)

    def render(self, item: StoredJob, now: datetime) -> dict[str, Any]:
        if item.run is None:
            return dict(item.wire)
        job = dict(item.wire)
        tick = item.run.at(now)
        job["progress"] = tick.progress
        if tick.changed_at is not None:
            job["updatedAt"] = docurift_ts(tick.changed_at)
        if tick.done:
            job["status"] = "completed"
            job["documentId"] = _document_id(item.id)
            job["completedAt"] = job["updatedAt"]
            return _ordered(job)
        return job

    def _new_id(self, created: str) -> str:
        salt = 0
        while True:
            candidate = f"job_{digest_hex(f'{self.added}:{created}:{salt}', 12)}"
            if self.get(candidate) is None:
                return candidate
            salt += 1


# --- GET /v1/jobs -------------------------------------------------------------


def _one(request: Request, name: str) -> str | None:
    """A single-valued parameter; empty counts as absent, repeated is an error."""
    values = [v for v in request.query_params.getlist(name) if v != ""]
    if len(values) > 1:
        raise _Invalid("INVALID_PARAMETER", f"Invalid {name}. Only one value is allowed")
    return values[0] if values else None


def _positive(request: Request, name: str, default: int) -> int:
    value = _one(request, name)
    if value is None:
        return default
    if not re.fullmatch(r"[+-]?\d+", value.strip()) or int(value) < 1:
        raise _Invalid("INVALID_PARAMETER", f"Invalid {name}. Must be a positive integer")
    return int(value)


def _choice(request: Request, name: str, allowed: tuple[str, ...], label: str) -> str | None:
    value = _one(request, name)
    if value is not None and value not in allowed:
        raise _Invalid(
            "INVALID_PARAMETER", f"Invalid {label}. Must be one of: {', '.join(allowed)}"
        )
    return value


def _date(request: Request, name: str) -> datetime | None:
    value = _one(request, name)
    if value is None:
        return None
    try:
        return parse_ts(value)
    except ValueError:
        raise _Invalid("INVALID_DATE_FORMAT", f"{name} must be a valid ISO 8601 date") from None


def _sim(request: Request) -> SimState:
    return request.app.state.sim  # type: ignore[no-any-return]


def _auth_error(request: Request) -> Response | None:
    """X-API-Key wins over Authorization; missing → UNAUTHORIZED, wrong → INVALID_API_KEY."""
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        key = value.strip() if scheme.lower() == "bearer" else ""
    if not key:
        return docurift_error(401, "UNAUTHORIZED", "Missing or invalid authentication credentials")
    if not hmac.compare_digest(key.encode(), _sim(request).credential.encode()):
        return docurift_error(401, "INVALID_API_KEY", "The provided API key is invalid or expired")
    return None


def _drop_field(jobs: list[dict[str, Any]], request: Request, field: str) -> None:
    """The `missing_field` fault: the first job loses a required field."""
    if request.scope.get(MISSING_FIELD_KEY) and jobs:
        jobs[0] = {k: v for k, v in jobs[0].items() if k != field}


async def list_jobs(request: Request) -> Response:
    if (denied := _auth_error(request)) is not None:
        return denied
    try:
        page = _positive(request, "page", 1)
        limit = min(_positive(request, "limit", DEFAULT_LIMIT), MAX_LIMIT)
        status = _choice(request, "status", STATUSES, "status filter")
        document_type = _choice(
            request, "documentType", DOCURIFT_FILTER_TYPES, "documentType filter"
        )
        sort_by = _choice(request, "sortBy", ("createdAt", "updatedAt"), "sortBy") or "createdAt"
        sort_order = _choice(request, "sortOrder", ("asc", "desc"), "sortOrder") or "desc"
        start, end = _date(request, "startDate"), _date(request, "endDate")
        if start is not None and end is not None and end < start:
            raise _Invalid("INVALID_DATE_RANGE", "endDate is before startDate")
    except _Invalid as exc:
        return docurift_error(400, exc.code, exc.message)

    sim = _sim(request)
    rows = []
    for _, job in sim.store.snapshot(sim.clock.now()):
        if status is not None and job.get("status") != status:
            continue
        if document_type is not None and job.get("documentType") != document_type:
            continue
        if start is not None or end is not None:
            created = parse_ts(job["createdAt"])
            if (start is not None and created < start) or (end is not None and created > end):
                continue
        rows.append(job)
    rows.sort(key=lambda job: (job[sort_by], job["id"]), reverse=sort_order == "desc")

    total = len(rows)
    total_pages = math.ceil(total / limit)
    jobs = rows[(page - 1) * limit : page * limit]
    _drop_field(jobs, request, "createdAt")
    sim.stats.items_served += len(jobs)
    pagination = {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": total_pages,
        "hasNextPage": page < total_pages,
        "hasPrevPage": page > 1,
    }
    return JSONResponse({"success": True, "data": {"jobs": jobs, "pagination": pagination}})


async def get_job(request: Request) -> Response:
    if (denied := _auth_error(request)) is not None:
        return denied
    sim = _sim(request)
    job_id = request.path_params["job_id"]
    item = sim.store.get(job_id)
    if item is None:
        return docurift_error(404, "NOT_FOUND", f"Job {job_id} not found")
    jobs = [sim.store.render(item, sim.clock.now())]
    _drop_field(jobs, request, "createdAt")
    sim.stats.items_served += 1
    return JSONResponse({"success": True, "data": jobs[0]})


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
    app = Starlette(
        routes=[
            Route("/v1/jobs", list_jobs, methods=["GET"]),
            Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
            *admin_routes(),
        ],
        middleware=[Middleware(FaultMiddleware, sim=sim, style=DocuRiftStyle())],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
