"""Identical reads in flight at the same moment share one upstream call.

A page of results often asks for the same job, or the same list page, from several
resolvers at once. The key covers everything that shapes the answer, including a SHA-256
of the credential (never the credential itself), so callers with different credentials
never see each other's data.

The shared call runs in its own task under the deadline of the caller that started it.
A caller that leaves (cancelled, or out of time sooner than that deadline) only stops
waiting; the call goes on for the others and is cancelled when nobody waits any more.
A caller whose deadline ends sooner either waits and gets `TimeoutError` (an upstream call:
its client turns that into `UpstreamTimeout`) or, with `alone_if_sooner`, makes the call
itself under its own deadline (a page: so the page reports which sources ran out of time).
Every waiter gets the same answer object: shared answers are read-only by contract (the
sources only read upstream JSON, and a page is not changed once made). Copying them for
each waiter cost more than the call itself at high concurrency: a deep copy of a 100-job
body is ~1 ms, paid by every one of 32 waiters.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable, Coroutine, Hashable, Mapping
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from . import deadline

__all__ = ["Coalescer", "credential_key", "request_key"]

T = TypeVar("T")


def credential_key(credential: str, headers: Mapping[str, str] | None = None) -> str:
    """A SHA-256 of the credential (and of the other headers sent with it): tells callers
    apart without keeping the secret in a key."""
    digest = hashlib.sha256(credential.encode())
    for name, value in sorted((k.lower(), v) for k, v in (headers or {}).items()):
        digest.update(f"\0{name}\0{value}".encode())
    return digest.hexdigest()


def request_key(
    source: str,
    credential_hash: str,
    method: str,
    url: str,
    *,
    params: Any = None,
    json_body: Any = None,
    not_found_ok: bool = False,
) -> tuple[str, ...]:
    """Equal for requests that must get the same answer.

    Query parameters are ordered by name only, so repeated parameters (arrays) keep their
    order; JSON objects are compared with sorted keys, lists in order.
    """
    query = ""
    if params is not None:
        items = sorted(httpx.QueryParams(params).multi_items(), key=lambda item: item[0])
        query = "&".join(f"{quote(name)}={quote(value)}" for name, value in items)
    body = (
        ""
        if json_body is None
        else json.dumps(json_body, sort_keys=True, separators=(",", ":"), default=str)
    )
    return (
        source,
        credential_hash,
        method.upper(),
        str(httpx.URL(url)),
        query,
        body,
        "404ok" if not_found_ok else "",
    )


class _Flight(Generic[T]):
    __slots__ = ("deadline", "task", "waiters")

    def __init__(self, task: asyncio.Task[T], limit: deadline.Deadline | None) -> None:
        self.task = task
        self.deadline = limit
        self.waiters = 0


class Coalescer:
    """In-flight calls by key. Share one per source; keys keep credentials apart."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, _Flight[Any]] = {}

    def __len__(self) -> int:
        return len(self._flights)

    async def run(
        self,
        key: Hashable,
        start: Callable[[], Coroutine[Any, Any, T]],
        *,
        on_join: Callable[[], None] | None = None,
        alone_if_sooner: bool = False,
    ) -> T:
        """`start()`'s result, from the call already in flight for `key` if there is one.

        When this caller's deadline ends before the shared call's, it raises `TimeoutError`
        at that deadline, or, with `alone_if_sooner`, does not join: it awaits its own
        `start()`, unshared, whose own handling of the deadline then applies.
        """
        mine = deadline.current()
        flight: _Flight[T] | None = self._flights.get(key)
        if flight is None or flight.task.done():
            task = asyncio.get_running_loop().create_task(start())
            flight = _Flight(task, mine)
            self._flights[key] = flight
            task.add_done_callback(functools.partial(self._done, key, flight))
        elif alone_if_sooner and _sooner(mine, flight.deadline) is not None:
            return await start()
        elif on_join is not None:
            on_join()
        flight.waiters += 1
        try:
            async with asyncio.timeout(_sooner(mine, flight.deadline)):
                result = await asyncio.shield(flight.task)
        except BaseException:
            flight.waiters -= 1
            if flight.waiters == 0 and not flight.task.done():
                self._forget(key, flight)
                flight.task.cancel()
            raise
        flight.waiters -= 1
        return result

    def _done(self, key: Hashable, flight: _Flight[Any], task: asyncio.Task[Any]) -> None:
        self._forget(key, flight)
        if not flight.task.cancelled():
            flight.task.exception()  # retrieved: nobody may be left to see it

    def _forget(self, key: Hashable, flight: _Flight[Any]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]


def _sooner(mine: deadline.Deadline | None, theirs: deadline.Deadline | None) -> float | None:
    """This waiter's own time limit, when it ends before the shared call's."""
    if mine is None or mine is theirs:
        return None
    left = mine.remaining()
    if theirs is not None and theirs.remaining() <= left:
        return None
    return left
