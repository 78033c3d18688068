"""Settings from the environment. Secrets never appear in `repr()` or logs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gateway.envvars import seconds


@dataclass(frozen=True, slots=True)
class Settings:
    devrev_base_url: str = "https://api.devrev.ai"
    devrev_token: str | None = field(default=None, repr=False)
    docurift_base_url: str = "https://api.docurift.com"
    docurift_api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    cursor_secret: str | None = field(default=None, repr=False)
    credentials_mode: str = "server"  # or "forward": each caller sends its own upstream credentials

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            devrev_base_url=env.get("DEVREV_BASE_URL") or defaults.devrev_base_url,
            devrev_token=env.get("DEVREV_TOKEN") or None,
            docurift_base_url=env.get("DOCURIFT_BASE_URL") or defaults.docurift_base_url,
            docurift_api_key=env.get("DOCURIFT_API_KEY") or None,
            connect_timeout=seconds(env, "GATEWAY_CONNECT_TIMEOUT", defaults.connect_timeout),
            read_timeout=seconds(env, "GATEWAY_READ_TIMEOUT", defaults.read_timeout),
            cursor_secret=env.get("GATEWAY_CURSOR_SECRET") or None,
            credentials_mode=_mode(env.get("CREDENTIALS_MODE") or defaults.credentials_mode),
        )

    def secrets(self) -> list[str]:
        """Every configured credential: what must never leave the process."""
        return [s for s in (self.devrev_token, self.docurift_api_key, self.cursor_secret) if s]


def _mode(raw: str) -> str:
    mode = raw.strip().lower()
    if mode not in ("server", "forward"):
        raise ValueError(f"CREDENTIALS_MODE must be 'server' or 'forward', got {raw!r}")
    return mode
