"""SecuritySettings: the environment read once, validated, secrets never shown."""

from __future__ import annotations

import pytest

from gateway.security.settings import SecuritySettings

KEY = "k3y-0123456789abcdef"
SECRET = "s" * 40


def test_defaults_are_the_open_demo():
    settings = SecuritySettings.from_env({})
    assert settings == SecuritySettings()
    assert not settings.auth_enabled and settings.graphiql and settings.introspection
    assert settings.max_body_bytes == 262_144 and settings.max_operations == 10 and settings.cors_origins == ()


def test_everything_from_the_environment(tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    settings = SecuritySettings.from_env({
        "GATEWAY_API_KEYS": f" {KEY} , other-key-0123456789 ,",
        "GATEWAY_JWT_JWKS": str(jwks),
        "GATEWAY_JWT_ISSUER": "https://issuer.example",
        "GATEWAY_JWT_AUDIENCE": "job-gateway, other",
        "GATEWAY_MAX_BODY_BYTES": "1024",
        "GATEWAY_MAX_OPERATIONS": "3",
        "GATEWAY_CORS_ORIGINS": "https://app.example.com/, http://localhost:5173",
        "GRAPHIQL": "off",
        "INTROSPECTION": "0",
    })
    assert settings.api_keys == (KEY, "other-key-0123456789")
    assert settings.jwt_enabled and settings.auth_enabled and settings.jwt_audience == ("job-gateway", "other")
    assert settings.max_body_bytes == 1024 and settings.max_operations == 3
    assert settings.cors_origins == ("https://app.example.com", "http://localhost:5173")
    assert settings.graphiql is False and settings.introspection is False


def test_secrets_stay_out_of_repr_and_the_startup_line():
    settings = SecuritySettings(api_keys=(KEY,), jwt_secret=SECRET, jwt_issuer="i", jwt_audience=("a",))
    for text in (repr(settings), settings.describe()):
        assert KEY not in text and SECRET not in text
    assert "1 API key(s)" in settings.describe() and "JWT (HS256 secret)" in settings.describe()
    assert "auth: OFF" in SecuritySettings().describe()


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"GATEWAY_API_KEYS": "short"}, "GATEWAY_API_KEYS"),
        ({"GATEWAY_API_KEYS": "has a space in the key!!"}, "GATEWAY_API_KEYS"),
        ({"GATEWAY_JWT_SECRET": "too-short-secret", "GATEWAY_JWT_ISSUER": "i", "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_SECRET"),
        ({"GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_ISSUER"),
        ({"GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWT_ISSUER": "i"}, "GATEWAY_JWT_AUDIENCE"),
        ({"GATEWAY_JWT_ISSUER": "i", "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_SECRET"),
        ({"GATEWAY_JWT_SECRET": SECRET, "GATEWAY_JWT_JWKS": "https://x.example/jwks", "GATEWAY_JWT_ISSUER": "i", "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_JWKS"),
        ({"GATEWAY_JWT_JWKS": "http://idp.example/jwks", "GATEWAY_JWT_ISSUER": "i", "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_JWKS"),
        ({"GATEWAY_JWT_JWKS": "/no/such/jwks.json", "GATEWAY_JWT_ISSUER": "i", "GATEWAY_JWT_AUDIENCE": "a"}, "GATEWAY_JWT_JWKS"),
        ({"GATEWAY_MAX_BODY_BYTES": "lots"}, "GATEWAY_MAX_BODY_BYTES"),
        ({"GATEWAY_MAX_BODY_BYTES": "0"}, "GATEWAY_MAX_BODY_BYTES"),
        ({"GATEWAY_MAX_OPERATIONS": "-1"}, "GATEWAY_MAX_OPERATIONS"),
        ({"GATEWAY_CORS_ORIGINS": "*"}, "GATEWAY_CORS_ORIGINS"),
        ({"GATEWAY_CORS_ORIGINS": "app.example.com"}, "GATEWAY_CORS_ORIGINS"),
        ({"GATEWAY_CORS_ORIGINS": "https://app.example.com/path"}, "GATEWAY_CORS_ORIGINS"),
        ({"GRAPHIQL": "maybe"}, "GRAPHIQL"),
        ({"INTROSPECTION": "2"}, "INTROSPECTION"),
    ],
)
def test_bad_values_name_the_variable_and_never_the_secret(env, variable):
    with pytest.raises(ValueError) as raised:
        SecuritySettings.from_env(env)
    assert variable in str(raised.value)
    for name in ("GATEWAY_API_KEYS", "GATEWAY_JWT_SECRET"):
        if name in env:
            assert env[name] not in str(raised.value)
