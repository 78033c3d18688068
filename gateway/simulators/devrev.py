"""A faithful stand-in for DevRev's `jobs.list` and `jobs.get`.

Keyset cursors, open enums, millisecond timestamps with ties, and DevRev's
error bodies (`{"type", "message", "detail", ...}`) are all reproduced, so the
gateway meets the same edge cases it would meet at `api.devrev.ai`.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import cursor
from .admin import admin_routes
from .clock import SimClock
from .data import DEVREV_USERS, seed_devrev
from .faults import MISSING_FIELD_KEY, FaultMiddleware, Faults
from .state import SimState
from .store import JobStore, Run, StoredJob, digest_hex, timestamp_field
from .timefmt import canonical_devrev, devrev_ts

__all__ = ["create_devrev_app", "DevRevStore", "DevRevStyle", "devrev_error"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_SORT = ("created_date:desc",)
SORT_FIELDS = ("created_date", "modified_date")
ARRAY_FIELDS = ("category", "created_by", "owned_by_id", "parent_ids", "sort_by", "state")
WIRE_ORDER = (
    "created_by",
    "created_date",
    "display_id",
    "id",
    "modified_by",
    "modified_date",
    "object_version",
    "job_category",
    "job_id",
    "metadata_list",
    "output_artifacts",
    "progress",
    "retry_count",
    "state",
    "title",
)
_DON = "don:core:dvrv-us-1:devo/1"
_NUMBER = re.compile(r":job/(\d+)$")


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


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bad_request(message: str) -> JSONResponse:
    return devrev_error(400, "bad_request", message)


class DevRevStyle:
    """How DevRev words injected failures."""

    def classify(self, path: str) -> Literal["list", "get"] | None:
        return {"/jobs.list": "list", "/jobs.get": "get"}.get(path)  # type: ignore[return-value]

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


# --- storage ----------------------------------------------------------------


def _id_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of ids")
    return tuple(value)


class DevRevStore(JobStore):
    """DevRev jobs; owners and parents live beside the wire job, as in DevRev."""

    def build(self, job: Mapping[str, Any], now: datetime) -> StoredJob:
        given = dict(job)
        owners = _id_list("_owned_by", given.pop("_owned_by", []))
        parents = _id_list("_parent_ids", given.pop("_parent_ids", []))
        private = sorted(k for k in given if k.startswith("_"))
        if private:
            raise ValueError(f"unknown control field(s): {', '.join(private)}")
        number = self._next_number()
        created = timestamp_field(given, "created_date", devrev_ts(now), canonical_devrev)
        modified = timestamp_field(given, "modified_date", created, canonical_devrev)
        state = given.get("state", "queued")
        progress = given.get("progress", 100 if state == "completed" else 0)
        job_id = given.get("id", f"{_DON}:job/{number}")
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("id must be a non-empty string")
        creator = given.get("created_by", DEVREV_USERS[0])
        defaults: dict[str, Any] = {
            "created_by": creator,
            "display_id": f"JOB-{number}",
            "id": job_id,
            "modified_by": creator,
            "object_version": 1,
            "job_category": "export",
            "job_id": str(uuid.UUID(hex=digest_hex(job_id, 32), version=4)),
            "metadata_list": [],
            "output_artifacts": [],
            "progress": progress,
            "retry_count": 0,
            "state": state,
            "title": f"Job {number}",
        }
        wire = {key: given.get(key, defaults.get(key)) for key in WIRE_ORDER}
        wire.update(created_date=created, modified_date=modified)
        wire.update({k: v for k, v in given.items() if k not in wire})  # unknown fields stay
        run = None
        if state == "running":
            if isinstance(progress, bool) or not isinstance(progress, int):
                raise ValueError("progress of a running job must be an integer")
            if progress < 100:
                run = Run(t0=now, p0=progress)
        return StoredJob(wire=wire, run=run, owners=owners, parents=parents)

    def render(self, item: StoredJob, now: datetime) -> dict[str, Any]:
        job = dict(item.wire)
        if item.run is not None:
            tick = item.run.at(now)
            job["progress"] = tick.progress
            if tick.changed_at is not None:
                job["modified_date"] = devrev_ts(tick.changed_at)
                job["object_version"] = int(job.get("object_version") or 0) + tick.steps
            if tick.done:
                job["state"] = "completed"
        return job

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for i in self._items if (m := _NUMBER.search(i.id))]
        return max(numbers, default=0) + 1


# --- jobs.list ----------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    categories: frozenset[str]
    created_by: frozenset[str]
    owned_by: frozenset[str]
    parents: frozenset[str]
    states: frozenset[str]
    cursor: str | None
    limit: int
    mode: str
    sort: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(item.split(":")[0] for item in self.sort)

    @property
    def descending(self) -> tuple[bool, ...]:
        """One flag per sort field, then the id tie-break (same as the first field)."""
        flags = tuple(item.endswith(":desc") for item in self.sort)
        return flags + flags[:1]


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
        raise _BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _BadRequest("request body must be a JSON object")
    return body


def _strings(params: Mapping[str, Any], name: str) -> frozenset[str]:
    value = params.get(name)
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadRequest(f"{name} must be an array of strings")
    return frozenset(value)


def _limit(value: Any) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadRequest("limit must be an integer")
    if value < 1:
        raise _BadRequest("limit must be at least 1")
    return min(value, MAX_LIMIT)


def _sort(value: Any) -> tuple[str, ...]:
    if value is None or value == []:
        return DEFAULT_SORT
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _BadRequest("sort_by must be an array of strings")
    seen: set[str] = set()
    for item in value:
        field, _, direction = item.partition(":")
        if field not in SORT_FIELDS or direction not in ("asc", "desc"):
            raise _BadRequest(
                f"invalid sort_by {item!r}: use created_date or modified_date with :asc or :desc"
            )
        if field in seen:
            raise _BadRequest(f"sort_by names {field} twice")
        seen.add(field)
    return tuple(value)


def _parse_list(params: Mapping[str, Any]) -> ListQuery:
    mode = params.get("mode", "after")
    if mode is None:
        mode = "after"
    if mode not in ("after", "before"):
        raise _BadRequest('mode must be "after" or "before"')
    token = params.get("cursor")
    if token is not None and not isinstance(token, str):
        raise _BadRequest("cursor must be a string")
    return ListQuery(
        categories=_strings(params, "category"),
        created_by=_strings(params, "created_by"),
        owned_by=_strings(params, "owned_by_id"),
        parents=_strings(params, "parent_ids"),
        states=_strings(params, "state"),
        cursor=token or None,
        limit=_limit(params.get("limit")),
        mode=mode,
        sort=_sort(params.get("sort_by")),
    )


def _matches(item: StoredJob, job: Mapping[str, Any], query: ListQuery) -> bool:
    if query.states and job.get("state") not in query.states:
        return False
    if query.categories and job.get("job_category") not in query.categories:
        return False
    if query.created_by:
        creator = job.get("created_by")
        creator_id = creator.get("id") if isinstance(creator, Mapping) else creator
        if creator_id not in query.created_by:
            return False
    if query.owned_by and query.owned_by.isdisjoint(item.owners):
        return False
    if query.parents and query.parents.isdisjoint(item.parents):
        return False
    return True


Row = tuple[tuple[str, ...], dict[str, Any]]
"""A job with its sort key: the sort field values, then the id."""


def _sorted(rows: list[Row], descending: tuple[bool, ...]) -> None:
    """Sort in place by key components, each in its own direction (stable passes)."""
    for index in reversed(range(len(descending))):
        rows.sort(key=functools.partial(_component, index), reverse=descending[index])


def _component(index: int, row: Row) -> str:
    return row[0][index]


def _page(rows: list[Row], query: ListQuery) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """The requested slice of the sorted rows and its next/prev cursors."""
    position: cursor.Position | None = None
    if query.cursor is not None:
        try:
            position = cursor.decode(query.cursor)
        except cursor.CursorError:
            raise _BadRequest("cursor is not valid") from None
        if position.sort != query.sort:
            raise _BadRequest("cursor was made with a different sort_by")
    descending = query.descending
    if position is None:
        split = 0 if query.mode == "after" else len(rows)
    else:
        split = next(
            (i for i, (key, _) in enumerate(rows) if cursor.is_past(key, position, descending)),
            len(rows),
        )
    if query.mode == "after":
        lo, hi = split, min(split + query.limit, len(rows))
    else:
        lo, hi = max(0, split - query.limit), split
    next_token = prev_token = None
    if hi < len(rows):
        at = cursor.Position(query.sort, rows[hi - 1][0], True) if hi > lo else position
        next_token = cursor.encode(at) if at is not None else None
    if lo > 0:
        at = cursor.Position(query.sort, rows[lo][0], False) if hi > lo else position
        prev_token = cursor.encode(at) if at is not None else None
    return [job for _, job in rows[lo:hi]], next_token, prev_token


def _sim(request: Request) -> SimState:
    return request.app.state.sim  # type: ignore[no-any-return]


def _authorized(request: Request) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    expected = _sim(request).credential
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), expected.encode()
    )


def _unauthenticated() -> JSONResponse:
    return devrev_error(
        401, "unauthenticated", "Unauthenticated", "missing or invalid bearer token"
    )


def _drop_field(jobs: list[dict[str, Any]], request: Request, field: str) -> None:
    """The `missing_field` fault: the first job loses a required field."""
    if request.scope.get(MISSING_FIELD_KEY) and jobs:
        jobs[0] = {k: v for k, v in jobs[0].items() if k != field}


async def list_jobs(request: Request) -> Response:
    if not _authorized(request):
        return _unauthenticated()
    try:
        query = _parse_list(await _params(request))
        sim = _sim(request)
        fields = query.fields
        rows = [
            ((*(str(job[f]) for f in fields), str(job["id"])), job)
            for item, job in sim.store.snapshot(sim.clock.now())
            if _matches(item, job, query)
        ]
        _sorted(rows, query.descending)
        jobs, next_token, prev_token = _page(rows, query)
    except _BadRequest as exc:
        return _bad_request(exc.message)
    _drop_field(jobs, request, "id")
    sim.stats.items_served += len(jobs)
    body: dict[str, Any] = {"jobs": jobs}
    if next_token is not None:
        body["next_cursor"] = next_token
    if prev_token is not None:
        body["prev_cursor"] = prev_token
    return JSONResponse(body)


async def get_job(request: Request) -> Response:
    if not _authorized(request):
        return _unauthenticated()
    try:
        job_id = (await _params(request)).get("id")
    except _BadRequest as exc:
        return _bad_request(exc.message)
    if not isinstance(job_id, str) or not job_id:
        return _bad_request("id is required")
    sim = _sim(request)
    item = sim.store.get(job_id)
    if item is None:
        return devrev_error(404, "not_found", "Not found", f"job {job_id} does not exist")
    jobs = [sim.store.render(item, sim.clock.now())]
    _drop_field(jobs, request, "id")
    sim.stats.items_served += 1
    return JSONResponse({"job": jobs[0]})


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
    app = Starlette(
        routes=[
            Route("/jobs.list", list_jobs, methods=["GET", "POST"]),
            Route("/jobs.get", get_job, methods=["GET", "POST"]),
            *admin_routes(),
        ],
        middleware=[Middleware(FaultMiddleware, sim=sim, style=DevRevStyle())],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
