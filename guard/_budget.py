"""Budgets and rate limits as one guard step: reserve before sending, settle after, release on error.

``Accounting.admit`` runs right after the environment check. It works out the call's subject for
every budget and limit scope, estimates the most the call can cost (prompt upper bound plus the
output-token cap, priced per model) and asks the backend, in one atomic operation, to lease that much
from every matching budget and to put the call into every matching rate window. A hard limit that the
lease would cross refuses the call (``BudgetExceeded``) before anything is sent; a full window waits or
raises ``RateLimited`` per policy.

After the call, ``finish`` settles the lease with the actual ``usage`` (or, when the call failed,
releases it; see ``finish`` for which failures still cost money). Soft limits are checked on settled
spend: the first settlement that crosses one in its period reports it, once across all processes, to
the callback, the log and the call's audit decisions.

How much a call may cost at most is estimated from its final body (``_estimate``).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from prodguard.guard._call import Call, Lease, PlannedCounter, PlannedWindow
from prodguard.guard._errors import BudgetExceeded, GuardError, GuardUnavailable
from prodguard.guard._estimate import estimate, output_cap_of, usage_tokens
from prodguard.guard._io import Sleep
from prodguard.guard._policy.limits import BudgetRule
from prodguard.guard._policy.policy import Policy
from prodguard.guard._prices import PriceTable, nano, usd
from prodguard.guard._ratelimit import WaitPolicy, plan_windows
from prodguard.guard._state.backend import (
    Admission,
    Amounts,
    CounterAsk,
    Limits,
    Settlement,
    StateBackend,
    StateUnavailable,
    open_backend,
)

log = logging.getLogger("prodguard.guard")

# Custom scopes: ``scope = "tag:team"`` counts per value of the "team" tag set with ``tags(team=...)``.
TAGS: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("prodguard_tags", default=None)

UNKNOWN = "-"
_METRIC_NAMES = ("requests", "tokens", "cost_usd")
_GRACE_S = 86_400.0  # a counter outlives its period by a day, so a late settlement still finds it


@contextlib.contextmanager
def tags(**values: str) -> Iterator[None]:
    """Tag the calls in this scope, for budgets and limits with ``scope = "tag:<name>"``."""
    token = TAGS.set({**(TAGS.get() or {}), **{k: str(v) for k, v in values.items()}})
    try:
        yield
    finally:
        TAGS.reset(token)


class SoftLimitReached(NamedTuple):
    """Passed to the ``on_soft_limit`` callback the first time a soft limit is reached in its period."""

    budget: str
    scope: str
    subject: str
    period: str  # the period it happened in, e.g. "2025-06-01" or "2025-06"
    metric: str  # "requests", "tokens" or "cost_usd"
    limit: float
    spent: float


def _period(period: str, now: float) -> tuple[str, float]:
    """The period's id and the time its counter may be forgotten."""
    day = dt.datetime.fromtimestamp(now, dt.UTC)
    if period == "day":
        start = day.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), (start + dt.timedelta(days=1)).timestamp() + _GRACE_S
    start = day.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start.strftime("%Y-%m"), following.timestamp() + _GRACE_S


def counter_key(prefix: str, scope: str, subject: str, period: str, period_id: str) -> str:
    return f"{{{prefix}}}:b:{scope}:{subject}:{period}:{period_id}"


def parse_counter_key(key: str) -> tuple[str, str, str, str] | None:
    """(scope, subject, period, period id) of a counter key, or None for other keys."""
    if "}:b:" not in key:
        return None
    parts = key.split("}:b:", 1)[1].split(":")
    if len(parts) < 4:
        return None
    return ":".join(parts[:-3]), unquote(parts[-3]), parts[-2], parts[-1]


def _merge(limits: Sequence[int | None]) -> int | None:
    present = [v for v in limits if v is not None]
    return min(present) if present else None


# -- the step -----------------------------------------------------------------------------------------


class Accounting:
    """Budgets and rate limits of one guard. Opens its backend on first use, never before."""

    def __init__(self, policy: Policy, on_soft_limit: Callable[[SoftLimitReached], None] | None = None) -> None:
        self.policy = policy
        self.budgets = policy.budgets
        self.limits = policy.limits
        self.settings = policy.accounting
        self.prices = PriceTable(self.settings.prices)
        self.on_soft_limit = on_soft_limit
        self._backend: StateBackend | None = None
        self._warned: set[str] = set()
        self._prefix = self.settings.key_prefix

    @classmethod
    def build(cls, policy: Policy, on_soft_limit: Callable[[SoftLimitReached], None] | None = None) -> Accounting | None:
        return cls(policy, on_soft_limit) if policy.budgets or policy.limits else None

    def backend(self) -> StateBackend:
        if self._backend is None:
            self._backend = open_backend(self.policy.backend)  # StateUnavailable when it cannot be opened
        return self._backend

    def _now(self) -> float:
        """The backend's clock for budget periods (Redis ``TIME``: a host a day ahead does not open a
        second daily budget); the local clock when the backend cannot say."""
        if not self.budgets:
            return time.time()
        try:
            return self.backend().now()
        except StateUnavailable:
            return time.time()  # admission will meet the same failure and apply accounting.fail

    # -- subjects ------------------------------------------------------------------------------

    def subject(self, scope: str, call: Call) -> str:
        if scope == "global":
            value: str | None = "all"
        elif scope == "environment":
            value = self.policy.running_environment
        elif scope == "project":
            value = call.client.project or (call.client.key_fingerprint or "")[:19] or None
        elif scope == "end_user":
            value = call.end_user_hash
        elif scope == "model":
            value = call.model or None
        else:  # tag:<name>
            value = (TAGS.get() or {}).get(scope[4:])
        return quote(value, safe="") if value else UNKNOWN

    # -- admission -----------------------------------------------------------------------------

    def plan(self, call: Call) -> tuple[Lease, Admission]:
        settings = self.settings
        kind = call.route.kind
        model = call.model
        found = estimate(kind, call.body, settings.default_max_output_tokens, settings.tokens_per_media_part)
        if settings.send_default_cap and isinstance(call.body, dict) and output_cap_of(kind, call.body) is None:
            cap_key = {"chat": "max_completion_tokens", "responses": "max_output_tokens"}.get(kind)
            if cap_key is not None:
                call.body = {**call.body, cap_key: settings.default_max_output_tokens}
                call.changed = True
        tokens = found.prompt_max + found.output_cap
        cost = 0
        budgets = self.budgets
        if any(rule.max_cost_usd is not None or rule.soft_cost_usd is not None for rule in budgets):
            priced = self.prices.cost_nano(str(model), found.prompt_max, found.output_cap)
            if priced is None:
                raise GuardUnavailable(
                    f"no price is known for model {model!r}, so cost budgets cannot be enforced; add it to "
                    "[tool.prodguard.guard.accounting.prices]"
                )
            cost = priced
        now = self._now()
        groups: dict[str, list[tuple[BudgetRule, str, str]]] = {}
        expires: dict[str, float] = {}
        for rule in budgets:
            subject = self.subject(rule.scope, call)
            period_id, until = _period(rule.period, now)
            key = counter_key(self._prefix, rule.scope, subject, rule.period, period_id)
            groups.setdefault(key, []).append((rule, subject, period_id))
            expires[key] = until
        counters = []
        amounts: Amounts = (1, tokens, cost)
        for key, rules in groups.items():
            hard: Limits = (
                _merge([r.max_requests for r, _, _ in rules]),
                _merge([r.max_tokens for r, _, _ in rules]),
                _merge([None if r.max_cost_usd is None else nano(r.max_cost_usd) for r, _, _ in rules]),
            )
            soft: Limits = (
                _merge([r.soft_requests for r, _, _ in rules]),
                _merge([r.soft_tokens for r, _, _ in rules]),
                _merge([None if r.soft_cost_usd is None else nano(r.soft_cost_usd) for r, _, _ in rules]),
            )
            rule, subject, period_id = rules[0]
            counters.append(PlannedCounter(CounterAsk(key, amounts, hard, expires[key]), soft, rule, subject, period_id))
        limits = self.limits
        windows = plan_windows(
            self._prefix, limits, [self.subject(rule.scope, call) for rule in limits], found.prompt_typical + found.output_cap
        )
        ticket = Lease(os.urandom(12).hex(), str(model), tuple(counters), windows)
        admission = Admission(
            ticket.rid, tuple(c.ask for c in counters), tuple(w.ask for w in windows), settings.reservation_ttl_s
        )
        return ticket, admission

    def admit(self, call: Call) -> Generator[Sleep, Any, None]:
        """The request step: lease from every budget and enter every window, or refuse / wait."""
        ticket, admission = self.plan(call)
        yield from self._enter(ticket, admission, ticket.windows)
        call.lease = ticket

    def readmit(self, call: Call, attempt: int) -> Generator[Sleep, Any, None]:
        """Before a retry: the retry is one more request to the API, so it takes its own window room."""
        ticket = call.lease
        if ticket is None or not ticket.windows:
            return
        admission = Admission(f"{ticket.rid}#{attempt}", (), tuple(w.ask for w in ticket.windows))
        yield from self._enter(ticket, admission, ticket.windows)

    def _enter(self, ticket: Lease, admission: Admission, windows: tuple[PlannedWindow, ...]) -> Generator[Sleep, Any, None]:
        waiting: WaitPolicy | None = None
        while True:
            try:
                result = self.backend().admit(admission)
            except StateUnavailable as exc:
                self._unavailable(exc)
                ticket.counters, ticket.windows = (), ()
                return
            if result.ok:
                return
            if result.exceeded is not None:
                raise self._exceeded(ticket, admission, result.exceeded)
            now = time.monotonic()
            waiting = waiting or WaitPolicy(now)
            yield Sleep(waiting.next_sleep(windows, result.waits, now))

    def _exceeded(self, ticket: Lease, admission: Admission, exceeded: tuple[int, int, int]) -> BudgetExceeded:
        index, metric, used = exceeded
        planned = ticket.counters[index]
        limit = planned.ask.hard[metric] or 0
        asked = admission.counters[index].amounts[metric]
        name = _METRIC_NAMES[metric]
        shown = (lambda v: f"{usd(v):.6f}") if metric == 2 else str
        rule = planned.rule
        subject = planned.subject
        message = (
            f"budget {rule.label} exceeded for {rule.scope} {subject!r} ({planned.period}): {name} "
            f"{shown(used)} of {shown(limit)} used or reserved, this call needs up to {shown(asked)} more; not sent"
        )
        value = (lambda v: usd(v)) if metric == 2 else float
        return BudgetExceeded(
            message,
            budget=rule.label,
            scope=rule.scope,
            subject=subject,
            period=planned.period,
            metric=name,
            limit=value(limit),
            used=value(used),
        )

    def _unavailable(self, exc: StateUnavailable) -> None:
        if self.settings.fail == "closed":
            raise GuardUnavailable(
                f"budget and rate-limit state is unavailable: {exc}; request refused (accounting.fail = closed)"
            ) from None
        self._warn_once("state", f"budget and rate-limit state is unavailable: {exc}; sending uncounted (accounting.fail = open)")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("prodguard: %s", message)

    # -- after the call ----------------------------------------------------------------------------

    def refund(self, call: Call) -> None:
        """The call never reached the API (a cache hit, or a later step refused it): give everything back."""
        self._release(call, refund_windows=True)

    def finish(self, call: Call, *, usage: Any = None, error: BaseException | None = None) -> None:
        """Close the call's ticket, once. With usage: settle it. Without: a call that was refused before
        sending, or answered with an API error status, or could not connect, costs nothing (release);
        a call that timed out or broke mid-stream may have been billed, so its full lease is charged."""
        ticket = call.lease
        if ticket is None or ticket.closed or not (ticket.counters or ticket.windows):
            return
        if call.cache is not None and call.cache.hit is not None:
            self._release(call, refund_windows=True)  # answered from the cache: nothing was sent
            return
        tokens = usage_tokens(usage)
        if tokens is not None:
            self._settle(call, ticket, tokens)
        elif error is None or (ticket.sent and _maybe_billed(error, ticket.streaming)):
            if error is None:
                self._warn_once(
                    "no-usage",
                    "a call ended without usage (for streamed chat completions pass "
                    "stream_options={'include_usage': True}); its full reservation was charged",
                )
            self._settle(call, ticket, None)
        else:
            self._release(call, refund_windows=not ticket.sent)

    def _settle(self, call: Call, ticket: Lease, tokens: tuple[int, int, int] | None) -> None:
        ticket.closed = True
        if not ticket.counters:
            return
        if tokens is None:
            actual = ticket.counters[0].ask.amounts
        else:
            prompt, output, cached = tokens
            cost = self.prices.cost_nano(ticket.model, prompt, output, cached) or 0
            actual = (1, prompt + output, cost)
        settlements = [Settlement(c.ask.key, c.ask.amounts, actual, c.soft, c.ask.expires_at) for c in ticket.counters]
        try:
            crossings = self.backend().settle(ticket.rid, settlements)
        except StateUnavailable as exc:
            log.error("prodguard: could not record the usage of a call: %s", exc)
            return
        for crossing in crossings:
            self._soft_limit(call, ticket.counters[crossing.item], crossing.metric, crossing.spent)

    def _release(self, call: Call, *, refund_windows: bool) -> None:
        ticket = call.lease
        if ticket is None or ticket.closed:
            return
        ticket.closed = True
        counters = [(c.ask.key, c.ask.amounts) for c in ticket.counters]
        windows = [(w.ask.key, w.ask.amount) for w in ticket.windows] if refund_windows else []
        if not counters and not windows:
            return
        try:
            self.backend().release(ticket.rid, counters, windows)
        except StateUnavailable as exc:
            log.warning("prodguard: could not release a reservation (it expires by itself): %s", exc)

    def _soft_limit(self, call: Call, planned: PlannedCounter, metric: int, spent: int) -> None:
        limit = planned.soft[metric] or 0
        convert = usd if metric == 2 else float
        event = SoftLimitReached(
            planned.rule.label, planned.rule.scope, planned.subject, planned.period, _METRIC_NAMES[metric], convert(limit), convert(spent)
        )
        call.decisions.append(f"budget-soft-limit:{event.budget}:{event.metric}")
        log.warning(
            "prodguard: soft budget %s reached for %s %r (%s): %s %.6g of %.6g",
            event.budget, event.scope, event.subject, event.period, event.metric, event.spent, event.limit,
        )
        if self.on_soft_limit is not None:
            try:
                self.on_soft_limit(event)
            except Exception:
                log.exception("prodguard: the on_soft_limit callback failed")


def _maybe_billed(error: BaseException, stream: bool) -> bool:
    if stream:
        return True  # the stream had started (even if the guard stopped it): upstream was generating
    if isinstance(error, GuardError):
        return False
    name = type(error).__name__
    return name in ("APITimeoutError", "ReadTimeout", "TimeoutException", "TimeoutError")


