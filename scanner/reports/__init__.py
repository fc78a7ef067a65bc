"""Reporters: one module per output format behind one signature, listed in ``REPORTERS``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.run import ScanResult

Reporter = Callable[[ScanResult, Catalogue, TextIO], None]


def _text(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    from prodguard.scanner.reports.text import render

    render(result, catalogue, out)


def _json(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    from prodguard.scanner.reports.json_report import render

    render(result, catalogue, out)


def _sarif(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    from prodguard.scanner.reports.sarif import render

    render(result, catalogue, out)


def _junit(result: ScanResult, catalogue: Catalogue, out: TextIO) -> None:
    from prodguard.scanner.reports.junit import render

    render(result, catalogue, out)


# Imports are deferred so that a JSON run never pays for rich, and a text run never for XML.
REPORTERS: dict[str, Reporter] = {"text": _text, "json": _json, "sarif": _sarif, "junit": _junit}
