"""The guard's policy: one frozen object saying which steps run and whether each fails open or closed.

Loaded from ``[tool.prodguard.guard]`` (pyproject.toml) or ``[guard]`` (prodguard.toml), from a mapping
of the same shape (``Policy.from_mapping``), or built in code. The running environment comes from the
policy's ``environment`` key or ``PRODGUARD_ENV``; the environments themselves from
``[tool.prodguard.environments]``, shared with the scanner.

Defaults fail closed where a check protects data leaving the process: if moderation or the PII analyzer
cannot run, the request is refused (``GuardUnavailable``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from prodguard.config import ProjectConfig, find_config, load_project_config
from prodguard.errors import ConfigError
from prodguard.guard._policy.limits import (
    DEFAULT_BACKEND,
    USAGE_KEYS,
    AccountingSettings,
    BackoffSettings,
    BudgetRule,
    CacheSettings,
    RateLimitRule,
    parse_usage_sections,
)
from prodguard.rules.environments import EnvironmentPolicy, load_environments

Fail = Literal["open", "closed"]


@dataclass(frozen=True)
class EnvironmentCheck:
    enabled: bool = True
    # With environments declared but no running environment known: refuse (True) or warn and pass.
    require_environment: bool = False


@dataclass(frozen=True)
class SanitizeSettings:
    enabled: bool = True
    max_chars: int = 200_000
    max_tokens: int = 100_000
    on_overflow: Literal["reject", "truncate"] = "reject"


@dataclass(frozen=True)
class SecretsSettings:
    enabled: bool = True
    action: Literal["redact", "refuse"] = "redact"
    scan_output: bool = True


@dataclass(frozen=True)
class PiiPolicy:
    enabled: bool = True
    fail: Fail = "closed"
    # Passed to prodguard.guard._pii.PiiSettings (entities, score_threshold, allow_list, ner, phone_regions, ...).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModerationSettings:
    enabled: bool = True
    fail: Fail = "closed"
    # Azure OpenAI has no moderations route and filters content itself: rely on that, or refuse.
    azure: Literal["content_filter", "refuse"] = "content_filter"
    model: str = "omni-moderation-latest"
    check_output: bool = True
    # Per-category score thresholds; a category at or above its threshold counts as flagged even when
    # the endpoint did not flag it. Categories without a threshold follow the endpoint's verdict.
    thresholds: Mapping[str, float] = field(default_factory=dict)
    # Streamed output is checked at sentence ends and at least every this many characters.
    stream_interval_chars: int = 400
    cache_size: int = 4096


@dataclass(frozen=True)
class EndUserSettings:
    enabled: bool = True
    salt: str | None = None  # default: PRODGUARD_END_USER_SALT, else a random salt kept with the state
    parameter: Literal["safety_identifier", "user"] = "safety_identifier"


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = False
    # When the log cannot be written before a request is sent: refuse it (closed) or send unrecorded.
    fail: Fail = "closed"
    directory: str = ".prodguard/audit"
    content: Literal["redacted", "hashes", "metadata"] = "redacted"
    retention_days: int | None = None
    # Keys: PRODGUARD_LOG_KEYS, else this file (0600), else PRODGUARD_LOG_KEY_FILE.
    key_file: str | None = None
    fsync: Literal["always", "interval", "never"] = "always"
    fsync_interval_ms: int = 100


_SECTIONS: dict[str, type] = {
    "environment_check": EnvironmentCheck,
    "sanitize": SanitizeSettings,
    "secrets": SecretsSettings,
    "pii": PiiPolicy,
    "moderation": ModerationSettings,
    "end_user": EndUserSettings,
    "audit": AuditSettings,
}
_CHOICES = {
    ("sanitize", "on_overflow"): ("reject", "truncate"),
    ("secrets", "action"): ("redact", "refuse"),
    ("pii", "fail"): ("open", "closed"),
    ("moderation", "fail"): ("open", "closed"),
    ("end_user", "parameter"): ("safety_identifier", "user"),
    ("moderation", "azure"): ("content_filter", "refuse"),
    ("audit", "content"): ("redacted", "hashes", "metadata"),
    ("audit", "fail"): ("open", "closed"),
    ("audit", "fsync"): ("always", "interval", "never"),
}


# Every key [tool.prodguard.guard] may hold; prodguard.schema uses it to say where a misplaced one belongs.
GUARD_KEYS = frozenset({"environment", "unguarded", *_SECTIONS, *USAGE_KEYS})


@dataclass(frozen=True)
class RuleChoice:
    """The catalogue the secrets step uses: the same packs and enable/disable lists as the scanner."""

    packs: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """What the guard does to each call. Immutable: derive variants with ``dataclasses.replace``."""

    environment: str | None = None
    environments: EnvironmentPolicy = field(default_factory=EnvironmentPolicy)
    # What to do with a route the guard cannot inspect (file uploads, realtime WebSockets).
    unguarded: Literal["refuse", "warn", "allow"] = "refuse"
    rules: RuleChoice = field(default_factory=RuleChoice)
    # Where the guard keeps what it writes by itself (the generated end-user salt): next to the config.
    state_dir: str = ".prodguard"
    environment_check: EnvironmentCheck = field(default_factory=EnvironmentCheck)
    sanitize: SanitizeSettings = field(default_factory=SanitizeSettings)
    secrets: SecretsSettings = field(default_factory=SecretsSettings)
    pii: PiiPolicy = field(default_factory=PiiPolicy)
    moderation: ModerationSettings = field(default_factory=ModerationSettings)
    end_user: EndUserSettings = field(default_factory=EndUserSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    # Budgets, rate limits, backoff and the response cache (see _policy_limits); the backend is opened
    # only when budgets, limits or the cache are configured.
    backend: str = DEFAULT_BACKEND
    budgets: tuple[BudgetRule, ...] = ()
    limits: tuple[RateLimitRule, ...] = ()
    accounting: AccountingSettings = field(default_factory=AccountingSettings)
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)

    @property
    def running_environment(self) -> str | None:
        return self.environment or os.environ.get("PRODGUARD_ENV") or None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], *, environments: EnvironmentPolicy | None = None) -> Policy:
        """The policy a ``[tool.prodguard.guard]`` table describes, e.g.
        ``{"pii": {"enabled": False}, "moderation": {"enabled": True, "fail": "closed"}}``."""
        return _from_mapping(ProjectConfig(table={"guard": dict(mapping)}, source=None, root=Path.cwd()), environments)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        """From a config file: ``path``, ``PRODGUARD_CONFIG``, or the nearest prodguard.toml / pyproject.toml."""
        chosen = path or os.environ.get("PRODGUARD_CONFIG")
        config_path = Path(chosen) if chosen else find_config(Path.cwd())
        if chosen and not Path(chosen).is_file():
            raise ConfigError("config file not found", path=str(chosen))
        return policy_from_config(load_project_config(config_path))


def policy_from_config(config: ProjectConfig) -> Policy:
    """The policy a loaded project configuration describes (its ``guard`` table and environments)."""
    return _from_mapping(config, load_environments(config))


def _from_mapping(config: ProjectConfig, environments: EnvironmentPolicy | None) -> Policy:
    raw = config.table.get("guard", {})
    if not isinstance(raw, dict):
        raise config.error("[guard] must be a table", "guard")
    unknown = set(raw) - GUARD_KEYS
    if unknown:
        key = sorted(unknown)[0]
        known = ", ".join(["environment", "unguarded", *_SECTIONS, *USAGE_KEYS])
        raise config.error(f"unknown key {key!r} in the guard policy (known: {known})", "guard", key)
    policy = Policy(environments=environments or EnvironmentPolicy())
    environment = raw.get("environment")
    if environment is not None and not isinstance(environment, str):
        raise config.error("environment must be a string", "guard", "environment")
    if environment is not None and policy.environments.declared and policy.environments.get(environment) is None:
        names = ", ".join(e.name for e in policy.environments.environments)
        raise config.error(f"environment {environment!r} is not declared (declared: {names})", "guard", "environment")
    changes: dict[str, Any] = {"environment": environment, "state_dir": str(config.root / ".prodguard")}
    unguarded = raw.get("unguarded", "refuse")
    if unguarded not in ("refuse", "warn", "allow"):
        raise config.error("unguarded must be one of: refuse, warn, allow", "guard", "unguarded")
    changes["unguarded"] = unguarded
    if config.source is not None:
        from prodguard.scanner.settings import settings_from_config

        scan = settings_from_config(config)
        changes["rules"] = RuleChoice(scan.packs, scan.enable, scan.disable)
    for name, section_type in _SECTIONS.items():
        if name in raw:
            changes[name] = _section(config, name, section_type, raw[name])
    changes.update(parse_usage_sections(config, raw))
    if "audit" in changes:  # like the state backend, the audit directory is relative to the config file
        audit = changes["audit"]
        changes["audit"] = replace(audit, directory=str(config.root / audit.directory))
    return replace(policy, **changes)


_OPTIONAL_INTS = frozenset({"retention_days"})
_MAX_INT = 2**53


def _check_pii(config: ProjectConfig, options: dict[str, Any]) -> None:
    """The analyzer settings, checked now (entity names included) with the file and line of the table;
    ``_pii.types`` imports neither Presidio nor spaCy."""
    from prodguard.guard._pii.types import PiiSettings

    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    try:
        PiiSettings(**values)
    except TypeError as exc:
        key = next((k for k in options if k not in {f.name for f in fields(PiiSettings)}), None)
        raise config.error(f"invalid [guard.pii] option: {exc}", "guard", "pii", *((key,) if key else ())) from None
    except ConfigError as exc:
        raise config.error(str(exc), "guard", "pii") from None


def _section(config: ProjectConfig, name: str, section_type: type, raw: Any) -> Any:
    if not isinstance(raw, dict):
        raise config.error(f"[guard.{name}] must be a table", "guard", name)
    defaults = section_type()
    allowed = {f.name: f for f in fields(section_type)}
    values: dict[str, Any] = {}
    if section_type is PiiPolicy:
        # Everything but enabled/fail is an analyzer option, checked when the analyzer is built.
        options = {k: v for k, v in raw.items() if k not in ("enabled", "fail")}
        raw = {k: v for k, v in raw.items() if k in ("enabled", "fail")}
        values["options"] = options
        _check_pii(config, options)
    for key, value in raw.items():
        if key not in allowed:
            raise config.error(f"unknown key {key!r} in [guard.{name}] (known: {', '.join(allowed)})", "guard", name, key)
        expected = getattr(defaults, key)
        choices = _CHOICES.get((name, key))
        if choices is not None:
            if value not in choices:
                raise config.error(f"{name}.{key} must be one of: {', '.join(choices)}", "guard", name, key)
        elif isinstance(expected, bool):
            if not isinstance(value, bool):
                raise config.error(f"{name}.{key} must be true or false", "guard", name, key)
        elif (isinstance(expected, int) and not isinstance(expected, bool)) or key in _OPTIONAL_INTS:
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value > _MAX_INT:
                raise config.error(f"{name}.{key} must be a positive integer", "guard", name, key)
        elif isinstance(expected, Mapping):
            if not isinstance(value, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value.values()
            ):
                raise config.error(f"{name}.{key} must be a table of finite numbers", "guard", name, key)
            value = {str(k): float(v) for k, v in value.items()}
        elif (expected is None or isinstance(expected, str)) and not isinstance(value, str):
            raise config.error(f"{name}.{key} must be a string", "guard", name, key)
        values[key] = value
    return replace(defaults, **values)
