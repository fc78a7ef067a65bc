"""JUnit XML report, for CI systems that show test results: one failing test case per finding."""

from __future__ import annotations

from typing import TextIO
from xml.etree import ElementTree as ET

from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.reports.common import printable
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
        path = printable(finding.path)
        where = f"{path}:{finding.line}" + (f" (cell {finding.cell})" if finding.cell is not None else "")
        case = ET.SubElement(suite, "testcase", classname=path, name=f"{finding.rule_id} {where}", time="0")
        rule = catalogue.get(finding.rule_id)
        failure = ET.SubElement(
            case, "failure", message=f"{finding.title} ({finding.severity.label})", type=finding.rule_id
        )
        failure.text = f"{where}:{finding.column}: {finding.excerpt}\n{rule.remediation if rule else ''}"
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(ET.tostring(suites, encoding="unicode"))
    out.write("\n")
