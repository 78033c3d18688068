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


class InvalidCursor(GatewayError):
    code = "INVALID_CURSOR"

    def __init__(self, message: str = "The cursor is malformed or was not issued by this gateway.") -> None:
        super().__init__(message)


class CursorMismatch(GatewayError):
    code = "CURSOR_MISMATCH"

    def __init__(self) -> None:
        super().__init__(
            "The cursor was issued for a different filter or orderBy; "
            "page with the same filter and orderBy it was made with, or start again without a cursor."
        )


class InvalidId(GatewayError):
    code = "INVALID_ID"

    def __init__(self, global_id: str) -> None:
        super().__init__(f"{global_id!r} is not a job id issued by this gateway.")


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
