"""Staging/production separation: an analyzer over all findings of a scan (identifiers and keys),
run after detection and before the filters.

Each identifier or OpenAI key finding gets a context environment: from the declared ``paths``, else
from the name it is assigned to (``PROD_OPENAI_ORG``, ``openai.staging.project``), else from its path
(``deploy/prod/…``, ``tests/…``). Inferred contexts are labelled as such in the findings they cause.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.environments import Context, EnvironmentPolicy, Tier, inferred_context
from prodguard.rules.model import Kind
from prodguard.scanner.finding import Finding, fingerprint

IDENTIFIER_RULES = frozenset({"PG110", "PG111"})
OPENAI_KEY_RULES = frozenset({"PG101", "PG102", "PG103", "PG104"})
CLIENT_WITHOUT_ORG = "PG207"
PROD_ID_IN_NON_PROD = "PG201"
PROD_KEY_ANYWHERE = "PG202"
NON_PROD_IN_PROD = "PG203"
SHARED_IDENTIFIER = "PG204"
MIXED_FILE = "PG205"
UNDECLARED_IDENTIFIER = "PG206"
_ORG_SETTINGS = ("OPENAI_ORG_ID", "OPENAI_ORGANIZATION", "OPENAI_PROJECT_ID", "OPENAI_PROJECT")


@dataclass(frozen=True)
class _Placed:
    finding: Finding
    context: Context | None
    owner: str | None
    owner_tier: Tier | None


def context_of(finding: Finding, policy: EnvironmentPolicy, root: Path) -> Context | None:
    """Where a finding stands: the declared ``paths`` first, then the path's own tokens (inferred).
    The name a value is assigned to says which environment the *value* belongs to, not where it is
    used (see ``_tier_of_value``): ``PROD_OPENAI_ORG`` in ``tests/`` is production's id in a test."""
    relative = _relative(finding.path, root)
    return policy.declared_context(relative) or inferred_context(relative)


def _relative(path: str, root: Path) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel.replace(os.sep, "/")


def analyze(
    findings: Sequence[Finding], policy: EnvironmentPolicy, catalogue: Catalogue, root: Path
) -> list[Finding]:
    """Environment findings derived from ``findings``; client-construction findings (PG207) that do not
    apply to this repository are removed. Returns the full new list."""
    placed: list[_Placed] = []
    # The file that declares the environments holds every environment's identifiers by design.
    declaration = os.path.abspath(policy.source) if policy.source else None
    for f in findings:
        if declaration is not None and os.path.abspath(f.path) == declaration:
            continue
        if f.rule_id in IDENTIFIER_RULES or f.rule_id in OPENAI_KEY_RULES:
            owner = policy.owner_of_hash(f.secret_hash)
            placed.append(
                _Placed(
                    f,
                    context_of(f, policy, root),
                    owner.name if owner else None,
                    owner.tier if owner else None,
                )
            )
    derived: list[Finding] = []

    def emit(rule_id: str, source: _Placed, message: str) -> None:
        rule = catalogue.get(rule_id)
        if rule is None:
            return  # disabled by configuration
        notes = replace(source.finding.notes, detail=message)
        if source.context is not None:
            notes = replace(notes, environment=source.context.name, environment_inferred=source.context.inferred)
        derived.append(
            replace(
                source.finding,
                rule_id=rule.id,
                title=rule.title,
                severity=rule.severity,
                kind=rule.kind,
                fingerprint=fingerprint(rule.id, source.finding.secret_hash, source.finding.path),
                notes=notes,
            )
        )

    for p in placed:
        is_key = p.finding.rule_id in OPENAI_KEY_RULES
        what = "key" if is_key else ("organization id" if p.finding.rule_id == "PG110" else "project id")
        ctx = p.context
        where = f"{ctx.name} context" + (" (inferred)" if ctx and ctx.inferred else "") if ctx else ""
        if is_key and p.owner_tier is Tier.PRODUCTION:
            emit(PROD_KEY_ANYWHERE, p, f"this key's fingerprint is declared for production ({p.owner})")
            continue
        if ctx is None:
            if policy.declared and p.owner is None and not is_key:
                emit(UNDECLARED_IDENTIFIER, p, f"{what} is not declared for any environment")
            continue
        # Whose value it is: its declared owner, else what the name it is assigned to says (inferred).
        value_tier = _tier_of_value(p)
        whose = p.owner or f"by its name {p.finding.notes.assigned_to}, inferred"
        if value_tier is Tier.PRODUCTION and ctx.tier is Tier.NON_PRODUCTION:
            emit(PROD_ID_IN_NON_PROD, p, f"production {what} ({whose}) used in a {where}")
        elif value_tier is Tier.NON_PRODUCTION and ctx.tier is Tier.PRODUCTION:
            emit(NON_PROD_IN_PROD, p, f"non-production {what} ({whose}) used in a {where}")
        elif policy.declared and p.owner is None and not is_key:
            emit(UNDECLARED_IDENTIFIER, p, f"{what} is not declared for any environment")

    # Without declarations: the same identifier in production and non-production contexts.
    by_value: dict[str, list[_Placed]] = defaultdict(list)
    for p in placed:
        if p.owner is None and p.context is not None:
            by_value[p.finding.secret_hash].append(p)
    for group in by_value.values():
        tiers = {p.context.tier for p in group if p.context is not None}
        if len(tiers) > 1:
            names = sorted({p.context.name for p in group if p.context is not None})
            for p in group:
                emit(SHARED_IDENTIFIER, p, f"the same value is used by {', '.join(names)}: no separation")

    # One file (or notebook cell) holding identifiers of both tiers.
    by_file: dict[tuple[str, int | None], list[_Placed]] = defaultdict(list)
    for p in placed:
        if not (p.finding.rule_id in OPENAI_KEY_RULES and p.owner is None):
            by_file[(p.finding.path, p.finding.cell)].append(p)
    for group in by_file.values():
        tiered = [(p, _tier_of_value(p)) for p in group]
        tiers = {t for _, t in tiered if t is not None}
        if len(tiers) > 1:
            group_sorted = sorted(tiered, key=lambda pt: pt[0].finding.line)
            first = group_sorted[0][1]
            culprit = next(p for p, t in group_sorted if t is not None and t != first)
            emit(MIXED_FILE, culprit, "this file holds identifiers of production and of another environment")

    return [*_applicable_client_findings(findings, placed, policy, root), *derived]


def _tier_of_value(p: _Placed) -> Tier | None:
    """The tier a value belongs to: its declared owner, else the name it is assigned to."""
    if p.owner_tier is not None:
        return p.owner_tier
    assigned = p.finding.notes.assigned_to
    context = inferred_context(assigned) if assigned else None
    return context.tier if context else None


def _applicable_client_findings(
    findings: Sequence[Finding], placed: list[_Placed], policy: EnvironmentPolicy, root: Path
) -> list[Finding]:
    """PG207 (client without an explicit organization/project) matters only where there is more than one
    environment, and not where the environment's config sets the organization through the SDK's variables."""
    # Inferred: every environment something in the repository stands in, clients included.
    client_contexts = {id(f): context_of(f, policy, root) for f in findings if f.rule_id == CLIENT_WITHOUT_ORG}
    environments = {e.name for e in policy.environments} or {
        c.name for c in (*(p.context for p in placed), *client_contexts.values()) if c is not None
    }
    multi = len(environments) > 1
    # OPENAI_ORG_ID as a plain variable or nested (compose ``environment:``, Helm/k8s ``env:``).
    configured = {
        p.context.name
        for p in placed
        if p.context is not None
        and (p.finding.notes.assigned_to or "").rsplit(".", 1)[-1].upper() in _ORG_SETTINGS
    }
    kept = []
    for f in findings:
        if f.rule_id == CLIENT_WITHOUT_ORG and f.kind is Kind.ENVIRONMENT:
            if not multi:
                continue
            ctx = client_contexts[id(f)]
            if ctx is not None and ctx.name in configured:
                continue
            if ctx is not None:
                f = replace(
                    f,
                    notes=replace(f.notes, environment=ctx.name, environment_inferred=ctx.inferred),
                )
        kept.append(f)
    return kept
