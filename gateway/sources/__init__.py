"""The upstreams the gateway merges. Adding one is a module and a line in `REGISTRY`.

Credentials come from one of two places (`CREDENTIALS_MODE`): the gateway's own (`server`,
from the environment) or each caller's (`forward`, from a request header per source). In
forward mode every request gets its own view of each source, bound to that caller's
credential; a source whose header is missing is skipped with a message saying which header.
Views share the source's breaker, retry budget and metrics, but coalescing is keyed by
credential, so nothing fetched with one caller's credential is served to another.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import httpx

from gateway.config import Settings
from gateway.model import Source
from gateway.sources.base import JobSource, Unconfigured
from gateway.sources.devrev import DevRevSource
from gateway.sources.docurift import DocuRiftSource
from gateway.upstream import Metrics, UpstreamPolicy

SourceBuilder = Callable[..., JobSource]  # (client, base_url, credential, *, policy, metrics)


@dataclass(frozen=True, slots=True)
class Registration:
    """One upstream: how to build its client, and where its URL and credential come from."""

    source: Source
    name: str  # as people write it
    build: SourceBuilder
    base_url: Callable[[Settings], str]
    credential: Callable[[Settings], str | None]
    credential_env: str  # where `server` mode reads the credential
    forward_header: str  # where `forward` mode reads it


REGISTRY: tuple[Registration, ...] = (
    Registration(Source.DEVREV, "DevRev", DevRevSource, lambda s: s.devrev_base_url, lambda s: s.devrev_token, "DEVREV_TOKEN", "X-DevRev-Token"),
    Registration(Source.DOCURIFT, "DocuRift", DocuRiftSource, lambda s: s.docurift_base_url, lambda s: s.docurift_api_key, "DOCURIFT_API_KEY", "X-DocuRift-Key"),
)

FORWARD_VIEWS = 1024  # per source: callers' views kept so their Retry-After gates persist


class SourceSet:
    """Every registered source; `for_request` gives the ones a request uses."""

    def __init__(self, entries: list[tuple[Registration, JobSource | Unconfigured]], *, forward: bool) -> None:
        self._entries = entries
        self.forward = forward
        self._views: dict[Source, OrderedDict[str, JobSource]] = {r.source: OrderedDict() for r, _ in entries}

    def __iter__(self) -> Iterator[JobSource | Unconfigured]:
        return (source for _, source in self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def for_request(self, headers: Mapping[str, str]) -> list[JobSource | Unconfigured]:
        if not self.forward:
            return [source for _, source in self._entries]
        return [self._forwarded(registration, source, headers) for registration, source in self._entries]

    def _forwarded(
        self, registration: Registration, source: JobSource | Unconfigured, headers: Mapping[str, str]
    ) -> JobSource | Unconfigured:
        if isinstance(source, Unconfigured):
            return source
        credential = (headers.get(registration.forward_header) or "").strip()
        if not credential:
            return Unconfigured(
                registration.source,
                f"No {registration.forward_header} header: this gateway forwards each caller's own "
                f"{registration.name} credential, and none was sent.",
            )
        views = self._views[registration.source]
        view = views.get(credential)
        if view is None:
            view = views[credential] = source.with_credential(credential)
            if len(views) > FORWARD_VIEWS:
                views.popitem(last=False)
        else:
            views.move_to_end(credential)
        return view


def build_sources(client: httpx.AsyncClient, settings: Settings, policy: UpstreamPolicy, metrics: Metrics) -> SourceSet:
    forward = settings.credentials_mode == "forward"
    entries: list[tuple[Registration, JobSource | Unconfigured]] = []
    for registration in REGISTRY:
        credential = registration.credential(settings)
        if forward:
            credential = ""  # never used: every request brings its own (see `for_request`)
        elif not credential:
            reason = f"{registration.name} is not configured: set {registration.credential_env}."
            entries.append((registration, Unconfigured(registration.source, reason)))
            continue
        built = registration.build(client, registration.base_url(settings), credential, policy=policy, metrics=metrics)
        entries.append((registration, built))
    return SourceSet(entries, forward=forward)
