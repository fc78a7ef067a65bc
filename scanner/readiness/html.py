"""The report as one self-contained HTML page: inline CSS and SVG, no script, no external asset, and
readable on paper. Every string from the repository (paths, excerpts, titles) goes through ``escape``;
excerpts are the scanner's redacted ones, so no secret reaches the page."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TextIO

from prodguard import __version__
from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.readiness.model import (
    STATUS_MEANING,
    Evidence,
    EvidenceKind,
    PracticeResult,
    ReadinessReport,
    Status,
)
from prodguard.scanner.reports.common import help_uri, printable

STATUS_COLOR = {
    Status.MET: "#1a7f37",
    Status.PARTLY: "#b26a00",
    Status.MISSING: "#c62828",
    Status.NOT_APPLICABLE: "#6e7781",
}
SEVERITY_COLOR = {
    Severity.CRITICAL: "#8e0000",
    Severity.HIGH: "#d32f2f",
    Severity.MEDIUM: "#f57c00",
    Severity.LOW: "#fbc02d",
    Severity.INFO: "#90a4ae",
}

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.root, .meta { color: #57606a; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; margin: 12px 0; }
.tile { border: 2px solid; border-radius: 8px; padding: 8px 16px; min-width: 110px; }
.tile .n { font-size: 26px; font-weight: 700; display: block; }
.badge { display: inline-block; border-radius: 10px; padding: 1px 9px; color: #fff; font-weight: 600;
         font-size: 12px; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #d0d7de; padding: 6px 8px; }
th { background: #f6f8fa; }
td.status { width: 110px; }
ul.evidence { margin: 4px 0 0; padding-left: 18px; }
ul.evidence li { margin: 2px 0; }
.kind { font-size: 11px; text-transform: uppercase; color: #57606a; letter-spacing: .04em; }
code, .excerpt { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.excerpt { display: block; background: #f6f8fa; padding: 2px 6px; border-radius: 4px; white-space: pre-wrap; }
.sev { font-weight: 600; }
a { color: #0969da; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section, tr, .tile { break-inside: avoid; }
  a[href^="http"]::after { content: " <" attr(href) ">"; font-size: 9px; color: #57606a; overflow-wrap: anywhere; }
}
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _badge(status: Status) -> str:
    return (
        f'<span class="badge status-{status.value}" data-status="{status.value}" '
        f'style="background:{STATUS_COLOR[status]}">{status.label}</span>'
    )


def _evidence_item(e: Evidence) -> str:
    parts = [f'<span class="kind">{_e(e.kind.value)}</span> ']
    if e.rule_id:
        parts.append(f'<a href="{_e(help_uri(e.rule_id))}"><code>{_e(e.rule_id)}</code></a> ')
    if e.severity:
        parts.append(f'<span class="sev">{_e(e.severity)}</span> ')
    parts.append(_e(e.summary))
    if e.location:
        parts.append(f' <code class="loc">{_e(printable(e.location))}</code>')
    if e.excerpt:
        parts.append(f'<span class="excerpt">{_e(e.excerpt)}</span>')
    return f'<li data-kind="{_e(e.kind.value)}">{"".join(parts)}</li>'


def _practice_row(p: PracticeResult) -> str:
    evidence = "".join(_evidence_item(e) for e in p.shown_evidence() if e.kind is not EvidenceKind.FINDING)
    finding_count = len(p.findings)
    if finding_count:
        evidence = (
            f'<li data-kind="finding"><span class="kind">finding</span> <a href="#findings-{_e(p.id)}">'
            f"{finding_count} finding{'s' if finding_count != 1 else ''}</a></li>" + evidence
        )
    next_step = ""
    if p.next_step:
        links = " · ".join(f'<a href="{_e(d)}">{_e(d.rsplit("/", 1)[-1])}</a>' for d in p.docs)
        next_step = f'{_e(p.next_step)}<br><a href="{_e(p.guide_url)}">guide</a>' + (
            f" · {links}" if links else ""
        )
    return (
        f'<tr id="practice-{_e(p.id)}" data-practice="{_e(p.id)}" data-status="{p.status.value}">'
        f'<td class="status">{_badge(p.status)}</td>'
        f'<td class="title"><strong>{_e(p.title)}</strong><div class="meta">{_e(p.source)} best practices · '
        f"{_e(p.section)}</div></td>"
        f'<td class="evidence"><div>{_e(p.reason)}</div><ul class="evidence">{evidence}</ul></td>'
        f'<td class="next">{next_step}</td></tr>'
    )


def chart(report: ReadinessReport) -> str:
    """A horizontal stacked bar per practice with findings: how many, of which severity."""
    label_w, bar_w, row_h, top = 160, 560, 26, 34
    bars: list[tuple[str, str, Counter[Severity]]] = [
        (p.id, p.label, Counter(f.severity for f in p.findings)) for p in report.practices if p.findings
    ]
    if report.unmapped:
        bars.append(("unmapped", "Other findings", Counter(f.severity for f in report.unmapped)))
    if not bars:
        return '<p id="chart-empty">No findings.</p>'
    biggest = max(sum(c.values()) for _, _, c in bars)
    height = top + row_h * len(bars) + 10
    out = [
        f'<svg id="chart" role="img" aria-label="Findings by practice and severity" xmlns="http://www.w3.org/2000/svg" '
        f'width="{label_w + bar_w + 60}" height="{height}" viewBox="0 0 {label_w + bar_w + 60} {height}">'
    ]
    for number, severity in enumerate(sorted(Severity, reverse=True)):
        legend_x = label_w + 90 * number
        out.append(f'<rect x="{legend_x}" y="6" width="12" height="12" fill="{SEVERITY_COLOR[severity]}"/>'
                   f'<text x="{legend_x + 16}" y="16">{severity.label}</text>')  # fmt: skip
    for index, (practice_id, title, counts) in enumerate(bars):
        y = top + index * row_h
        out.append(f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_e(title)}</text>')
        x = float(label_w)
        for severity in sorted(Severity, reverse=True):
            n = counts.get(severity, 0)
            if not n:
                continue
            w = bar_w * n / biggest
            out.append(
                f'<rect class="bar" data-practice="{_e(practice_id)}" data-severity="{severity.label}" data-count="{n}" '
                f'x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{SEVERITY_COLOR[severity]}">'
                f"<title>{_e(title)}: {n} {severity.label}</title></rect>"
            )
            x += w
        out.append(f'<text x="{x + 6:.1f}" y="{y + 15}">{sum(counts.values())}</text>')
    out.append("</svg>")
    return "".join(out)


def _findings_section(report: ReadinessReport) -> str:
    parts = []
    groups: list[tuple[str, str, tuple[Finding, ...]]] = [
        (p.id, p.title, p.findings) for p in report.practices if p.findings
    ]
    if report.unmapped:
        groups.append(("unmapped", "Findings no practice claims", report.unmapped))
    for group_id, title, findings in groups:
        rows = []
        for f in findings:
            rows.append(
                f'<tr data-rule="{_e(f.rule_id)}"><td class="sev" style="color:{SEVERITY_COLOR[f.severity]}">'
                f"{_e(f.severity.label)}</td>"
                f'<td><a href="{_e(help_uri(f.rule_id))}"><code>{_e(f.rule_id)}</code></a> {_e(f.title)}</td>'
                f"<td><code>{_e(printable(f.path))}:{f.line}</code></td>"
                f'<td><span class="excerpt">{_e(f.excerpt)}</span></td></tr>'
            )
        parts.append(
            f'<section class="group" id="findings-{_e(group_id)}" data-practice="{_e(group_id)}">'
            f'<h3>{_e(title)} ({len(findings)})</h3><table class="findings"><thead><tr><th>severity</th>'
            f"<th>rule</th><th>where</th><th>excerpt (redacted)</th></tr></thead><tbody>{''.join(rows)}</tbody>"
            "</table></section>"
        )
    return "".join(parts) or "<p>No findings.</p>"


def render(report: ReadinessReport, out: TextIO) -> None:
    counts = report.counts()
    tiles = "".join(
        f'<div class="tile" data-status="{s.value}" style="border-color:{STATUS_COLOR[s]}">'
        f'<span class="n" style="color:{STATUS_COLOR[s]}">{counts[s]}</span>{s.label}</div>'
        for s in Status
    )
    if report.guard.installed:
        guard = "installed at " + ", ".join(
            f"<code>{_e(printable(e.location or ''))}</code>" for e in report.guard.installed
        )
    else:
        guard = "not installed"
    meanings = "".join(f"<li>{_badge(s)} {_e(m)}</li>" for s, m in STATUS_MEANING.items())
    review = "".join(f'<li><a href="{_e(r.guide_url)}">{_e(r.title)}</a></li>' for r in report.review)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Production readiness: {_e(printable(report.root))}</title><style>{_CSS}</style></head>
<body>
<header><h1>Production readiness</h1><div class="root">{_e(printable(report.root))}</div></header>
<section id="summary"><h2>Summary</h2><div class="tiles">{tiles}</div>
<p>{report.findings} findings in {report.files_scanned} files · runtime guard {guard} · environments
{"declared" if report.environments_declared else "not declared"}{
        f" in <code>{_e(report.config_path)}</code>" if report.config_path else ""
    }</p></section>
<section id="chart-section"><h2>Findings by practice and severity</h2>{chart(report)}</section>
<section id="practices"><h2>Practices</h2><table id="practice-table"><thead><tr><th>status</th><th>practice</th>
<th>evidence</th><th>next step</th></tr></thead><tbody>{
        "".join(_practice_row(p) for p in report.practices)
    }</tbody></table></section>
<section id="findings"><h2>Findings by practice</h2>{_findings_section(report)}</section>
<section id="review"><h2>Review by hand</h2><p>The guides also ask for these; no file shows them.</p><ul>{
        review
    }</ul></section>
<section id="statuses"><h2>What the statuses mean</h2><ul>{meanings}</ul></section>
<footer class="meta"><p>prodguard {_e(__version__)}</p></footer>
</body></html>
"""
    out.write(page)
