"""Benchmark the gateway end to end (issue 5).

    .venv/bin/python bench/run.py [--quick] [--duration S] [--workers N]

Starts both simulators (`gateway simulate ... --count 1000 --latency-ms L`) and the gateway
(`gateway serve`, configured from the environment as a user would), pins the gateway to CPU 0
and everything else (simulators, wrk, this driver) to CPU 1 when there are two CPUs, and drives
load with `wrk` (bench/graphql.lua). Scenario (b), a full forward traversal, needs each request
to follow the previous response's endCursor per connection, which wrk's Lua cannot do per
connection, so it is driven by a small async Python driver (httpx) in this process instead.

Writes bench/results/latest.json (gitignored), bench/RESULTS.md and bench/latency.png
(matplotlib, only if importable: `.venv/bin/pip install matplotlib`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV_BIN = Path(sys.executable).parent
GATEWAY = str(VENV_BIN / "gateway") if (VENV_BIN / "gateway").exists() else shutil.which("gateway") or "gateway"
TWO_CPUS = (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity")
TASKSET = shutil.which("taskset")

NODE_FIELDS = (
    "id source sourceId title status sourceStatus progress category documentType createdAt updatedAt "
    "createdBy { id displayName }"
)
PAGE_QUERY = (
    "query Page($first: Int, $after: String, $filter: JobFilter) {"
    " jobs(first: $first, after: $after, filter: $filter) {"
    f" edges {{ cursor node {{ {NODE_FIELDS} }} }}"
    " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"
)
NODES_QUERY = f"query Nodes($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on Job {{ {NODE_FIELDS} }} }} }}"
COALESCE_QUERY = (
    "query Same { jobs(first: 20) { totalCount sources { source state totalCount }"
    " edges { node { id title status createdAt } } pageInfo { endCursor } } }"
)
SCENARIOS = {
    "a_first_page": "(a) first page, jobs(first: 100)",
    "b_traversal": "(b) full forward traversal, first: 50 (Python driver; latency per page)",
    "c_filtered": "(c) filtered page, status [PENDING, RUNNING] + createdAfter",
    "d_nodes": "(d) nodes(ids:) with 100 ids",
    "e_coalescing": "(e) identical requests (coalescing)",
}


# --------------------------------------------------------------------------------------------
# processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cmd: list[str], cpu: int) -> list[str]:
    if TWO_CPUS and TASKSET:
        return [TASKSET, "-c", str(cpu), *cmd]
    return cmd


def preexec(cpu: int):  # type: ignore[no-untyped-def]
    if TWO_CPUS and not TASKSET:
        return lambda: os.sched_setaffinity(0, {cpu})
    return None


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up")
        time.sleep(0.1)


class Stack:
    """Two simulators and a gateway, started as a user would start them."""

    def __init__(
        self, latency_ms: float, workers: int, logdir: Path, *, pin_gateway: bool = True, extra_env: dict[str, str] | None = None
    ) -> None:
        from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY

        self.token, self.key = DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY
        self.devrev_port, self.docurift_port, self.port = free_port(), free_port(), free_port()
        self.devrev = f"http://127.0.0.1:{self.devrev_port}"
        self.docurift = f"http://127.0.0.1:{self.docurift_port}"
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        self.procs: list[subprocess.Popen[bytes]] = []
        for api, port in (("devrev", self.devrev_port), ("docurift", self.docurift_port)):
            cmd = [GATEWAY, "simulate", api, "--port", str(port), "--count", "1000", "--latency-ms", str(latency_ms)]
            self._spawn(pinned(cmd, 1), 1, logdir / f"sim-{api}-{latency_ms:g}.log", os.environ.copy())
        env = os.environ.copy()
        env.update(
            DEVREV_BASE_URL=self.devrev,
            DEVREV_TOKEN=self.token,
            DOCURIFT_BASE_URL=self.docurift,
            DOCURIFT_API_KEY=self.key,
            GATEWAY_HOST="127.0.0.1",
            GATEWAY_PORT=str(self.port),
            **(extra_env or {}),
        )
        cmd = [GATEWAY, "serve", "--workers", str(workers)]
        if pin_gateway:
            self.gateway = self._spawn(pinned(cmd, 0), 0, logdir / f"gateway-{latency_ms:g}.log", env)
        else:  # every core: the workers share the machine with the simulators and wrk
            self.gateway = self._spawn(cmd, None, logdir / f"gateway-{latency_ms:g}-w{workers}.log", env)
        wait_http(f"{self.devrev}/_sim/stats")
        wait_http(f"{self.docurift}/_sim/stats")
        wait_http(f"http://127.0.0.1:{self.port}/healthz")

    def _spawn(self, cmd: list[str], cpu: int | None, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        hook = preexec(cpu) if cpu is not None else None
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, preexec_fn=hook)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    # upstream counters -------------------------------------------------------------------
    def reset_stats(self) -> None:
        for base in (self.devrev, self.docurift):
            httpx.post(f"{base}/_sim/stats/reset", timeout=5)

    def stats(self) -> dict[str, int]:
        total = {"requests": 0, "items": 0}
        for base in (self.devrev, self.docurift):
            data = httpx.get(f"{base}/_sim/stats", timeout=5).json()
            total["requests"] += sum(data["requests"].values())
            total["items"] += data["items_served"]
        return total

    # memory --------------------------------------------------------------------------------
    def peak_rss_mb(self) -> dict[str, float]:
        """VmHWM of the gateway process and its descendants (uvicorn workers), in MiB."""
        pids = descendants(self.gateway.pid)
        values = [hwm_kb(pid) for pid in pids]
        values = [v for v in values if v]
        return {"max_process_mb": round(max(values, default=0) / 1024, 1), "sum_mb": round(sum(values) / 1024, 1)}


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# --------------------------------------------------------------------------------------------
# load


def run_wrk(url: str, script: str, env: dict[str, str], connections: int, duration: float) -> dict[str, Any]:
    cmd = [
        "wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(duration))}s",
        "--timeout", "10s", "--latency", "-s", str(BENCH / script), url,
    ]  # fmt: skip
    full_env = {**os.environ, **env}
    out = subprocess.run(pinned(cmd, 1), capture_output=True, text=True, env=full_env, preexec_fn=preexec(1), check=False)
    return parse_wrk(out.stdout, out.stderr)


def parse_wrk(stdout: str, stderr: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            raw = json.loads(line[len("BENCH_JSON ") :])
            seconds = raw["duration_us"] / 1e6
            return {
                "requests": raw["requests"],
                "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
                "p50_ms": round(raw["p50_us"] / 1000, 2),
                "p90_ms": round(raw["p90_us"] / 1000, 2),
                "p99_ms": round(raw["p99_us"] / 1000, 2),
                "max_ms": round(raw["max_us"] / 1000, 2),
                "errors": {
                    "non_2xx": raw["status"],
                    "socket": raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                    "graphql": raw["gql_errors"],
                    "graphql_checked": raw["checked"],
                },
            }
    raise RuntimeError(f"wrk gave no result:\n{stdout}\n{stderr}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def traverse(url: str, connections: int, duration: float, first: int = 50) -> dict[str, Any]:
    """(b): each of `connections` workers pages forward to the end, again and again, until time is up."""
    latencies: list[float] = []
    errors = {"non_2xx": 0, "socket": 0, "graphql": 0, "graphql_checked": 0}
    traversals = 0
    pages_per_traversal: list[int] = []
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        stop_at = time.monotonic() + duration

        async def worker() -> None:
            nonlocal traversals
            while time.monotonic() < stop_at:
                after, pages = None, 0
                while time.monotonic() < stop_at:
                    body = {"query": PAGE_QUERY, "variables": {"first": first, "after": after}}
                    started = time.perf_counter()
                    try:
                        response = await client.post(url, json=body)
                    except httpx.HTTPError:
                        errors["socket"] += 1
                        break
                    latencies.append(time.perf_counter() - started)
                    pages += 1
                    if response.status_code // 100 != 2:
                        errors["non_2xx"] += 1
                        break
                    data = response.json()
                    errors["graphql_checked"] += 1
                    if data.get("errors"):
                        errors["graphql"] += 1
                        break
                    info = data["data"]["jobs"]["pageInfo"]
                    if not info["hasNextPage"]:
                        traversals += 1
                        pages_per_traversal.append(pages)
                        break
                    after = info["endCursor"]

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "pages_per_s": round(len(latencies) / elapsed, 1),
        "traversals": traversals,
        "pages_per_traversal": max(pages_per_traversal, default=None),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p90_ms": round(percentile(latencies, 90) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies, default=0) * 1000, 2),
        "errors": errors,
    }


async def burst(url: str, size: int = 64, rounds: int = 3, on_warm: Any = None) -> list[dict[str, Any]]:
    """(e): `size` identical requests at once; the caller reads the upstream counters around it.

    "At once" is meant literally: `size` keep-alive connections are opened and warmed first,
    then every request is written before any answer is read, so they reach the gateway
    within a fraction of a millisecond. (An HTTP client library here spends ~1 ms per request
    on the shared CPU, which would spread the burst over ~60 ms and measure the driver.)
    """
    parts = urllib.parse.urlsplit(url)
    body = json.dumps({"query": COALESCE_QUERY}).encode()
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
        return status, await reader.readexactly(length)

    connections = [await asyncio.open_connection(parts.hostname, parts.port) for _ in range(size)]
    try:
        for reader, writer in connections:  # warm every connection with one request
            writer.write(request)
            await writer.drain()
            await answer(reader)
        await asyncio.sleep(0.2)
        if on_warm is not None:
            on_warm()  # count the bursts only
        out = []
        for _ in range(rounds):
            await asyncio.sleep(0.2)  # let every flight of the warm-up or last round end
            started = time.perf_counter()
            for _, writer in connections:
                writer.write(request)
            await asyncio.gather(*(writer.drain() for _, writer in connections))
            answers = await asyncio.gather(*(answer(reader) for reader, _ in connections))
            elapsed = time.perf_counter() - started
            bad = sum(1 for status, data in answers if status != 200 or b'"errors"' in data)
            out.append({"requests": size, "wall_ms": round(elapsed * 1000, 1), "errors": bad})
        return out
    finally:
        for _, writer in connections:
            writer.close()


# --------------------------------------------------------------------------------------------
# scenario inputs


def collect(stack: Stack) -> dict[str, Any]:
    query = "{ jobs(first: 100) { edges { node { id source sourceId createdAt } } } }"
    edges = httpx.post(stack.url, json={"query": query}, timeout=30).json()["data"]["jobs"]["edges"]
    nodes = [edge["node"] for edge in edges]
    created_after = nodes[len(nodes) // 2]["createdAt"]  # newest first: about half the first page
    return {"ids": [n["id"] for n in nodes], "nodes": nodes, "created_after": created_after}


def bodies(inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        "a_first_page": {"query": PAGE_QUERY, "variables": {"first": 100}},
        "c_filtered": {
            "query": PAGE_QUERY,
            "variables": {"first": 100, "filter": {"status": ["PENDING", "RUNNING"], "createdAfter": inputs["created_after"]}},
        },
        "d_nodes": {"query": NODES_QUERY, "variables": {"ids": inputs["ids"]}},
        "e_coalescing": {"query": COALESCE_QUERY},
    }


def floor_requests(inputs: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The upstream requests the gateway makes for one GraphQL request, per simulator, as wrk lines.

    Written from gateway/sources/*: (b) uses its first page only; (d) one lookup per id.
    """
    from gateway.model import JobStatus
    from gateway.sources.devrev import STATUS_TO_STATES

    def devrev(body: dict[str, Any]) -> str:
        return "POST\t/jobs.list\t" + json.dumps(body)

    def docurift(params: dict[str, str]) -> str:
        return "GET\t/v1/jobs?" + urllib.parse.urlencode(params) + "\t"

    sort = {"sort_by": ["created_date:desc"], "mode": "after"}
    page = {"sortBy": "createdAt", "page": "1", "sortOrder": "desc"}
    states = [s for status in (JobStatus.PENDING, JobStatus.RUNNING) for s in STATUS_TO_STATES.get(status, ())]
    start = inputs["created_after"].replace("+00:00", "Z")
    by_source: dict[str, list[str]] = {"DEVREV": [], "DOCURIFT": []}
    for node in inputs["nodes"]:
        by_source.setdefault(node["source"], []).append(node["sourceId"])
    return {
        "a_first_page": {"devrev": [devrev({**sort, "limit": 100})], "docurift": [docurift({**page, "limit": "100"})]},
        "b_traversal": {"devrev": [devrev({**sort, "limit": 50})], "docurift": [docurift({**page, "limit": "50"})]},
        "c_filtered": {
            "devrev": [devrev({**sort, "state": states, "limit": 100})],
            "docurift": [
                docurift({"sortBy": "createdAt", "status": s, "page": "1", "limit": "100", "sortOrder": "desc", "startDate": start})
                for s in ("pending", "processing")
            ],
        },
        "d_nodes": {
            "devrev": [f"GET\t/jobs.get?{urllib.parse.urlencode({'id': i})}\t" for i in by_source.get("DEVREV", [])] or [devrev({**sort, "limit": 1})],
            "docurift": [f"GET\t/v1/jobs/{urllib.parse.quote(i)}\t" for i in by_source.get("DOCURIFT", [])] or [docurift({**page, "limit": "1"})],
        },
        "e_coalescing": {"devrev": [devrev({**sort, "limit": 20})], "docurift": [docurift({**page, "limit": "20"})]},
    }


def run_floor(stack: Stack, lines: dict[str, list[str]], connections: int, duration: float, tmp: Path) -> dict[str, Any]:
    """Both simulators hit at once (as the gateway fans out), one wrk each; combined = the slower."""
    jobs = []
    for api, base, header, value in (
        ("devrev", stack.devrev, "Authorization", f"Bearer {stack.token}"),
        ("docurift", stack.docurift, "X-API-Key", stack.key),
    ):
        path = tmp / f"floor-{api}.txt"
        path.write_text("\n".join(lines[api]) + "\n")
        env = {"BENCH_REQUESTS_FILE": str(path), "BENCH_AUTH_HEADER": header, "BENCH_AUTH_VALUE": value}
        cmd = [
            "wrk", "-t", "1", "-c", str(connections), "-d", f"{max(1, round(duration))}s",
            "--timeout", "10s", "--latency", "-s", str(BENCH / "upstream.lua"), base,
        ]  # fmt: skip
        proc = subprocess.Popen(
            pinned(cmd, 1), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env}, preexec_fn=preexec(1)
        )
        jobs.append((api, proc))
    per = {}
    for api, proc in jobs:
        out, err = proc.communicate()
        per[api] = parse_wrk(out, err)
    return {
        "rps": min(r["rps"] for r in per.values()),
        "p50_ms": max(r["p50_ms"] for r in per.values()),
        "p99_ms": max(r["p99_ms"] for r in per.values()),
        "errors": {"non_2xx": sum(r["errors"]["non_2xx"] for r in per.values()), "socket": sum(r["errors"]["socket"] for r in per.values())},
        "per_simulator": per,
    }


# --------------------------------------------------------------------------------------------
# main


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (or brew install wrk)")
    if TWO_CPUS:
        os.sched_setaffinity(0, {1})  # this driver shares CPU 1 with the simulators and wrk
    latencies = [0.0] if args.quick else [0.0, 50.0]
    concurrencies = [1, 32]
    duration = args.duration if args.duration is not None else (1.0 if args.quick else 5.0)
    results: dict[str, Any] = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "quick": args.quick,
            "duration_s": duration,
            "workers": args.workers,
            "repeat": args.repeat,
            "pinning": ("taskset" if TASKSET else "sched_setaffinity") if TWO_CPUS else "none (fewer than 2 CPUs)",
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "wrk": (subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines() or [""])[0],
            "simulator_count": 1000,
            "scenarios": SCENARIOS,
        },
        "runs": [],
        "floor": [],
        "coalescing_burst": {},
        "peak_rss": {},
    }
    logdir = BENCH / "results" / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmpname:
        tmp = Path(tmpname)
        for latency in latencies:
            print(f"== upstream latency {latency:g} ms", flush=True)
            stack = Stack(latency, args.workers, logdir)
            try:
                inputs = collect(stack)
                body_files = {}
                for name, body in bodies(inputs).items():
                    path = tmp / f"{name}.json"
                    path.write_text(json.dumps(body))
                    body_files[name] = path
                # warm up every path once (not in --quick)
                for name in body_files if not args.quick else ():
                    run_wrk(stack.url, "graphql.lua", {"BENCH_BODY_FILE": str(body_files[name])}, 4, 1)
                samples: dict[tuple[str, int], list[dict[str, Any]]] = {}
                for _ in range(args.repeat):  # rounds interleave the scenarios: noise hits all alike
                    for name in SCENARIOS:
                        for conc in concurrencies:
                            stack.reset_stats()
                            if name == "b_traversal":
                                result = asyncio.run(traverse(stack.url, conc, duration))
                            else:
                                result = run_wrk(stack.url, "graphql.lua", {"BENCH_BODY_FILE": str(body_files[name])}, conc, duration)
                            upstream = stack.stats()
                            n = max(1, result["requests"])
                            result.update(
                                upstream_requests_per_request=round(upstream["requests"] / n, 3),
                                upstream_items_per_request=round(upstream["items"] / n, 1),
                            )
                            samples.setdefault((name, conc), []).append(result)
                for (name, conc), runs in samples.items():
                    result = median_run(runs)
                    result.update(scenario=name, upstream_latency_ms=latency, concurrency=conc)
                    results["runs"].append(result)
                    print(
                        f"  {name:14} c{conc:<3} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  "
                        f"p99 {result['p99_ms']:7.1f} ms  upstream/req {result['upstream_requests_per_request']}"
                        f"  (median of {len(runs)}: req/s {[r['rps'] for r in runs]})",
                        flush=True,
                    )
                # (e) the burst: 64 identical requests at once
                rounds = asyncio.run(burst(stack.url, on_warm=stack.reset_stats))
                upstream = stack.stats()
                total = sum(r["requests"] for r in rounds)
                results["coalescing_burst"][f"{latency:g}"] = {
                    "rounds": rounds,
                    "upstream_requests_per_request": round(upstream["requests"] / total, 3),
                }
                print(f"  burst of 64 identical: upstream/req {upstream['requests'] / total:.3f}", flush=True)
                # the floor: the simulators directly, same upstream requests
                for name, lines in floor_requests(inputs).items():
                    for conc in concurrencies:
                        result = run_floor(stack, lines, conc, duration, tmp)
                        result.update(scenario=name, upstream_latency_ms=latency, concurrency=conc)
                        results["floor"].append(result)
                        print(f"  floor {name:14} c{conc:<3} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms", flush=True)
                results["peak_rss"][f"{latency:g}"] = stack.peak_rss_mb()
            finally:
                stack.stop()
        if not args.quick and (os.cpu_count() or 1) > 1:
            results["scaling"] = scaling(args, tmp, logdir, duration)
    results["meta"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    results["targets"] = targets(results)
    return results


def scaling(args: argparse.Namespace, tmp: Path, logdir: Path, duration: float) -> list[dict[str, Any]]:
    """(a) at concurrency 32, 0 ms: one worker on one core, then one worker per core, unpinned.

    With every core the gateway competes with the simulators and wrk, as it would with
    anything else on a real host; the ratio is what more cores buy on this machine.
    """
    if TWO_CPUS:
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    rows = []
    for workers, pin in ((1, True), (os.cpu_count() or 1, False)):
        stack = Stack(0.0, workers, logdir, pin_gateway=pin)
        try:
            body = tmp / "scaling.json"
            body.write_text(json.dumps(bodies(collect(stack))["a_first_page"]))
            run_wrk(stack.url, "graphql.lua", {"BENCH_BODY_FILE": str(body)}, 4, 1)
            result = run_wrk(stack.url, "graphql.lua", {"BENCH_BODY_FILE": str(body)}, 32, duration)
            result.update(workers=workers, gateway_cpus="CPU 0" if pin and TWO_CPUS else "all")
            result["peak_rss"] = stack.peak_rss_mb()
            rows.append(result)
            print(f"  scaling: {workers} worker(s) on {result['gateway_cpus']}: {result['rps']:.1f} req/s, p99 {result['p99_ms']:.1f} ms", flush=True)
        finally:
            stack.stop()
    return rows


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row from repeated runs: the median of each figure, the samples kept beside it."""
    row = dict(runs[len(runs) // 2])
    for field in ("rps", "pages_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "upstream_requests_per_request", "upstream_items_per_request"):
        values = [r[field] for r in runs if field in r]
        if values:
            row[field] = round(statistics.median(values), 3 if "upstream" in field else 2)
    row["requests"] = sum(r["requests"] for r in runs)
    row["errors"] = {key: sum(r["errors"][key] for r in runs) for key in runs[0]["errors"]}
    row["samples"] = [{k: r.get(k) for k in ("rps", "p50_ms", "p99_ms")} for r in runs]
    return row


def find(results: dict[str, Any], scenario: str, latency: float, conc: int) -> dict[str, Any] | None:
    for run in results["runs"]:
        if run["scenario"] == scenario and run["upstream_latency_ms"] == latency and run["concurrency"] == conc:
            return run
    return None


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    out = []

    def check(name: str, scenario: str, latency: float, conc: int, test, shown: str) -> None:  # type: ignore[no-untyped-def]
        run = find(results, scenario, latency, conc)
        out.append({"target": name, "measured": shown.format(**run) if run else "not run", "met": bool(run and test(run))})

    check("(a) 0 ms, c32: >= 200 req/s and p99 <= 250 ms", "a_first_page", 0.0, 32,
          lambda r: r["rps"] >= 200 and r["p99_ms"] <= 250, "{rps} req/s, p99 {p99_ms} ms")  # fmt: skip
    check("(a) 0 ms, c1: p50 <= 5 ms", "a_first_page", 0.0, 1, lambda r: r["p50_ms"] <= 5, "p50 {p50_ms} ms")
    check("(a) 50 ms, c1: p50 <= 56 ms", "a_first_page", 50.0, 1, lambda r: r["p50_ms"] <= 56, "p50 {p50_ms} ms")
    check("(a) 50 ms, c32: >= 240 req/s and p99 <= 240 ms", "a_first_page", 50.0, 32,
          lambda r: r["rps"] >= 240 and r["p99_ms"] <= 240, "{rps} req/s, p99 {p99_ms} ms")  # fmt: skip
    bursts = results["coalescing_burst"]
    worst = max((b["upstream_requests_per_request"] for b in bursts.values()), default=None)
    out.append({
        "target": "(e) <= 0.5 upstream requests per GraphQL request (64 identical at once)",
        "measured": f"{worst} upstream/request (worst latency setting)" if worst is not None else "not run",
        "met": worst is not None and worst <= 0.5,
    })  # fmt: skip
    rss = max((r["max_process_mb"] for r in results["peak_rss"].values()), default=None)
    out.append({"target": "peak RSS <= 150 MB", "measured": f"{rss} MiB (VmHWM, largest gateway process)", "met": rss is not None and rss <= 150})
    return out


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        "# Benchmark results",
        "",
        f"Measured {meta['started']} with `bench/run.py{' --quick' if meta['quick'] else ''} --duration {meta['duration_s']:g}"
        f" --workers {meta['workers']}`; each row the median of {meta.get('repeat', 1)} run(s), interleaved; {meta['cpus']} CPUs, pinning: {meta['pinning']}; {meta['wrk']}; "
        f"simulators seeded with {meta['simulator_count']} jobs each.",
        "",
        "| scenario | upstream ms | conc | req/s | p50 ms | p99 ms | errors (non-2xx / socket / GraphQL) | upstream req per req | upstream items per req | floor req/s | floor p50 ms | floor p99 ms |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    floors = {(f["scenario"], f["upstream_latency_ms"], f["concurrency"]): f for f in results["floor"]}
    for run in results["runs"]:
        e = run["errors"]
        fl = floors.get((run["scenario"], run["upstream_latency_ms"], run["concurrency"]), {})
        rps = f"{run['rps']}" + (f" ({run['pages_per_s']} pages/s)" if "pages_per_s" in run else "")
        lines.append(
            f"| {run['scenario']} | {run['upstream_latency_ms']:g} | {run['concurrency']} | {rps} | {run['p50_ms']} | {run['p99_ms']} | "
            f"{e['non_2xx']} / {e['socket']} / {e['graphql']} of {e['graphql_checked']} | {run['upstream_requests_per_request']} | "
            f"{run['upstream_items_per_request']} | {fl.get('rps', '')} | {fl.get('p50_ms', '')} | {fl.get('p99_ms', '')} |"
        )
    lines += ["", "64 identical requests at once (coalescing):", ""]
    for latency, b in results["coalescing_burst"].items():
        walls = ", ".join(f"{r['wall_ms']} ms" for r in b["rounds"])
        lines.append(f"- upstream {latency} ms: {b['upstream_requests_per_request']} upstream requests per GraphQL request; wall time per burst {walls}")
    lines += ["", "Peak RSS of the gateway (VmHWM): " + ", ".join(
        f"upstream {k} ms: {v['max_process_mb']} MiB" for k, v in results["peak_rss"].items()), ""]  # fmt: skip
    if results.get("scaling"):
        lines += ["Workers, (a) at concurrency 32, upstream 0 ms:", "", "| workers | gateway CPUs | req/s | p50 ms | p99 ms | peak RSS per process |", "|---:|---|---:|---:|---:|---:|"]
        for row in results["scaling"]:
            lines.append(f"| {row['workers']} | {row['gateway_cpus']} | {row['rps']} | {row['p50_ms']} | {row['p99_ms']} | {row['peak_rss']['max_process_mb']} MiB |")
        first, last = results["scaling"][0], results["scaling"][-1]
        if first["rps"]:
            lines += ["", f"{last['workers']} workers on every core: {last['rps'] / first['rps']:.2f}x the throughput of one worker on one core.", ""]
    lines += ["## Targets (issue 5)", "", "| target | measured | met |", "|---|---|---|"]
    for t in results["targets"]:
        lines.append(f"| {t['target']} | {t['measured']} | {'met' if t['met'] else '**not met**'} |")
    lines += [
        "",
        "Floor: the same upstream requests sent straight to both simulators at once (one wrk each, same",
        "concurrency); req/s is the slower simulator's, p50/p99 the worse. For (b) the floor is the first",
        "page's requests; for (d) one lookup per id, so compare its latency, not its req/s.",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed, so no plot: `.venv/bin/pip install matplotlib`, then run again", flush=True)
        return False
    latencies = sorted({r["upstream_latency_ms"] for r in results["runs"]})
    fig, axes = plt.subplots(1, len(latencies), figsize=(5 * len(latencies), 3.6), squeeze=False, dpi=80)
    for ax, latency in zip(axes[0], latencies):
        for i, name in enumerate(SCENARIOS):
            runs = sorted((r for r in results["runs"] if r["scenario"] == name and r["upstream_latency_ms"] == latency), key=lambda r: r["concurrency"])
            x = [r["concurrency"] for r in runs]
            color = f"C{i}"
            ax.plot(x, [r["p50_ms"] for r in runs], "o-", color=color, label=f"{name} p50")
            ax.plot(x, [r["p99_ms"] for r in runs], "s--", color=color, label=f"{name} p99")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("concurrency (connections)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"upstream latency {latency:g} ms")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][-1].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="A few seconds in all: 0 ms only, 1 s per run (the CI smoke test).")
    parser.add_argument("--duration", type=float, default=None, help="Seconds per run (default 5, or 1 with --quick).")
    parser.add_argument("--workers", type=int, default=1, help="Gateway worker processes (default 1).")
    parser.add_argument("--repeat", type=int, default=None, help="Runs per scenario, reported as medians (default 3, or 1 with --quick).")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json", help="JSON output.")
    parser.add_argument("--no-report", action="store_true", help="Only the JSON: leave bench/RESULTS.md and bench/latency.png alone.")
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    results = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    table = markdown(results)
    print("\n" + table)
    if not args.no_report:
        (BENCH / "RESULTS.md").write_text(table)
        plot(results, BENCH / "latency.png")
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
