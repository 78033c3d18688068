"""Deterministic seed data for both simulators.

Same `seed`, `count` and clock start give the same jobs, byte for byte. The
data is deliberately awkward: jobs spread over ~30 days with many timestamp
ties, every documented status plus open-enum values no client has seen, and
running jobs whose progress moves with the clock.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from .store import STEP_SECONDS, Run, StoredJob
from .timefmt import devrev_ts, docurift_ts

__all__ = [
    "DEVREV_STATES",
    "DEVREV_CATEGORIES",
    "DEVREV_USERS",
    "DEVREV_PARENT_IDS",
    "DOCURIFT_STATUSES",
    "DOCURIFT_DOCUMENT_TYPES",
    "DOCURIFT_FILTER_TYPES",
    "devrev_user",
    "seed_devrev",
    "seed_docurift",
]

DAY = 86_400.0
SPAN_SECONDS = 30 * DAY

# Weights, not fractions. `paused`, `canceled` and `reindex` are open-enum values
# a gateway has never seen; `cancelled` and `canceled` both exist on purpose.
DEVREV_STATES: Mapping[str, float] = {
    "completed": 40,
    "failed": 10,
    "running": 10,
    "queued": 10,
    "cancelled": 8,
    "canceled": 4,
    "paused": 3,
}
DEVREV_CATEGORIES: Mapping[str, float] = {
    "bulk_upgrade": 35,
    "export": 30,
    "import": 30,
    "reindex": 5,
}
DOCURIFT_STATUSES: Mapping[str, float] = {
    "completed": 55,
    "failed": 12,
    "processing": 12,
    "pending": 15,
}
DOCURIFT_DOCUMENT_TYPES: Mapping[str, float] = {
    "invoice": 30,
    "receipt": 25,
    "contract": 12,
    "general": 12,
    "bill_of_lading": 8,
    "packing_list": 8,
    "purchase_order": 1.5,
}
DOCURIFT_FILTER_TYPES: tuple[str, ...] = (
    "invoice",
    "receipt",
    "contract",
    "general",
    "bill_of_lading",
    "packing_list",
)
"""Values the `documentType` filter accepts; `purchase_order` is served but not filterable."""

_DON = "don:core:dvrv-us-1:devo/1"


def devrev_user(
    n: int, handle: str, full_name: str, *, state: str = "active", picture: bool = True
) -> dict[str, Any]:
    """A `dev_user` summary shaped like the seed page's `created_by`."""
    user: dict[str, Any] = {
        "type": "dev_user",
        "display_id": f"DEVU-{n}",
        "id": f"don:identity:dvrv-us-1:devo/1:devu/{n}",
        "display_name": handle,
    }
    if picture:
        user["display_picture"] = {
            "display_id": f"ARTIFACT-{900 + n}",
            "id": f"{_DON}:artifact/{900 + n}",
            "file": {"type": "image/png", "name": f"{handle}.png", "size": 18_000 + 1_111 * n},
        }
    user.update(email=f"{handle}@example.com", full_name=full_name, state=state)
    return user


# One user has no picture (the field is optional) and one is deactivated.
DEVREV_USERS: tuple[dict[str, Any], ...] = (
    devrev_user(1, "ada", "Ada Lovelace"),
    devrev_user(2, "grace", "Grace Hopper"),
    devrev_user(3, "alan", "Alan Turing"),
    devrev_user(4, "edsger", "Edsger Dijkstra", picture=False),
    devrev_user(5, "barbara", "Barbara Liskov", state="deactivated"),
)
DEVREV_PARENT_IDS: tuple[str, ...] = tuple(
    f"don:integration:dvrv-us-1:devo/1:snap_in/{k}" for k in (1, 2, 3, 4)
)

_DOCURIFT_ERRORS: tuple[dict[str, str], ...] = (
    {"code": "UNSUPPORTED_FORMAT", "message": "The document format is not supported"},
    {"code": "FILE_CORRUPTED", "message": "The document could not be read"},
    {"code": "OCR_FAILED", "message": "Text could not be extracted from the document"},
    {"code": "PROCESSING_TIMEOUT", "message": "Processing took too long and was stopped"},
)


def _spread(rng: random.Random, weights: Mapping[str, float], count: int) -> list[str]:
    """`count` weighted picks that include every value once when `count` allows."""
    values = list(weights)
    picks = values[:] if count >= len(values) else rng.sample(values, count)
    picks += rng.choices(values, weights=list(weights.values()), k=count - len(picks))
    rng.shuffle(picks)
    return picks


def _ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _s(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _devrev_content(
    rng: random.Random, n: int, category: str, state: str
) -> tuple[str, list[dict[str, str]], list[dict[str, Any]]]:
    """Title, metadata_list and output_artifacts that fit the category."""
    artifacts: list[dict[str, Any]] = []
    if category == "bulk_upgrade":
        size = rng.choice((50, 100, 250, 500))
        title = f"Bulk upgrade of {size} works"
        meta = [
            {"type": "int", "key": "batch_size", "value": str(size)},
            {"type": "bool", "key": "dry_run", "value": rng.choice(("true", "false"))},
        ]
    elif category == "export":
        what = rng.choice(("issues", "tickets", "accounts", "opportunities"))
        title = f"Export {what} to CSV"
        meta = [{"type": "string", "key": "format", "value": "csv"}]
        if state == "completed":
            artifacts.append(
                {
                    "display_id": f"ARTIFACT-{5000 + n}",
                    "id": f"{_DON}:artifact/{5000 + n}",
                    "file": {
                        "type": "text/csv",
                        "name": f"{what}-{n}.csv",
                        "size": rng.randint(1_000, 5_000_000),
                    },
                }
            )
    elif category == "import":
        source = rng.choice(("Jira", "Zendesk", "Linear", "CSV"))
        title = f"Import from {source}"
        meta = [
            {"type": "string", "key": "source", "value": source.lower()},
            {"type": "bool", "key": "dry_run", "value": "false"},
        ]
        if state == "failed" and rng.random() < 0.5:
            artifacts.append(
                {
                    "display_id": f"ARTIFACT-{5000 + n}",
                    "id": f"{_DON}:artifact/{5000 + n}",
                    "file": {
                        "type": "application/json",
                        "name": f"import-errors-{n}.json",
                        "size": rng.randint(200, 40_000),
                    },
                }
            )
    else:
        title = f"Reindex {rng.choice(('works', 'parts', 'conversations'))} search"
        meta = []
    return title, meta, artifacts


def seed_devrev(seed: int, count: int, start: datetime) -> list[StoredJob]:
    """`count` DevRev jobs created up to ~30 days before `start`."""
    rng = random.Random(seed)
    start = _ms(start)
    states = _spread(rng, DEVREV_STATES, count)
    categories = _spread(rng, DEVREV_CATEGORIES, count)

    slots: list[dict[str, Any]] = []
    for state in states:
        slot: dict[str, Any] = {"state": state, "run": None}
        if state == "running":
            p0 = rng.randint(1, 95)
            t0 = start - timedelta(milliseconds=rng.randint(0, 9_999))
            slot["run"] = Run(t0=t0, p0=p0)
            age = p0 * STEP_SECONDS + rng.uniform(1, 90)
            slot["created"] = _ms(t0 - timedelta(seconds=age))
        elif state == "queued":
            slot["created"] = _ms(start - timedelta(seconds=rng.uniform(5, 2 * DAY)))
        else:
            slot["created"] = _ms(start - timedelta(seconds=rng.uniform(120, SPAN_SECONDS)))
        slots.append(slot)
    slots.sort(key=lambda s: s["created"])
    for prev, slot in pairwise(slots):  # batches created in the same millisecond
        slot["tied"] = rng.random() < 0.12
        if slot["tied"]:
            slot["created"] = prev["created"]

    jobs: list[StoredJob] = []
    number = 86  # ids cross 2, 3 and 4 digits: string order != numeric order
    previous: dict[str, Any] | None = None
    for slot, category in zip(slots, categories, strict=True):
        number += rng.randint(1, 4)
        state, created, run = slot["state"], slot["created"], slot["run"]
        progress, retries, version = 0, 0, 1
        if run is not None:
            modified, progress, version = run.t0, run.p0, 2 + run.p0 // 10
        elif state == "queued":
            modified = created
        else:
            span = {"completed": 7_200, "failed": 1_800, "paused": DAY}.get(state, 3_600)
            modified = min(created + timedelta(seconds=rng.uniform(1, span)), start)
            progress = 100 if state == "completed" else rng.randint(0, 95)
            retries = rng.randint(0, 3) if state == "failed" else 0
            version = rng.randint(2, 9)
            batch = previous if slot.get("tied") else None
            if batch is not None and batch["run"] is None and rng.random() < 0.5:
                modified = batch["modified"]  # same batch, finished together
        modified = _ms(modified)
        slot["modified"] = modified
        previous = slot

        creator = rng.choice(DEVREV_USERS)
        modifier = creator if rng.random() < 0.7 else rng.choice(DEVREV_USERS)
        title, meta, artifacts = _devrev_content(rng, number, category, state)
        wire = {
            "created_by": creator,
            "created_date": devrev_ts(created),
            "display_id": f"JOB-{number}",
            "id": f"{_DON}:job/{number}",
            "modified_by": modifier,
            "modified_date": devrev_ts(modified),
            "object_version": version,
            "job_category": category,
            "job_id": _uuid(rng),
            "metadata_list": meta,
            "output_artifacts": artifacts,
            "progress": progress,
            "retry_count": retries,
            "state": state,
            "title": title,
        }
        owners = tuple(u["id"] for u in rng.sample(DEVREV_USERS, rng.choice((1, 1, 1, 2))))
        roll = rng.random()
        parents = () if roll < 0.5 else tuple(rng.sample(DEVREV_PARENT_IDS, 1 if roll < 0.9 else 2))
        jobs.append(StoredJob(wire=wire, run=run, owners=owners, parents=parents))
    return jobs


def seed_docurift(seed: int, count: int, start: datetime) -> list[StoredJob]:
    """`count` DocuRift jobs; about a third share their createdAt second with another."""
    rng = random.Random(seed)
    start = _s(start)
    statuses = _spread(rng, DOCURIFT_STATUSES, count)
    types = _spread(rng, DOCURIFT_DOCUMENT_TYPES, count)

    slots: list[dict[str, Any]] = []
    for status in statuses:
        slot: dict[str, Any] = {"status": status, "run": None}
        if status == "processing":
            p0 = rng.randint(1, 95)
            t0 = start - timedelta(seconds=rng.randint(0, 9))
            slot["run"] = Run(t0=t0, p0=p0)
            slot["created"] = t0 - timedelta(seconds=p0 * STEP_SECONDS + rng.randint(1, 30))
        elif status == "pending":
            slot["created"] = _s(start - timedelta(seconds=rng.uniform(1, 6 * 3_600)))
        else:
            slot["created"] = _s(start - timedelta(seconds=rng.uniform(60, SPAN_SECONDS)))
        slots.append(slot)
    slots.sort(key=lambda s: s["created"])
    for prev, slot in pairwise(slots):  # uploads in bursts: same second
        if rng.random() < 0.2:
            slot["created"] = prev["created"]

    ids: set[str] = set()
    jobs: list[StoredJob] = []
    for slot, document_type in zip(slots, types, strict=True):
        job_id = f"job_{rng.getrandbits(48):012x}"
        while job_id in ids:
            job_id = f"job_{rng.getrandbits(48):012x}"
        ids.add(job_id)
        status, created, run = slot["status"], slot["created"], slot["run"]
        job: dict[str, Any] = {"id": job_id, "status": status}
        if status == "completed":
            updated = min(created + timedelta(seconds=rng.randint(2, 300)), start)
            job.update(
                progress=100,
                documentType=document_type,
                documentId=f"doc_{rng.getrandbits(48):012x}",
            )
            job.update(
                createdAt=docurift_ts(created),
                updatedAt=docurift_ts(updated),
                completedAt=docurift_ts(updated),
            )
        elif status == "failed":
            updated = min(created + timedelta(seconds=rng.randint(1, 120)), start)
            job.update(
                progress=rng.randint(0, 90),
                documentType=document_type,
                error=dict(rng.choice(_DOCURIFT_ERRORS)),
            )
            job.update(
                createdAt=docurift_ts(created),
                updatedAt=docurift_ts(updated),
                failedAt=docurift_ts(updated),
            )
        elif run is not None:
            job.update(
                progress=run.p0,
                documentType=document_type,
                createdAt=docurift_ts(created),
                updatedAt=docurift_ts(run.t0),
            )
        else:
            job.update(
                progress=0,
                documentType=document_type,
                createdAt=docurift_ts(created),
                updatedAt=docurift_ts(created),
            )
        jobs.append(StoredJob(wire=job, run=run))
    return jobs
