"""The cached simulators answer exactly as the straightforward ones did.

A hypothesis state machine drives each simulator and a reference app built from
the pre-caching endpoint code (reference_*.py) over the SAME store and clock:
random lists (filters, sorts, limits, modes, cursors both seen and forged),
gets, injected jobs, clock moves across running jobs' steps, and faults. Every
answer must match byte for byte (status, headers, body), and so must the
request/item/fault counters. `SIM_EXAMPLES=500` digs deeper.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from reference_devrev import reference_devrev_app
from reference_docurift import reference_docurift_app
from starlette.applications import Starlette

from gateway.simulators import (
    DEMO_DEVREV_TOKEN,
    DEMO_DOCURIFT_KEY,
    Faults,
    SimClock,
    create_devrev_app,
    create_docurift_app,
)
from gateway.simulators import cursor as cursors
from gateway.simulators.data import DEVREV_PARENT_IDS, DEVREV_USERS
from gateway.simulators.store import Run
from gateway.simulators.timefmt import devrev_ts, docurift_ts

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
EXAMPLES = int(os.environ.get("SIM_EXAMPLES", "30"))
MACHINE = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


async def asgi(
    app: Starlette, method: str, path: str, query: str = "", body: bytes = b"", **headers: str
) -> Answer:
    """One request straight through the ASGI app: status, raw headers, body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": urllib.parse.unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status, raw_headers, chunks = 0, [], []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, raw_headers
        if message["type"] == "http.response.start":
            status, raw_headers = message["status"], list(message["headers"])
        else:
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, raw_headers, b"".join(chunks)


# --- shared strategies ---------------------------------------------------------------

ADVANCE = st.sampled_from([0, 0.001, 0.5, 1, 9.999, 10, 10.001, 19.99, 25, 60, 333.3, 1000])
_FAULT_EXTRA: dict[str, dict[str, Any]] = {"status": {"status": 500}, "slow": {"delay_ms": 0.5}}


def _complete(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, **_FAULT_EXTRA.get(fields["kind"], {})}


FAULTS = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["status", "malformed", "envelope", "missing_field", "slow"]),
            "rate": st.sampled_from([1.0, 0.5]),
            "seed": st.integers(0, 3),
            "count": st.sampled_from([None, 1, 3]),
            "latency_ms": st.sampled_from([0.0, 0.0, 0.5]),
        },
        optional={"paths": st.sampled_from([["/jobs.list"], ["/jobs.get"], ["/v1/jobs"], ["/x"]])},
    ).map(_complete),
    st.fixed_dictionaries(
        {
            "kind": st.just("status"),
            "status": st.sampled_from([400, 401, 404, 413, 429, 500, 502, 503, 504, 599]),
            "retry_after": st.sampled_from([None, 0, 7]),
            "rate": st.sampled_from([1.0, 0.3]),
        }
    ),
    st.fixed_dictionaries({"latency_ms": st.just(0.5)}),
)


class Twins(RuleBasedStateMachine):
    """A fast app and the reference app over one store and clock; subclasses speak the API."""

    fast: Starlette
    reference: Starlette
    auth: ClassVar[dict[str, str]]

    def build(self, count: int, seed: int, clock: SimClock) -> None:
        raise NotImplementedError

    @initialize(count=st.sampled_from([0, 1, 7, 40, 60, 100, 150]), seed=st.integers(0, 5))
    def start(self, count: int, seed: int) -> None:
        self.clock = SimClock(START, frozen=True)
        self.build(count, seed, self.clock)
        self.last: tuple[str, str, str, bytes, dict[str, str]] | None = None
        self.cursors: list[str] = []

    def both(
        self, method: str, path: str, query: str = "", body: bytes = b"", **headers: str
    ) -> Answer:
        """Ask both apps the same thing; their answers must be identical."""
        headers = {**self.auth, **headers}
        self.last = (method, path, query, body, headers)
        got = asyncio.run(asgi(self.fast, method, path, query, body, **headers))
        want = asyncio.run(asgi(self.reference, method, path, query, body, **headers))
        assert got == want, (method, path, query, body)
        return got

    @rule()
    def repeat(self) -> None:
        """The same request again: now served from the caches."""
        if self.last is not None:
            method, path, query, body, headers = self.last
            self.both(method, path, query, body, **headers)

    @rule(seconds=ADVANCE)
    def advance(self, seconds: float) -> None:
        """Move the clock between two probes: caches filled before must not leak past a step."""
        self.probe()
        self.clock.advance(seconds)
        self.probe()

    def probe(self) -> None:
        """Every sort's first pages (subclasses)."""

    @rule(fields=FAULTS)
    def faults(self, fields: dict[str, Any]) -> None:
        self.fast.state.sim.faults.set(**fields)
        self.reference.state.sim.faults.set(**fields)

    @invariant()
    def same_counters(self) -> None:
        if hasattr(self, "fast"):
            assert self.fast.state.sim.stats.to_dict() == self.reference.state.sim.stats.to_dict()

    def remember_cursors(self, answer: Answer) -> None:
        try:
            data = json.loads(answer[2])
        except ValueError:  # e.g. the `malformed` fault
            return
        if answer[0] == 200 and isinstance(data, dict):
            self.cursors += [data[k] for k in ("next_cursor", "prev_cursor") if k in data]
            self.cursors = self.cursors[-30:]

    def ids(self) -> list[str]:
        return [item.id for item in self.fast.state.sim.store._items]


# --- DevRev ----------------------------------------------------------------------------

DEVREV_STATES = ["queued", "running", "completed", "failed", "cancelled", "paused", "hibernating"]
CATEGORIES = ["bulk_upgrade", "export", "import", "reindex", "brand_new"]
USER_IDS = [u["id"] for u in DEVREV_USERS[:3]] + ["don:identity:nobody"]
SORTS: list[Any] = [
    None,
    [],
    ["created_date:desc"],
    ["created_date:asc"],
    ["modified_date:desc"],
    ["modified_date:asc"],
    ["created_date:asc", "modified_date:desc"],
    ["modified_date:desc", "created_date:asc"],
    ["modified_date:asc", "created_date:asc"],
    ["created_date:desc", "modified_date:desc"],
    ["bogus:asc"],
    ["created_date:desc", "created_date:asc"],
    "created_date:desc",
]
VALID_SORTS = [s for s in SORTS if isinstance(s, list) and s and "bogus:asc" not in s]
DEVREV_MS = [-5_000_000, -86_400_000, -20_000, -10_000, -1, 0, 0, 1, 999, 5_000, 20_000]


def devrev_at(ms: int) -> str:
    return devrev_ts(START + timedelta(milliseconds=ms))


def _subset(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.lists(st.sampled_from(values), max_size=3)


DEVREV_LIST = st.fixed_dictionaries(
    {},
    optional={
        "state": st.one_of(_subset(DEVREV_STATES), st.just("running"), st.just([5])),
        "category": _subset(CATEGORIES),
        "created_by": _subset(USER_IDS),
        "owned_by_id": _subset(USER_IDS),
        "parent_ids": _subset([*DEVREV_PARENT_IDS[:2], "don:p"]),
        "sort_by": st.sampled_from(SORTS),
        "limit": st.sampled_from(
            [None, 1, 2, 3, 7, 50, 100, 101, 10_000, 0, -1, "5", " 7 ", "x", 2.0, 2.5, True]
        ),
        "mode": st.sampled_from([None, "after", "before", "before", "sideways"]),
    },
)
DEVREV_JOB = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from([*DEVREV_STATES, "running", "running"]),
        "progress": st.sampled_from([0, 1, 50, 97, 99, 100]),
        "created_date": st.sampled_from(DEVREV_MS).map(devrev_at),
        "modified_date": st.sampled_from(DEVREV_MS).map(devrev_at),
        "job_category": st.sampled_from(CATEGORIES),
        "created_by": st.sampled_from([*DEVREV_USERS[:2], "don:identity:plain"]),
        "_owned_by": _subset(USER_IDS[:3]),
        "_parent_ids": _subset(DEVREV_PARENT_IDS[:2]),
        "title": st.sampled_from(["ünïcode ✓", 'quote " and \\', "plain"]),
        "extra_field": st.sampled_from([None, 1.5, [1, {"a": None}]]),
    },
)


def forged_cursor(sort: tuple[str, ...], ms: list[int], job_id: str, after: bool) -> str:
    """A well-formed cursor at an arbitrary key: exercises the binary search anywhere."""
    key = (*(devrev_at(m) for m in ms[: len(sort)]), job_id)
    return cursors.encode(cursors.Position(sort, key, after))


class DevRevTwins(Twins):
    auth: ClassVar[dict[str, str]] = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}

    def build(self, count: int, seed: int, clock: SimClock) -> None:
        self.fast = create_devrev_app(token=DEMO_DEVREV_TOKEN, seed=seed, count=count, clock=clock)
        sim = self.fast.state.sim
        self.reference = reference_devrev_app(sim.store, clock, Faults(), DEMO_DEVREV_TOKEN)

    @rule(params=DEVREV_LIST, how=st.sampled_from(["POST", "POST", "GET"]), data=st.data())
    def list_jobs(self, params: dict[str, Any], how: str, data: st.DataObject) -> None:
        params = {k: v for k, v in params.items() if v is not None or k == "mode"}
        source = data.draw(st.sampled_from(["none", "seen", "forged", "garbage"]))
        if source == "seen" and self.cursors:
            params["cursor"] = data.draw(st.sampled_from(self.cursors))
        elif source == "forged":
            sort = params.get("sort_by") or ["created_date:desc"]
            sort = tuple(sort) if isinstance(sort, list) else ("created_date:desc",)
            ids = [*self.ids(), "don:core:dvrv-us-1:devo/1:job/500", ""]
            ms = data.draw(st.lists(st.sampled_from(DEVREV_MS), min_size=2, max_size=2))
            params["cursor"] = forged_cursor(
                sort, ms, data.draw(st.sampled_from(ids)), data.draw(st.booleans())
            )
        elif source == "garbage":
            params["cursor"] = data.draw(st.sampled_from(["", "abc", "eyJ2IjoxfQ", "!!"]))
        if how == "POST":
            answer = self.both("POST", "/jobs.list", body=json.dumps(params).encode())
        else:
            pairs = [
                (k, str(x))
                for k, v in params.items()
                if v is not None
                for x in (v if isinstance(v, list) else [v])
            ]
            answer = self.both("GET", "/jobs.list", urllib.parse.urlencode(pairs))
        self.remember_cursors(answer)

    def probe(self) -> None:
        for sort in VALID_SORTS:
            for limit, mode in ((100, "after"), (7, "after"), (7, "before")):
                body = {"sort_by": sort, "limit": limit, "mode": mode}
                self.remember_cursors(
                    self.both("POST", "/jobs.list", body=json.dumps(body).encode())
                )

    @rule(body=st.sampled_from([b"", b"[]", b"{", b'{"limit": 3}', b'{"cursor": 5}']))
    def odd_list(self, body: bytes) -> None:
        self.both("POST", "/jobs.list", body=body)

    @rule(data=st.data(), how=st.sampled_from(["POST", "GET", "HEAD", "PUT"]))
    def get_job(self, data: st.DataObject, how: str) -> None:
        job_id = data.draw(st.sampled_from([*self.ids()[:50], "nope", "", 5, None]))
        if how in ("GET", "HEAD"):
            query = urllib.parse.urlencode({"id": job_id}) if isinstance(job_id, str) else ""
            self.both(how, "/jobs.get", query)
        else:
            self.both(how, "/jobs.get", body=json.dumps({"id": job_id}).encode())

    @rule(jobs=st.lists(DEVREV_JOB, min_size=1, max_size=4))
    def inject(self, jobs: list[dict[str, Any]]) -> None:
        store = self.fast.state.sim.store
        for job in jobs:
            store.add(job)

    @rule(header=st.sampled_from(["", "Bearer nope", "Basic x"]))
    def unauthenticated(self, header: str) -> None:
        self.both("POST", "/jobs.list", body=b"{}", Authorization=header)


# --- DocuRift --------------------------------------------------------------------------

DOCURIFT_STATUSES = ["pending", "processing", "completed", "failed", "archived"]
TYPES = ["invoice", "receipt", "contract", "general", "purchase_order"]
DOCURIFT_S = [-3_000_000, -86_400, -30, -10, -1, 0, 0, 1, 5, 30]


def docurift_at(seconds: int) -> str:
    return docurift_ts(START + timedelta(seconds=seconds))


BOUNDS = st.sampled_from(
    [
        docurift_at(-86_400),
        docurift_at(-10),
        docurift_at(0),
        "2024-03-01T12:00:00.5Z",
        "2024-03-01T13:00:00+01:00",
        "2024-02-29",
        "yesterday",
        "",
    ]
)
DOCURIFT_LIST = st.fixed_dictionaries(
    {},
    optional={
        "page": st.sampled_from(
            ["1", "1", "2", "3", "40", "0", "-1", "x", " 2 ", "99999999999999999999"]
        ),
        "limit": st.sampled_from(["1", "3", "20", "100", "101", "0", "abc", ""]),
        "status": st.sampled_from([*DOCURIFT_STATUSES, "", ["pending", "failed"]]),
        "documentType": st.sampled_from([*TYPES, "bill_of_lading"]),
        "sortBy": st.sampled_from(["createdAt", "updatedAt", "id"]),
        "sortOrder": st.sampled_from(["asc", "desc", "DESC"]),
        "startDate": BOUNDS,
        "endDate": BOUNDS,
    },
)
DOCURIFT_JOB = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([*DOCURIFT_STATUSES, "processing", "processing"]),
        "progress": st.sampled_from([0, 1, 50, 97, 99, 100]),
        "documentType": st.sampled_from(TYPES),
        "createdAt": st.sampled_from(DOCURIFT_S).map(docurift_at),
        "updatedAt": st.sampled_from(DOCURIFT_S).map(docurift_at),
        "note": st.sampled_from(["ünïcode ✓", None, {"nested": [1, 2.5]}]),
    },
)


class DocuRiftTwins(Twins):
    auth: ClassVar[dict[str, str]] = {"X-API-Key": DEMO_DOCURIFT_KEY}

    def build(self, count: int, seed: int, clock: SimClock) -> None:
        self.fast = create_docurift_app(
            api_key=DEMO_DOCURIFT_KEY, seed=seed, count=count, clock=clock
        )
        sim = self.fast.state.sim
        self.reference = reference_docurift_app(sim.store, clock, Faults(), DEMO_DOCURIFT_KEY)

    @rule(params=DOCURIFT_LIST)
    def list_jobs(self, params: dict[str, Any]) -> None:
        pairs = [(k, x) for k, v in params.items() for x in (v if isinstance(v, list) else [v])]
        self.both("GET", "/v1/jobs", urllib.parse.urlencode(pairs))

    def probe(self) -> None:
        for sort_by in ("createdAt", "updatedAt"):
            for order in ("asc", "desc"):
                for page in ("limit=100", "limit=7&page=2"):
                    self.both("GET", "/v1/jobs", f"sortBy={sort_by}&sortOrder={order}&{page}")

    @rule(data=st.data(), how=st.sampled_from(["GET", "GET", "HEAD", "POST"]))
    def get_job(self, data: st.DataObject, how: str) -> None:
        job_id = data.draw(st.sampled_from([*self.ids()[:50], "nope", "a%2Fb", "x/y", ""]))
        self.both(how, "/v1/jobs/" + urllib.parse.quote(job_id, safe="%/"))

    @rule(jobs=st.lists(DOCURIFT_JOB, min_size=1, max_size=4))
    def inject(self, jobs: list[dict[str, Any]]) -> None:
        store = self.fast.state.sim.store
        for job in jobs:
            store.add(job)

    @rule(headers=st.sampled_from([{"X-API-Key": ""}, {"X-API-Key": "frc_nope"}]))
    def unauthenticated(self, headers: dict[str, str]) -> None:
        self.both("GET", "/v1/jobs", "limit=2", **headers)


TestDevRevEquivalence = DevRevTwins.TestCase
TestDevRevEquivalence.settings = MACHINE
TestDocuRiftEquivalence = DocuRiftTwins.TestCase
TestDocuRiftEquivalence.settings = MACHINE


# --- the pieces the caches rest on -----------------------------------------------------


@given(
    p0=st.integers(0, 100),
    t0_ms=st.integers(-2_000_000, 2_000_000),
    now_ms=st.integers(-2_000_000, 2_000_000),
)
def test_run_span_is_exactly_where_the_tick_holds(p0: int, t0_ms: int, now_ms: int) -> None:
    run = Run(t0=START + timedelta(milliseconds=t0_ms), p0=p0)
    now = START + timedelta(milliseconds=now_ms)
    lo, hi = run.span(now)
    tick = run.at(now)
    tiny = timedelta(microseconds=1)
    assert lo is None or lo <= now
    assert hi is None or now < hi
    if lo is not None:
        assert run.at(lo) == tick and run.at(lo - tiny) != tick
    if hi is not None:
        assert run.at(hi - tiny) == tick and run.at(hi) != tick
    far = timedelta(days=3650)
    assert (lo is not None) or run.at(now - far) == tick
    assert (hi is not None) or run.at(now + far) == tick


def test_view_is_reused_until_a_write_or_a_step() -> None:
    clock = SimClock(START, frozen=True)
    store = create_devrev_app(token="t", count=200, clock=clock).state.sim.store
    view = store.view(clock.now())
    assert view.hi is not None  # seeded running jobs step soon
    assert store.view(clock.now()) is view
    clock.advance((view.hi - clock.now()).total_seconds() / 2)
    assert store.view(clock.now()) is view
    clock.advance((view.hi - clock.now()).total_seconds())
    stepped = store.view(clock.now())
    assert stepped is not view
    unchanged = [e for e in stepped.entries if e.item.run is None]
    assert all(view.by_id[e.item.id] is e for e in unchanged)  # renderings carried over
    store.add({"title": "new"})
    assert store.view(clock.now()) is not stepped
