"""Small pieces every reporter needs: printable paths, severity counts, the docs address of a rule."""

from __future__ import annotations

from collections import Counter

from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.run import ScanResult

DOCS_BASE_URL = "https://github.com/prodguard/prodguard/blob/main/docs/rules/"
TOOL_NAME = "prodguard"
TOOL_URI = "https://github.com/prodguard/prodguard"


def printable(text: str) -> str:
    """Paths may hold undecodable bytes (kept as surrogates); reports show them escaped, never crash."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def help_uri(rule_id: str) -> str:
    return f"{DOCS_BASE_URL}{rule_id}.md"


def severity_counts(findings: list[Finding]) -> dict[str, int]:
    counts = Counter(f.severity for f in findings)
    return {s.label: counts.get(s, 0) for s in sorted(Severity, reverse=True)}


def stats_dict(result: ScanResult) -> dict[str, object]:
    s = result.stats
    return {
        "files_scanned": s.files_scanned,
        "bytes_scanned": s.bytes_scanned,
        "findings": len(result.findings),
        "by_severity": severity_counts(result.findings),
        "suppressed": s.suppressed,
        "below_threshold": s.below_threshold,
        "min_severity": result.min_severity.label,
        "skipped": dict(sorted(s.skipped.items())),
        "rules": s.rules,
        "jobs": s.jobs,
        "seconds": round(s.seconds, 3),
    }
