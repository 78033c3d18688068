"""DocuRift: `GET /v1/jobs` with offset pages, `GET /v1/jobs/{id}` for one job.

Offset pages shift when a job is created, so in creation order this module never pages
from the list's start: it narrows the list to one side of a second (`startDate`/`endDate`,
inclusive, on `createdAt`) and pages only from there, skipping the jobs already seen near
that second (new jobs are created "now", at the far end of such a list, so its offsets
hold; a second crowded past the page cap is paged through). Every second boundary inside
an answer is an anchor. In update order DocuRift offers no such filter; there the anchors
are the list's ends and pages are computed from offsets (the engine re-checks its footing
by id).

`status` and `documentType` take one value each. A filter with several values becomes one
stream per value (or pair), read in parallel and merged: one round trip, totals stay exact.
Past `MAX_FANOUT` streams the larger dimension is filtered here instead, trading the exact
total for fewer requests.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx

from gateway.engine.gaps import END, START, Run
from gateway.engine.reads import RawRead
from gateway.ids import encode_job_id
from gateway.model import DocumentType, Job, JobError, JobQuery, JobStatus, OrderDirection, OrderField, Source
from gateway.sources.base import Skipped, StreamPlan, fetch_each
from gateway.upstream import Metrics, Upstream, UpstreamPolicy
from gateway.sources.wire import expect_dict, expect_list, optional_int, optional_str, parse_time, required_str, required_time

NAME = "DocuRift"
MAX_LIMIT = 100
MAX_FANOUT = 4
SECOND = timedelta(seconds=1)

STATUS_FROM_WIRE = {
    "pending": JobStatus.PENDING,
    "processing": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
}
STATUS_TO_WIRE = {status: wire for wire, status in STATUS_FROM_WIRE.items()}
DOCUMENT_TYPE_FROM_WIRE = {member.value.lower(): member for member in DocumentType}
SORT_FIELDS = {OrderField.CREATED_AT: "createdAt", OrderField.UPDATED_AT: "updatedAt"}
DEVREV_ONLY = ("categories", "created_by", "owned_by", "parent_ids")
FILTER_NAMES = {"categories": "categories", "created_by": "createdBy", "owned_by": "ownedBy", "parent_ids": "parentIds"}


class DocuRiftSource:
    source = Source.DOCURIFT

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        *,
        policy: UpstreamPolicy | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._jobs_url = f"{base_url.rstrip('/')}/v1/jobs"
        self._upstream = Upstream(
            NAME, client, credential=api_key, headers=_headers(api_key), error_message=_error_message, policy=policy, metrics=metrics
        )

    def with_credential(self, api_key: str) -> DocuRiftSource:
        """This source called with a caller's own key (forward mode)."""
        other = copy.copy(self)
        other._upstream = self._upstream.with_credential(api_key, _headers(api_key))
        return other

    def plan(self, query: JobQuery) -> list[StreamPlan] | Skipped:
        f = query.filter
        if f.sources and Source.DOCURIFT not in f.sources:
            return Skipped("DocuRift is not among filter.sources.")
        for field in DEVREV_ONLY:
            if getattr(f, field):
                return Skipped(f"filter.{FILTER_NAMES[field]} applies to DevRev jobs only.")

        low, high = _filter_bounds(query)
        if low is not None and high is not None and low > high:
            # No whole second lies in the range (say, both bounds inside one second):
            # no DocuRift job can match, and DocuRift rejects endDate < startDate.
            return []

        statuses: list[str | None] = [None]
        local_status = False
        if f.status:
            if JobStatus.UNKNOWN in f.status:
                local_status = True  # "a status we do not know" cannot be asked for
            else:
                statuses = sorted({STATUS_TO_WIRE[s] for s in f.status if s in STATUS_TO_WIRE})
                if not statuses:
                    return []  # e.g. CANCELLED only: DocuRift jobs are never cancelled
        types: list[str | None] = [None]
        if f.document_types:
            types = sorted({t.value.lower() for t in f.document_types})

        local_types = False
        if len(statuses) * len(types) > MAX_FANOUT:
            if len(statuses) <= len(types):
                local_types, types = True, [None]
            else:
                local_status, statuses = True, [None]
            if len(statuses) * len(types) > MAX_FANOUT:
                local_status, local_types, statuses, types = True, True, [None], [None]

        keep = _local_filter(query, local_status, local_types)
        base: dict[str, str] = {"sortBy": SORT_FIELDS[query.order.field]}
        plans = []
        for status, document_type in itertools.product(statuses, types):
            params = dict(base)
            parts = ["DOCURIFT"]
            if status is not None:
                params["status"] = status
                parts.append(status)
            if document_type is not None:
                params["documentType"] = document_type
                parts.append(document_type)
            plans.append(
                StreamPlan(
                    name=":".join(parts),
                    params=params,
                    keep=keep,
                    cheap_skip=True,  # page offsets skip, in either order (see `page_window`)
                )
            )
        return plans

    async def read(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        if query.order.field is OrderField.CREATED_AT:
            return await self._read_by_second(query, stream, read)
        return await self._read_by_offset(query, stream, read)

    async def _read_by_second(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        """Anchors are seconds: `{"t": s}` is the gap before the first job created in second s."""
        ascending = query.order.direction is OrderDirection.ASC
        low, high = _filter_bounds(query)
        anchor = read.anchor
        if anchor not in (START, END):
            second = _anchor_second(anchor)
            # Forward (in the connection's order) from a second includes it; backward excludes it.
            if ascending and not read.backward:
                low = _later(low, second)
            elif ascending:
                high = _earlier(high, second - SECOND)
            elif not read.backward:
                high = _earlier(high, second)
            else:
                low = _later(low, second + SECOND)
        if low is not None and high is not None and low > high:
            return Run([], [(0, anchor)], origin=0, first=True, last=True)

        # The list narrowed to the anchor's side is offset-paged like any other, so skips
        # cost nothing; and its offsets stay put while jobs are created, since new jobs are
        # created "now", at the far end of it (or outside it).
        page, size = page_window(read.skip, read.limit, toward=read.toward)
        jobs, more, total = await self._list(
            stream.params,
            page=page,
            limit=size,
            ascending=ascending != read.backward,
            low=low,
            high=high,
        )
        skipped = (page - 1) * size  # entries between the anchor and the first one read
        if read.backward:
            jobs.reverse()
        anchors: dict[int, Any] = {}
        for i in range(1, len(jobs)):
            if _second(jobs[i].created_at) != _second(jobs[i - 1].created_at):
                anchors[i] = {"t": _second_number(jobs[i].created_at)}
        if read.backward:
            origin = len(jobs) + skipped
            anchors[origin] = anchor
            if not more:
                anchors[0] = START
        else:
            origin = -skipped
            anchors[origin] = anchor
            if anchor == START and jobs and not skipped:
                anchors[0] = {"t": _second_number(jobs[0].created_at)}
            if not more:
                anchors[len(jobs)] = END
        narrowed = anchor not in (START, END)
        # A run read from a list end reaches that end (unless it skipped entries next to
        # it): without saying so, a stream whose last entry sits right before a page's edge
        # would be re-read forever.
        return Run(
            jobs,
            list(anchors.items()),
            origin=origin,
            total=None if narrowed or stream.keep else total,
            first=not more if read.backward else anchor == START and not skipped,
            last=anchor == END and not skipped if read.backward else not more,
        )

    async def _read_by_offset(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        """Update order: only the list's ends are anchors; skip by choosing page and limit."""
        if read.anchor not in (START, END):
            raise ValueError("DocuRift update-order anchors are the list's ends")
        ascending = query.order.direction is OrderDirection.ASC
        low, high = _filter_bounds(query)
        page, size = page_window(read.skip, read.limit, toward=read.toward)
        jobs, more, total = await self._list(
            stream.params,
            page=page,
            limit=size,
            ascending=ascending != read.backward,
            low=low,
            high=high,
        )
        first = (page - 1) * size
        if read.backward:
            jobs.reverse()
            origin = len(jobs) + first
            anchors: dict[int, Any] = {origin: END}
            if not more:
                anchors[0] = START
        else:
            origin = -first
            anchors = {origin: START}
            if not more:
                anchors[len(jobs)] = END
        return Run(
            jobs,
            list(anchors.items()),
            origin=origin,
            total=None if stream.keep else total,
            # Page 1 starts at the list end the read counts from: the run reaches that end.
            first=not more if read.backward else page == 1,
            last=page == 1 if read.backward else not more,
        )

    async def _list(
        self,
        params: dict[str, str],
        *,
        page: int,
        limit: int,
        ascending: bool,
        low: datetime | None,
        high: datetime | None,
    ) -> tuple[list[Job], bool, int | None]:
        query_params = dict(params)
        query_params.update(page=str(page), limit=str(limit), sortOrder="asc" if ascending else "desc")
        if low is not None:
            query_params["startDate"] = _format(low)
        if high is not None:
            query_params["endDate"] = _format(high)
        payload = expect_dict(
            await self._upstream.request_json(
                "GET",
                self._jobs_url,
                params=query_params,
            ),
            NAME,
            "a JSON object",
        )
        data = expect_dict(payload.get("data"), NAME, "a 'data' object")
        jobs = [normalize(expect_dict(raw, NAME, "a job object")) for raw in expect_list(data.get("jobs"), NAME, "a 'jobs' list")]
        pagination = expect_dict(data.get("pagination"), NAME, "a 'pagination' object")
        more = pagination.get("hasNextPage")
        if not isinstance(more, bool):
            more = len(jobs) >= limit
        total = optional_int(pagination, "total")
        return jobs, more, total

    async def count(self, query: JobQuery, stream: StreamPlan) -> int | None:
        if stream.keep is not None:
            return None
        low, high = _filter_bounds(query)
        _, _, total = await self._list(stream.params, page=1, limit=1, ascending=False, low=low, high=high)
        return total

    async def fetch(self, ids: Sequence[str]) -> dict[str, Job | None]:
        return await fetch_each(ids, self._get)

    async def _get(self, job_id: str) -> Job | None:
        payload = await self._upstream.request_json("GET", f"{self._jobs_url}/{path_segment(job_id)}", not_found_ok=True)
        if payload is None:
            return None
        return normalize(expect_dict(expect_dict(payload, NAME, "a JSON object").get("data"), NAME, "a 'data' object"))


def path_segment(job_id: str) -> str:
    """An upstream id as one URL path segment, whatever its text.

    Everything but unreserved characters is percent-encoded ('/', '?', '#', '%', spaces,
    controls, non-ASCII as UTF-8). A segment of only dots is spelled `%2E`: a literal `.`
    or `..` is a dot segment, which HTTP clients resolve away before sending.
    """
    segment = quote(job_id, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def page_window(skip: int, limit: int, max_limit: int = MAX_LIMIT, *, toward: bool = False) -> tuple[int, int]:
    """The page and page size whose one page covers entries [skip, skip + limit) best.

    Offset pages can only start at multiples of the page size; among sizes that cover the
    whole range in one page, take the one reading the fewest extra entries. If none does
    (the range crosses a multiple of every size up to the cap), cover as much of the range
    as one page can from the end that matters: its start, or with `toward` (a read that
    runs toward the entries wanted) its end. The engine asks again for the rest. Covering
    just the first entry of the range, as a size-100 page often would, makes no progress.
    """
    limit = max(1, min(limit, max_limit))
    best: tuple[int, int, int] | None = None
    for size in range(limit, max_limit + 1):
        page = skip // size
        if (page + 1) * size >= skip + limit:
            waste = size - limit
            if best is None or waste < best[0]:
                best = (waste, page + 1, size)
                if waste == 0:
                    break
    if best is not None:
        return best[1], best[2]
    end = skip + limit
    covered: list[tuple[int, int, int]] = []  # (entries of the range read, -size, page)
    for size in range(1, max_limit + 1):
        if toward:
            page = (end - 1) // size
            covered.append((end - max(skip, page * size), -size, page + 1))
        else:
            page = skip // size
            covered.append((min(end, (page + 1) * size) - skip, -size, page + 1))
    _, size, page = max(covered)
    return page, -size


def _local_filter(query: JobQuery, local_status: bool, local_types: bool):
    f = query.filter
    checks = []
    if local_status:
        statuses = frozenset(f.status)
        checks.append(lambda job: job.status in statuses)
    if local_types:
        types = frozenset(f.document_types)
        checks.append(lambda job: job.document_type in types)
    if not checks:
        return None
    return checks[0] if len(checks) == 1 else (lambda job: all(check(job) for check in checks))


def _filter_bounds(query: JobQuery) -> tuple[datetime | None, datetime | None]:
    """The filter's created range in whole seconds, as DocuRift stores and compares them.

    A `createdAfter` inside the very last representable second rounds up past it: no
    second is left, which `plan` sees as an empty range (low above high).
    """
    f = query.filter
    low = f.created_after
    high = f.created_before
    if high is not None:
        high = high.replace(microsecond=0)
    if low is not None:
        floor = low.replace(microsecond=0)
        try:
            low = floor if floor == low else floor + SECOND
        except OverflowError:
            return floor, floor - SECOND
    return low, high


def _anchor_second(anchor: Any) -> datetime:
    if not isinstance(anchor, dict) or not isinstance(anchor.get("t"), int) or isinstance(anchor.get("t"), bool):
        raise ValueError("DocuRift anchors are {'t': epoch seconds}")
    return datetime.fromtimestamp(anchor["t"], tz=timezone.utc)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _second_number(moment: datetime) -> int:
    return int(_second(moment).timestamp())


def _format(moment: datetime) -> str:
    # Not strftime: "%Y" does not zero-pad years before 1000, and DocuRift wants four digits.
    m = moment.astimezone(timezone.utc)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


def _later(bound: datetime | None, moment: datetime) -> datetime:
    return moment if bound is None else max(bound, moment)


def _earlier(bound: datetime | None, moment: datetime) -> datetime:
    return moment if bound is None else min(bound, moment)


def _headers(api_key: str) -> dict[str, str]:
    return {"X-API-Key": api_key, "Accept": "application/json"}


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return optional_str(error, "message") or optional_str(error, "code")
    return None


def normalize(raw: dict[str, Any]) -> Job:
    """A DocuRift job as a `Job`; an unknown status or document type is kept raw."""
    source_id = required_str(raw, "id", NAME)
    status = optional_str(raw, "status") or ""
    document_type = optional_str(raw, "documentType")
    error = raw.get("error")
    return Job(
        id=encode_job_id(Source.DOCURIFT, source_id),
        source=Source.DOCURIFT,
        source_id=source_id,
        status=STATUS_FROM_WIRE.get(status.lower(), JobStatus.UNKNOWN),
        source_status=status,
        created_at=required_time(raw, "createdAt", NAME),
        progress=optional_int(raw, "progress"),
        document_type=DOCUMENT_TYPE_FROM_WIRE.get((document_type or "").lower()),
        source_document_type=document_type,
        document_id=optional_str(raw, "documentId"),
        updated_at=parse_time(raw.get("updatedAt")),
        completed_at=parse_time(raw.get("completedAt")),
        failed_at=parse_time(raw.get("failedAt")),
        error=JobError(code=optional_str(error, "code") or "UNKNOWN", message=optional_str(error, "message"))
        if isinstance(error, dict)
        else None,
    )
