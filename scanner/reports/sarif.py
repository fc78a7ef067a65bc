"""SARIF 2.1.0 report, for code-scanning dashboards. Rule metadata comes from the catalogue (the same
text as ``prodguard rules show`` and the docs pages)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, TextIO

from prodguard import __version__
from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Rule, Severity
from prodguard.scanner.reports.common import TOOL_NAME, TOOL_URI, help_uri, printable
from prodguard.scanner.reports.options import ReportOptions
from prodguard.scanner.run import ScanResult

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning reads security-severity (0-10) to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    markdown = f"{rule.description}\n\n**Why is this bad?** {rule.why}\n\n**Fix:** {rule.remediation}"
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description},
        "helpUri": help_uri(rule.id),
        "help": {"text": rule.remediation, "markdown": markdown},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {
            "tags": ["security", rule.kind.value, *([rule.provider] if rule.provider else [])],
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high" if rule.kind.value == "secret" else "medium",
        },
    }


def artifact_uri(path: str, root: Path | None) -> str:
    """A finding's path relative to ``root`` (``%SRCROOT%``), with ``/`` separators, as code-scanning
    services expect wherever the scan ran; paths outside the root stay as they are."""
    if root is None:
        return printable(path)
    try:
        relative = os.path.relpath(os.path.abspath(path), root)
    except ValueError:
        return printable(path)
    if relative == ".." or relative.startswith(".." + os.sep):
        return printable(path)
    return printable(relative.replace(os.sep, "/"))


def render(
    result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None
) -> None:
    options = options or ReportOptions()
    root = options.source_root
    used = sorted({f.rule_id for f in result.findings})
    rules = [catalogue.get(rule_id) for rule_id in used]
    descriptors = [rule_descriptor(r) for r in rules if r is not None]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for finding in result.findings:
        region: dict[str, Any] = {
            "startLine": finding.line,
            "startColumn": finding.column,
            "endLine": finding.end_line,
            "endColumn": finding.end_column,
            "snippet": {"text": finding.excerpt},
        }
        item: dict[str, Any] = {
            "ruleId": finding.rule_id,
            "level": _LEVEL[finding.severity],
            "message": {"text": f"{finding.title}: {finding.excerpt}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": artifact_uri(finding.path, root),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": region,
                    }
                }
            ],
            "partialFingerprints": {"prodguard/v1": finding.fingerprint},
            "properties": {"severity": finding.severity.label, "kind": finding.kind.value},
        }
        if finding.rule_id in index:
            item["ruleIndex"] = index[finding.rule_id]
        if finding.cell is not None:
            item["properties"]["notebookCell"] = finding.cell
            name = f"cell {finding.cell}"
            if finding.cell_line is not None:
                item["properties"]["cellLine"] = finding.cell_line
                item["properties"]["cellColumn"] = finding.cell_column
                name += f", line {finding.cell_line}"
            item["locations"][0]["logicalLocations"] = [
                {
                    "name": name,
                    "fullyQualifiedName": f"{printable(finding.path)}#cell={finding.cell}",
                    "kind": "module",
                }
            ]
        if finding.origin.commit:
            item["properties"]["commit"] = finding.origin.commit
        if finding.verification is not None:
            item["properties"]["verification"] = finding.verification.as_dict()
        results.append(item)
    notifications = [
        {"level": "note", "message": {"text": f"{printable(n.path)}: {n.message}"}} for n in result.notices
    ]
    run: dict[str, Any] = {}
    if root is not None:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": root.resolve().as_uri() + "/"}}
    provenance = options.version_control
    if provenance is not None and provenance.repository_uri:
        entry: dict[str, Any] = {"repositoryUri": provenance.repository_uri, "mappedTo": {"uriBaseId": "%SRCROOT%"}}
        if provenance.revision:
            entry["revisionId"] = provenance.revision
        if provenance.branch:
            entry["branch"] = provenance.branch
        run["versionControlProvenance"] = [entry]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                **run,
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": TOOL_URI,
                        "rules": descriptors,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
                "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
            }
        ],
    }
    json.dump(document, out, indent=2, ensure_ascii=False)
    out.write("\n")
