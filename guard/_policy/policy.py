"""The guard's policy: one frozen object saying which steps run and whether each fails open or closed.

Loaded from ``[tool.prodguard.guard]`` (pyproject.toml) or ``[guard]`` (prodguard.toml), from a mapping
of the same shape (``Policy.from_mapping``), or built in code. The running environment comes from the
policy's ``environment`` key or ``PRODGUARD_ENV``; the environments themselves from
``[tool.prodguard.environments]``, shared with the scanner.

Defaults fail closed where a check protects data leaving the process: if moderation or the PII analyzer
cannot run, the request is refused (``GuardUnavailable``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from prodguard.config import ProjectConfig, find_config, load_project_config
from prodguard.errors import ConfigError
from prodguard.guard._pii.types import PiiSettings
from prodguard.guard._policy.limits import (
    DEFAULT_BACKEND,
    AccountingSettings,
    BackoffSettings,
    BudgetRule,
    CacheSettings,
    RateLimitRule,
    check_budget,
    check_limit,
    resolve_backend,
)
from prodguard.rules.environments import EnvironmentPolicy, load_environments
from prodguard.schema import internal, read_section, setting

Fail = Literal["open", "closed"]


@dataclass(frozen=True)
class EnvironmentCheck:
    enabled: bool = setting(True, doc="Refuse a call whose organization, project or key belongs to another environment.")
    require_environment: bool = setting(
        False, doc="With environments declared but no running environment known: refuse (`true`) or warn and send."
    )


@dataclass(frozen=True)
class SanitizeSettings:
    enabled: bool = setting(True, doc="Normalize Unicode, strip invisible and bidi control characters, cap length.")
    max_chars: int = setting(200_000, doc="Longest prompt text in characters.")
    max_tokens: int = setting(100_000, doc="Longest prompt in (estimated) tokens.")
    on_overflow: Literal["reject", "truncate"] = setting(
        "reject", doc="Over a cap: refuse, or cut (after the secret scan, never inside a finding)."
    )


@dataclass(frozen=True)
class SecretsSettings:
    enabled: bool = setting(True, doc="Scrub secrets (the scanner's catalogue) from prompts.")
    action: Literal["redact", "refuse"] = setting("redact", doc="Replace a secret with a placeholder, or refuse the call.")
    scan_output: bool = setting(True, doc="Scrub secrets from answers too.")


@dataclass(frozen=True)
class PiiPolicy:
    enabled: bool = setting(True, doc="Pseudonymize personal data before it leaves the process; restore it in the answer.")
    fail: Fail = setting("closed", doc="Analyzer unavailable: refuse (`closed`) or send unscrubbed (`open`).")
    # The analyzer's settings, written in [guard.pii] itself (entities, score_threshold, ner, ...).
    options: PiiSettings = setting(factory=PiiSettings, doc="Analyzer options.", inline=PiiSettings)


@dataclass(frozen=True)
class ModerationSettings:
    enabled: bool = setting(True, doc="Check prompts with the moderation endpoint.")
    fail: Fail = setting("closed", doc="Endpoint unavailable or no verdict: refuse (`closed`) or send (`open`).")
    azure: Literal["content_filter", "refuse"] = setting(
        "content_filter", doc="Azure OpenAI has no moderation route: rely on its content filters, or refuse."
    )
    model: str = setting("omni-moderation-latest", doc="Moderation model.")
    check_output: bool = setting(True, doc="Check answers too.")
    thresholds: Mapping[str, float] = setting(
        factory=dict,
        doc="Per-category score thresholds: at or above counts as flagged even when the endpoint did not flag it.",
        min=0,
        max=1,
    )
    stream_interval_chars: int = setting(400, doc="Streamed output is checked at sentence ends and at least this often.")
    cache_size: int = setting(4096, doc="Verdicts kept per process.")


@dataclass(frozen=True)
class EndUserSettings:
    enabled: bool = setting(True, doc="Attach a hashed end-user id to each request.")
    salt: str | None = setting(
        None, doc="Salt of the hash; default: PRODGUARD_END_USER_SALT, else a random salt kept with the state."
    )
    parameter: Literal["safety_identifier", "user"] = setting("safety_identifier", doc="Request parameter that carries it.")


@dataclass(frozen=True)
class AuditSettings:
    enabled: bool = setting(False, doc="Encrypted, tamper-evident audit log of calls.")
    fail: Fail = setting(
        "closed", doc="Log not writable before a request is sent: refuse it (`closed`) or send unrecorded (`open`)."
    )
    directory: str = setting(".prodguard/audit", doc="Where the log is written, relative to the configuration file.")
    content: Literal["redacted", "hashes", "metadata"] = setting("redacted", doc="What of prompts and answers is kept.")
    retention_days: int | None = setting(None, doc="Segments older than this are deleted; default: kept.")
    key_file: str | None = setting(
        None, doc="Key file (0600); default: PRODGUARD_LOG_KEYS, else PRODGUARD_LOG_KEY_FILE."
    )
    fsync: Literal["always", "interval", "never"] = setting("always", doc="When records are forced to disk.")
    fsync_interval_ms: int = setting(100, doc="With `fsync = \"interval\"`: how often.")


@dataclass(frozen=True)
class RuleChoice:
    """The catalogue the secrets step uses: the same packs and enable/disable lists as the scanner."""

    packs: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """What the guard does to each call. Immutable: derive variants with ``dataclasses.replace``."""

    environment: str | None = setting(None, doc="The running environment; default: PRODGUARD_ENV.")
    environments: EnvironmentPolicy = internal(factory=EnvironmentPolicy)
    unguarded: Literal["refuse", "warn", "allow"] = setting(
        "refuse", doc="A route the guard cannot inspect (uploads, WebSockets): refuse it, warn, or allow it."
    )
    rules: RuleChoice = internal(factory=RuleChoice)
    # Where the guard keeps what it writes by itself (the generated end-user salt): next to the config.
    state_dir: str = internal(".prodguard")
    environment_check: EnvironmentCheck = setting(factory=EnvironmentCheck, doc="Environment separation.")
    sanitize: SanitizeSettings = setting(factory=SanitizeSettings, doc="Input sanitization.")
    secrets: SecretsSettings = setting(factory=SecretsSettings, doc="Secrets in prompts and answers.")
    pii: PiiPolicy = setting(factory=PiiPolicy, doc="Personal data in prompts and answers.")
    moderation: ModerationSettings = setting(factory=ModerationSettings, doc="Moderation of prompts and answers.")
    end_user: EndUserSettings = setting(factory=EndUserSettings, doc="Hashed end-user ids.")
    audit: AuditSettings = setting(factory=AuditSettings, doc="The audit log.")
    # Budgets, rate limits, backoff and the response cache (see _policy.limits); the backend is opened
    # only when budgets, limits or the cache are configured.
    backend: str = setting(
        DEFAULT_BACKEND,
        doc='Shared state: `"memory"`, `"sqlite:///PATH"` (relative to the configuration file) or `"redis://HOST:PORT/DB"`.',
    )
    budgets: tuple[BudgetRule, ...] = setting((), doc="Spending limits per scope and period.")
    limits: tuple[RateLimitRule, ...] = setting((), doc="Client-side rate limits per scope, shared across processes.")
    accounting: AccountingSettings = setting(factory=AccountingSettings, doc="How budgets and limits are enforced.")
    backoff: BackoffSettings = setting(factory=BackoffSettings, doc="Retries on 429 / 5xx / connection errors.")
    cache: CacheSettings = setting(factory=CacheSettings, doc="Exact-match response cache.")

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
    """The schema reads and types the table; what a type cannot say is checked here."""
    policy: Policy = read_section(config, "guard")
    declared = environments or EnvironmentPolicy()
    environment = policy.environment
    if environment is not None and declared.declared and declared.get(environment) is None:
        names = ", ".join(e.name for e in declared.environments)
        raise config.error(f"environment {environment!r} is not declared (declared: {names})", "guard", "environment")
    for index, budget in enumerate(policy.budgets):
        check_budget(config, index, budget)
    for index, limit in enumerate(policy.limits):
        check_limit(config, index, limit)
    rules = policy.rules
    if config.source is not None:
        from prodguard.scanner.settings import settings_from_config

        scan = settings_from_config(config)
        rules = RuleChoice(scan.packs, scan.enable, scan.disable)
    return replace(
        policy,
        environments=declared,
        rules=rules,
        # Like the state backend, the audit directory is relative to the configuration file.
        state_dir=str(config.root / ".prodguard"),
        audit=replace(policy.audit, directory=str(config.root / policy.audit.directory)),
        # The default file too is pinned to the configuration's directory, so that processes started
        # from different working directories share it.
        backend=resolve_backend(config, policy.backend),
    )
