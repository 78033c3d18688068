"""The upstreams the gateway merges. Adding one is a module and a line in `REGISTRY`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from gateway.config import Settings
from gateway.model import Source
from gateway.sources.base import JobSource, Unconfigured
from gateway.sources.devrev import DevRevSource
from gateway.sources.docurift import DocuRiftSource
from gateway.upstream import Metrics, UpstreamPolicy

SourceFactory = Callable[[httpx.AsyncClient, Settings, UpstreamPolicy, Metrics], JobSource | Unconfigured]


def _devrev(client: httpx.AsyncClient, settings: Settings, policy: UpstreamPolicy, metrics: Metrics) -> JobSource | Unconfigured:
    if not settings.devrev_token:
        return Unconfigured(Source.DEVREV, "DevRev is not configured: set DEVREV_TOKEN.")
    return DevRevSource(client, settings.devrev_base_url, settings.devrev_token, policy=policy, metrics=metrics)


def _docurift(client: httpx.AsyncClient, settings: Settings, policy: UpstreamPolicy, metrics: Metrics) -> JobSource | Unconfigured:
    if not settings.docurift_api_key:
        return Unconfigured(Source.DOCURIFT, "DocuRift is not configured: set DOCURIFT_API_KEY.")
    return DocuRiftSource(client, settings.docurift_base_url, settings.docurift_api_key, policy=policy, metrics=metrics)


REGISTRY: tuple[SourceFactory, ...] = (_devrev, _docurift)


def build_sources(
    client: httpx.AsyncClient, settings: Settings, policy: UpstreamPolicy, metrics: Metrics
) -> list[JobSource | Unconfigured]:
    return [factory(client, settings, policy, metrics) for factory in REGISTRY]
