"""`gateway serve | demo | simulate | export-schema | fetch-graphiql`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import uvicorn

from gateway.admission import AdmissionSettings
from gateway.config import Settings
from gateway.envvars import seconds
from gateway.security import SecuritySettings

log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gateway", description="One GraphQL API over DevRev and DocuRift jobs.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="Serve the gateway, configured from the environment.")
    serve.add_argument("--host", default=os.environ.get("GATEWAY_HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT", "8000")))
    serve.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")

    demo = commands.add_parser("demo", help="Serve the gateway over both simulators with seeded data.")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)

    simulate = commands.add_parser("simulate", help="Serve a simulator of one upstream API.")
    simulate.add_argument("api", choices=["devrev", "docurift"])
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, required=True)
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument("--count", type=int, default=300, help="Seeded jobs.")
    simulate.add_argument("--latency-ms", type=float, default=0.0, help="Added to every request.")
    simulate.add_argument("--access-log", action="store_true", help="Log every request (off: it costs a third of a list request).")
    simulate.add_argument("--odd-jobs", action="store_true", help="Add legal but unusual jobs (see gateway/simulators/oddities.py).")

    commands.add_parser("export-schema", help="Print the GraphQL SDL.")

    fetch = commands.add_parser("fetch-graphiql", help="Fetch GraphiQL's assets with npm, so the page needs no CDN.")
    fetch.add_argument("--dir", type=Path, default=None, help="Target (default: $GATEWAY_GRAPHIQL_DIR or gateway/static/graphiql).")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    if args.command == "export-schema":
        from gateway.schema import export_sdl

        sys.stdout.write(export_sdl())
        return 0
    if args.command == "fetch-graphiql":
        return _fetch_graphiql(args.dir)
    if args.command == "serve":
        if not _check_security(args.host, args.port):
            return 2
        try:
            keep_alive = _keep_alive()
            AdmissionSettings.from_env()  # read again in each worker; a bad value stops the start here
        except ValueError as error:
            log.error("invalid server settings: %s", error)
            return 2
        # On SIGTERM uvicorn stops accepting connections, lets in-flight requests finish for up
        # to the grace period, then runs the lifespan's shutdown, which closes the HTTP client.
        uvicorn.run(
            "gateway.app:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            timeout_graceful_shutdown=_grace(),
            # Longer than the idle timeout of the load balancer in front (AWS ALB: 60 s), so
            # the balancer, not the gateway, closes an idle connection: otherwise it may send a
            # request on a connection the gateway is closing, and answer it with a 502.
            timeout_keep_alive=keep_alive,
            server_header=False,
        )
        return 0
    if args.command == "simulate":
        app = _simulator(args.api, args.seed, args.count, args.latency_ms)
        if args.odd_jobs:
            from gateway.simulators.oddities import add_oddities

            add_oddities(app.state.sim.store, app.state.sim.clock.now())
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=args.access_log)
        return 0
    asyncio.run(_demo(args.host, args.port))
    return 0


def _check_security(host: str, port: int) -> bool:
    """Validate the security settings before any worker starts, and say what is exposed.

    Logged once here, not per worker: one WARNING when the API is open to anyone.
    """
    from gateway.security.auth import Authenticator

    try:
        security = SecuritySettings.from_env()
        Authenticator.from_settings(security)  # reads a JWKS file now: a bad one stops the start
    except ValueError as error:
        log.error("invalid security settings: %s", error)
        return False
    if not security.auth_enabled:
        log.warning(
            "The API on %s:%s is UNAUTHENTICATED: anyone who can reach it can query it%s. "
            "Set GATEWAY_API_KEYS, or GATEWAY_JWT_SECRET or GATEWAY_JWT_JWKS with "
            "GATEWAY_JWT_ISSUER and GATEWAY_JWT_AUDIENCE.",
            host, port, " (and introspect its schema)" if security.introspection else "",
        )
    log.info("security: %s", security.describe())
    return True


def _fetch_graphiql(directory: Path | None) -> int:
    from gateway import graphiql

    try:
        written = graphiql.fetch(directory)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None) or error
        log.error("fetching GraphiQL assets failed: %s", detail)
        return 1
    for path in written:
        print(path)
    return 0


def _simulator(api: str, seed: int | None, count: int, latency_ms: float):  # type: ignore[no-untyped-def]
    # Imported here: the simulators are never on the gateway's serving path.
    from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY, Faults, create_devrev_app, create_docurift_app

    faults = Faults(latency_ms=latency_ms) if latency_ms else Faults()
    if api == "devrev":
        token = os.environ.get("DEVREV_TOKEN") or DEMO_DEVREV_TOKEN
        return create_devrev_app(token=token, seed=7 if seed is None else seed, count=count, faults=faults)
    key = os.environ.get("DOCURIFT_API_KEY") or DEMO_DOCURIFT_KEY
    return create_docurift_app(api_key=key, seed=11 if seed is None else seed, count=count, faults=faults)


class _QuietServer(uvicorn.Server):
    """A server that leaves signal handling to the main one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _grace() -> float:
    return float(os.environ.get("GATEWAY_SHUTDOWN_GRACE") or 10)


KEEP_ALIVE = 75.0  # seconds; must exceed the idle timeout of any load balancer in front


def _keep_alive() -> float:
    """Seconds an idle keep-alive connection stays open (`GATEWAY_KEEP_ALIVE`)."""
    return seconds(os.environ, "GATEWAY_KEEP_ALIVE", KEEP_ALIVE)


def _ensure_graphiql_assets() -> None:
    """The demo should work offline: fetch GraphiQL's assets once, if npm is here to do it."""
    from gateway import graphiql

    if graphiql.fetched() or shutil.which("npm") is None:
        return
    log.info("fetching GraphiQL's assets with npm (once) so the page needs no CDN")
    if _fetch_graphiql(None) != 0:
        log.warning("GraphiQL will load from a CDN; run `gateway fetch-graphiql` to serve it locally")


async def _demo(host: str, port: int) -> None:
    from gateway.app import create_app
    from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY

    _ensure_graphiql_assets()
    devrev_port, docurift_port = _free_port(), _free_port()
    simulators = [
        _QuietServer(uvicorn.Config(_simulator("devrev", None, 300, 0), host="127.0.0.1", port=devrev_port, log_level="warning")),
        _QuietServer(uvicorn.Config(_simulator("docurift", None, 300, 0), host="127.0.0.1", port=docurift_port, log_level="warning")),
    ]
    settings = Settings(
        devrev_base_url=f"http://127.0.0.1:{devrev_port}",
        devrev_token=DEMO_DEVREV_TOKEN,
        docurift_base_url=f"http://127.0.0.1:{docurift_port}",
        docurift_api_key=DEMO_DOCURIFT_KEY,
    )
    # The demo is open on purpose, and quiet about it: default security settings, not the env's.
    app = create_app(settings, security=SecuritySettings())
    gateway = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=_grace())
    )
    tasks = [asyncio.create_task(server.serve()) for server in simulators]
    while not all(server.started for server in simulators):
        await asyncio.sleep(0.02)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    print(f"\nJob Gateway demo: DevRev simulator on :{devrev_port}, DocuRift simulator on :{docurift_port}", flush=True)
    print(f"GraphiQL: http://{shown}:{port}/graphql   (Ctrl-C to stop)\n", flush=True)
    try:
        await gateway.serve()
    finally:
        for server in simulators:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    raise SystemExit(main())
