"""The controls each practice looks for in the code and the configuration: one function per practice,
listed in ``CONTROLS``. A control function returns what it found, whether that is complete, and what to
say when nothing was found."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prodguard.guard import Policy
from prodguard.rules.environments import EnvironmentPolicy, Tier
from prodguard.scanner.readiness.codefacts import CodeFacts, Site
from prodguard.scanner.readiness.model import Evidence, EvidenceKind

# Code sites shown per kind of evidence; the rest are counted.
MAX_SITES = 8


@dataclass(frozen=True)
class Inputs:
    """What the controls read: code facts, the guard policy and the declared environments."""

    code: CodeFacts
    policy: Policy
    policy_source: str | None  # the config file, when it has a [guard] table
    environments: EnvironmentPolicy

    @property
    def guard_installed(self) -> bool:
        return bool(self.code.guard_installs)


@dataclass(frozen=True)
class Controls:
    found: tuple[Evidence, ...]
    complete: bool = True
    gap: str | None = None  # what is missing when ``complete`` is false
    absent: str = ""  # what was looked for, said when nothing was found


def shown_path(path: str | None) -> str | None:
    """A configuration file as reports show it: relative to the working directory when below it."""
    if path is None:
        return None
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _code(sites: Sequence[Site]) -> list[Evidence]:
    shown = [
        Evidence(EvidenceKind.CODE, site.note, site.path, site.line or None) for site in sites[:MAX_SITES]
    ]
    if len(sites) > MAX_SITES:
        shown.append(Evidence(EvidenceKind.CODE, f"and {len(sites) - MAX_SITES} more"))
    return shown


def _config(inputs: Inputs, summary: str) -> Evidence:
    if inputs.policy_source is None:
        summary += " (guard default)"
    return Evidence(EvidenceKind.CONFIG, summary, inputs.policy_source)


_NOT_INSTALLED = "configured, but no code installs the guard (protect/install), so it does not run"


def _guard_step(inputs: Inputs, enabled: bool, summary: str) -> tuple[list[Evidence], bool]:
    """Evidence for a guard step: (evidence, whether it actually runs)."""
    if not enabled:
        return [], False
    if inputs.guard_installed:
        return [_config(inputs, summary)], True
    if inputs.policy_source is not None:
        return [_config(inputs, f"{summary}: {_NOT_INSTALLED}")], False
    return [], False


def _code_or_guard(code: list[Evidence], guard: list[Evidence], runs: bool, absent: str) -> Controls:
    """Controls met by code or by a guard step: a configured step that no code installs shows intent,
    not a control (partly)."""
    complete = bool(code) or runs
    gap = None if complete else _NOT_INSTALLED
    return Controls(tuple(code + guard), complete=complete, gap=gap, absent=absent)


def api_keys(inputs: Inputs) -> Controls:
    return Controls(tuple(_code(inputs.code.key_from_environment)), absent="no client constructions found")


def organization(inputs: Inputs) -> Controls:
    found = _code(inputs.code.explicit_organization)
    return Controls(tuple(found), absent="no client names its organization or project")


def staging_production(inputs: Inputs) -> Controls:
    envs = inputs.environments
    if not envs.declared:
        return Controls((), absent="no environments declared in [tool.prodguard.environments]")
    found = []
    for env in envs.environments:
        parts = [f"organization {', '.join(env.organizations)}" if env.organizations else "no organization"]
        if env.projects:
            parts.append(f"{len(env.projects)} project(s)")
        if env.key_fingerprints:
            parts.append(f"{len(env.key_fingerprints)} key fingerprint(s)")
        if env.paths:
            parts.append("paths " + ", ".join(env.paths))
        found.append(Evidence(EvidenceKind.CONFIG, f"environment {env.name} ({env.tier}): " + "; ".join(parts),
                              shown_path(envs.source)))  # fmt: skip
    tiers = {env.tier for env in envs.environments}
    gaps = []
    if Tier.PRODUCTION not in tiers or Tier.NON_PRODUCTION not in tiers:
        gaps.append("declare both a production and a non-production environment")
    unnamed = [env.name for env in envs.environments if not env.organizations]
    if unnamed:
        gaps.append(f"give {', '.join(unnamed)} an organization of its own")
    return Controls(tuple(found), complete=not gaps, gap="; ".join(gaps) or None)


def billing_limits(inputs: Inputs) -> Controls:
    budgets = inputs.policy.budgets
    if not budgets:
        return Controls((), absent="no budgets in [tool.prodguard.guard]")
    found = []
    hard = soft = False
    for rule in budgets:
        limits = [
            f"{label} {value}"
            for label, value in (
                ("hard requests", rule.max_requests),
                ("hard tokens", rule.max_tokens),
                ("hard $", rule.max_cost_usd),
                ("soft requests", rule.soft_requests),
                ("soft tokens", rule.soft_tokens),
                ("soft $", rule.soft_cost_usd),
            )
            if value is not None
        ]
        hard = hard or any(v is not None for v in (rule.max_requests, rule.max_tokens, rule.max_cost_usd))
        soft = soft or any(v is not None for v in (rule.soft_requests, rule.soft_tokens, rule.soft_cost_usd))
        found.append(_config(inputs, f"budget {rule.label}: " + ", ".join(limits)))
    gaps = []
    if not hard:
        gaps.append("no hard limit (max_*)")
    if not soft:
        gaps.append("no soft limit (soft_*)")
    if not inputs.guard_installed:
        gaps.append(_NOT_INSTALLED)
    return Controls(tuple(found), complete=not gaps, gap="; ".join(gaps) or None)


def rate_limits(inputs: Inputs) -> Controls:
    code = _code(inputs.code.retries_on) + _code(inputs.code.retry_wrappers)
    backoff = "guard backoff on 429/5xx honouring retry-after"
    step, runs = _guard_step(inputs, inputs.policy.backoff.enabled, backoff)
    for rule in inputs.policy.limits:
        rates = ", ".join(f"{n} {v}" for n, v in (("rpm", rule.rpm), ("tpm", rule.tpm)) if v is not None)
        step.append(_config(inputs, f"client-side limit {rule.scope}: {rates}"))
    return _code_or_guard(code, step, runs, "no client with retries on, no retry wrapper, no guard backoff")


def caching(inputs: Inputs) -> Controls:
    cache = inputs.policy.cache
    step, runs = _guard_step(
        inputs, cache.enabled, f"guard response cache ({cache.mode}, ttl {cache.ttl_s:g}s)"
    )
    return Controls(tuple(step), complete=runs, gap=None if runs else _NOT_INSTALLED,
                    absent="no response cache ([tool.prodguard.guard.cache] enabled = true)")  # fmt: skip


def output_token_caps(inputs: Inputs) -> Controls:
    accounting = inputs.policy.accounting
    default_cap = (
        f"guard sends max {accounting.default_max_output_tokens} output tokens when a call sets none"
    )
    step, runs = _guard_step(inputs, accounting.send_default_cap, default_cap)
    return _code_or_guard(
        _code(inputs.code.capped), step, runs, "no generation request passes an output-token cap"
    )


def evaluation(inputs: Inputs) -> Controls:
    return Controls(tuple(_code(inputs.code.evaluations)),
                    absent="no evaluation script (a file or folder named eval/evals that calls the model)")  # fmt: skip


def data_in_transit(inputs: Inputs) -> Controls:
    return Controls(())


def data_protection(inputs: Inputs) -> Controls:
    policy = inputs.policy
    pii, pii_runs = _guard_step(inputs, policy.pii.enabled,
                                f"guard pseudonymizes personal data before it leaves (fail {policy.pii.fail})")  # fmt: skip
    retention = f", retention {policy.audit.retention_days} days" if policy.audit.retention_days else ""
    audit, audit_runs = _guard_step(inputs, policy.audit.enabled,
                                    f"encrypted audit log ({policy.audit.content}{retention})")  # fmt: skip
    gaps = []
    if not pii_runs:
        gaps.append("personal data is not pseudonymized (guard PII step)")
    if not audit_runs:
        gaps.append("no encrypted audit log ([tool.prodguard.guard.audit])")
    return Controls(tuple(pii + audit), complete=not gaps, gap="; ".join(gaps) or None,
                    absent="no PII pseudonymization and no encrypted audit log")  # fmt: skip


def input_sanitization(inputs: Inputs) -> Controls:
    sanitize = inputs.policy.sanitize
    step, runs = _guard_step(inputs, sanitize.enabled,
                             f"guard sanitizes input (Unicode normalized, controls stripped, max {sanitize.max_chars} chars)")  # fmt: skip
    return Controls(tuple(step), complete=runs, gap=None if runs else _NOT_INSTALLED,
                    absent="no guard with sanitize enabled")  # fmt: skip


def moderation(inputs: Inputs) -> Controls:
    settings = inputs.policy.moderation
    where = "input and output" if settings.check_output else "input"
    summary = f"guard moderates {where} with {settings.model} (fail {settings.fail})"
    step, runs = _guard_step(inputs, settings.enabled, summary)
    absent = "no moderations.create call and no guard with moderation"
    return _code_or_guard(_code(inputs.code.moderation), step, runs, absent)


def end_user_ids(inputs: Inputs) -> Controls:
    summary = f"guard attaches a hashed end-user id as {inputs.policy.end_user.parameter}"
    step, runs = _guard_step(inputs, inputs.policy.end_user.enabled, summary)
    absent = "no request passes safety_identifier or user"
    return _code_or_guard(_code(inputs.code.end_user_ids), step, runs, absent)


CONTROLS: dict[str, Callable[[Inputs], Controls]] = {
    "api-keys": api_keys,
    "organization": organization,
    "staging-production": staging_production,
    "billing-limits": billing_limits,
    "rate-limits": rate_limits,
    "caching": caching,
    "output-token-caps": output_token_caps,
    "evaluation": evaluation,
    "data-in-transit": data_in_transit,
    "data-protection": data_protection,
    "input-sanitization": input_sanitization,
    "moderation": moderation,
    "end-user-ids": end_user_ids,
}
