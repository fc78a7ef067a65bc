"""Reporters: one module per output format behind one signature, listed in ``REPORTERS``."""

from __future__ import annotations

from typing import Protocol, TextIO

from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.reports.options import ReportOptions, VersionControl
from prodguard.scanner.run import ScanResult

__all__ = ["REPORTERS", "ReportOptions", "Reporter", "VersionControl"]


class Reporter(Protocol):
    def __call__(
        self, result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None
    ) -> None: ...


def _text(result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None) -> None:
    from prodguard.scanner.reports.text import render

    render(result, catalogue, out, options)


def _json(result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None) -> None:
    from prodguard.scanner.reports.json_report import render

    render(result, catalogue, out)


def _sarif(result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None) -> None:
    from prodguard.scanner.reports.sarif import render

    render(result, catalogue, out, options)


def _junit(result: ScanResult, catalogue: Catalogue, out: TextIO, options: ReportOptions | None = None) -> None:
    from prodguard.scanner.reports.junit import render

    render(result, catalogue, out)


# Imports are deferred so that a JSON run never pays for rich, and a text run never for XML.
REPORTERS: dict[str, Reporter] = {"text": _text, "json": _json, "sarif": _sarif, "junit": _junit}
