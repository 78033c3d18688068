"""Graceful shutdown of `gateway serve`: SIGTERM lets in-flight requests finish, refuses new ones."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx

from gateway.simulators import Faults, create_devrev_app

from live import free_port, serve

TOKEN = "shutdown-token"


def test_sigterm_finishes_in_flight_requests_then_exits():
    slow = create_devrev_app(token=TOKEN, count=20, faults=Faults(latency_ms=1500))
    with serve(slow) as devrev_url:
        port = free_port()
        env = {**os.environ, "DEVREV_BASE_URL": devrev_url, "DEVREV_TOKEN": TOKEN, "GATEWAY_SHUTDOWN_GRACE": "10"}
        env.pop("DOCURIFT_API_KEY", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    httpx.get(f"{url}/healthz", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and process.poll() is None, "gateway did not start"
                    time.sleep(0.1)
            answers: list[httpx.Response] = []
            request = threading.Thread(
                target=lambda: answers.append(httpx.post(f"{url}/graphql", json={"query": "{ jobs(first: 3) { nodes { id } } }"}, timeout=20))
            )
            request.start()
            time.sleep(0.5)  # the request is now waiting on the slow upstream
            process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            refused = False
            try:
                httpx.get(f"{url}/healthz", timeout=2)
            except httpx.TransportError:
                refused = True
            request.join(timeout=20)
            # uvicorn re-raises the SIGTERM once it has shut down, so managers see the signal.
            assert process.wait(timeout=20) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
        assert refused, "new connections must be refused once shutdown began"
        [answer] = answers
        assert answer.status_code == 200 and len(answer.json()["data"]["jobs"]["nodes"]) == 3
