"""The report for a terminal: a table of practices, then each practice's evidence and next step.

Everything from the repository is printed as plain ``Text`` (never markup), like the scan report.
"""

from __future__ import annotations

from typing import TextIO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from prodguard.scanner.readiness.model import EvidenceKind, ReadinessReport, Status
from prodguard.scanner.reports.common import printable

STATUS_STYLE = {
    Status.MET: "green",
    Status.PARTLY: "yellow",
    Status.MISSING: "bold red",
    Status.NOT_APPLICABLE: "dim",
}
_MARK = {
    EvidenceKind.FINDING: "✗",
    EvidenceKind.CONFIG: "⚙",
    EvidenceKind.CODE: "✓",
    EvidenceKind.ABSENT: "∅",
}


def _short(status: Status) -> str:
    return "n/a" if status is Status.NOT_APPLICABLE else status.label


def render(report: ReadinessReport, out: TextIO) -> None:
    # A fixed width off a terminal keeps files and CI logs stable; a terminal uses its own width.
    console = Console(
        file=out, highlight=False, soft_wrap=True, emoji=False, width=None if out.isatty() else 110
    )
    counts = report.counts()
    console.print(Text(f"Production readiness: {printable(report.root)}", style="bold"))
    console.print(
        Text(
            "  ".join(f"{_short(s)} {counts[s]}" for s in Status)
            + f"   ({report.findings} findings in {report.files_scanned} files)"
        )
    )
    guard = (
        "installed at " + ", ".join(e.location or "" for e in report.guard.installed)
        if report.guard.installed
        else "not installed"
    )
    console.print(Text(f"runtime guard: {guard}; environments: "
                       + ("declared" if report.environments_declared else "not declared")))  # fmt: skip
    console.print()
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("status", no_wrap=True)
    table.add_column("practice")
    table.add_column("why")
    for p in report.practices:
        table.add_row(
            Text(_short(p.status), style=STATUS_STYLE[p.status]),
            Text(p.title),
            Text(p.reason, style="dim"),
        )
    console.print(table)
    for p in report.practices:
        console.print()
        head = Text(f"[{_short(p.status)}] ", style=STATUS_STYLE[p.status])
        head.append(f"{p.id}: {p.title}", style="bold")
        console.print(head)
        for e in p.shown_evidence():
            line = Text(f"  {_MARK[e.kind]} ")
            if e.rule_id:
                line.append(f"{e.rule_id} {e.severity}  ", style="bold")
            line.append(e.summary)
            if e.location:
                line.append(f"  {printable(e.location)}", style="dim")
            console.print(line)
            if e.excerpt:
                console.print(Text(f"      {e.excerpt}", style="dim"))
        if p.next_step:
            console.print(Text(f"  next: {p.next_step}", style="green"))
            console.print(Text(f"  see: {p.guide_url}" + "".join(f" {d}" for d in p.docs), style="dim"))
    if report.unmapped:
        console.print()
        console.print(Text("Findings no practice claims:", style="bold"))
        for f in report.unmapped:
            console.print(Text(f"  {f.rule_id} {f.severity.label}  {f.title}  {printable(f.path)}:{f.line}"))
    console.print()
    console.print(Text("Review by hand (no file shows these):", style="bold"))
    for r in report.review:
        console.print(Text(f"  - {r.title}  {r.guide_url}"))
