"""Reference DocuRift endpoints: the simulator's list/get code as it was before caching.

Kept verbatim (filter and sort a fresh snapshot on every request) as the oracle
for test_equivalence.py; it shares the fast app's store and clock.
"""

from __future__ import annotations

import hmac
import math
import re
from datetime import datetime
from typing import Any

from reference_faults import ReferenceFaultMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.simulators.data import DOCURIFT_FILTER_TYPES
from gateway.simulators.docurift import DocuRiftStyle, docurift_error
from gateway.simulators.fastlane import FastLane
from gateway.simulators.faults import MISSING_FIELD_KEY, Faults
from gateway.simulators.state import SimState
from gateway.simulators.store import JobStore
from gateway.simulators.timefmt import parse_ts

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
STATUSES = ("pending", "processing", "completed", "failed")


class _Invalid(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


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


def reference_docurift_app(store: JobStore, clock: Any, faults: Faults, credential: str) -> Starlette:
    """The old endpoints over `store` and `clock`, with their own fault dice and counters."""
    from gateway.simulators.docurift import _not_allowed, _not_found

    sim = SimState(store=store, clock=clock, faults=faults, credential=credential)
    app = Starlette(
        routes=[
            Route("/v1/jobs", list_jobs, methods=["GET"]),
            Route("/v1/jobs/{job_id}", get_job, methods=["GET"]),
        ],
        middleware=[
            Middleware(ReferenceFaultMiddleware, sim=sim, style=DocuRiftStyle()),
            # Routing, not caching: an id's encoded '/' stays in it (issue 16), as in the simulator.
            Middleware(FastLane, exact={}, segment={("GET", "/v1/jobs/"): (get_job, "job_id")}),
        ],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
