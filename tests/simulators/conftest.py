"""Shared fixtures: frozen clocks and in-process clients for both simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette

from gateway.simulators import (
    DEMO_DEVREV_TOKEN,
    DEMO_DOCURIFT_KEY,
    SimClock,
    create_devrev_app,
    create_docurift_app,
)

START = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
DEVREV_COUNT = 120
DOCURIFT_COUNT = 150


def client_for(app: Starlette, base_url: str, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, headers=headers
    )


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START, frozen=True)


@pytest.fixture
def devrev_app(clock: SimClock) -> Starlette:
    return create_devrev_app(token=DEMO_DEVREV_TOKEN, clock=clock, count=DEVREV_COUNT)


@pytest.fixture
def docurift_app(clock: SimClock) -> Starlette:
    return create_docurift_app(api_key=DEMO_DOCURIFT_KEY, clock=clock, count=DOCURIFT_COUNT)


@pytest.fixture
async def devrev(devrev_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    auth = {"Authorization": f"Bearer {DEMO_DEVREV_TOKEN}"}
    async with client_for(devrev_app, "https://api.devrev.test", **auth) as client:
        yield client


@pytest.fixture
async def docurift(docurift_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(
        docurift_app, "https://api.docurift.test", **{"X-API-Key": DEMO_DOCURIFT_KEY}
    ) as client:
        yield client
