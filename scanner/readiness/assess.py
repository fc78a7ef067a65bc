"""Judge every practice of the catalogue for one repository: scan it (the scanner's own run), read its
configuration (the scanner settings and the guard policy loaders), collect code facts, and decide."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prodguard.config import load_project_config
from prodguard.guard import Policy
from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.readiness import catalog
from prodguard.scanner.readiness.catalog import Applies, Need, Practice
from prodguard.scanner.readiness.codefacts import CodeFacts, collect
from prodguard.scanner.readiness.controls import CONTROLS, Controls, Inputs, shown_path
from prodguard.scanner.readiness.model import (
    Evidence,
    EvidenceKind,
    GuardStatus,
    PracticeResult,
    ReadinessReport,
    Status,
)
from prodguard.scanner.run import ScanResult, scan_paths
from prodguard.scanner.settings import ScanSettings

# Findings at or above this severity make a practice missing, whatever else is in place.
BLOCKING = Severity.HIGH


def load_policy(settings: ScanSettings) -> tuple[Policy, str | None]:
    """The guard policy of the project (defaults without a config file) and the file, when it has a
    ``[guard]`` table. Validation errors are the policy loader's own (file and line)."""
    if settings.config_path is None:
        return Policy(environments=settings.environments), None
    policy = Policy.load(settings.config_path)
    table = load_project_config(Path(settings.config_path)).table
    return policy, settings.config_path if "guard" in table else None


def build_report(paths: Sequence[str], settings: ScanSettings, catalogue: Catalogue) -> ReadinessReport:
    """Scan ``paths`` and judge each practice."""
    result = scan_paths(paths, settings, catalogue)
    code = collect(paths, settings)
    policy, policy_source = load_policy(settings)
    inputs = Inputs(code, policy, shown_path(policy_source), settings.environments)
    return judge(result, code, inputs, paths, settings)


def judge(
    result: ScanResult, code: CodeFacts, inputs: Inputs, paths: Sequence[str], settings: ScanSettings
) -> ReadinessReport:
    by_practice: dict[str, list[Finding]] = {p.id: [] for p in catalog.PRACTICES}
    unmapped: list[Finding] = []
    for finding in result.findings:
        if finding.kind in catalog.NOT_A_PROBLEM:
            continue
        practice_id = catalog.practice_of(finding.rule_id, finding.kind)
        if practice_id in by_practice:
            by_practice[practice_id].append(finding)
        else:
            unmapped.append(finding)
    keys_committed = any(f.rule_id in {"PG101", "PG102", "PG103", "PG104"} for f in result.findings)
    results = tuple(
        _judge_one(
            practice, tuple(by_practice[practice.id]), CONTROLS[practice.id](inputs), code, keys_committed
        )
        for practice in catalog.PRACTICES
    )
    policy = inputs.policy
    guard = GuardStatus(
        installed=tuple(Evidence(EvidenceKind.CODE, s.note, s.path, s.line) for s in code.guard_installs),
        policy_source=inputs.policy_source,
        moderation=policy.moderation.enabled,
        pii=policy.pii.enabled,
        audit=policy.audit.enabled,
        sanitize=policy.sanitize.enabled,
        end_user=policy.end_user.enabled,
        backoff=policy.backoff.enabled,
    )
    return ReadinessReport(
        root=", ".join(paths),
        config_path=shown_path(settings.config_path),
        environments_declared=settings.environments.declared,
        guard=guard,
        practices=results,
        review=catalog.REVIEW,
        unmapped=tuple(unmapped),
        files_scanned=result.stats.files_scanned,
        findings=len(result.findings),
    )


def _applies(practice: Practice, code: CodeFacts, keys_committed: bool) -> bool:
    if practice.applies is Applies.ALWAYS:
        return True
    if practice.applies is Applies.API_USE:
        return code.uses_api or keys_committed
    if practice.applies is Applies.GENERATION:
        return bool(code.generations or code.guard_installs)
    return bool(code.user_facing_generations)


def _judge_one(
    practice: Practice,
    findings: tuple[Finding, ...],
    controls: Controls,
    code: CodeFacts,
    keys_committed: bool,
) -> PracticeResult:
    status, reason = decide(practice, findings, controls, _applies(practice, code, keys_committed))
    evidence = [_finding_evidence(f) for f in findings]
    evidence.extend(controls.found)
    if not controls.found and practice.need is not Need.NOTHING and status is not Status.NOT_APPLICABLE:
        evidence.append(Evidence(EvidenceKind.ABSENT, controls.absent))
    return PracticeResult(
        id=practice.id,
        title=practice.title,
        label=practice.label,
        source=practice.source,
        section=practice.section,
        status=status,
        reason=reason,
        evidence=tuple(evidence),
        findings=findings,
        next_step=None if status in (Status.MET, Status.NOT_APPLICABLE) else practice.next_step,
        guide_url=practice.guide_url,
        docs=tuple(catalog.DOCS + d for d in practice.docs),
    )


def decide(
    practice: Practice, findings: Sequence[Finding], controls: Controls, applies: bool
) -> tuple[Status, str]:
    """The status rule, the same for every practice (``prodguard report --help`` states it)."""
    if findings:
        worst = max(f.severity for f in findings)
        count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
        if worst >= BLOCKING:
            return Status.MISSING, f"{count} against it, the worst {worst.label}"
        if not controls.found and practice.need is not Need.NOTHING:
            return Status.MISSING, f"{count} against it and no control in place"
        return Status.PARTLY, f"{count} against it (at most {worst.label})"
    if not applies:
        return Status.NOT_APPLICABLE, "the repository does not do what this practice is about"
    if controls.found:
        if controls.complete:
            return Status.MET, "control in place and no finding against it"
        return Status.PARTLY, f"incomplete: {controls.gap}"
    if practice.need is Need.REQUIRED:
        return Status.MISSING, controls.absent
    if practice.need is Need.RECOMMENDED:
        return Status.PARTLY, f"no finding, but {controls.absent}"
    return Status.MET, "no finding against it"


def _finding_evidence(finding: Finding) -> Evidence:
    detail = finding.notes.detail
    return Evidence(
        EvidenceKind.FINDING,
        f"{finding.title}" + (f": {detail}" if detail else ""),
        finding.path,
        finding.line,
        finding.rule_id,
        finding.severity.label,
        finding.excerpt,
    )
