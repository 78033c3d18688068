"""DocuRift's job storage: wire defaults for injected jobs; processing jobs advance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .store import JobStore, Run, StoredJob, digest_hex, timestamp_field
from .timefmt import canonical_docurift, docurift_ts

__all__ = ["DEFAULT_FAILURE", "WIRE_ORDER", "DocuRiftStore"]

WIRE_ORDER = (
    "id",
    "status",
    "progress",
    "documentType",
    "documentId",
    "error",
    "createdAt",
    "updatedAt",
    "completedAt",
    "failedAt",
)
DEFAULT_FAILURE = {"code": "PROCESSING_FAILED", "message": "The document could not be processed"}


def _document_id(job_id: str) -> str:
    return f"doc_{digest_hex('document:' + job_id, 12)}"


def _ordered(job: Mapping[str, Any]) -> dict[str, Any]:
    """Keys in the order the docs show them; unknown keys last."""
    ordered = {key: job[key] for key in WIRE_ORDER if key in job}
    ordered.update({k: v for k, v in job.items() if k not in ordered})
    return ordered


class DocuRiftStore(JobStore):
    """DocuRift jobs; a processing job advances with the clock until completed."""

    def build(self, job: Mapping[str, Any], now: datetime) -> StoredJob:
        given = dict(job)
        private = sorted(k for k in given if k.startswith("_"))
        if private:
            raise ValueError(f"unknown control field(s): {', '.join(private)}")
        status = given.get("status", "pending")
        progress = given.get("progress", 100 if status == "completed" else 0)
        created = timestamp_field(given, "createdAt", docurift_ts(now), canonical_docurift)
        updated = timestamp_field(given, "updatedAt", created, canonical_docurift)
        job_id = given.get("id") or self._new_id(created)
        if not isinstance(job_id, str):
            raise ValueError("id must be a string")
        wire: dict[str, Any] = {
            "id": job_id,
            "status": status,
            "progress": progress,
            "documentType": given.get("documentType", "general"),
            "createdAt": created,
            "updatedAt": updated,
        }
        if status == "completed":
            wire["documentId"] = given.get("documentId", _document_id(job_id))
            wire["completedAt"] = timestamp_field(given, "completedAt", updated, canonical_docurift, nullable=True)
        if status == "failed":
            wire["error"] = given.get("error", dict(DEFAULT_FAILURE))
            wire["failedAt"] = timestamp_field(given, "failedAt", updated, canonical_docurift, nullable=True)
        wire.update({k: v for k, v in given.items() if k not in wire})
        run = None
        if status == "processing":
            if isinstance(progress, bool) or not isinstance(progress, int):
                raise ValueError("progress of a processing job must be an integer")
            if progress < 100:
                run = Run(t0=now, p0=progress)
        return StoredJob(wire=_ordered(wire), run=run)

    def render(self, item: StoredJob, now: datetime) -> dict[str, Any]:
        if item.run is None:
            return dict(item.wire)
        job = dict(item.wire)
        tick = item.run.at(now)
        job["progress"] = tick.progress
        if tick.changed_at is not None:
            job["updatedAt"] = docurift_ts(tick.changed_at)
        if tick.done:
            job["status"] = "completed"
            job["documentId"] = _document_id(item.id)
            job["completedAt"] = job["updatedAt"]
            return _ordered(job)
        return job

    def _new_id(self, created: str) -> str:
        salt = 0
        while True:
            candidate = f"job_{digest_hex(f'{self.added}:{created}:{salt}', 12)}"
            if self.get(candidate) is None:
                return candidate
            salt += 1
