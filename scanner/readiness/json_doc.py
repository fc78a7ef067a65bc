"""The report as a JSON document. The schema is documented in docs/report.md and is stable: fields are
added, never renamed or removed, within one ``version``."""

from __future__ import annotations

import json
from typing import Any, TextIO

from prodguard import __version__
from prodguard.scanner.readiness.model import STATUS_MEANING, Evidence, ReadinessReport, Status
from prodguard.scanner.reports.common import TOOL_NAME, printable
from prodguard.scanner.reports.json_report import finding_dict

SCHEMA_VERSION = 1


def evidence_dict(evidence: Evidence) -> dict[str, Any]:
    item: dict[str, Any] = {"kind": evidence.kind.value, "summary": evidence.summary}
    if evidence.path is not None:
        item["path"] = printable(evidence.path)
    if evidence.line:
        item["line"] = evidence.line
    for name in ("rule_id", "severity", "excerpt"):
        value = getattr(evidence, name)
        if value is not None:
            item[name] = value
    return item


def document(report: ReadinessReport) -> dict[str, Any]:
    counts = report.counts()
    return {
        "version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "root": printable(report.root),
        "config": report.config_path,
        "summary": {
            "status_counts": {status.value: counts[status] for status in Status},
            "findings": report.findings,
            "files_scanned": report.files_scanned,
            "environments_declared": report.environments_declared,
            "guard_installed": bool(report.guard.installed),
        },
        "statuses": {status.value: meaning for status, meaning in STATUS_MEANING.items()},
        "guard": {
            "installed": [evidence_dict(e) for e in report.guard.installed],
            "policy": report.guard.policy_source,
            "steps": {
                "moderation": report.guard.moderation,
                "pii": report.guard.pii,
                "audit": report.guard.audit,
                "sanitize": report.guard.sanitize,
                "end_user": report.guard.end_user,
                "backoff": report.guard.backoff,
            },
        },
        "practices": [
            {
                "id": p.id,
                "title": p.title,
                "label": p.label,
                "source": p.source,
                "section": p.section,
                "status": p.status.value,
                "reason": p.reason,
                "evidence": [evidence_dict(e) for e in p.evidence],
                "findings": [finding_dict(f) for f in p.findings],
                "next_step": p.next_step,
                "guide": p.guide_url,
                "docs": list(p.docs),
            }
            for p in report.practices
        ],
        "review": [
            {"id": r.id, "title": r.title, "source": r.source, "guide": r.guide_url} for r in report.review
        ],
        "unmapped_findings": [finding_dict(f) for f in report.unmapped],
    }


def render(report: ReadinessReport, out: TextIO) -> None:
    json.dump(document(report), out, indent=2, ensure_ascii=False)
    out.write("\n")
