"""One upstream request, with every way it can fail turned into a typed `UpstreamError`.

Messages name the source and what went wrong, never a header or credential.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson

from gateway.errors import (
    UpstreamAuth,
    UpstreamBadResponse,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)

ErrorMessage = Callable[[Any], str | None]


async def request_json(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    source: str,
    headers: Mapping[str, str],
    error_message: ErrorMessage,
    not_found_ok: bool = False,
    params: Any = None,
    json_body: Any = None,
) -> Any:
    """Send the request; return decoded JSON, or None for a tolerated 404."""
    try:
        response = await client.request(method, url, headers=headers, params=params, json=json_body)
    except httpx.TimeoutException:
        raise UpstreamTimeout(source, f"{source} did not answer in time.") from None
    except httpx.HTTPError as exc:
        raise UpstreamUnavailable(source, f"{source} could not be reached ({type(exc).__name__}).") from None
    status = response.status_code
    if status == 404 and not_found_ok:
        return None
    if status >= 400:
        raise _status_error(source, response, error_message)
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        raise UpstreamBadResponse(source, f"{source} answered with a body that is not JSON.") from None


def _status_error(source: str, response: httpx.Response, error_message: ErrorMessage) -> UpstreamError:
    error = _error_for(source, response, error_message)
    error.status = response.status_code  # retry decisions tell a 503 from a 500
    return error


def _error_for(source: str, response: httpx.Response, error_message: ErrorMessage) -> UpstreamError:
    status = response.status_code
    try:
        body: Any = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = None
    detail = error_message(body) if body is not None else None
    said = f": {detail}" if detail else ""
    if status == 429:
        retry_after = retry_after_seconds(response, body)
        return UpstreamRateLimited(source, f"{source} is rate limiting the gateway{said}", retry_after)
    if status in (401, 403):
        return UpstreamAuth(source, f"{source} refused the credentials it was sent (HTTP {status}){said}")
    if status >= 500:
        # A 503 that says when to come back passes that on (None drops the key).
        retry_after = retry_after_seconds(response, None) if status == 503 else None
        return UpstreamUnavailable(source, f"{source} failed (HTTP {status}){said}", retryAfter=retry_after)
    return UpstreamBadResponse(source, f"{source} rejected the gateway's request (HTTP {status}){said}")


def retry_after_seconds(response: httpx.Response, body: Any) -> float | None:
    """`Retry-After` in seconds from the header, else from a JSON body's `retry_after`."""
    header = response.headers.get("retry-after")
    if header is not None:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
        return max(0.0, float(body["retry_after"]))
    return None
