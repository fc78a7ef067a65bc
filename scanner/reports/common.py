"""Small pieces every reporter needs: printable paths, severity counts, the docs address of a rule."""

from __future__ import annotations

import re
from collections import Counter

from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.run import ScanResult

DOCS_BASE_URL = "https://github.com/prodguard/prodguard/blob/main/docs/rules/"
TOOL_NAME = "prodguard"
TOOL_URI = "https://github.com/prodguard/prodguard"

# C0 and C1 control characters, DEL, the Unicode bidirectional controls ("Trojan source") and the two
# non-characters XML refuses: a file's content or name must never move the cursor, recolour, retitle or
# reorder the reader's terminal, nor make a report invalid.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")


def printable(text: str) -> str:
    """Paths may hold undecodable bytes (kept as surrogates); reports show them escaped, never crash."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def escape_controls(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``, ``\\u202e``), for text and XML output.
    A backslash stays as it is: excerpts are code, and doubling every backslash would misquote it."""
    return _CONTROLS.sub(_escape_one, printable(text))


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


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
        "suppressed": s.suppressed + s.baselined,
        "allowed_inline": s.suppressed,
        "baselined": s.baselined,
        "below_threshold": s.below_threshold,
        "min_severity": result.min_severity.label,
        "skipped": dict(sorted(s.skipped.items())),
        "rules": s.rules,
        "jobs": s.jobs,
        "seconds": round(s.seconds, 3),
    }
