"""`/_sim/*` control endpoints, identical on both simulators.

They need no auth and are never faulted or counted, so a test or benchmark can
always reconfigure a simulator that is busy failing.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .oddities import add_oddities
from .state import SimState

__all__ = ["admin_routes"]


def _sim(request: Request) -> SimState:
    return request.app.state.sim  # type: ignore[no-any-return]


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    return json.loads(raw)


async def faults(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        try:
            body = await _json(request)
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            sim.faults.set(**body)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            return _bad(str(exc))
    elif request.method == "DELETE":
        sim.faults.clear()
    return JSONResponse(sim.faults.to_dict())


async def stats(request: Request) -> Response:
    return JSONResponse(_sim(request).stats.to_dict())


async def stats_reset(request: Request) -> Response:
    sim = _sim(request)
    sim.stats.reset()
    return JSONResponse(sim.stats.to_dict())


async def jobs(request: Request) -> Response:
    store = _sim(request).store
    if request.method == "GET":
        return JSONResponse({"jobs": store.jobs})
    if request.method == "DELETE":
        deleted = len(store)
        store.clear()
        return JSONResponse({"deleted": deleted})
    try:
        body = await _json(request)
        if isinstance(body, list):
            return JSONResponse([store.add(job) for job in body], status_code=201)
        return JSONResponse(store.add(body), status_code=201)
    except ValueError as exc:
        return _bad(str(exc))


async def oddities(request: Request) -> Response:
    """Add the legal-but-unusual jobs of `oddities.py`, stored as written."""
    sim = _sim(request)
    try:
        return JSONResponse({"jobs": add_oddities(sim.store, sim.clock.now())}, status_code=201)
    except ValueError as exc:
        return _bad(str(exc))


async def clock(request: Request) -> Response:
    sim_clock = _sim(request).clock
    if request.method == "POST":
        try:
            body = await _json(request)
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            seconds = body.get("advance", 0)
            if isinstance(seconds, bool) or not isinstance(seconds, int | float):
                raise ValueError("advance must be a number of seconds")
            sim_clock.advance(seconds)
            if body.get("freeze") is True:
                sim_clock.freeze()
            elif body.get("freeze") is False:
                sim_clock.resume()
        except ValueError as exc:
            return _bad(str(exc))
    return JSONResponse(
        {
            "start": sim_clock.start.isoformat(),
            "now": sim_clock.now().isoformat(),
            "frozen": sim_clock.frozen,
        }
    )


def admin_routes() -> list[Route]:
    return [
        Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/stats", stats, methods=["GET"]),
        Route("/_sim/stats/reset", stats_reset, methods=["POST"]),
        Route("/_sim/jobs", jobs, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/clock", clock, methods=["GET", "POST"]),
        Route("/_sim/oddities", oddities, methods=["POST"]),
    ]
