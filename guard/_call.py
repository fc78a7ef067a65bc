"""What one guarded request carries through the steps: typed records, no behaviour.

A leaf: it imports only records (state asks, policy rules, the PII vault), never a step, so every step
and the flow can import it without a circle.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from prodguard.guard._pii.vault import PiiVault
from prodguard.guard._policy.limits import BudgetRule, RateLimitRule
from prodguard.guard._routes import Route
from prodguard.guard._state.backend import CounterAsk, Limits, WindowAsk

Json = Any  # a parsed JSON value: dict, list, str, int, float, bool or None (JSON has no closed type in Python)


@dataclass(frozen=True)
class ClientInfo:
    """Who the request speaks for, read from its effective headers (what the SDK is about to send)."""

    organization: str | None
    project: str | None
    key_fingerprint: str | None  # sha256:... of the bearer token, never the token
    azure: bool = False


@dataclass(frozen=True)
class PlannedCounter:
    """One budget counter a call leases from."""

    ask: CounterAsk
    soft: Limits
    rule: BudgetRule
    subject: str
    period: str


@dataclass(frozen=True)
class PlannedWindow:
    """One rate-limit window a call enters."""

    ask: WindowAsk
    rule: RateLimitRule
    metric: str  # "rpm" or "tpm"
    subject: str


@dataclass
class Lease:
    """What one call holds while in flight: its budget leases and window entries."""

    rid: str
    model: str
    counters: tuple[PlannedCounter, ...] = ()
    windows: tuple[PlannedWindow, ...] = ()
    sent: bool = False
    streaming: bool = False  # the answer had started streaming: upstream was generating (and billing)
    closed: bool = False


@dataclass
class CacheState:
    key: str
    hit: bytes | None = None  # the cached answer (upstream form, secrets scrubbed)


@dataclass(frozen=True)
class ModerationNote:
    where: Literal["input", "output"]
    flagged: bool
    categories: tuple[str, ...]


@dataclass
class Call:
    """One request on its way through the guard. ``body`` is the final JSON body the SDK built (after
    ``extra_body`` was merged); request steps replace it with what will be sent."""

    route: Route
    client: ClientInfo
    body: Json
    stream: bool = False
    query: str = ""  # the URL's query string, decoded (extra_query lands here)
    attempt: int = 0
    end_user_hash: str | None = None
    vault: PiiVault | None = None
    lease: Lease | None = None
    cache: CacheState | None = None
    changed: bool = False  # a step changed the body: it is serialized again before sending
    decisions: list[str] = field(default_factory=list)
    moderation: list[ModerationNote] = field(default_factory=list)
    output: list[str] = field(default_factory=list)  # answer texts as they came back, secrets scrubbed, PII not restored
    usage: Json = None
    answer: Json = None  # the complete answer in upstream form (secrets scrubbed, placeholders not restored)
    started: float = field(default_factory=time.perf_counter)
    settled: bool = False

    @property
    def model(self) -> str:
        model = self.body.get("model") if isinstance(self.body, dict) else None
        return model if isinstance(model, str) else ""
