"""Which route a request is for, as the router sees it."""

from __future__ import annotations

from starlette.types import Scope


def route_path(scope: Scope) -> str:
    """`scope["path"]` without the mount prefix (`root_path`), so `/graphql` is `/graphql`
    whether the gateway is served at `/` or behind a proxy at `/api`."""
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    return path[len(root):] if root and path.startswith(root) else path
