"""Bearer JWTs, verified with PyJWT against one issuer, one audience and one kind of key.

The algorithm is decided by the key, never by the token: an HS256 secret accepts HS256
only; a JWKS key accepts the one algorithm of its type (RSA, EC or OKP), so a token cannot
pick `none`, nor HS256 with an RSA public key as the secret. `exp`, `iss` and `aud` are
required, with 30 seconds of leeway for clock skew.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
import jwt

from gateway.security.settings import JWT_JWKS, SecuritySettings, jwks_is_url

LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 5
JWKS_CACHE_SECONDS = 300
# Per key type, what a public key may verify. Symmetric (`oct`) keys have no place in a JWKS.
ALGORITHMS_BY_KEY_TYPE: Mapping[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512", "ES256K"}),
    "OKP": frozenset({"EdDSA", "Ed25519"}),
}


class TokenRejected(Exception):
    """The token does not authenticate anyone. `reason` is for the log, never the token."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.expired = expired


class KeysUnavailable(Exception):
    """The JWKS endpoint could not be read: our problem, not the client's."""


class KeySource(Protocol):
    async def key_for(self, token: str) -> tuple[Any, list[str]]:
        """The key that must have signed `token` and the algorithms it may verify."""
        ...


class SecretKey:
    """A shared HS256 secret."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return "SecretKey(<hidden>)"

    async def key_for(self, token: str) -> tuple[Any, list[str]]:
        return self._secret, ["HS256"]


class JwksFile:
    """Public keys read once from a JWKS file; a token names its key by `kid`."""

    def __init__(self, keys: list[jwt.PyJWK]) -> None:
        self._keys = keys

    @classmethod
    def load(cls, path: str) -> JwksFile:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            keys = [jwt.PyJWK.from_dict(entry) for entry in data["keys"]]
        except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError):
            # The library's message can quote the key material: say only where it failed.
            raise ValueError(f"{JWT_JWKS}: {path} is not a readable JWKS file with usable keys") from None
        for key in keys:
            if not _allowed(key):
                raise ValueError(f"{JWT_JWKS}: {path} holds a key that is not an RSA, EC or OKP public signing key")
        if not keys:
            raise ValueError(f"{JWT_JWKS}: {path} holds no keys")
        return cls(keys)

    async def key_for(self, token: str) -> tuple[Any, list[str]]:
        kid = _header(token).get("kid")
        matches = [key for key in self._keys if kid is not None and key.key_id == kid]
        if not matches and len(self._keys) == 1 and (kid is None or self._keys[0].key_id is None):
            matches = self._keys  # one key, and nothing says it is not the one
        if not matches:
            raise TokenRejected("unknown key id")
        return matches[0], [matches[0].algorithm_name]


class JwksUrl:
    """Public keys from an https JWKS endpoint, cached by PyJWKClient.

    PyJWKClient blocks while it fetches, so it runs in a worker thread; it keeps the key
    set for 5 minutes and refetches for an unknown `kid` at most every 30 seconds.
    """

    def __init__(self, client: jwt.PyJWKClient) -> None:
        self._client = client

    @classmethod
    def connect(cls, url: str) -> JwksUrl:
        return cls(jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=JWKS_TIMEOUT_SECONDS))

    async def key_for(self, token: str) -> tuple[Any, list[str]]:
        _header(token)  # malformed tokens are refused before any network call
        try:
            key = await anyio.to_thread.run_sync(self._client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError:
            raise KeysUnavailable("the JWKS endpoint did not answer") from None
        except jwt.PyJWTError:
            raise TokenRejected("unknown key id") from None
        if not _allowed(key):
            raise TokenRejected("key type not allowed")
        return key, [key.algorithm_name]


class TokenVerifier:
    """Checks a bearer JWT and returns its claims."""

    def __init__(self, keys: KeySource, *, issuer: str, audience: tuple[str, ...], leeway: float = LEEWAY_SECONDS) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = list(audience)
        self._leeway = leeway

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> TokenVerifier | None:
        if settings.jwt_secret is not None:
            keys: KeySource = SecretKey(settings.jwt_secret)
        elif settings.jwt_jwks is not None:
            keys = JwksUrl.connect(settings.jwt_jwks) if jwks_is_url(settings.jwt_jwks) else JwksFile.load(settings.jwt_jwks)
        else:
            return None
        assert settings.jwt_issuer is not None  # settings insist on both with a key
        return cls(keys, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    async def verify(self, token: str) -> dict[str, Any]:
        key, algorithms = await self._keys.key_for(token)
        if "none" in (a.lower() for a in algorithms):  # pragma: no cover - no key source offers it
            raise TokenRejected("algorithm not allowed")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", expired=True) from None
        except jwt.PyJWTError as error:
            raise TokenRejected(_REASONS.get(type(error), "invalid token")) from None


def looks_like_jwt(value: str) -> bool:
    """Three base64url parts: worth verifying as a token rather than comparing as a key."""
    return value.count(".") == 2


def _header(token: str) -> dict[str, Any]:
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("malformed token") from None


def _allowed(key: jwt.PyJWK) -> bool:
    return key.algorithm_name in ALGORITHMS_BY_KEY_TYPE.get(str(key.key_type), frozenset())


_REASONS: Mapping[type[Exception], str] = {
    jwt.InvalidAudienceError: "wrong audience",
    jwt.InvalidIssuerError: "wrong issuer",
    jwt.MissingRequiredClaimError: "missing required claim",
    jwt.InvalidAlgorithmError: "algorithm not allowed",
    jwt.InvalidSignatureError: "bad signature",
    jwt.ImmatureSignatureError: "not yet valid",
    jwt.DecodeError: "malformed token",
}
