"""200 clients, each paging through its own filter and order, with and without admission
control (issue 17).

    .venv/bin/python bench/load200.py [--duration S] [--repeat N] [--clients N] [--arms off,on]

Starts both simulators (healthy: no latency, no faults) and `gateway serve` as separate
processes on 127.0.0.1 with `bench/run.py`'s `Stack` (gateway on CPU 0; simulators and this
driver on CPU 1), once per arm and run, and drives it for `--duration` seconds from `--clients`
concurrent clients over one httpx pool (a connection per client). Each client pages forward
through its own filter, order and page size, following `endCursor`, and starts again at the
end. A refused request (503 `OVERLOADED`) waits its `Retry-After`, then asks again, as a
well-behaved client does.

Arms: `off` is `GATEWAY_MAX_CONCURRENCY=0`; `on` the defaults; `cN` a limit of N. Runs are
interleaved (off, on, off, on, ...) and each figure is the median over the runs. Bounded:
at most `--duration` seconds and `--max-requests` requests per run, 127.0.0.1 only.

Per arm: accepted requests per second (200 with a page), p50/p99 of the accepted, refusals,
`INTERNAL` errors, other error codes, transport errors. JSON to bench/results/load200.json.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, TWO_CPUS, Stack, percentile  # noqa: E402

QUERY = (
    "query Page($first: Int, $after: String, $filter: JobFilter, $order: JobOrder) {"
    " jobs(first: $first, after: $after, filter: $filter, orderBy: $order) {"
    " edges { node { id source status createdAt } } sources { source state }"
    " pageInfo { hasNextPage endCursor } } }"
)
FILTERS: list[dict[str, Any] | None] = [
    None,
    {"sources": ["DEVREV"]},
    {"sources": ["DOCURIFT"]},
    {"status": ["COMPLETED"]},
    {"status": ["PENDING", "RUNNING"]},
    {"status": ["FAILED", "CANCELLED"]},
]
ORDERS = [{"field": f, "direction": d} for f in ("CREATED_AT", "UPDATED_AT") for d in ("DESC", "ASC")]
SIZES = [5, 10, 20]
ARMS = {"off": {"GATEWAY_MAX_CONCURRENCY": "0"}, "on": {}}


def arm_env(arm: str) -> dict[str, str]:
    if arm in ARMS:
        return ARMS[arm]
    if arm.startswith("c") and arm[1:].isdigit():
        return {"GATEWAY_MAX_CONCURRENCY": arm[1:]}
    raise SystemExit(f"unknown arm {arm!r}: off, on or cN")


class Tally:
    def __init__(self) -> None:
        self.accepted: list[float] = []  # seconds, 200 with data
        self.refused = 0
        self.internal = 0
        self.codes: collections.Counter[str] = collections.Counter()
        self.statuses: collections.Counter[int] = collections.Counter()
        self.transport: collections.Counter[str] = collections.Counter()
        self.sent = 0


async def client(http: httpx.AsyncClient, url: str, variables: dict[str, Any], stop_at: float, tally: Tally, cap: int) -> None:
    after: str | None = None
    while time.monotonic() < stop_at and tally.sent < cap:
        tally.sent += 1
        started = time.monotonic()
        try:
            response = await http.post(url, json={"query": QUERY, "variables": {**variables, "after": after}})
        except httpx.HTTPError as error:
            tally.transport[type(error).__name__] += 1
            await asyncio.sleep(0.1)
            continue
        elapsed = time.monotonic() - started
        tally.statuses[response.status_code] += 1
        body = response.json()
        codes = [e.get("extensions", {}).get("code", "?") for e in body.get("errors") or []]
        tally.codes.update(codes)
        tally.internal += codes.count("INTERNAL")
        if response.status_code == 503 and codes == ["OVERLOADED"]:
            tally.refused += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        jobs = (body.get("data") or {}).get("jobs")
        if response.status_code != 200 or jobs is None:
            continue
        tally.accepted.append(elapsed)
        info = jobs["pageInfo"]
        after = info["endCursor"] if info["hasNextPage"] else None


async def drive(url: str, clients: int, duration: float, cap: int) -> dict[str, Any]:
    tally = Tally()
    combos = list(itertools.product(FILTERS, ORDERS, SIZES))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        started = time.monotonic()
        stop_at = started + duration
        await asyncio.gather(
            *(
                client(http, url, {"first": size, "filter": f, "order": order}, stop_at, tally, cap)
                for f, order, size in (combos[(i * 7) % len(combos)] for i in range(clients))
            )
        )
        wall = time.monotonic() - started
    accepted = tally.accepted
    return {
        "requests": tally.sent,
        "accepted": len(accepted),
        "accepted_per_s": round(len(accepted) / wall, 1),
        "p50_ms": round(percentile(accepted, 50) * 1000, 1),
        "p99_ms": round(percentile(accepted, 99) * 1000, 1),
        "max_ms": round(max(accepted, default=0) * 1000, 1),
        "refused": tally.refused,
        "internal": tally.internal,
        "upstream_timeout": tally.codes.get("UPSTREAM_TIMEOUT", 0),
        "codes": dict(tally.codes),
        "statuses": {str(k): v for k, v in tally.statuses.items()},
        "transport_errors": sum(tally.transport.values()),
        "transport": dict(tally.transport),
        "wall_s": round(wall, 2),
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("requests", "accepted", "accepted_per_s", "p50_ms", "p99_ms", "max_ms", "refused", "internal", "upstream_timeout", "transport_errors")
    return {key: statistics.median(run[key] for run in runs) for key in keys} | {
        "internal_total": sum(run["internal"] for run in runs),
        "transport_total": sum(run["transport_errors"] for run in runs),
    }


def markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"Measured {meta['started']} with `bench/load200.py --duration {meta['duration_s']:g} --repeat {meta['repeat']}`: "
        f"{meta['clients']} clients, upstream latency 0 ms, {meta['cpus']} CPUs, pinning: {meta['pinning']}; "
        "medians of interleaved runs (sums for INTERNAL and transport errors).",
        "",
        "| arm | settings | accepted req/s | p50 ms | p99 ms | max ms | refused (503) | UPSTREAM_TIMEOUT | INTERNAL (sum) | transport errors (sum) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arm, summary in results["medians"].items():
        settings = ", ".join(f"{k}={v}" for k, v in arm_env(arm).items()) or "defaults"
        lines.append(
            f"| {arm} | {settings} | {summary['accepted_per_s']} | {summary['p50_ms']} | {summary['p99_ms']} | {summary['max_ms']} "
            f"| {summary['refused']} | {summary['upstream_timeout']} | {summary['internal_total']} | {summary['transport_total']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds of load per run (default 20).")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per arm, interleaved (default 3).")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--max-requests", type=int, default=50_000, help="Requests per run at most.")
    parser.add_argument("--arms", default="off,on", help="Comma-separated: off, on, cN (a limit of N).")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "load200.json")
    args = parser.parse_args(argv)
    arms = args.arms.split(",")
    for arm in arms:
        arm_env(arm)
    if TWO_CPUS:
        os.sched_setaffinity(0, {1})  # with the simulators; the gateway has CPU 0
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    logdir = args.out.parent / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    for turn in range(args.repeat):
        for arm in arms:
            stack = Stack(0.0, 1, logdir, extra_env=arm_env(arm))
            try:
                result = asyncio.run(drive(stack.url, args.clients, args.duration, args.max_requests))
            finally:
                stack.stop()
            runs[arm].append(result)
            print(f"run {turn + 1} {arm}: {json.dumps({k: v for k, v in result.items() if k not in ('codes', 'statuses', 'transport')})}", flush=True)
    results = {
        "meta": {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "duration_s": args.duration,
            "repeat": args.repeat,
            "clients": args.clients,
            "cpus": os.cpu_count(),
            "pinning": "gateway on CPU 0, simulators and driver on CPU 1" if TWO_CPUS else "none",
        },
        "runs": runs,
        "medians": {arm: median_of(arm_runs) for arm, arm_runs in runs.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + markdown(results))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
