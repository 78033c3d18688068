"""DevRev: `POST /jobs.list` with opaque cursors, `GET /jobs.get` for one job.

DevRev documents its cursors only as "entries after/before the provided cursor": what a
cursor names (a gap, the page's last entry, an offset) is not said. So a `next_cursor` is
an anchor read only with `mode=after` and a `prev_cursor` one read only with `mode=before`,
each from the page it came with; the cursor a read was made from stays an anchor of that
read's direction. DevRev has no date filter and no total: a created-date range is applied
here, and ends the stream early when the order is by creation date.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.engine.gaps import END, START, Run, after_only, anchor_value, before_only
from gateway.engine.reads import AnchorRejected, RawRead
from gateway.errors import UpstreamBadResponse, UpstreamError
from gateway.ids import encode_job_id
from gateway.model import (
    Artifact,
    ArtifactFile,
    Job,
    JobMetadata,
    JobQuery,
    JobStatus,
    OrderField,
    Source,
    User,
)
from gateway.sources.base import Skipped, StreamPlan, fetch_each
from gateway.upstream import Metrics, Upstream, UpstreamPolicy
from gateway.sources.wire import (
    expect_dict,
    expect_list,
    optional_int,
    optional_str,
    parse_time,
    required_str,
    required_time,
)

NAME = "DevRev"
MAX_LIMIT = 100

STATE_TO_STATUS = {
    "queued": JobStatus.PENDING,
    "running": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
    "cancelled": JobStatus.CANCELLED,
    "canceled": JobStatus.CANCELLED,
}
STATUS_TO_STATES: dict[JobStatus, tuple[str, ...]] = {}
for _state, _status in STATE_TO_STATUS.items():
    STATUS_TO_STATES[_status] = (*STATUS_TO_STATES.get(_status, ()), _state)

SORT_FIELDS = {OrderField.CREATED_AT: "created_date", OrderField.UPDATED_AT: "modified_date"}


class DevRevSource:
    source = Source.DEVREV

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        token: str,
        *,
        policy: UpstreamPolicy | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._upstream = Upstream(
            NAME, client, credential=token, headers=_headers(token), error_message=_error_message, policy=policy, metrics=metrics
        )

    def with_credential(self, token: str) -> DevRevSource:
        """This source called with a caller's own token (forward mode)."""
        other = copy.copy(self)
        other._upstream = self._upstream.with_credential(token, _headers(token))
        return other

    def plan(self, query: JobQuery) -> list[StreamPlan] | Skipped:
        f = query.filter
        if f.sources and Source.DEVREV not in f.sources:
            return Skipped("DevRev is not among filter.sources.")
        if f.document_types:
            return Skipped("filter.documentTypes applies to DocuRift jobs only.")
        body: dict[str, Any] = {
            "sort_by": [f"{SORT_FIELDS[query.order.field]}:{query.order.direction.value.lower()}"]
        }
        checks = []
        if f.status:
            if JobStatus.UNKNOWN in f.status:
                # "Any state we do not know" cannot be said upstream: filter here.
                wanted = frozenset(f.status)
                checks.append(lambda job: job.status in wanted)
            else:
                body["state"] = [state for status in f.status for state in STATUS_TO_STATES.get(status, ())]
                if not body["state"]:
                    return []
        for key, values in (
            ("category", f.categories),
            ("created_by", f.created_by),
            ("owned_by_id", f.owned_by),
            ("parent_ids", f.parent_ids),
        ):
            if values:
                body[key] = list(values)
        if f.created_after is not None or f.created_before is not None:
            # DevRev has no date filter; in creation order the range also ends the stream.
            checks.append(lambda job: f.accepts_time(job.created_at))
        keep = None
        if checks:
            keep = checks[0] if len(checks) == 1 else (lambda job: all(check(job) for check in checks))
        return [StreamPlan(name="DEVREV", params=body, keep=keep)]

    async def read(self, query: JobQuery, stream: StreamPlan, read: RawRead) -> Run:
        body = dict(stream.params)
        body["limit"] = min(read.skip + read.limit, MAX_LIMIT)
        body["mode"] = "before" if read.backward else "after"
        if read.anchor not in (START, END):
            cursor = anchor_value(read.anchor)
            if not isinstance(cursor, str) or cursor == read.anchor:
                raise ValueError("DevRev anchors are directional cursor strings")
            body["cursor"] = cursor
        try:
            answer = await self._upstream.request_json("POST", f"{self._base_url}/jobs.list", json_body=body)
        except UpstreamError as error:
            if error.status == 400 and "cursor" in body:
                # A cursor DevRev issued and now refuses (it may die with its entry):
                # the engine resumes from another anchor rather than fail the page.
                raise AnchorRejected(read.anchor, error.message) from None
            raise
        payload = expect_dict(answer, NAME, "a JSON object")
        users: Users = {}  # one response names the same few users again and again
        jobs = [normalize(expect_dict(raw, NAME, "a job object"), users) for raw in expect_list(payload.get("jobs"), NAME, "a 'jobs' list")]
        return run_from_page(jobs, _cursor(payload, "prev_cursor"), _cursor(payload, "next_cursor"), read)

    async def count(self, query: JobQuery, stream: StreamPlan) -> int | None:
        return None  # DevRev reports no totals.

    async def fetch(self, ids: Sequence[str]) -> dict[str, Job | None]:
        return await fetch_each(ids, self._get)

    async def _get(self, job_id: str) -> Job | None:
        payload = await self._upstream.request_json(
            "GET", f"{self._base_url}/jobs.get", not_found_ok=True, params={"id": job_id}
        )
        if payload is None:
            return None
        return normalize(expect_dict(expect_dict(payload, NAME, "a JSON object").get("job"), NAME, "a 'job' object"))


def _cursor(payload: dict[str, Any], key: str) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UpstreamBadResponse(NAME, f"{NAME} answered with a '{key}' that is not a string.")
    return value


def run_from_page(jobs: list[Job], prev_cursor: Any, next_cursor: Any, read: RawRead) -> Run:
    """One `jobs.list` answer as a run, relying only on what DevRev documents.

    The cursor read from marks the run's near end (for its own mode); `prev_cursor` and
    `next_cursor`, absent when nothing lies beyond (upstream-notes), mark its ends for
    `mode=before` and `mode=after`. An empty answer says only that nothing lies beyond the
    cursor in the direction read; whatever cursors it carries are not relied upon.
    """
    n = len(jobs)
    origin = n if read.backward else 0
    anchors: list[tuple[int, Any]] = [(origin, read.anchor)]
    if not jobs:
        first = read.backward or read.anchor == START
        last = not read.backward or read.anchor == END
    else:
        first, last = prev_cursor is None, next_cursor is None
        if prev_cursor is not None:
            anchors.append((0, before_only(prev_cursor)))
        if next_cursor is not None:
            anchors.append((n, after_only(next_cursor)))
    for place, end, reached in ((0, START, first), (n, END, last)):
        if reached and (place, end) not in anchors:
            anchors.append((place, end))
    return Run(jobs, anchors, origin=origin, first=first, last=last)


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _error_message(body: Any) -> str | None:
    if isinstance(body, dict):
        return optional_str(body, "message") or optional_str(body, "type")
    return None


Users = dict[str, tuple[dict[str, Any], User]]


def normalize(raw: dict[str, Any], users: Users | None = None) -> Job:
    """A DevRev job as a `Job`; unknown states and categories are kept, never rejected."""
    source_id = required_str(raw, "id", NAME)
    state = optional_str(raw, "state") or ""
    created = required_time(raw, "created_date", NAME)
    return Job(
        id=encode_job_id(Source.DEVREV, source_id),
        source=Source.DEVREV,
        source_id=source_id,
        status=STATE_TO_STATUS.get(state.lower(), JobStatus.UNKNOWN),
        source_status=state,
        created_at=created,
        display_id=optional_str(raw, "display_id"),
        title=optional_str(raw, "title"),
        progress=optional_int(raw, "progress"),
        category=optional_str(raw, "job_category"),
        updated_at=parse_time(raw.get("modified_date")),
        created_by=_user(raw.get("created_by"), users),
        modified_by=_user(raw.get("modified_by"), users),
        retry_count=optional_int(raw, "retry_count"),
        object_version=optional_int(raw, "object_version"),
        metadata=[
            JobMetadata(key=item["key"], value=optional_str(item, "value"), type=optional_str(item, "type"))
            for item in raw.get("metadata_list") or ()
            if isinstance(item, dict) and isinstance(item.get("key"), str)
        ],
        output_artifacts=[a for a in map(_artifact, raw.get("output_artifacts") or ()) if a is not None],
    )


def _artifact(raw: Any) -> Artifact | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    file = raw.get("file")
    return Artifact(
        id=raw["id"],
        display_id=optional_str(raw, "display_id"),
        file=ArtifactFile(optional_str(file, "type"), optional_str(file, "name"), optional_int(file, "size"))
        if isinstance(file, dict)
        else None,
    )


def _user(raw: Any, users: Users | None = None) -> User | None:
    """A user object; within one response, an identical one is built once and shared."""
    if not isinstance(raw, dict):
        return None
    user_id = raw.get("id")
    if not isinstance(user_id, str):
        return None
    if users is not None:
        seen = users.get(user_id)
        if seen is not None and seen[0] == raw:
            return seen[1]
    user = User(
        id=user_id,
        display_id=optional_str(raw, "display_id"),
        display_name=optional_str(raw, "display_name"),
        full_name=optional_str(raw, "full_name"),
        email=optional_str(raw, "email"),
        state=optional_str(raw, "state"),
        type=optional_str(raw, "type"),
        display_picture=_artifact(raw.get("display_picture")),
    )
    if users is not None:
        users[user_id] = (raw, user)
    return user
