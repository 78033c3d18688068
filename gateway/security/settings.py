"""Security settings from the environment: who may ask, how much, and what is exposed.

Validated once at start, so a typo fails the deploy instead of silently opening the API.
Errors name the variable, never a secret's value; secrets stay out of `repr()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from gateway.envvars import boolean, whole_number

API_KEYS = "GATEWAY_API_KEYS"
JWT_SECRET = "GATEWAY_JWT_SECRET"
JWT_JWKS = "GATEWAY_JWT_JWKS"
JWT_ISSUER = "GATEWAY_JWT_ISSUER"
JWT_AUDIENCE = "GATEWAY_JWT_AUDIENCE"
MAX_BODY_BYTES = "GATEWAY_MAX_BODY_BYTES"
MAX_OPERATIONS = "GATEWAY_MAX_OPERATIONS"
CORS_ORIGINS = "GATEWAY_CORS_ORIGINS"
GRAPHIQL = "GRAPHIQL"
INTROSPECTION = "INTROSPECTION"

MIN_API_KEY_LENGTH = 16
MIN_HS256_SECRET_BYTES = 32  # RFC 7518 3.2: a key at least as long as the hash
_KEY_CHARACTERS = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: what a header value can carry intact
_ORIGIN = re.compile(r"^https?://[^\s/?#]+$")


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    """Everything issue 6 makes configurable. The defaults are the open demo."""

    api_keys: tuple[str, ...] = field(default=(), repr=False)
    jwt_secret: str | None = field(default=None, repr=False)
    jwt_jwks: str | None = None  # a file path or an https URL: public keys only
    jwt_issuer: str | None = None
    jwt_audience: tuple[str, ...] = ()
    max_body_bytes: int = 262_144
    max_operations: int = 10
    cors_origins: tuple[str, ...] = ()
    graphiql: bool = True
    introspection: bool = True  # enforced by the schema; read here for the startup warning

    def __post_init__(self) -> None:
        _check_keys(self.api_keys)
        _check_jwt(self)
        _positive(MAX_BODY_BYTES, self.max_body_bytes)
        _positive(MAX_OPERATIONS, self.max_operations)
        for origin in self.cors_origins:
            _check_origin(origin)

    @property
    def jwt_enabled(self) -> bool:
        return self.jwt_secret is not None or self.jwt_jwks is not None

    @property
    def auth_enabled(self) -> bool:
        """False means the API is open to anyone who can reach it."""
        return bool(self.api_keys) or self.jwt_enabled

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SecuritySettings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            api_keys=_list(env.get(API_KEYS)),
            jwt_secret=env.get(JWT_SECRET) or None,
            jwt_jwks=(env.get(JWT_JWKS) or "").strip() or None,
            jwt_issuer=(env.get(JWT_ISSUER) or "").strip() or None,
            jwt_audience=_list(env.get(JWT_AUDIENCE)),
            max_body_bytes=whole_number(env, MAX_BODY_BYTES, defaults.max_body_bytes),
            max_operations=whole_number(env, MAX_OPERATIONS, defaults.max_operations),
            cors_origins=tuple(origin.rstrip("/") for origin in _list(env.get(CORS_ORIGINS))),
            graphiql=boolean(env, GRAPHIQL, defaults.graphiql),
            introspection=boolean(env, INTROSPECTION, defaults.introspection),
        )

    def describe(self) -> str:
        """One line for the startup log: modes and limits, no secret."""
        modes = []
        if self.api_keys:
            modes.append(f"{len(self.api_keys)} API key(s)")
        if self.jwt_secret is not None:
            modes.append("JWT (HS256 secret)")
        if self.jwt_jwks is not None:
            modes.append("JWT (JWKS)")
        cors = ", ".join(self.cors_origins) or "none"
        return (
            f"auth: {' + '.join(modes) or 'OFF'}; GraphiQL: {_onoff(self.graphiql)}; "
            f"introspection: {_onoff(self.introspection)}; CORS origins: {cors}; "
            f"max body: {self.max_body_bytes} bytes; max operations per batch: {self.max_operations}"
        )


def jwks_is_url(value: str) -> bool:
    return urlsplit(value).scheme != ""


def _check_keys(keys: tuple[str, ...]) -> None:
    for key in keys:
        if len(key) < MIN_API_KEY_LENGTH:
            raise ValueError(f"{API_KEYS}: every key must be at least {MIN_API_KEY_LENGTH} characters long")
        if not _KEY_CHARACTERS.match(key):
            raise ValueError(f"{API_KEYS}: keys may hold visible ASCII characters only (no spaces)")


def _check_jwt(settings: SecuritySettings) -> None:
    if settings.jwt_secret is not None and settings.jwt_jwks is not None:
        raise ValueError(f"set one of {JWT_SECRET} and {JWT_JWKS}, not both")
    if settings.jwt_secret is not None and len(settings.jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
        raise ValueError(f"{JWT_SECRET} must be at least {MIN_HS256_SECRET_BYTES} bytes long")
    if settings.jwt_jwks is not None:
        if jwks_is_url(settings.jwt_jwks):
            parts = urlsplit(settings.jwt_jwks)
            if parts.scheme != "https" or not parts.hostname:
                raise ValueError(f"{JWT_JWKS} must be a file path or an https:// URL")
        elif not Path(settings.jwt_jwks).is_file():
            raise ValueError(f"{JWT_JWKS}: no such file: {settings.jwt_jwks}")
    if settings.jwt_enabled:
        # Without both, a token minted for another service or by another issuer would pass.
        if not settings.jwt_issuer:
            raise ValueError(f"{JWT_ISSUER} is required when {JWT_SECRET} or {JWT_JWKS} is set")
        if not settings.jwt_audience:
            raise ValueError(f"{JWT_AUDIENCE} is required when {JWT_SECRET} or {JWT_JWKS} is set")
    elif settings.jwt_issuer or settings.jwt_audience:
        raise ValueError(f"{JWT_ISSUER}/{JWT_AUDIENCE} need a key: set {JWT_SECRET} or {JWT_JWKS}")


def _check_origin(origin: str) -> None:
    if origin == "*":
        raise ValueError(f"{CORS_ORIGINS} is an allow-list: name each origin, '*' is not accepted")
    if not _ORIGIN.match(origin):
        raise ValueError(f"{CORS_ORIGINS}: {origin!r} is not an origin like https://app.example.com")


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise ValueError(f"{name} must be a positive whole number, got {value}")


def _list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _onoff(value: bool) -> str:
    return "on" if value else "off"
