"""Real servers on loopback for end-to-end tests: uvicorn in a thread, on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _ThreadServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` until the block ends; yields its base URL."""
    port = free_port()
    server = _ThreadServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Stack:
    """Both simulators and the gateway in front of them, each on its own loopback port."""

    url: str
    devrev: Any  # the DevRev simulator's state: .store, .stats, .faults, .clock
    docurift: Any


@contextmanager
def gateway_stack(
    *,
    token: str,
    key: str,
    seeds: tuple[int, int] = (7, 11),
    count: int = 120,
    clock: Any = None,
    policy: Any = None,
    read_timeout: float | None = None,
    admission: Any = None,
) -> Iterator[Stack]:
    """The whole product as a user runs it, over real sockets, with deterministic data."""
    from gateway.app import create_app
    from gateway.config import Settings
    from gateway.simulators import SimClock, create_devrev_app, create_docurift_app

    clock = clock or SimClock(frozen=True)
    devrev_app = create_devrev_app(token=token, seed=seeds[0], count=count, clock=clock)
    docurift_app = create_docurift_app(api_key=key, seed=seeds[1], count=count, clock=clock)
    with serve(devrev_app) as devrev_url, serve(docurift_app) as docurift_url:
        settings = Settings(devrev_base_url=devrev_url, devrev_token=token, docurift_base_url=docurift_url, docurift_api_key=key)
        if read_timeout is not None:
            settings = replace(settings, read_timeout=read_timeout)
        with serve(create_app(settings, policy=policy, admission=admission)) as url:
            yield Stack(url, devrev_app.state.sim, docurift_app.state.sim)
