"""Retrying a guarded request: exponential backoff with full jitter (sans-I/O; ``_flow`` sends).

Cooperating with the SDK's own retries: the SDK retries 408/409/429/5xx and connection errors
``max_retries`` times (2 by default) with its own delays and honours ``retry-after`` up to 120 s. Had
the guard retried on top, every attempt of the guard would have been up to three attempts of the SDK.
So for guarded requests the guard *takes the retries over*: it resends the request itself
``backoff.max_retries`` times, by default the client's own ``max_retries``, and hands the SDK a final
answer it will not retry (``x-should-retry: false``, or an ``APIConnectionError``): the number of
attempts the application configured stays the same, only the timing changes:

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

import email.utils
import math
import random
import time
from typing import Any

import httpx2

from prodguard.guard._policy.limits import BackoffSettings

_RETRY_STATUS = frozenset({408, 409, 429})


class RetryPlan:
    """The retry schedule of one call (sans-I/O): ``next_delay(error)`` says how long to wait before
    the next attempt, or None to give up and raise ``error``."""

    def __init__(self, settings: BackoffSettings, retries: int, *, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.retries = retries
        self.attempt = 0
        self._started = time.monotonic()
        self._random = rng or random.Random()

    def next_delay(self, outcome: BaseException | httpx2.Response) -> float | None:
        retryable, retry_after = classify(outcome)
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


def classify(outcome: BaseException | httpx2.Response) -> tuple[bool, float | None]:
    """(worth retrying, seconds the server asked to wait) for an answer, an SDK exception or a
    transport error."""
    import openai

    if isinstance(outcome, (openai.APIConnectionError, httpx2.TransportError)):  # timeouts included
        return True, None
    if isinstance(outcome, openai.APIStatusError):
        outcome = outcome.response
    if not isinstance(outcome, httpx2.Response):
        return False, None
    headers = outcome.headers
    retry_after = parse_retry_after(headers)
    verdict = headers.get("x-should-retry")
    if verdict == "true":
        return True, retry_after
    if verdict == "false":
        return False, None
    status = outcome.status_code
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
