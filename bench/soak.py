"""Soak: 60 s of mixed queries at concurrency 16 against the gateway, with 10% of upstream
requests failing in rotating ways. Bounded in time and count; loopback only.

Prints requests, gateway 5xx count (must be 0), p50/p99 latency, and traversal loss: every
worker keeps paging through all jobs (retrying provisional pages, as the README tells
clients to) and compares what it saw with the healthy list (must be equal: loss 0).

    .venv/bin/python bench/soak.py [--seconds 60] [--concurrency 16] [--fault-rate 0.1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from live import serve  # noqa: E402

from gateway.app import create_app  # noqa: E402
from gateway.config import Settings  # noqa: E402
from gateway.simulators import SimClock, create_devrev_app, create_docurift_app  # noqa: E402

TOKEN, KEY = "soak-token", "frc_soak0000000000000000000000000000"
PAGE = "query($first: Int, $after: String, $filter: JobFilter) { jobs(first: $first, after: $after, filter: $filter) { edges { node { id source status } } sources { state } pageInfo { hasNextPage endCursor } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
FAULTS = [
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 500},
    {"kind": "status", "status": 429, "retry_after": 1},
    {"kind": "malformed"},
    {"kind": "slow", "delay_ms": 300},
]


async def traverse(client: httpx.AsyncClient, url: str, stats: dict, size: int = 25) -> list[str]:
    seen, after = [], None
    for _ in range(10_000):
        body = await post(client, url, stats, PAGE, first=size, after=after)
        if body is None:
            continue  # a 5xx is counted; try the same page again
        page = body["data"]["jobs"]
        if body.get("errors"):
            after = page["pageInfo"]["endCursor"]  # provisional page: read the same stretch again
            continue
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise RuntimeError("traversal did not end")


async def post(client: httpx.AsyncClient, url: str, stats: dict, query: str, **variables) -> dict | None:
    started = time.perf_counter()
    response = await client.post(f"{url}/graphql", json={"query": query, "variables": variables})
    stats["latencies"].append(time.perf_counter() - started)
    stats["requests"] += 1
    if response.status_code >= 500:
        stats["5xx"] += 1
        return None
    return response.json()


async def soak(url: str, sims: list, seconds: float, concurrency: int, fault_rate: float) -> dict:
    stats = {"requests": 0, "5xx": 0, "latencies": [], "traversals": 0, "lost": 0, "duplicated": 0}
    async with httpx.AsyncClient(timeout=30) as client:
        healthy = await traverse(client, url, stats)
        ids = healthy[:100]
        stats.update(requests=0, latencies=[])
        stop = time.monotonic() + seconds

        async def rotate_faults() -> None:
            turn = 0
            while time.monotonic() < stop:
                for n, sim in enumerate(sims):
                    sim.faults.set(**FAULTS[(turn + n) % len(FAULTS)], rate=fault_rate, seed=turn * 7 + n)
                turn += 1
                await asyncio.sleep(3)
            for sim in sims:
                sim.faults.clear()

        async def worker(n: int) -> None:
            dice = random.Random(n)
            while time.monotonic() < stop:
                roll = dice.random()
                if roll < 0.3:
                    seen = await traverse(client, url, stats)
                    stats["traversals"] += 1
                    stats["lost"] += len(set(healthy) - set(seen))
                    stats["duplicated"] += len(seen) - len(set(seen))
                    if seen != healthy and not (set(healthy) - set(seen)) and len(seen) == len(set(seen)):
                        stats["lost"] += 1  # same jobs, wrong order: count it as a loss
                elif roll < 0.6:
                    await post(client, url, stats, PAGE, first=dice.choice([1, 20, 100]))
                elif roll < 0.8:
                    await post(client, url, stats, PAGE, first=20, filter={"status": ["PENDING", "RUNNING"]})
                else:
                    await post(client, url, stats, NODES, ids=dice.sample(ids, 20))

        await asyncio.gather(rotate_faults(), *(worker(n) for n in range(concurrency)))
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--fault-rate", type=float, default=0.1)
    args = parser.parse_args()
    clock = SimClock(frozen=True)
    devrev = create_devrev_app(token=TOKEN, count=300, clock=clock)
    docurift = create_docurift_app(api_key=KEY, count=300, clock=clock)
    with serve(devrev) as devrev_url, serve(docurift) as docurift_url:
        settings = Settings(devrev_base_url=devrev_url, devrev_token=TOKEN, docurift_base_url=docurift_url, docurift_api_key=KEY)
        with serve(create_app(settings)) as url:
            stats = asyncio.run(soak(url, [devrev.state.sim, docurift.state.sim], args.seconds, args.concurrency, args.fault_rate))
    latencies = sorted(stats["latencies"])
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    print(f"requests          {stats['requests']}")
    print(f"gateway 5xx       {stats['5xx']}")
    print(f"latency p50/p99   {statistics.median(latencies) * 1000:.1f} ms / {p99 * 1000:.1f} ms")
    print(f"traversals        {stats['traversals']}")
    print(f"traversal loss    {stats['lost']} lost, {stats['duplicated']} duplicated")
    return 0 if stats["5xx"] == 0 and stats["lost"] == 0 and stats["duplicated"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
