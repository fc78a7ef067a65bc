"""The policy's usage sections: budgets, rate limits, the state backend, backoff and the response cache.

These are the parts of ``[tool.prodguard.guard]`` that count things across calls, processes and hosts::

    [tool.prodguard.guard]
    backend = "sqlite:///.prodguard/state.db"     # or "redis://host:6379/0", or "memory"
    budgets = [{scope = "project", period = "day", max_cost_usd = 20, soft_cost_usd = 15}]
    limits = [{scope = "global", rpm = 500, tpm = 200000}]

    [tool.prodguard.guard.accounting]   # how budgets and limits are enforced
    [tool.prodguard.guard.backoff]      # retries on 429 / 5xx / connection errors
    [tool.prodguard.guard.cache]        # exact-match response cache

Each is a frozen dataclass; ``parse_usage_sections`` validates the raw tables and names the file and
line of a mistake through the project config's ``error``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from prodguard.config import ProjectConfig

# Scopes a budget or a limit counts per; "tag:<name>" counts per value of a tag set with ``tags()``.
SCOPES = ("global", "environment", "project", "end_user", "model")
PERIODS = ("day", "month")
DEFAULT_BACKEND = "sqlite:///.prodguard/state.db"
USAGE_KEYS = ("backend", "budgets", "limits", "accounting", "backoff", "cache")
T = TypeVar("T")


@dataclass(frozen=True)
class BudgetRule:
    """A spending limit for one scope and period: hard limits refuse before sending, soft ones notify."""

    scope: str
    period: Literal["day", "month"]
    max_requests: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None
    soft_requests: int | None = None
    soft_tokens: int | None = None
    soft_cost_usd: float | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or f"{self.scope}/{self.period}"


@dataclass(frozen=True)
class RateLimitRule:
    """Requests and tokens per minute for one scope, enforced over a sliding window of ``window_s``."""

    scope: str
    rpm: int | None = None
    tpm: int | None = None
    # A shorter window enforces the same rate with smaller bursts (rpm * window_s / 60 per window).
    window_s: float = 60.0
    on_exhausted: Literal["wait", "raise"] = "wait"
    max_wait_s: float = 10.0


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float = 0.0
    cached_input: float | None = None


@dataclass(frozen=True)
class AccountingSettings:
    # The state backend cannot be reached: refuse the call ("closed") or send it uncounted ("open").
    fail: Literal["open", "closed"] = "closed"
    # Output-token cap assumed for the reservation when a request sets none.
    default_max_output_tokens: int = 4096
    # Also send that cap with requests that set none, so that the reservation is a true maximum.
    send_default_cap: bool = False
    # Tokens reserved for each image, audio or file part (their real cost is known only afterwards).
    tokens_per_media_part: int = 2000
    # A reservation left by a process that died is reclaimed after this long.
    reservation_ttl_s: float = 600.0
    key_prefix: str = "prodguard"
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)


@dataclass(frozen=True)
class BackoffSettings:
    enabled: bool = True
    # None: the client's own ``max_retries`` (the SDK's retries are turned off for guarded calls and
    # this many retries are made by the guard instead, so the two never multiply).
    max_retries: int | None = None
    initial_delay_s: float = 0.5
    max_delay_s: float = 8.0
    # No retry starts after this long since the first attempt; a longer retry-after gives up at once.
    max_elapsed_s: float = 60.0


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = False
    # "deterministic": temperature 0 and embeddings (or a ``caching(True)`` scope); "always": every
    # non-streamed generation and embedding call.
    mode: Literal["deterministic", "always"] = "deterministic"
    ttl_s: float = 3600.0
    max_entry_bytes: int = 1_000_000


def parse_usage_sections(config: ProjectConfig, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The Policy fields for the usage keys present in the ``guard`` table ``raw``."""
    # The default file too is pinned to the configuration's directory, so that processes started from
    # different working directories share it.
    out: dict[str, Any] = {"backend": parse_backend(config, raw.get("backend", DEFAULT_BACKEND))}
    if "budgets" in raw:
        out["budgets"] = tuple(_budget(config, i, item) for i, item in enumerate(_list(config, raw, "budgets")))
    if "limits" in raw:
        out["limits"] = tuple(_limit(config, i, item) for i, item in enumerate(_list(config, raw, "limits")))
    if "accounting" in raw:
        out["accounting"] = _accounting(config, raw["accounting"])
    if "backoff" in raw:
        out["backoff"] = _table(config, ("backoff",), BackoffSettings(), raw["backoff"], {})
    if "cache" in raw:
        choices = {"mode": ("deterministic", "always")}
        out["cache"] = _table(config, ("cache",), CacheSettings(), raw["cache"], choices)
    return out


def parse_backend(config: ProjectConfig, value: Any) -> str:
    """A backend URL; relative SQLite paths are resolved against the configuration file's directory."""
    if not isinstance(value, str):
        raise config.error("backend must be a string", "guard", "backend")
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


def _list(config: ProjectConfig, raw: Mapping[str, Any], key: str) -> list[Any]:
    value = raw[key]
    if not isinstance(value, list):
        raise config.error(f"{key} must be a list of tables", "guard", key)
    return value


def _scope(config: ProjectConfig, where: tuple[str | int, ...], value: Any) -> str:
    if isinstance(value, str) and (value in SCOPES or (value.startswith("tag:") and len(value) > 4)):
        return value
    raise config.error(f"scope must be one of {', '.join(SCOPES)} or tag:<name>", "guard", *where, "scope")


def _budget(config: ProjectConfig, index: int, raw: Any) -> BudgetRule:
    where = ("budgets", index)
    if not isinstance(raw, dict):
        raise config.error("each budget must be a table", "guard", *where)
    for key in ("scope", "period"):
        if key not in raw:
            raise config.error(f"budget needs {key!r}", "guard", *where)
    rule = _table(
        config,
        where,
        BudgetRule(scope="global", period="day"),
        raw,
        {"period": PERIODS},
        numbers=("max_cost_usd", "soft_cost_usd"),
    )
    rule = replace(rule, scope=_scope(config, where, raw["scope"]))
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
    return rule


def _limit(config: ProjectConfig, index: int, raw: Any) -> RateLimitRule:
    where = ("limits", index)
    if not isinstance(raw, dict):
        raise config.error("each limit must be a table", "guard", *where)
    if "scope" not in raw:
        raise config.error("limit needs 'scope'", "guard", *where)
    rule = _table(
        config,
        where,
        RateLimitRule(scope="global"),
        raw,
        {"on_exhausted": ("wait", "raise")},
        numbers=("window_s", "max_wait_s"),
    )
    rule = replace(rule, scope=_scope(config, where, raw["scope"]))
    if rule.rpm is None and rule.tpm is None:
        raise config.error("limit needs rpm and/or tpm", "guard", *where)
    for key in ("rpm", "tpm"):
        value = getattr(rule, key)
        if value is not None and value * rule.window_s / 60 < 1:
            raise config.error(f"{key} allows less than one per window_s; use a longer window", "guard", *where, key)
    return rule


def _accounting(config: ProjectConfig, raw: Any) -> AccountingSettings:
    if not isinstance(raw, dict):
        raise config.error("[guard.accounting] must be a table", "guard", "accounting")
    prices_raw = raw.get("prices", {})
    rest = {k: v for k, v in raw.items() if k != "prices"}
    settings = _table(
        config, ("accounting",), AccountingSettings(), rest, {"fail": ("open", "closed")}, numbers=("reservation_ttl_s",)
    )
    if not settings.key_prefix.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise config.error("accounting.key_prefix may hold letters, digits, '-', '_' and '.'", "guard", "accounting", "key_prefix")
    if not isinstance(prices_raw, dict):
        raise config.error("accounting.prices must be a table of models", "guard", "accounting", "prices")
    prices: dict[str, ModelPrice] = {}
    for model, price in prices_raw.items():
        where = ("accounting", "prices", model)
        if not isinstance(price, dict) or "input" not in price:
            raise config.error(f"price of {model!r} must be a table with input (and output, cached_input)", "guard", *where)
        prices[model] = _table(
            config, where, ModelPrice(input=0.0), price, {}, numbers=("input", "output", "cached_input"), zero_ok=True
        )
    return replace(settings, prices=prices)


def _table(
    config: ProjectConfig,
    where: tuple[str | int, ...],
    defaults: T,
    raw: Any,
    choices: Mapping[str, tuple[str, ...]],
    *,
    numbers: tuple[str, ...] = (),
    zero_ok: bool = False,
) -> T:
    """``defaults`` with the values of ``raw``, each checked against the type of its default."""
    shown = ".".join(str(part) for part in where)
    if not isinstance(raw, dict):
        raise config.error(f"[guard.{shown}] must be a table", "guard", *where)
    kinds = {f.name: f.type for f in fields(defaults)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in kinds or key == "prices":
            known = ", ".join(k for k in kinds if k != "prices")
            raise config.error(f"unknown key {key!r} in {shown} (known: {known})", "guard", *where, key)
        kind = str(kinds[key])
        if key in choices:
            if value not in choices[key]:
                raise config.error(f"{key} must be one of: {', '.join(choices[key])}", "guard", *where, key)
        elif kind.startswith("bool"):
            if not isinstance(value, bool):
                raise config.error(f"{key} must be true or false", "guard", *where, key)
        elif key in numbers or kind.startswith("float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise config.error(f"{key} must be a number", "guard", *where, key)
            if value < 0 or (value == 0 and not zero_ok):
                raise config.error(f"{key} must be positive", "guard", *where, key)
            value = float(value)
        elif kind.startswith("int"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0 or (value == 0 and key != "max_retries"):
                raise config.error(f"{key} must be a positive integer", "guard", *where, key)
        elif not isinstance(value, str):
            raise config.error(f"{key} must be a string", "guard", *where, key)
        values[key] = value
    return replace(defaults, **values)  # type: ignore[type-var]
