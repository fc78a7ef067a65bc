"""JUnit XML report, for CI systems that show test results: one failing test case per finding."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree as ET

from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.reports.common import escape_controls
from prodguard.scanner.run import ScanResult


def render(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    suite = ET.Element(
        "testsuite",
        name="prodguard",
        tests=str(max(len(result.findings), 1)),
        failures=str(len(result.findings)),
        errors="0",
        time=f"{result.stats.seconds:.3f}",
    )
    if not result.findings:
        ET.SubElement(suite, "testcase", classname="prodguard", name="scan", time="0")
    for finding in result.findings:
        # XML 1.0 cannot hold most control characters even as references: they are escaped as text.
        path = escape_controls(finding.path)
        where = f"{path}:{finding.line}" + (f" (cell {finding.cell})" if finding.cell is not None else "")
        case = ET.SubElement(suite, "testcase", classname=path, name=f"{finding.rule_id} {where}", time="0")
        rule = catalogue.get(finding.rule_id)
        failure = ET.SubElement(
            case,
            "failure",
            message=escape_controls(f"{finding.title} ({finding.severity.label})"),
            type=finding.rule_id,
        )
        detail = finding.notes.detail
        lines = [f"{where}:{finding.column}: {escape_controls(finding.excerpt)}"]
        if detail:
            lines.append(escape_controls(detail))
        if rule is not None:
            lines.extend(escape_controls(line) for line in rule.remediation.splitlines())
        failure.text = "\n".join(lines)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")
