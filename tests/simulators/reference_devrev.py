"""Reference DevRev endpoints: the simulator's list/get code as it was before caching.

Kept verbatim (filter, multi-pass sort and linear cursor scan over a fresh
snapshot on every request) as the oracle for test_equivalence.py. It reads the
same store and clock as the fast app, so both must answer byte for byte alike.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reference_faults import ReferenceFaultMiddleware
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.simulators import cursor
from gateway.simulators.devrev import DevRevStyle, devrev_error
from gateway.simulators.faults import MISSING_FIELD_KEY, Faults
from gateway.simulators.state import SimState
from gateway.simulators.store import JobStore, StoredJob

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DEFAULT_SORT = ("created_date:desc",)
SORT_FIELDS = ("created_date", "modified_date")
ARRAY_FIELDS = ("category", "created_by", "owned_by_id", "parent_ids", "sort_by", "state")


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _bad_request(message: str) -> JSONResponse:
    return devrev_error(400, "bad_request", message)



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



def reference_devrev_app(store: JobStore, clock: Any, faults: Faults, credential: str) -> Starlette:
    """The old endpoints over `store` and `clock`, with their own fault dice and counters."""
    from gateway.simulators.devrev import _not_allowed, _not_found

    sim = SimState(store=store, clock=clock, faults=faults, credential=credential)
    app = Starlette(
        routes=[
            Route("/jobs.list", list_jobs, methods=["GET", "POST"]),
            Route("/jobs.get", get_job, methods=["GET", "POST"]),
        ],
        middleware=[Middleware(ReferenceFaultMiddleware, sim=sim, style=DevRevStyle())],
        exception_handlers={404: _not_found, 405: _not_allowed},
    )
    app.router.redirect_slashes = False
    app.state.sim = sim
    return app
