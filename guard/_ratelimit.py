"""Client-side rate limits: requests and tokens per minute per scope, as sliding windows in the backend.

A limit ``{scope = "project", rpm = 500, tpm = 200000}`` becomes two windows per subject (here: per
project): one counting requests, one counting tokens. A window admits a call when what it admitted in
the last ``window_s`` seconds plus the call's amount stays within ``rate * window_s / 60``; so a burst
can never put more than ``rpm`` requests into any minute (a token bucket would allow up to twice that).
Tokens are counted the way the API's own limiter estimates them: about four characters per token of
prompt plus the request's output-token cap, charged when the call is admitted.

When a window is full the call waits until enough entries age out (``on_exhausted = "wait"``, at most
``max_wait_s``) or fails at once with ``RateLimited`` (``"raise"``). Waiting is requested from the
driver as ``Sleep`` so that the async client awaits instead of blocking its event loop.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from prodguard.guard._call import PlannedWindow
from prodguard.guard._errors import RateLimited
from prodguard.guard._policy.limits import RateLimitRule
from prodguard.guard._state.backend import WindowAsk


def window_key(prefix: str, rule: RateLimitRule, subject: str, metric: str) -> str:
    return f"{{{prefix}}}:w:{rule.scope}:{subject}:{metric}:{rule.window_s:g}"


def plan_windows(
    prefix: str, rules: Sequence[RateLimitRule], subjects: Sequence[str], tokens: int
) -> tuple[PlannedWindow, ...]:
    """The windows a call with ``tokens`` estimated tokens must fit in; ``subjects[i]`` is the call's
    subject for ``rules[i]``'s scope."""
    out = []
    for rule, subject in zip(rules, subjects, strict=True):
        for metric, rate, amount in (("rpm", rule.rpm, 1), ("tpm", rule.tpm, tokens)):
            if rate is None:
                continue
            capacity = math.floor(rate * rule.window_s / 60)
            ask = WindowAsk(window_key(prefix, rule, subject, metric), amount, capacity, rule.window_s)
            out.append(PlannedWindow(ask, rule, metric, subject))
    return tuple(out)


class WaitPolicy:
    """Decides, for one call, between sleeping and raising when windows are full."""

    def __init__(self, monotonic: float) -> None:
        self._started = monotonic

    def next_sleep(self, windows: Sequence[PlannedWindow], waits: Sequence[tuple[int, float]], monotonic: float) -> float:
        """Seconds to sleep before trying again, or raise ``RateLimited``."""
        index, wait = max(waits, key=lambda item: item[1])
        window = windows[index]
        rule = window.rule
        if math.isinf(wait):
            raise _limited(
                window,
                f": this call alone needs {window.ask.amount} of {window.ask.capacity} per {rule.window_s:g} s; "
                "it can never be admitted",
                None,
            )
        bound = min(windows[i].rule.max_wait_s for i, _ in waits)
        raising = any(windows[i].rule.on_exhausted == "raise" for i, _ in waits)
        if raising or monotonic + wait > self._started + bound:
            reason = "on_exhausted = raise" if raising else f"waiting would exceed max_wait_s = {bound:g}"
            raise _limited(window, f" {_rate(rule, window.metric)} reached; room in {wait:.2f} s ({reason})", wait)
        # A little jitter, so that callers woken for the same freed room do not all collide again.
        return wait * random.uniform(1.0, 1.1) + 0.001


def _limited(window: PlannedWindow, why: str, retry_after: float | None) -> RateLimited:
    """``RateLimited`` for ``window``: "rate limit <scope> <metric>" followed by ``why``."""
    rule = window.rule
    return RateLimited(
        f"rate limit {rule.scope} {window.metric}{why}",
        scope=rule.scope,
        subject=window.subject,
        metric=window.metric,
        retry_after=retry_after,
    )


def _rate(rule: RateLimitRule, metric: str) -> str:
    return f"{getattr(rule, metric)}/min" + (f" over {rule.window_s:g} s windows" if rule.window_s != 60 else "")
