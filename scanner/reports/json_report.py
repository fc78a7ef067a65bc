"""JSON report: a stable, versioned document for scripts and CI."""

from __future__ import annotations

import json
from typing import Any, TextIO

from prodguard import __version__
from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.finding import Finding
from prodguard.scanner.reports.common import TOOL_NAME, printable, stats_dict
from prodguard.scanner.run import ScanResult

SCHEMA_VERSION = 1


def finding_dict(finding: Finding) -> dict[str, Any]:
    item: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "title": finding.title,
        "severity": finding.severity.label,
        "kind": finding.kind.value,
        "path": printable(finding.path),
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "excerpt": finding.excerpt,
        "fingerprint": finding.fingerprint,
    }
    if finding.cell is not None:
        item["cell"] = finding.cell
        if finding.cell_line is not None:
            item["cell_line"] = finding.cell_line
            item["cell_column"] = finding.cell_column
    if finding.origin.commit:
        item["commit"] = {
            "sha": finding.origin.commit,
            "author": finding.origin.author,
            "date": finding.origin.date,
        }
    if finding.suppressed:
        item["suppressed"] = finding.suppressed
    item.update(finding.notes.as_json())
    if finding.verification is not None:
        item["verification"] = finding.verification.as_dict()
    return item


def render(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    document = {
        "version": SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "findings": [finding_dict(f) for f in result.findings],
        "suppressed": [finding_dict(f) for f in result.suppressed],
        "notices": [
            {"path": printable(n.path), "category": n.category, "message": n.message} for n in result.notices
        ],
        "stats": stats_dict(result),
    }
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
