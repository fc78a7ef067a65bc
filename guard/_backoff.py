"""Sending a guarded call: response cache, then the SDK call with exponential backoff and full jitter.

Cooperating with the SDK's own retries: the SDK retries 408/409/429/5xx and connection errors
``max_retries`` times (2 by default) with its own delays and honours ``retry-after`` up to 120 s. Had
the guard retried on top, every attempt of the guard would have been up to three attempts of the SDK.
So for guarded calls the guard *takes the retries over*: it calls the SDK through a copy of the client
with ``max_retries = 0`` (made once per client, sharing its connection pool) and retries itself
``backoff.max_retries`` times, by default the client's own ``max_retries``: the number of attempts
the application configured stays the same, only the timing changes:

- full jitter: the n-th retry waits ``uniform(0, min(max_delay_s, initial_delay_s * 2**n))``;
- ``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date) are honoured exactly (plus up to
  10 % jitter), the way the API asks;
- bounded total time: no retry starts after ``max_elapsed_s`` since the first attempt, and a
  ``retry-after`` that would end later gives up at once instead of sleeping in vain;
- ``x-should-retry: true/false`` from the server wins, as in the SDK;
- a streamed call is retried only until its stream starts: once the SDK returned the stream, errors
  while reading it go to the caller (part of the answer may already have been shown).

Each retry also takes its own room in the client-side rate windows (it is one more request).
With ``backoff.enabled = false`` the SDK's own retries run unchanged.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import random
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from prodguard.guard._policy.limits import BackoffSettings
from prodguard.guard._text import CHAT, EMBEDDINGS, RESPONSES

if TYPE_CHECKING:
    from prodguard.guard._pipeline import Call, Guard

Invoke = Callable[[Callable[..., Any], dict[str, Any]], Any]
AsyncInvoke = Callable[[Callable[..., Any], dict[str, Any]], Awaitable[Any]]

_RETRY_STATUS = frozenset({408, 409, 429})
_QUIET: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class RetryPlan:
    """The retry schedule of one call (sans-I/O): ``next_delay(error)`` says how long to wait before
    the next attempt, or None to give up and raise ``error``."""

    def __init__(self, settings: BackoffSettings, retries: int, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.retries = retries
        self.attempt = 0
        self._started = time.monotonic()
        self._random = rng or random.Random()

    def next_delay(self, error: BaseException) -> float | None:
        retryable, retry_after = classify(error)
        if not retryable or self.attempt >= self.retries:
            return None
        settings = self.settings
        if retry_after is not None:
            delay = retry_after * self._random.uniform(1.0, 1.1)
        else:
            cap = min(settings.max_delay_s, settings.initial_delay_s * 2**self.attempt)
            delay = self._random.uniform(0, cap)
        if time.monotonic() - self._started + (retry_after or delay) > settings.max_elapsed_s:
            return None
        self.attempt += 1
        return delay


def classify(error: BaseException) -> tuple[bool, float | None]:
    """(worth retrying, seconds the server asked to wait) for an SDK exception."""
    import openai

    if isinstance(error, openai.APIConnectionError):  # includes timeouts
        return True, None
    if not isinstance(error, openai.APIStatusError):
        return False, None
    headers = error.response.headers
    retry_after = parse_retry_after(headers)
    verdict = headers.get("x-should-retry")
    if verdict == "true":
        return True, retry_after
    if verdict == "false":
        return False, None
    status = error.status_code
    return (status in _RETRY_STATUS or status >= 500), retry_after


def parse_retry_after(headers: Any) -> float | None:
    """``retry-after-ms``, else ``retry-after`` in seconds or as an HTTP date; None when absent or invalid."""
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            seconds = float(value) / 1000
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def quiet_create(client: Any, endpoint: str, create: Callable[..., Any]) -> Callable[..., Any] | None:
    """``create`` on a copy of ``client`` whose SDK retries are off; None when the client cannot be
    copied (then the SDK keeps retrying by itself and the guard does not)."""
    if getattr(client, "max_retries", 0) == 0:
        return create
    try:
        quiet = _QUIET.get(client)
        if quiet is None:
            quiet = _QUIET[client] = client.with_options(max_retries=0)
    except Exception:
        return None
    if endpoint == CHAT:
        return quiet.chat.completions.create  # type: ignore[no-any-return]
    if endpoint == RESPONSES:
        return quiet.responses.create  # type: ignore[no-any-return]
    if endpoint == EMBEDDINGS:
        return quiet.embeddings.create  # type: ignore[no-any-return]
    return None


def _with_attempt(params: dict[str, Any], attempt: int) -> dict[str, Any]:
    """The SDK numbers its own attempts in ``x-stainless-retry-count``; keep doing so for ours."""
    if attempt == 0:
        return params
    headers = dict(params.get("extra_headers") or {})
    headers["x-stainless-retry-count"] = str(attempt)
    return {**params, "extra_headers": headers}


def _prepare(guard: Guard, call: Call, params: dict[str, Any]) -> Any:
    """The cached response, if any (everything the call reserved is given back then)."""
    if guard.cache is None:
        return None
    hit = guard.cache.lookup(call, params)
    if hit is not None and guard.accounting is not None:
        guard.accounting.refund(call)
    return hit


def _sent(guard: Guard, call: Call, result: Any) -> Any:
    ticket = call.ticket
    if ticket is not None:
        ticket.streaming = call.stream
    if guard.cache is not None and not call.stream:
        guard.cache.snapshot(call, result)
    return result


def _mark_sent(call: Call) -> None:
    if call.ticket is not None:
        call.ticket.sent = True


def _plan(guard: Guard, client: Any, call: Call, create: Callable[..., Any]) -> tuple[Callable[..., Any], RetryPlan | None]:
    settings = guard.policy.backoff
    if not settings.enabled:
        return create, None
    quiet = quiet_create(client, call.endpoint, create)
    if quiet is None:
        return create, None
    retries = settings.max_retries if settings.max_retries is not None else int(getattr(client, "max_retries", 0) or 0)
    return quiet, RetryPlan(settings, retries)


def send(guard: Guard, client: Any, call: Call, create: Callable[..., Any], params: dict[str, Any], invoke: Invoke) -> Any:
    """The synchronous SDK call of a guarded call: cache, backoff, window room for each retry."""
    from prodguard.guard._pipeline import drive

    hit = _prepare(guard, call, params)
    if hit is not None:
        return hit
    create, plan = _plan(guard, client, call, create)
    attempt = 0
    while True:
        _mark_sent(call)
        try:
            return _sent(guard, call, invoke(create, _with_attempt(params, attempt)))
        except Exception as exc:
            delay = plan.next_delay(exc) if plan is not None else None
            if delay is None:
                raise
            attempt += 1
            call.decisions.append(f"retry:{attempt}")
            time.sleep(delay)
            if guard.accounting is not None:
                drive(guard.accounting.readmit(call, attempt), _no_io)


async def asend(
    guard: Guard, client: Any, call: Call, create: Callable[..., Any], params: dict[str, Any], invoke: AsyncInvoke
) -> Any:
    """The asynchronous twin of ``send``."""
    from prodguard.guard._pipeline import adrive

    hit = _prepare(guard, call, params)
    if hit is not None:
        return hit
    create, plan = _plan(guard, client, call, create)
    attempt = 0
    while True:
        _mark_sent(call)
        try:
            return _sent(guard, call, await invoke(create, _with_attempt(params, attempt)))
        except Exception as exc:
            delay = plan.next_delay(exc) if plan is not None else None
            if delay is None:
                raise
            attempt += 1
            call.decisions.append(f"retry:{attempt}")
            await asyncio.sleep(delay)
            if guard.accounting is not None:
                await adrive(guard.accounting.readmit(call, attempt), _ano_io)


def _no_io(request: Any) -> Any:
    raise RuntimeError(f"unexpected I/O request {request!r}")  # readmit only sleeps, which drive handles


async def _ano_io(request: Any) -> Any:
    raise RuntimeError(f"unexpected I/O request {request!r}")
