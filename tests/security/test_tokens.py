"""Bearer JWTs: one issuer, one audience, and the key decides the algorithm."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from jwt_keys import (
    AUDIENCE,
    ISSUER,
    SECRET,
    hs256,
    hs256_with_public_key,
    jwks,
    rs256,
    rsa_key,
    tampered,
    unsigned,
    write_jwks,
)

from gateway.security.tokens import (
    JwksFile,
    JwksUrl,
    KeysUnavailable,
    SecretKey,
    TokenRejected,
    TokenVerifier,
)


def hs_verifier() -> TokenVerifier:
    return TokenVerifier(SecretKey(SECRET), issuer=ISSUER, audience=(AUDIENCE,))


@pytest.fixture(scope="module")
def key():
    return rsa_key()


async def test_a_valid_hs256_token_gives_its_claims():
    claims = await hs_verifier().verify(hs256())
    assert claims["sub"] == "user-42" and claims["aud"] == AUDIENCE


async def test_clock_skew_within_30_seconds_is_tolerated():
    import time

    await hs_verifier().verify(hs256(exp=int(time.time()) - 10))
    with pytest.raises(TokenRejected) as raised:
        await hs_verifier().verify(hs256(exp=int(time.time()) - 60))
    assert raised.value.expired and raised.value.reason == "expired"


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda: hs256(aud="another-service"), "wrong audience"),
        (lambda: hs256(iss="https://evil.example"), "wrong issuer"),
        (lambda: hs256(exp=None), "missing required claim"),
        (lambda: hs256(aud=None), "missing required claim"),
        (lambda: hs256(secret="another-secret-0123456789-abcdefghijklmn"), "bad signature"),
        (lambda: unsigned(), "algorithm not allowed"),
        (lambda: tampered(hs256(), sub="admin"), "bad signature"),
        (lambda: jwt.encode({"exp": 9_999_999_999, "iss": ISSUER, "aud": AUDIENCE}, SECRET * 2, algorithm="HS512"), "algorithm not allowed"),
        (lambda: "not.a.token", "malformed token"),
    ],
)
async def test_hs256_refusals_say_why_in_the_reason_only(make, reason):
    token = make()
    with pytest.raises(TokenRejected) as raised:
        await hs_verifier().verify(token)
    assert raised.value.reason == reason and not raised.value.expired
    assert token not in str(raised.value)


async def test_jwks_file_verifies_rs256_and_refuses_the_classic_tricks(tmp_path, key):
    verifier = TokenVerifier(JwksFile.load(str(write_jwks(tmp_path / "jwks.json", key))), issuer=ISSUER, audience=(AUDIENCE,))
    assert (await verifier.verify(rs256(key)))["sub"] == "user-42"
    assert (await verifier.verify(rs256(key, kid=None)))["sub"] == "user-42"  # the only key
    refused = {
        "unknown key id": rs256(key, kid="key-2"),
        "bad signature": rs256(rsa_key()),  # another key under the same kid
        "algorithm not allowed": hs256_with_public_key(key),  # HS256 with the public key as secret
    }
    for reason, token in refused.items():
        with pytest.raises(TokenRejected) as raised:
            await verifier.verify(token)
        assert raised.value.reason == reason
    with pytest.raises(TokenRejected):
        await verifier.verify(unsigned())


def test_a_jwks_file_with_a_secret_key_or_garbage_is_refused_without_quoting_it(tmp_path):
    oct_key = tmp_path / "oct.json"
    oct_key.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "x"}]}))
    with pytest.raises(ValueError) as raised:
        JwksFile.load(str(oct_key))
    assert "GATEWAY_JWT_JWKS" in str(raised.value) and "c2VjcmV0" not in str(raised.value)
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(ValueError, match="GATEWAY_JWT_JWKS"):
        JwksFile.load(str(garbage))


class FakeJwksEndpoint(jwt.PyJWKClient):
    """PyJWKClient with its caching and cooldown intact; only the fetch is ours."""

    def __init__(self, payload: dict[str, Any] | None) -> None:
        super().__init__("https://idp.example/.well-known/jwks.json", cache_keys=True)
        self.payload = payload
        self.fetches = 0

    def fetch_data(self) -> Any:
        self.fetches += 1
        if self.payload is None:
            raise jwt.PyJWKClientConnectionError("connection refused")
        return self.payload


async def test_jwks_url_fetches_once_off_the_event_loop_and_caches(key):
    endpoint = FakeJwksEndpoint(jwks(key))
    verifier = TokenVerifier(JwksUrl(endpoint), issuer=ISSUER, audience=(AUDIENCE,))
    for _ in range(3):
        assert (await verifier.verify(rs256(key)))["sub"] == "user-42"
    assert endpoint.fetches == 1
    with pytest.raises(TokenRejected) as raised:
        await verifier.verify(rs256(key, kid="rotated-away"))
    assert raised.value.reason == "unknown key id"
    with pytest.raises(TokenRejected):
        await verifier.verify(hs256_with_public_key(key))
    with pytest.raises(TokenRejected, match="malformed"):
        await verifier.verify("garbage")


async def test_jwks_url_down_is_unavailable_not_unauthenticated(key):
    verifier = TokenVerifier(JwksUrl(FakeJwksEndpoint(None)), issuer=ISSUER, audience=(AUDIENCE,))
    with pytest.raises(KeysUnavailable):
        await verifier.verify(rs256(key))


def test_secret_key_hides_itself():
    assert SECRET not in repr(SecretKey(SECRET))
