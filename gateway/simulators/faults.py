"""Injectable upstream failures, shared by both simulators.

One `Faults` object holds the current configuration; `FaultMiddleware` applies
it to every API request before the simulator sees it. Admin paths (`/_sim/*`)
are never affected, so a test can always switch a fault off again.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import httpx
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .state import SimState

__all__ = [
    "KINDS",
    "HANG_SECONDS",
    "FaultConfig",
    "Faults",
    "ApiStyle",
    "FaultMiddleware",
    "edge_error",
    "is_admin_path",
    "SimulatedReset",
]

FaultKind = Literal[
    "none", "status", "hang", "malformed", "envelope", "missing_field", "slow", "reset"
]
KINDS: tuple[str, ...] = (
    "none",
    "status",
    "hang",
    "malformed",
    "envelope",
    "missing_field",
    "slow",
    "reset",
)
HANG_SECONDS = 3600.0
"""A hung request waits this long unless cancelled, disconnected or released."""

MISSING_FIELD_KEY = "sim.missing_field"
"""Scope key that asks the endpoint to drop a required field from one job."""

_POLL_SECONDS = 0.05


class SimulatedReset(httpx.RemoteProtocolError):
    """The `reset` fault. An httpx transport error, so in-process clients see what
    a dropped connection looks like; under uvicorn it shows up once in the log."""


def is_admin_path(path: str) -> bool:
    return path == "/_sim" or path.startswith("/_sim/")


def _number(name: str, value: Any, *, low: float = 0.0, high: float = math.inf) -> float:
    """A finite number in [low, high]; bools are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return float(value)


def _integer(name: str, value: Any, *, low: int = 0, high: int | None = None) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be between {low} and {high if high is not None else 'inf'}")
    return value


@dataclass(frozen=True)
class FaultConfig:
    """What to break, how often, and where. Immutable: `Faults.set` swaps it."""

    kind: FaultKind = "none"
    status: int | None = None
    retry_after: int | None = None
    rate: float = 1.0
    seed: int = 0
    count: int | None = None
    latency_ms: float = 0.0
    delay_ms: float = 0.0
    paths: tuple[str, ...] | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultConfig:
        """Validate user input (HTTP JSON or keyword arguments); ValueError if wrong.

        `hits` is accepted and ignored, so a `GET /_sim/faults` answer can be posted back.
        """
        data = {k: v for k, v in data.items() if k != "hits"}
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        kind = data.get("kind", "none")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of: {', '.join(KINDS)}")
        status = data.get("status")
        if status is not None:
            status = _integer("status", status, low=400, high=599)
        if kind == "status" and status is None:
            raise ValueError("kind=status needs a status (400..599)")
        retry_after = data.get("retry_after")
        if retry_after is not None:
            retry_after = _integer("retry_after", retry_after)
        count = data.get("count")
        if count is not None:
            count = _integer("count", count)
        delay_ms = _number("delay_ms", data.get("delay_ms", 0.0))
        if kind == "slow" and delay_ms <= 0:
            raise ValueError("kind=slow needs delay_ms > 0")
        paths = data.get("paths")
        if paths is not None:
            if not isinstance(paths, list | tuple) or not all(isinstance(p, str) for p in paths):
                raise ValueError("paths must be a list of path prefixes")
            paths = tuple(paths)
        return cls(
            kind=kind,
            status=status,
            retry_after=retry_after,
            rate=_number("rate", data.get("rate", 1.0), high=1.0),
            seed=_integer("seed", data.get("seed", 0), low=-(2**63)),
            count=count,
            latency_ms=_number("latency_ms", data.get("latency_ms", 0.0)),
            delay_ms=delay_ms,
            paths=paths,
        )

    def covers(self, path: str) -> bool:
        """Whether this configuration applies to `path` at all (latency included)."""
        if is_admin_path(path):
            return False
        return self.paths is None or any(path.startswith(prefix) for prefix in self.paths)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths) if self.paths is not None else None
        return data


class Faults:
    """The live fault configuration plus the seeded dice that decide each hit.

    Share one instance between both apps to break both upstreams at once.
    """

    def __init__(self, **fields: Any) -> None:
        self.config = FaultConfig()
        self.hits = 0
        self.generation = 0  # bumps on every set/clear; releases hung requests
        self._rng = random.Random(0)
        self._references = 0
        self.set(**fields)

    def set(self, **fields: Any) -> FaultConfig:
        """Replace the whole configuration (unspecified fields take defaults)."""
        config = FaultConfig.from_mapping(fields)
        self.config = config
        self.hits = 0
        self.generation += 1
        self._rng = random.Random(config.seed)
        return config

    def clear(self) -> None:
        self.set()

    def draw(self, path: str) -> FaultConfig | None:
        """Decide whether this request is hit; returns the config that hit it."""
        config = self.config
        if config.kind == "none" or not config.covers(path):
            return None
        if config.count is not None and self.hits >= config.count:
            return None
        if config.rate < 1.0 and self._rng.random() >= config.rate:
            return None
        self.hits += 1
        return config

    def reference_id(self) -> str:
        """A deterministic id for 500 bodies, so frozen runs stay byte-identical."""
        self._references += 1
        digest = hashlib.sha256(f"{self.config.seed}:{self._references}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def to_dict(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "hits": self.hits}


class ApiStyle(Protocol):
    """How one upstream names its endpoints and words its failures."""

    def classify(self, path: str) -> Literal["list", "get"] | None: ...

    def status_error(self, status: int, retry_after: int | None, reference_id: str) -> Response: ...

    def malformed(self, path: str) -> Response: ...

    def envelope(self, path: str) -> Response: ...


_REASONS = {502: "Bad Gateway", 504: "Gateway Time-out"}


def edge_error(status: int) -> Response:
    """502/504 come from the load balancer in front of an API, in HTML, not JSON."""
    reason = _REASONS.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(body, status_code=status, media_type="text/html")


class FaultMiddleware:
    """Counts API requests, adds latency and injects the configured fault."""

    def __init__(self, app: ASGIApp, *, sim: SimState, style: ApiStyle) -> None:
        self.app = app
        self.sim = sim
        self.style = style

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_admin_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        self.sim.stats.record(path, self.style.classify(path))
        faults = self.sim.faults
        config = faults.config
        if config.kind == "none" and not config.latency_ms:  # nothing configured: no dice
            await self.app(scope, receive, send)
            return
        latency = config.latency_ms if config.covers(path) else 0.0
        if latency:
            await asyncio.sleep(latency / 1000)
        hit = faults.draw(path)
        if hit is None:
            await self.app(scope, receive, send)
            return
        self.sim.stats.faults_injected += 1
        if hit.kind == "status":
            assert hit.status is not None
            if hit.status in _REASONS:
                response = edge_error(hit.status)
            else:
                response = self.style.status_error(
                    hit.status, hit.retry_after, faults.reference_id()
                )
            await response(scope, receive, send)
        elif hit.kind == "malformed":
            await self.style.malformed(path)(scope, receive, send)
        elif hit.kind == "envelope":
            await self.style.envelope(path)(scope, receive, send)
        elif hit.kind == "missing_field":
            scope[MISSING_FIELD_KEY] = True
            await self.app(scope, receive, send)
        elif hit.kind == "slow":
            await asyncio.sleep(hit.delay_ms / 1000)
            await self.app(scope, receive, send)
        elif hit.kind == "hang":
            replay = await self._hang(receive, faults.generation)
            if replay is not None:  # released by set()/clear(): answer normally
                await self.app(scope, replay, send)
        elif hit.kind == "reset":
            await self._reset(send)

    async def _hang(self, receive: Receive, generation: int) -> Receive | None:
        """Wait up to an hour; stop early if the client leaves or faults change.

        Returns a `receive` that replays the request body read meanwhile, or
        None when the client disconnected (nothing left to answer).
        """
        buffered: list[Message] = []
        gone = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                    return
                buffered.append(message)

        watcher = asyncio.create_task(watch())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HANG_SECONDS
        try:
            while (
                not gone.is_set()
                and self.sim.faults.generation == generation
                and loop.time() < deadline
            ):
                await asyncio.sleep(_POLL_SECONDS)
        finally:
            watcher.cancel()
        if gone.is_set():
            return None

        async def replay() -> Message:
            if buffered:
                return buffered.pop(0)
            return await receive()

        return replay

    async def _reset(self, send: Send) -> None:
        """Drop the connection mid-answer.

        ASGI cannot close a socket before the status line, so the headers go out
        and the server (uvicorn) closes the connection when this raises. In
        process, httpx's ASGITransport re-raises the error, which is exactly
        what httpx raises for a real dropped connection.
        """
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        raise SimulatedReset("Server disconnected without sending a response.")
