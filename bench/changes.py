"""Each performance change, before and after, side by side in one process (issue 5).

    .venv/bin/python bench/changes.py [--baseline REF] [--repeats N]

"Before" is the code at `--baseline` (default: the commit the benchmark harness landed in,
before the cuts), loaded from git history into this process; "after" is the working tree.
Both run on the same inputs — one real first page of 100 jobs from the simulators (in
process, 1,000 jobs each) — alternating, and the medians and their ratio are reported.
Needs the git history (a full clone).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BASELINE = "9345229"

from gateway.config import Settings  # noqa: E402
from gateway.context import RequestContext  # noqa: E402
from gateway.engine import cursor as cursor_now  # noqa: E402
from gateway.engine import order as order_now  # noqa: E402
from gateway.model import JobOrder, OrderDirection, OrderField  # noqa: E402
from gateway.pagination import PageArgs, fetch_page  # noqa: E402
from gateway.schema import build_schema  # noqa: E402
from gateway.schema.inputs import to_query  # noqa: E402
from gateway.simulators import DEMO_DEVREV_TOKEN, DEMO_DOCURIFT_KEY, create_devrev_app, create_docurift_app  # noqa: E402
from gateway.sources import build_sources, devrev as devrev_now, docurift as docurift_now  # noqa: E402
from gateway.upstream import Metrics, UpstreamPolicy  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from run import NODE_FIELDS  # noqa: E402

PAGE_QUERY = f"query {{ jobs(first: 100) {{ edges {{ node {{ {NODE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"


def from_history(ref: str, modules: list[str]) -> dict[str, types.ModuleType]:
    """Load `modules` (dotted names, dependencies first) as they were at `ref`.

    Each is executed from `git show` while the earlier ones stand in for their names in
    sys.modules, so old code imports old code; sys.modules is restored afterwards.
    """
    saved = {name: sys.modules.get(name) for name in modules}
    loaded: dict[str, types.ModuleType] = {}
    try:
        for name in modules:
            path = name.replace(".", "/") + ".py"
            source = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=ROOT, check=True, capture_output=True, text=True).stdout
            module = types.ModuleType(name)
            module.__file__ = f"{ref}:{path}"
            module.__package__ = name.rpartition(".")[0]
            sys.modules[name] = module
            exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - our own history
            loaded[name] = module
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    return loaded


def alternate(before: Callable[[], Any], after: Callable[[], Any], repeats: int, inner: int) -> tuple[float, float]:
    """Median µs per call of each, measured in alternating batches."""
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(repeats):
        for name, fn in (("before", before), ("after", after)):
            start = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - start) / inner * 1e6)
    return statistics.median(times["before"]), statistics.median(times["after"])


async def alternate_async(before: Callable[[], Any], after: Callable[[], Any], repeats: int, inner: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(repeats):
        for name, fn in (("before", before), ("after", after)):
            start = time.perf_counter()
            for _ in range(inner):
                await fn()
            times[name].append((time.perf_counter() - start) / inner * 1e6)
    return statistics.median(times["before"]), statistics.median(times["after"])


class Inputs:
    """One real first page and the upstream bodies behind it."""

    async def build(self) -> Inputs:
        devrev_app = create_devrev_app(token=DEMO_DEVREV_TOKEN, seed=7, count=1000)
        docurift_app = create_docurift_app(api_key=DEMO_DOCURIFT_KEY, seed=11, count=1000)

        async def route(scope: Any, receive: Any, send: Any) -> None:
            app = devrev_app if scope.get("server", ("devrev",))[0] == "devrev" else docurift_app
            await app(scope, receive, send)

        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=route))
        settings = Settings(
            devrev_base_url="http://devrev", devrev_token=DEMO_DEVREV_TOKEN,
            docurift_base_url="http://docurift", docurift_api_key=DEMO_DOCURIFT_KEY,
        )
        self.sources = build_sources(self.client, settings, UpstreamPolicy.from_env({}), Metrics()).for_request({})
        self.query = to_query(None, None)
        self.page = await fetch_page(self.sources, self.query, PageArgs.from_relay(100, None, None, None), want_total=False)
        headers = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}
        self.devrev_body = (await self.client.post("http://devrev/jobs.list", json={"limit": 100}, headers=headers)).content
        self.docurift_body = (
            await self.client.get("http://docurift/v1/jobs", params={"limit": 100}, headers={"X-API-Key": DEMO_DOCURIFT_KEY})
        ).content
        return self

    def fresh_page(self) -> Any:
        return dataclasses.replace(self.page, _cursors={})


async def measure(ref: str, repeats: int) -> list[dict[str, Any]]:
    inputs = await Inputs().build()
    rows: list[dict[str, Any]] = []

    def row(change: str, what: str, before_after: tuple[float, float], unit: str = "µs") -> None:
        before, after = before_after
        rows.append({"change": change, "what": what, "before": round(before, 1), "after": round(after, 1), "unit": unit,
                     "speedup": round(before / after, 2) if after else None})
        print(f"{change:<48} {what:<44} {before:>9.1f} -> {after:>9.1f} {unit}  ({before / after:.2f}x)", flush=True)

    # 1. Execution: strawberry's stock executor vs the fast path, same schema, same page.
    from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

    fast, stock = build_schema(), build_schema()
    stock.execution_context_class = StrawberryGraphQLCoreExecutionContext

    class Canned:
        """Hands every execution a fresh copy of the same page: no upstream, no merge."""

        async def fetch(self, *args: Any, **kwargs: Any) -> Any:
            return inputs.fresh_page()

    def execute(schema: Any) -> Callable[[], Any]:
        async def run() -> None:
            result = await schema.execute(PAGE_QUERY, context_value=RequestContext(inputs.sources, pages=Canned()))  # type: ignore[arg-type]
            assert not result.errors, result.errors
        return run

    row("Execution: fast path for plain fields", "execute (a) without cursors, 100 jobs", await alternate_async(execute(stock), execute(fast), repeats, 5))

    # 2. Cursors: the baseline codec vs today's (tag + small-window deflate), same 100 edges.
    old = from_history(ref, ["gateway.errors", "gateway.engine.cursor"])
    cursor_old = old["gateway.engine.cursor"]
    page = inputs.fresh_page()
    args, args_now = [], []
    for position, entry in enumerate(page.merged.entries):
        job = entry.job
        key = (order_now.micros(job.sort_time(page.order_field)), job.source.rank, job.source_id)
        texts = page.merged.position_texts_at(position)
        args.append((texts, (entry.stream, entry.before_text), key, page.query_fingerprint))
        args_now.append((texts, (entry.stream, entry.before, entry.after), key, page.query_fingerprint))
    row(
        "Cursors: signed, not deflated, derived parts short",
        "encode 100 edge cursors",
        alternate(
            lambda: [cursor_old.encode_cursor_text(*a) for a in args],
            lambda: [cursor_now.encode_cursor_text(*a, cursor_now.DEFAULT_CURSOR_KEY) for a in args_now],
            repeats, 5,
        ),
    )

    # 3. Upstream bodies and the response: json vs orjson.
    response = httpx.Response(200, content=inputs.devrev_body, headers={"content-type": "application/json"})
    row("orjson for upstream bodies", "decode a DevRev page of 100 jobs", alternate(response.json, lambda: orjson.loads(inputs.devrev_body), repeats, 20))
    result = await fast.execute(PAGE_QUERY.replace("edges { node", "edges { cursor node"), context_value=RequestContext(inputs.sources))
    body = {"data": result.data}
    row("orjson for responses", "encode the (a) response", alternate(lambda: json.dumps(body, separators=(",", ":")), lambda: orjson.dumps(body), repeats, 20))

    # 4. Sort keys: negated code points vs `Descending`, newest first.
    old_order = from_history(ref, ["gateway.engine.order"])["gateway.engine.order"]
    order = JobOrder(OrderField.CREATED_AT, OrderDirection.DESC)
    jobs = [entry.job for entry in inputs.page.merged.entries] * 2
    key_old, key_now = old_order.sort_key(order), order_now.sort_key(order)
    row("Sort keys: Descending strings", "sort keys of 200 jobs", alternate(lambda: [key_old(j) for j in jobs], lambda: [key_now(j) for j in jobs], repeats, 20))

    # 5. Normalization (users shared within a response, parse_time without a copy).
    old_sources = from_history(ref, ["gateway.errors", "gateway.ids", "gateway.sources.wire", "gateway.sources.devrev", "gateway.sources.docurift"])
    raw_devrev = orjson.loads(inputs.devrev_body)["jobs"]
    raw_docurift = orjson.loads(inputs.docurift_body)["data"]["jobs"]

    def normalize_now() -> None:
        users: dict = {}
        for raw in raw_devrev:
            devrev_now.normalize(raw, users)

    row(
        "Normalization: shared users, faster timestamps",
        "normalize 100 DevRev jobs",
        alternate(lambda: [old_sources["gateway.sources.devrev"].normalize(r) for r in raw_devrev], normalize_now, repeats, 5),
    )
    row(
        "Normalization: faster timestamps",
        "normalize 100 DocuRift jobs",
        alternate(lambda: [old_sources["gateway.sources.docurift"].normalize(r) for r in raw_docurift], lambda: [docurift_now.normalize(r) for r in raw_docurift], repeats, 5),
    )

    # 6. sniffio: httpcore's `import sniffio` per request, missing vs installed.
    def missing() -> None:
        try:
            importlib.import_module("sniffio_is_not_installed")
        except ImportError:
            pass

    row("sniffio installed", "httpcore's per-request `import sniffio`", alternate(missing, lambda: importlib.import_module("sniffio"), repeats, 50))
    await inputs.client.aclose()
    return rows


async def breakdown(repeats: int) -> list[dict[str, Any]]:
    """Where one first page of 100 jobs spends the gateway's CPU now, part by part.

    Each part is timed on its own with the same real page (process CPU time, median):
    decoding and normalizing the two upstream bodies, the engine (planning, locating,
    merging) with the upstream answers replayed from memory, 100 edge cursors, executing
    the selection, and encoding the response. The HTTP layers (uvicorn, Starlette,
    strawberry's view, httpx's client side) are what the end-to-end benchmark adds on top.
    """
    inputs = await Inputs().build()
    from gateway.engine.reads import RawRead
    from gateway.sources.base import StreamPlan

    recorded: dict[tuple[str, RawRead], Any] = {}

    class Replay:
        """A source whose answers are the real ones, recorded once: the engine without I/O."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.source = inner, inner.source

        def plan(self, query: Any) -> Any:
            return self.inner.plan(query)

        async def read(self, query: Any, stream: StreamPlan, read: RawRead) -> Any:
            key = (stream.name, read)
            if key not in recorded:
                recorded[key] = await self.inner.read(query, stream, read)
            return recorded[key]

        async def count(self, query: Any, stream: StreamPlan) -> Any:
            return None

    replay = [Replay(source) for source in inputs.sources]
    args = PageArgs.from_relay(100, None, None, None)
    await fetch_page(replay, inputs.query, args, want_total=False)
    schema = build_schema()

    class Canned:
        async def fetch(self, *a: Any, **k: Any) -> Any:
            return inputs.fresh_page()

    no_cursors = PAGE_QUERY
    result = await schema.execute(no_cursors.replace("edges { node", "edges { cursor node"), context_value=RequestContext(inputs.sources, pages=Canned()))  # type: ignore[arg-type]
    body = {"data": result.data}
    raw_devrev = orjson.loads(inputs.devrev_body)["jobs"]
    raw_docurift = orjson.loads(inputs.docurift_body)["data"]["jobs"]

    def cpu(fn: Callable[[], Any], inner: int = 5) -> float:
        samples = []
        for _ in range(repeats):
            start = time.process_time()
            for _ in range(inner):
                fn()
            samples.append((time.process_time() - start) / inner * 1e3)
        return statistics.median(samples)

    async def acpu(fn: Callable[[], Any], inner: int = 5) -> float:
        samples = []
        for _ in range(repeats):
            start = time.process_time()
            for _ in range(inner):
                await fn()
            samples.append((time.process_time() - start) / inner * 1e3)
        return statistics.median(samples)

    def normalize() -> None:
        users: dict = {}
        for raw in raw_devrev:
            devrev_now.normalize(raw, users)
        for raw in raw_docurift:
            docurift_now.normalize(raw)

    async def execute() -> None:
        await schema.execute(no_cursors, context_value=RequestContext(inputs.sources, pages=Canned()))  # type: ignore[arg-type]

    parts = [
        ("decode both upstream bodies (orjson)", cpu(lambda: (orjson.loads(inputs.devrev_body), orjson.loads(inputs.docurift_body)))),
        ("normalize 200 jobs", cpu(normalize)),
        ("engine: plan, locate, merge (answers replayed)", await acpu(lambda: fetch_page(replay, inputs.query, args, want_total=False))),
        ("100 edge cursors", cpu(lambda: [page.cursor_at(i) for page in [inputs.fresh_page()] for i in range(100)])),
        ("execute the selection (strawberry + fast path)", await acpu(execute)),
        ("encode the response (orjson)", cpu(lambda: orjson.dumps(body), 20)),
    ]
    await inputs.client.aclose()
    rows = [{"part": name, "cpu_ms": round(ms, 3)} for name, ms in parts]
    for row in rows:
        print(f"  {row['part']:<52} {row['cpu_ms']:7.3f} ms", flush=True)
    print(f"  {'total':<52} {sum(r['cpu_ms'] for r in rows):7.3f} ms", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=BASELINE, help="git ref of the code before the changes")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "changes.json")
    args = parser.parse_args(argv)
    rows = asyncio.run(measure(args.baseline, args.repeats))
    print("\nWhere a first page's CPU goes now (in process, median):", flush=True)
    parts = asyncio.run(breakdown(args.repeats))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"baseline": args.baseline, "rows": rows, "breakdown": parts}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
