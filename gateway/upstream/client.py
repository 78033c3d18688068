"""`Upstream`: one source's calls made resilient.

Each call is coalesced with identical calls in flight, bounded by the request's deadline,
refused at once while the source's circuit is open or its Retry-After runs, and retried
(reads only) on the failures that retrying can fix, within a per-source retry budget.
A single attempt is `gateway.upstream.http.request_json`, unchanged.
"""

from __future__ import annotations

import asyncio
import copy
import math
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from gateway.errors import UpstreamError, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from .http import ErrorMessage, request_json

from . import deadline
from .breaker import Breaker, Permit, Verdict, verdict_of
from .coalesce import Coalescer, credential_key, request_key
from .deadline import Clock
from .metrics import Metrics, log_failure
from .policy import UpstreamPolicy
from .ratelimit import RateLimitGate
from .retry import RetryBudget, full_jitter, is_retryable

__all__ = ["Upstream"]

Sleep = Callable[[float], Awaitable[None]]


class Upstream:
    """One per source (and credential). Safe to share between concurrent requests."""

    def __init__(
        self,
        name: str,
        client: httpx.AsyncClient,
        *,
        credential: str,
        headers: Mapping[str, str],
        error_message: ErrorMessage,
        policy: UpstreamPolicy | None = None,
        metrics: Metrics | None = None,
        clock: Clock = time.monotonic,
        random: Callable[[], float] = _random.random,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.policy = policy if policy is not None else UpstreamPolicy()
        self.metrics = metrics if metrics is not None else Metrics()
        self._client = client
        self._credential = credential
        self._headers = dict(headers)
        self._identity = credential_key(credential, headers)
        self._error_message = error_message
        self._clock = clock
        self._random = random
        self._sleep = sleep
        self.breaker = Breaker(
            name,
            threshold=self.policy.breaker_threshold,
            cooldown=self.policy.breaker_cooldown,
            clock=clock,
        )
        self.budget = RetryBudget(
            ratio=self.policy.retry_budget,
            floor=self.policy.retry_budget_floor,
            window=self.policy.retry_budget_window,
            clock=clock,
        )
        self.gate = RateLimitGate(clock=clock)
        self._coalescer = Coalescer()
        self._stats = self.metrics.source(name)
        self._stats.breaker = lambda: self.breaker.state.value

    def __repr__(self) -> str:
        return f"Upstream({self.name!r}, breaker={self.breaker.state.value!r})"

    def with_credential(self, credential: str, headers: Mapping[str, str]) -> Upstream:
        """The same source called with another credential.

        Breaker, retry budget, coalescer and metrics are the source's and stay shared;
        the Retry-After gate is per credential, as upstream rate limits are.
        """
        other = copy.copy(self)
        other._credential = credential
        other._headers = dict(headers)
        other._identity = credential_key(credential, headers)
        other.gate = RateLimitGate(clock=self._clock)
        return other

    async def request_json(
        self,
        method: str,
        url: str,
        *,
        not_found_ok: bool = False,
        params: Any = None,
        json_body: Any = None,
    ) -> Any:
        """Decoded JSON, or None for a tolerated 404; an `UpstreamError` otherwise."""
        self._stats.calls += 1
        own_limit = None if deadline.current() is not None else self.policy.request_deadline
        with deadline.deadline(own_limit, clock=self._clock):
            key = request_key(
                self.name,
                self._identity,
                method,
                url,
                params=params,
                json_body=json_body,
                not_found_ok=not_found_ok,
            )

            def start() -> Any:
                return self._call(
                    method, url, not_found_ok=not_found_ok, params=params, json_body=json_body
                )

            try:
                return await self._coalescer.run(key, start, on_join=self._joined)
            except TimeoutError:
                error: UpstreamError = deadline.expired(self.name)
                self._stats.failures[error.code] += 1
                raise error from None
            except UpstreamError as error:
                self._stats.failures[error.code] += 1
                raise

    def _joined(self) -> None:
        self._stats.coalesced += 1

    async def _call(
        self, method: str, url: str, *, not_found_ok: bool, params: Any, json_body: Any
    ) -> Any:
        """Attempts until one succeeds or retrying cannot help."""
        self.budget.record_call()
        attempt = 0
        while True:
            attempt += 1
            await self._wait_for_gate()
            permit = self._permit()
            started = self._clock()
            granted = _left()
            self._stats.requests += 1
            try:
                result = await self._attempt(method, url, not_found_ok, params, json_body)
            except UpstreamError as failure:
                self.breaker.record(permit, self._verdict(failure, granted))
                status = failure.status
                server_wait = self._server_wait(failure)
                error = failure
                delay, outcome = self._retry_delay(error, status, attempt, server_wait)
                self._stats.attempt_failures[error.code] += 1
                log_failure(
                    source=self.name,
                    code=error.code,
                    status=status,
                    attempt=attempt,
                    elapsed_ms=(self._clock() - started) * 1000,
                    method=method,
                    url=url,
                    outcome=outcome,
                    message=self._redact(error.message),
                )
                if delay is None:
                    raise error from None
                self._stats.retries += 1
                await self._sleep(delay)
            except BaseException:
                self.breaker.release(permit)
                raise
            else:
                self.breaker.record(permit, Verdict.SUCCESS)
                return result

    def _verdict(self, failure: UpstreamError, granted: float) -> Verdict:
        """A timeout only counts against the source if the attempt had a fair amount of
        time: a request that reached its upstream call with its deadline nearly spent says
        nothing about the source."""
        verdict = verdict_of(failure)
        if isinstance(failure, UpstreamTimeout) and granted < self.policy.min_attempt_time:
            return Verdict.NEUTRAL
        return verdict

    async def _attempt(
        self,
        method: str,
        url: str,
        not_found_ok: bool,
        params: Any,
        json_body: Any,
    ) -> Any:
        """One request, cut off when the request's deadline passes."""
        try:
            async with asyncio.timeout(deadline.remaining()):
                return await request_json(
                    self._client,
                    method,
                    url,
                    source=self.name,
                    headers=self._headers,
                    error_message=self._error_message,
                    not_found_ok=not_found_ok,
                    params=params,
                    json_body=json_body,
                )
        except TimeoutError:
            raise deadline.expired(self.name) from None

    async def _wait_for_gate(self) -> None:
        """Out of time → `UpstreamTimeout`; inside a Retry-After → wait for it if it fits."""
        left = _left()
        if left <= 0:
            self._stats.rejected["deadline"] += 1
            raise deadline.expired(self.name)
        wait = self.gate.wait()
        if wait <= 0:
            return
        if wait + self.policy.min_attempt_time > left:
            self._stats.rejected["rate_limited"] += 1
            seconds = math.ceil(wait * 1000) / 1000
            raise UpstreamRateLimited(
                self.name,
                f"{self.name} asked the gateway to slow down; try again in {seconds:g} s.",
                seconds,
            )
        await self._sleep(wait)

    def _permit(self) -> Permit:
        try:
            return self.breaker.acquire()
        except UpstreamUnavailable:
            self._stats.rejected["circuit_open"] += 1
            raise

    def _server_wait(self, error: UpstreamError) -> float | None:
        """Seconds the source asked for (429 body or header, 503 header); a 429's applies
        to every call with this credential."""
        if isinstance(error, UpstreamRateLimited):
            if error.retry_after is not None:
                self.gate.hold(error.retry_after)
            return error.retry_after
        wait = error.extensions.get("retryAfter") if error.status == 503 else None
        return float(wait) if wait is not None else None

    def _retry_delay(
        self, error: UpstreamError, status: int | None, attempt: int, server_wait: float | None
    ) -> tuple[float | None, str]:
        """Seconds to wait before the next attempt, or None and why not."""
        if not is_retryable(error, status):
            return None, "not_retryable"
        if attempt >= self.policy.max_attempts:
            return None, "max_attempts"
        usable = _left() - self.policy.min_attempt_time
        if server_wait is not None:
            if server_wait > usable:
                return None, "retry_after_beyond_deadline"  # the caller gets retryAfter instead
            delay = server_wait
        else:
            if usable <= 0:
                return None, "deadline"
            policy = self.policy
            jitter = full_jitter(
                attempt, base=policy.backoff_base, cap=policy.backoff_cap, random=self._random
            )
            delay = min(usable, jitter)
        if not self.budget.try_spend():
            self._stats.rejected["retry_budget"] += 1
            return None, "retry_budget"
        return delay, f"retry_in_{delay:.3f}s"

    def _redact(self, text: str) -> str:
        return text.replace(self._credential, "[redacted]") if self._credential else text


def _left() -> float:
    """Seconds left; `request_json` always sets a deadline before anything calls this."""
    left = deadline.remaining()
    return math.inf if left is None else left
