"""DevRev's job storage: wire defaults for injected jobs and time-derived fields."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .data import DEVREV_USERS
from .store import JobStore, Run, StoredJob, digest_hex, timestamp_field
from .timefmt import canonical_devrev, devrev_ts

__all__ = ["WIRE_ORDER", "DevRevStore"]

WIRE_ORDER = (
    "created_by",
    "created_date",
    "display_id",
    "id",
    "modified_by",
    "modified_date",
    "object_version",
    "job_category",
    "job_id",
    "metadata_list",
    "output_artifacts",
    "progress",
    "retry_count",
    "state",
    "title",
)
_DON = "don:core:dvrv-us-1:devo/1"
_NUMBER = re.compile(r":job/(\d+)$")


def _id_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of ids")
    return tuple(value)


class DevRevStore(JobStore):
    """DevRev jobs; owners and parents live beside the wire job, as in DevRev."""

    def build(self, job: Mapping[str, Any], now: datetime) -> StoredJob:
        given = dict(job)
        owners = _id_list("_owned_by", given.pop("_owned_by", []))
        parents = _id_list("_parent_ids", given.pop("_parent_ids", []))
        private = sorted(k for k in given if k.startswith("_"))
        if private:
            raise ValueError(f"unknown control field(s): {', '.join(private)}")
        number = self._next_number()
        created = timestamp_field(given, "created_date", devrev_ts(now), canonical_devrev)
        modified = timestamp_field(given, "modified_date", created, canonical_devrev)
        state = given.get("state", "queued")
        progress = given.get("progress", 100 if state == "completed" else 0)
        job_id = given.get("id", f"{_DON}:job/{number}")
        if not isinstance(job_id, str) or not job_id:
            raise ValueError("id must be a non-empty string")
        creator = given.get("created_by", DEVREV_USERS[0])
        defaults: dict[str, Any] = {
            "created_by": creator,
            "display_id": f"JOB-{number}",
            "id": job_id,
            "modified_by": creator,
            "object_version": 1,
            "job_category": "export",
            "job_id": str(uuid.UUID(hex=digest_hex(job_id, 32), version=4)),
            "metadata_list": [],
            "output_artifacts": [],
            "progress": progress,
            "retry_count": 0,
            "state": state,
            "title": f"Job {number}",
        }
        wire = {key: given.get(key, defaults.get(key)) for key in WIRE_ORDER}
        wire.update(created_date=created, modified_date=modified)
        wire.update({k: v for k, v in given.items() if k not in wire})  # unknown fields stay
        run = None
        if state == "running":
            if isinstance(progress, bool) or not isinstance(progress, int):
                raise ValueError("progress of a running job must be an integer")
            if progress < 100:
                run = Run(t0=now, p0=progress)
        return StoredJob(wire=wire, run=run, owners=owners, parents=parents)

    def render(self, item: StoredJob, now: datetime) -> dict[str, Any]:
        job = dict(item.wire)
        if item.run is not None:
            tick = item.run.at(now)
            job["progress"] = tick.progress
            if tick.changed_at is not None:
                job["modified_date"] = devrev_ts(tick.changed_at)
                job["object_version"] = int(job.get("object_version") or 0) + tick.steps
            if tick.done:
                job["state"] = "completed"
        return job

    def _next_number(self) -> int:
        numbers = [int(m.group(1)) for i in self._items if (m := _NUMBER.search(i.id))]
        return max(numbers, default=0) + 1
