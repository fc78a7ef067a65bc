"""Human-readable report: findings grouped by file, each rule's fix shown once per file.

Colour follows rich's detection: off when the output is not a terminal or ``NO_COLOR`` is set.
Excerpts are printed as plain ``Text`` (never as markup) so file content cannot inject styles.
"""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console
from rich.text import Text

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.reports.common import printable
from prodguard.scanner.run import ScanResult

_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    console = Console(file=out, highlight=False, soft_wrap=True, emoji=False)
    for path, group in groupby(result.findings, key=lambda f: f.path):
        findings = list(group)
        console.print(Text(printable(path), style="bold underline"))
        shown_fix: set[str] = set()
        for f in findings:
            place = f"{f.line}:{f.column}"
            if f.cell is not None and f.cell_line is not None:
                place = f"{place} (cell {f.cell}, {f.cell_line}:{f.cell_column})"
            elif f.cell is not None:
                place = f"cell {f.cell}, {place}"
            line = Text("  ")
            line.append(place.ljust(10))
            line.append(f" {f.severity.label:<8}", style=_STYLE[f.severity])
            line.append(f" {f.rule_id}  ", style="bold")
            line.append(f.title)
            console.print(line)
            console.print(Text("      " + f.excerpt, style="dim"))
            if f.origin.commit:
                who = f" by {f.origin.author}" if f.origin.author else ""
                console.print(
                    Text(f"      introduced in {f.origin.commit[:12]}{who} on {f.origin.date}", style="dim")
                )
            rule = catalogue.get(f.rule_id)
            if rule is not None and f.rule_id not in shown_fix:
                shown_fix.add(f.rule_id)
                console.print(Text(f"      fix: {rule.remediation}", style="green"))
        console.print()
    for notice in result.notices:
        console.print(Text(f"notice: {printable(notice.path)}: {notice.message}", style="yellow"))
    console.print(Text(_summary(result), style="bold"))


def _summary(result: ScanResult) -> str:
    s = result.stats
    count = len(result.findings)
    head = "no findings" if count == 0 else f"{count} finding{'s' if count != 1 else ''}"
    if count:
        by: dict[Severity, int] = {}
        for f in result.findings:
            by[f.severity] = by.get(f.severity, 0) + 1
        head += " (" + ", ".join(f"{n} {sev.label}" for sev, n in sorted(by.items(), reverse=True)) + ")"
    parts = [f"{head} in {s.files_scanned} file{'s' if s.files_scanned != 1 else ''}", f"{s.seconds:.2f}s"]
    if s.suppressed:
        parts.append(f"{s.suppressed} allowed inline")
    if s.below_threshold:
        parts.append(f"{s.below_threshold} below --min-severity {result.min_severity.label}")
    skipped = {k: v for k, v in s.skipped.items() if k not in ("ignored", "excluded")}
    if skipped:
        parts.append("skipped " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(skipped.items())))
    return "; ".join(parts)
