"""Keys and tokens for the auth tests: an RSA pair made on the spot, a JWKS file, signed JWTs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://issuer.example"
AUDIENCE = "job-gateway"
SECRET = "hs256-test-secret-0123456789-abcdefghijklmnop"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def jwks(key: rsa.RSAPrivateKey, kid: str = "key-1") -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {"keys": [{**jwk, "kid": kid, "use": "sig", "alg": "RS256"}]}


def write_jwks(path: Path, key: rsa.RSAPrivateKey, kid: str = "key-1") -> Path:
    path.write_text(json.dumps(jwks(key, kid)))
    return path


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": "user-42", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 300}
    base.update(overrides)
    return {name: value for name, value in base.items() if value is not None}


def hs256(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(claims(**overrides), secret, algorithm="HS256")


def rs256(key: rsa.RSAPrivateKey, kid: str | None = "key-1", **overrides: Any) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims(**overrides), key, algorithm="RS256", headers=headers)


def unsigned(**overrides: Any) -> str:
    """`alg: none`, the oldest trick: a token with no signature at all."""
    return jwt.encode(claims(**overrides), None, algorithm="none")


def tampered(token: str, **overrides: Any) -> str:
    """The same signature over a payload that says something else."""
    header, _, signature = token.split(".")
    payload = jwt.utils.base64url_encode(json.dumps(claims(**overrides)).encode()).decode()
    return f"{header}.{payload}.{signature}"


def hs256_with_public_key(key: rsa.RSAPrivateKey, kid: str = "key-1") -> str:
    """Algorithm confusion: HS256 'signed' with the RSA public key as the shared secret."""
    import hashlib
    import hmac

    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = jwt.utils.base64url_encode(json.dumps(claims()).encode())
    signing_input = header + b"." + payload
    signature = hmac.new(public_pem(key), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()
