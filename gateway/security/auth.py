"""Inbound authentication: an API key or a bearer JWT, or the API is not served.

Accepted: `X-API-Key: <key>` or `Authorization: Bearer <key-or-JWT>`. Keys are compared in
constant time against every configured key (hashes first, so even lengths do not show).
Everything is protected except what holds no data: `/healthz`, and the GraphiQL page and
its assets when GraphiQL is on. The principal lands in `scope["state"]["principal"]`
(`request.state.principal`); what was presented is never logged nor echoed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import graphiql
from gateway.security.errors import AUTH_UNAVAILABLE, UNAUTHENTICATED, Rejection
from gateway.security.paths import route_path
from gateway.security.settings import SecuritySettings
from gateway.security.tokens import KeysUnavailable, TokenRejected, TokenVerifier, looks_like_jwt

log = logging.getLogger("gateway.security")

API_KEY_HEADER = "x-api-key"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking. `id` is the key's position in GATEWAY_API_KEYS, or the token's `sub`."""

    kind: Literal["api_key", "jwt"]
    id: str
    claims: Mapping[str, Any] = field(default_factory=dict, repr=False)


class ApiKeys:
    """The configured keys, kept as SHA-256 digests and compared without early exit."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        self._digests = [hashlib.sha256(key.encode()).digest() for key in keys]

    def __len__(self) -> int:
        return len(self._digests)

    def __repr__(self) -> str:
        return f"ApiKeys(<{len(self)} hidden>)"

    def match(self, presented: str) -> int | None:
        """The index of the matching key, or None; every key is compared either way."""
        digest = hashlib.sha256(presented.encode()).digest()
        found: int | None = None
        for index, known in enumerate(self._digests):
            if hmac.compare_digest(digest, known) and found is None:
                found = index
        return found


class Authenticator:
    """Turns a request's headers into a `Principal`, or raises a 401 `Rejection`."""

    def __init__(self, keys: ApiKeys | None, tokens: TokenVerifier | None) -> None:
        if not keys and tokens is None:
            raise ValueError("an Authenticator needs API keys, a token verifier, or both")
        self._keys = keys if keys else None
        self._tokens = tokens

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> Authenticator | None:
        """None when no auth is configured: the API is open."""
        if not settings.auth_enabled:
            return None
        keys = ApiKeys(settings.api_keys) if settings.api_keys else None
        return cls(keys, TokenVerifier.from_settings(settings))

    @property
    def ide_headers(self) -> dict[str, str]:
        """What GraphiQL's headers editor starts with, for the user to fill in."""
        return {"X-API-Key": ""} if self._keys else {"Authorization": "Bearer "}

    async def authenticate(self, headers: Headers) -> Principal:
        api_key = headers.get(API_KEY_HEADER, "").strip()
        bearer = _bearer(headers.get("authorization", ""))
        if self._keys is not None and api_key:
            return self._by_key(api_key)
        if bearer:
            if self._keys is not None:
                index = self._keys.match(bearer)
                if index is not None:
                    return Principal("api_key", str(index))
            if self._tokens is not None and looks_like_jwt(bearer):
                return await self._by_token(bearer)
            raise _refused("unknown credential", "Invalid credentials.")
        raise _refused("no credentials", self._missing_message(), invalid=False)

    def _by_key(self, presented: str) -> Principal:
        index = self._keys.match(presented) if self._keys is not None else None
        if index is None:
            raise _refused("unknown API key", "Invalid API key.")
        return Principal("api_key", str(index))

    async def _by_token(self, token: str) -> Principal:
        assert self._tokens is not None
        try:
            claims = await self._tokens.verify(token)
        except TokenRejected as error:
            message = "The token has expired." if error.expired else "Invalid token."
            raise _refused(f"token {error.reason}", message) from None
        except KeysUnavailable:
            log.warning("cannot verify tokens: the JWKS endpoint did not answer")
            message = "Tokens cannot be verified right now; try again shortly."
            raise Rejection(503, AUTH_UNAVAILABLE, message, {"Retry-After": "5"}, reason="JWKS unavailable") from None
        return Principal("jwt", str(claims.get("sub") or "unknown"), claims)

    def _missing_message(self) -> str:
        ways = []
        if self._keys is not None:
            ways.append("an API key (X-API-Key: <key>)")
        if self._tokens is not None:
            ways.append("a bearer token (Authorization: Bearer <token>)")
        return f"Authentication required: send {' or '.join(ways)}."


class AuthMiddleware:
    """Refuses unauthenticated requests with 401 before they reach anything with data."""

    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, public: Callable[[Scope], bool]) -> None:
        self.app = app
        self.authenticator = authenticator
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.public(scope):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.authenticator.authenticate(Headers(scope=scope))
        except Rejection as rejection:
            client = scope.get("client")
            log.info(
                "refused %s %s from %s: %s",
                scope.get("method"), route_path(scope), client[0] if client else "?", rejection.reason,
            )
            await rejection.response()(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def public_routes(*, graphiql_on: bool) -> Callable[[Scope], bool]:
    """What may be read without credentials: health, and the IDE shell when it is on."""

    def public(scope: Scope) -> bool:
        method = scope.get("method")
        if method not in ("GET", "HEAD"):
            return False
        path = route_path(scope)
        if path == "/healthz":
            return True
        if not graphiql_on:
            return False
        if path.startswith(graphiql.ASSETS_PATH + "/"):
            return True
        if path != "/graphql":
            return False
        headers = Headers(scope=scope)
        return graphiql.wants_ide(str(method), QueryParams(scope.get("query_string", b"")), headers.get("accept", ""))

    return public


def _bearer(authorization: str) -> str:
    scheme, _, credentials = authorization.strip().partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _refused(reason: str, message: str, *, invalid: bool = True) -> Rejection:
    """401, RFC 6750 style: `Bearer` always, `error="invalid_token"` when one was sent.

    `reason` goes to the log, `message` to the client; neither holds the credential.
    """
    challenge = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return Rejection(401, UNAUTHENTICATED, message, {"WWW-Authenticate": challenge}, reason=reason)
