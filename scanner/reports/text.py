"""Human-readable report: findings grouped by file in aligned columns, each rule's fix shown once per
file, rendered for the terminal (Markdown through rich, wrapped to the terminal's width).

Colour follows rich's detection: off when the output is not a terminal or ``NO_COLOR`` is set.
Everything that comes from the scanned content or from git (paths, excerpts, details, commit authors)
is printed as plain ``Text`` with control characters escaped, so a file cannot inject styles or
terminal escape sequences.
"""

from __future__ import annotations

from itertools import groupby
from typing import TextIO

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.segment import Segment, Segments
from rich.table import Table
from rich.text import Text

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.reports.common import escape_controls
from prodguard.scanner.reports.markdown import TerminalMarkdown
from prodguard.scanner.reports.options import ReportOptions
from prodguard.scanner.reports.summary import summary_line
from prodguard.scanner.run import ScanResult

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def make_console(out: TextIO) -> Console:
    return Console(file=out, highlight=False, emoji=False)


def print_trimmed(console: Console, renderable: RenderableType) -> None:
    """Print without the spaces rich pads tables and paragraphs with to the full width: piped output and
    logs get no trailing whitespace, and a narrower paste does not wrap blank tails."""
    segments: list[Segment] = []
    for line in console.render_lines(renderable, pad=False):
        while line and not line[-1].control and not line[-1].text.strip():
            line.pop()
        if line and not line[-1].control:
            last = line[-1]
            line[-1] = Segment(last.text.rstrip(), last.style)
        segments.extend(line)
        segments.append(Segment.line())
    console.print(Segments(segments), soft_wrap=True)


def render(result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options or ReportOptions()
    console = make_console(out)
    for path, group in groupby(result.findings, key=lambda f: f.path):
        console.print(Text(escape_controls(path), style="bold underline"))
        print_trimmed(console, Padding(_file_table(list(group), catalogue), (0, 0, 1, 2)))
    if options.quiet:
        return
    for notice in result.notices:
        line = Text("notice: ", style="yellow")
        line.append(f"{escape_controls(notice.path)}: {escape_controls(notice.message)}")
        console.print(line, soft_wrap=True)
    # One line, however long: scripts and CI logs grep it; the terminal wraps it if it must.
    console.print(Text(summary_line(result), style="bold"), soft_wrap=True)


def _file_table(findings: list[Finding], catalogue: Catalogue) -> RenderableType:
    """One heading row per finding in aligned columns (location, severity, rule, title), and under it,
    indented past the location, what the finding says: excerpt, detail, commit, and the rule's fix the
    first time the rule appears in the file. Long text wraps at its own indent, never at column 0."""
    located = [(_location(f), f) for f in findings]
    where_width = max(len(where) for where, _ in located)
    rule_width = max(len(f.rule_id) for f in findings)
    severity_width = max(len(s.label) for s in Severity)
    shown_fix: set[str] = set()
    rows: list[RenderableType] = []
    for where, f in located:
        heading = Table.grid(padding=(0, 2, 0, 0))
        heading.add_column(justify="right", no_wrap=True, width=where_width)
        heading.add_column(no_wrap=True, width=severity_width)
        heading.add_column(no_wrap=True, width=rule_width)
        heading.add_column(ratio=1)
        heading.add_row(
            Text(where, style="dim"),
            Text(f.severity.label, style=SEVERITY_STYLE[f.severity]),
            Text(f.rule_id, style="bold"),
            Text(f.title),
        )
        rows.append(heading)
        rule = catalogue.get(f.rule_id)
        fix = None
        if rule is not None and f.rule_id not in shown_fix:
            shown_fix.add(f.rule_id)
            fix = rule.remediation
        rows.append(Padding(_message(f, fix), (0, 0, 0, where_width + 2)))
    return Group(*rows)


def _location(f: Finding) -> str:
    if f.cell is not None and f.cell_line is not None:
        # A notebook finding stands at the .ipynb file's line; the cell and the place in it follow.
        return f"{f.line}:{f.column} (cell {f.cell}:{f.cell_line}:{f.cell_column})"
    return f"cell {f.cell}:{f.line}:{f.column}" if f.cell is not None else f"{f.line}:{f.column}"


def _message(f: Finding, fix: str | None) -> RenderableType:
    parts: list[RenderableType] = []
    if f.excerpt:
        parts.append(Text(escape_controls(f.excerpt), style="dim", overflow="fold"))
    if f.verification is not None:
        style = "bold red" if f.verification.mismatch else "magenta"
        parts.append(Text(f"verification: {f.verification.describe()}", style=style))
    notes = f.notes
    if notes.detail:
        prefix = ""
        if notes.environment:
            inferred = " (inferred)" if notes.environment_inferred else ""
            prefix = f"[{notes.environment}{inferred}] "
        parts.append(Text(escape_controls(prefix + notes.detail), style="italic"))
    if f.origin.commit:
        who = f" by {escape_controls(f.origin.author)}" if f.origin.author else ""
        when = f" on {escape_controls(f.origin.date)}" if f.origin.date else ""
        parts.append(Text(f"introduced in {f.origin.commit[:12]}{who}{when}", style="dim"))
    if fix:
        parts.append(TerminalMarkdown(f"**fix:** {fix}"))
    return Group(*parts)
