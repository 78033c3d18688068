"""Legal but unusual jobs, for proving the gateway passes upstream text through faithfully.

Nothing in the vendors' docs bounds the alphabet or length of ids and text, or promises
that optional fields are present, or that states and types stay within the documented
sets. These jobs use that freedom: Unicode everywhere (combining accents left
decomposed, emoji, right-to-left marks, line separators), ids with spaces, slashes,
dots, percent signs, control characters and 300 characters, 10 kB titles and messages,
optional fields missing or `null`, states, statuses, categories and document types
nobody has seen. Only what each list is sorted by (`id` and the timestamps) is always
there. Jobs are stored exactly as written here: no defaults are filled in.

Put them in with `gateway simulate ... --odd-jobs` or `POST /_sim/oddities`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .devrev_store import DevRevStore
from .store import JobStore, StoredJob
from .timefmt import devrev_ts, docurift_ts

__all__ = ["ODD_IDS", "add_oddities", "devrev_oddities", "docurift_oddities", "long_text"]

ODD_IDS = (
    "job_ünïcødé_04",
    "job 1",
    "e\u0301",  # "é" decomposed: must not come back composed
    "job\x00\x07\x1b[31m\x7f",
    "🧪" * 10 + "x" * 290,  # 300 characters
    "a/b?c#d%2F+&=;",
    ".",
    "..",
    " \u00a0\u2028\u202e\ufeff ",
)


def long_text(size: int = 10_240) -> str:
    """About `size` bytes of UTF-8 in every width, with newlines, tabs and NUL."""
    piece = "Ünïcødé e\u0301 ↔ 漢字 🧾👩🏽‍💻 \u202eelbat\u202c\t\x00\r\n"
    text = piece * (size // len(piece.encode()) + 1)
    return text.encode()[:size].decode(errors="ignore")


def devrev_oddities(now: datetime) -> list[dict[str, Any]]:
    """DevRev wire jobs, newest first, one per odd id and a few more."""
    def at(i: int) -> str:
        return devrev_ts(now - timedelta(seconds=3 * i + 1))

    user = {"id": "don:identity:dvrv-us-1:devo/1:devu/ü", "display_name": "Zoë 👩🏽‍💻", "email": None, "state": "mystery"}
    jobs: list[dict[str, Any]] = []
    for i, job_id in enumerate(ODD_IDS):
        jobs.append({"id": job_id, "created_date": at(i), "modified_date": at(i), "state": "completed", "title": job_id})
    jobs[0].update(
        title=long_text(),
        state="paused_for_rëview",
        job_category="défragmentation 🧹",
        display_id="JOB-ü1",
        created_by=user,
        modified_by=user,
        progress=42,
        metadata_list=[{"key": "clé 🔑", "value": None, "type": "wëird"}, {"key": "", "value": "e\u0301"}],
        output_artifacts=[{"id": "art/ü 1", "file": None}, {"id": "art 2", "file": {"name": "ﬁle\u0301.pdf", "size": None}}],
    )
    # Every optional field null.
    jobs[1].update(
        title=None, state=None, job_category=None, display_id=None, created_by=None, modified_by=None,
        progress=None, retry_count=None, object_version=None, metadata_list=None, output_artifacts=None, job_id=None,
    )
    # Only what the list needs: every optional field missing, plus fields nobody documented.
    jobs[2] = {"id": jobs[2]["id"], "created_date": jobs[2]["created_date"], "modified_date": jobs[2]["modified_date"], "x-new": {"a": [1]}}
    jobs[3].update(title="\x00\x01\x1b[31mred\x1b[0m\x7f", state="RUNNING_BUT_LOUDER")
    return jobs


def docurift_oddities(now: datetime) -> list[dict[str, Any]]:
    """DocuRift wire jobs, newest first, one per odd id and a few more."""
    def at(i: int) -> str:
        return docurift_ts(now - timedelta(seconds=3 * i + 2))

    jobs: list[dict[str, Any]] = []
    for i, job_id in enumerate(ODD_IDS):
        jobs.append({"id": job_id, "status": "pending", "progress": 0, "documentType": "invoice", "createdAt": at(i), "updatedAt": at(i)})
    jobs[0].update(status="archivé", documentType="passport 🛂", progress=None)
    jobs[1].update(
        status="failed",
        error={"code": "E_ÜNKNOWN 🧨", "message": long_text()},
        failedAt=jobs[1]["updatedAt"],
    )
    jobs[2].update(status="completed", progress=100, documentId="doc/ü 1", completedAt=None)
    # Only what the list needs: every optional field missing, plus fields nobody documented.
    jobs[3] = {"id": jobs[3]["id"], "createdAt": jobs[3]["createdAt"], "updatedAt": jobs[3]["updatedAt"], "x-new": None}
    jobs[4].update(status=None, documentType=None, progress=None, documentId=None, error=None)
    jobs[5].update(status="failed", error={"message": None}, documentType="PURCHASE_ORDER")
    return jobs


def add_oddities(store: JobStore, now: datetime) -> list[dict[str, Any]]:
    """Store the odd jobs of `store`'s API as they are (no defaults); return them.

    All or nothing: if any of their ids is taken (they were added before), none is added.
    """
    jobs = devrev_oddities(now) if isinstance(store, DevRevStore) else docurift_oddities(now)
    taken = [job["id"] for job in jobs if store.get(job["id"]) is not None]
    if taken:
        raise ValueError(f"jobs with these ids already exist: {taken!r}")
    store.extend(StoredJob(wire=dict(job)) for job in jobs)
    return jobs
