"""The upstreams the gateway merges. Adding one is a module and a line in `REGISTRY`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.config import Settings
from gateway.model import Source
from gateway.sources.base import JobSource, Unconfigured
from gateway.sources.devrev import DevRevSource
from gateway.sources.docurift import DocuRiftSource

SourceFactory = Callable[[httpx.AsyncClient, Settings], JobSource | Unconfigured]


def _devrev(client: httpx.AsyncClient, settings: Settings) -> JobSource | Unconfigured:
    if not settings.devrev_token:
        return Unconfigured(Source.DEVREV, "DevRev is not configured: set DEVREV_TOKEN.")
    return DevRevSource(client, settings.devrev_base_url, settings.devrev_token)


def _docurift(client: httpx.AsyncClient, settings: Settings) -> JobSource | Unconfigured:
    if not settings.docurift_api_key:
        return Unconfigured(Source.DOCURIFT, "DocuRift is not configured: set DOCURIFT_API_KEY.")
    return DocuRiftSource(client, settings.docurift_base_url, settings.docurift_api_key)


REGISTRY: tuple[SourceFactory, ...] = (_devrev, _docurift)


def build_sources(client: httpx.AsyncClient, settings: Settings) -> list[JobSource | Unconfigured]:
    return [factory(client, settings) for factory in REGISTRY]
