"""The policy's usage sections: budgets, rate limits, the state backend, backoff and the response cache.

These are the parts of ``[tool.prodguard.guard]`` that count things across calls, processes and hosts::

    [tool.prodguard.guard]
    backend = "sqlite:///.prodguard/state.db"     # or "redis://host:6379/0", or "memory"
    budgets = [{scope = "project", period = "day", max_cost_usd = 20, soft_cost_usd = 15}]
    limits = [{scope = "global", rpm = 500, tpm = 200000}]

    [tool.prodguard.guard.accounting]   # how budgets and limits are enforced
    [tool.prodguard.guard.backoff]      # retries on 429 / 5xx / connection errors
    [tool.prodguard.guard.cache]        # exact-match response cache

Each is a frozen dataclass whose fields are declared for ``prodguard.schema`` (types, ranges, docs);
``check_usage`` adds what a type cannot say (a soft limit above its hard one, a rate below one per
window) and resolves the backend's path against the configuration file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from prodguard.config import ProjectConfig
from prodguard.schema import setting

# Scopes a budget or a limit counts per; "tag:<name>" counts per value of a tag set with ``tags()``.
SCOPES = ("global", "environment", "project", "end_user", "model")
PERIODS = ("day", "month")
DEFAULT_BACKEND = "sqlite:///.prodguard/state.db"
_SCOPE = r"(global|environment|project|end_user|model|tag:.+)"
_SCOPE_SHAPE = "one of " + ", ".join(SCOPES) + " or `tag:<name>`"


@dataclass(frozen=True)
class BudgetRule:
    """A spending limit for one scope and period: hard limits refuse before sending, soft ones notify."""

    scope: str = setting(doc="What the budget counts per: " + _SCOPE_SHAPE + ".", pattern=_SCOPE, shape=_SCOPE_SHAPE)
    period: Literal["day", "month"] = setting(doc="Calendar period (UTC) after which the budget starts again.")
    max_requests: int | None = setting(None, doc="Hard limit on requests.")
    max_tokens: int | None = setting(None, doc="Hard limit on tokens (input and output).")
    max_cost_usd: float | None = setting(None, doc="Hard limit on cost in USD (needs a price for each model).")
    soft_requests: int | None = setting(None, doc="Soft limit on requests: a warning, the request is sent.")
    soft_tokens: int | None = setting(None, doc="Soft limit on tokens.")
    soft_cost_usd: float | None = setting(None, doc="Soft limit on cost in USD.")
    name: str = setting("", doc="Label in errors and `prodguard usage`; default: scope/period.")

    @property
    def label(self) -> str:
        return self.name or f"{self.scope}/{self.period}"


@dataclass(frozen=True)
class RateLimitRule:
    """Requests and tokens per minute for one scope, enforced over a sliding window of ``window_s``."""

    scope: str = setting(doc="What the limit counts per: " + _SCOPE_SHAPE + ".", pattern=_SCOPE, shape=_SCOPE_SHAPE)
    rpm: int | None = setting(None, doc="Requests per minute.")
    tpm: int | None = setting(None, doc="Tokens per minute.")
    window_s: float = setting(
        60.0, doc="Sliding window in seconds; a shorter one enforces the same rate with smaller bursts."
    )
    on_exhausted: Literal["wait", "raise"] = setting("wait", doc="Wait for room (up to `max_wait_s`) or raise `RateLimited`.")
    max_wait_s: float = setting(10.0, doc="Longest wait before raising.")


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float = setting(doc="USD per million input tokens.", min=0)
    output: float = setting(0.0, doc="USD per million output tokens.", min=0)
    cached_input: float | None = setting(None, doc="USD per million cached input tokens; default: `input`.", min=0)


@dataclass(frozen=True)
class AccountingSettings:
    fail: Literal["open", "closed"] = setting(
        "closed", doc="State backend unreachable: refuse the call (`closed`) or send it uncounted (`open`)."
    )
    default_max_output_tokens: int = setting(
        4096, doc="Output-token cap assumed for the reservation when a request sets none."
    )
    send_default_cap: bool = setting(
        False, doc="Also send that cap with requests that set none, so the reservation is a true maximum."
    )
    tokens_per_media_part: int = setting(
        2000, doc="Tokens reserved per image, audio or file part (their cost is known only afterwards)."
    )
    reservation_ttl_s: float = setting(
        600.0, doc="A reservation left by a process that died is reclaimed after this many seconds."
    )
    key_prefix: str = setting(
        "prodguard", doc="Prefix of the backend's keys.", pattern=r"[A-Za-z0-9._-]+", shape="letters, digits, '-', '_' and '.'"
    )
    prices: Mapping[str, ModelPrice] = setting(factory=dict, doc="Prices per model (USD per million tokens), for cost budgets.")


@dataclass(frozen=True)
class BackoffSettings:
    enabled: bool = setting(True, doc="Retry on 429, 5xx and connection errors, with exponential backoff and jitter.")
    # None: the client's own ``max_retries`` (the SDK's retries are turned off for guarded calls and
    # this many retries are made by the guard instead, so the two never multiply).
    max_retries: int | None = setting(None, doc="Retries; default: the client's `max_retries`.", min=0)
    initial_delay_s: float = setting(0.5, doc="First delay in seconds.")
    max_delay_s: float = setting(8.0, doc="Longest delay in seconds.")
    max_elapsed_s: float = setting(
        60.0, doc="No retry starts after this long since the first attempt; a longer retry-after gives up at once."
    )


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = setting(False, doc="Exact-match response cache (in the state backend).")
    mode: Literal["deterministic", "always"] = setting(
        "deterministic",
        doc="`deterministic`: temperature 0 and embeddings (or a `caching(True)` scope); `always`: every non-streamed call.",
    )
    ttl_s: float = setting(3600.0, doc="Seconds an answer is kept.")
    max_entry_bytes: int = setting(1_000_000, doc="Larger answers are not cached.")


def resolve_backend(config: ProjectConfig, value: str) -> str:
    """A backend URL; relative SQLite paths are resolved against the configuration file's directory."""
    if value == "memory" or value.startswith(("memory://", "redis://", "rediss://", "unix://")):
        return value
    if value.startswith("sqlite:///"):
        path = value[len("sqlite:///") :]
        if not path:
            raise config.error("backend sqlite:/// needs a file path", "guard", "backend")
        return "sqlite:///" + str(config.root / Path(path)) if not Path(path).is_absolute() else value
    raise config.error(
        'backend must be "memory", "sqlite:///PATH" or "redis://HOST:PORT/DB"', "guard", "backend"
    )


def check_budget(config: ProjectConfig, index: int, rule: BudgetRule) -> None:
    where = ("budgets", index)
    if rule.max_requests is None and rule.max_tokens is None and rule.max_cost_usd is None and not (
        rule.soft_requests or rule.soft_tokens or rule.soft_cost_usd
    ):
        raise config.error(
            "budget needs at least one of max_requests, max_tokens, max_cost_usd (or a soft_* limit)",
            "guard",
            *where,
        )
    for metric in ("requests", "tokens", "cost_usd"):
        hard, soft = getattr(rule, "max_" + metric), getattr(rule, "soft_" + metric)
        if hard is not None and soft is not None and soft > hard:
            raise config.error(f"soft_{metric} is above max_{metric}", "guard", *where, "soft_" + metric)


def check_limit(config: ProjectConfig, index: int, rule: RateLimitRule) -> None:
    where = ("limits", index)
    if rule.rpm is None and rule.tpm is None:
        raise config.error("limit needs rpm and/or tpm", "guard", *where)
    for key in ("rpm", "tpm"):
        value = getattr(rule, key)
        if value is not None and value * rule.window_s / 60 < 1:
            raise config.error(f"{key} allows less than one per window_s; use a longer window", "guard", *where, key)
