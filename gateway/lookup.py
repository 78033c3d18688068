"""Jobs by global id, batched per request: one `fetch` per source, ids de-duplicated."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiodataloader import DataLoader

from gateway.errors import GatewayError, BadId, UpstreamUnavailable
from gateway.ids import decode_job_id
from gateway.model import Job, Source
from gateway.sources.base import JobSource, Unconfigured


def job_loader(sources: Sequence[JobSource | Unconfigured]) -> DataLoader:
    """A loader for one request: its cache must not outlive the request's caller."""
    by_source = {source.source: source for source in sources}

    async def load(global_ids: list[str]) -> list[Job | None | Exception]:
        wanted: dict[Source, list[str]] = {}
        parsed: list[tuple[Source, str] | Exception] = []
        for global_id in global_ids:
            try:
                source, source_id = decode_job_id(global_id)
            except BadId as error:
                parsed.append(error)
                continue
            parsed.append((source, source_id))
            ids = wanted.setdefault(source, [])
            if source_id not in ids:
                ids.append(source_id)

        async def fetch(source: Source, ids: list[str]) -> dict[str, Job | None] | GatewayError:
            client = by_source.get(source)
            if client is None or isinstance(client, Unconfigured):
                reason = client.reason if isinstance(client, Unconfigured) else f"{source.value} is not served here."
                return UpstreamUnavailable(source.value, reason)
            try:
                return await client.fetch(ids)
            except GatewayError as error:
                return error

        answers = dict(zip(wanted, await asyncio.gather(*(fetch(s, ids) for s, ids in wanted.items()))))
        results: list[Job | None | Exception] = []
        for item in parsed:
            if isinstance(item, Exception):
                results.append(item)
                continue
            answer = answers[item[0]]
            results.append(answer if isinstance(answer, Exception) else answer.get(item[1]))
        return results

    return DataLoader(load)
