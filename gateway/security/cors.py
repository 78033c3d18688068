"""Cross-origin access for the browser apps on an allow-list, and for no one else.

No origins configured means no CORS headers at all: browsers then keep other sites' pages
from reading the API. Credentials travel in headers, never cookies, so
`allow_credentials` stays off.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

METHODS = ("GET", "POST")
HEADERS = ("Content-Type", "Authorization", "X-API-Key", "X-DevRev-Token", "X-DocuRift-Key")
MAX_AGE_SECONDS = 600


def cors_middleware(origins: tuple[str, ...]) -> list[Middleware]:
    """Starlette's CORSMiddleware for `origins`, or nothing when there are none."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=list(METHODS),
            allow_headers=list(HEADERS),
            allow_credentials=False,
            max_age=MAX_AGE_SECONDS,
        )
    ]
