"""JSON bodies rendered exactly as Starlette's `JSONResponse` renders them.

Compact separators make JSON compositional: a list body joined from each job's
own rendering is byte-identical to rendering the whole list at once, which is
what lets the simulators cache one rendering per job and splice pages from it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.responses import Response

__all__ = ["json_array", "json_bytes", "json_response"]

_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_bytes(value: Any) -> bytes:
    """Same bytes as `JSONResponse(value).body`."""
    return _ENCODER.encode(value).encode("utf-8")


def json_array(items: Iterable[bytes]) -> bytes:
    """A JSON array spliced from already-rendered elements."""
    return b"[" + b",".join(items) + b"]"


def jobs_array(entries: Sequence[Any], drop: str | None = None) -> bytes:
    """The pre-rendered jobs of a page as a JSON array; `drop` removes one field from the
    first job (the `missing_field` fault), rendering only that one afresh."""
    parts = [entry.json for entry in entries]
    if drop is not None and entries:
        parts[0] = json_bytes({k: v for k, v in entries[0].job.items() if k != drop})
    return json_array(parts)


def json_response(
    body: bytes, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A pre-rendered JSON body with the headers `JSONResponse` would send."""
    return Response(body, status_code=status_code, headers=headers, media_type="application/json")
