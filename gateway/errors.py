"""Errors the gateway reports to clients. Each carries the `extensions.code` clients branch on."""

from __future__ import annotations

from typing import Any


class GatewayError(Exception):
    """An error with a stable machine-readable code, safe to show to a client."""

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {key: value for key, value in extensions.items() if value is not None}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class BadCursor(GatewayError):
    """A cursor this gateway cannot use. `reason` says why, for clients that care:

    MALFORMED (not a cursor at all, or truncated), TAMPERED (it fails its signature: changed,
    or issued by a gateway with another cursor secret), TOO_LONG, OTHER_QUERY (issued for
    another filter or orderBy).
    """

    code = "BAD_CURSOR"

    def __init__(self, reason: str = "MALFORMED", message: str | None = None) -> None:
        super().__init__(message or "The cursor is malformed or was not issued by this gateway.", reason=reason)
        self.reason = reason


def cursor_for_other_query() -> BadCursor:
    return BadCursor(
        "OTHER_QUERY",
        "The cursor was issued for a different filter or orderBy; "
        "page with the same filter and orderBy it was made with, or start again without a cursor.",
    )


class PageIncomplete(GatewayError):
    """A warning: a page under a filter the gateway applies itself stopped reading before it
    was full (its round or deadline budget); more jobs may match beyond its cursor."""

    code = "PAGE_INCOMPLETE"


class BadId(GatewayError):
    code = "BAD_ID"

    def __init__(self, global_id: str) -> None:
        shown = global_id if len(global_id) <= 64 else f"{global_id[:61]}..."
        super().__init__(f"{shown!r} is not a job id issued by this gateway.")


class UpstreamError(GatewayError):
    """An upstream failed; `source` names which. Subclasses say how."""

    code = "UPSTREAM_UNAVAILABLE"
    status: int | None = None  # the upstream's HTTP status, when it answered with one

    def __init__(self, source: str, message: str, **extensions: Any) -> None:
        super().__init__(message, source=source, **extensions)
        self.source = source


class UpstreamTimeout(UpstreamError):
    code = "UPSTREAM_TIMEOUT"


class UpstreamRateLimited(UpstreamError):
    code = "UPSTREAM_RATE_LIMITED"

    def __init__(self, source: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(source, message, retryAfter=retry_after)
        self.retry_after = retry_after


class UpstreamUnavailable(UpstreamError):
    code = "UPSTREAM_UNAVAILABLE"


class UpstreamAuth(UpstreamError):
    code = "UPSTREAM_AUTH"


class UpstreamBadResponse(UpstreamError):
    code = "UPSTREAM_BAD_RESPONSE"


class PositionUnverified(UpstreamError):
    """The page's jobs are shown, but the upstream's answer did not hold the job the page
    follows on from: jobs deleted or created meanwhile may have moved its cursor, so a job
    may be missing between the previous page and this one. The client may re-read from the
    start of the list to be sure."""

    code = "UPSTREAM_POSITION_UNVERIFIED"
