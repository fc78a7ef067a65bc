"""``prodguard report`` as a typed function returning an exit code; ``prodguard.cli`` calls it."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import TextIO

from prodguard.errors import UsageError
from prodguard.scanner.commands import ScanOptions, catalogue_for, resolve_settings
from prodguard.scanner.readiness import html, json_doc, text
from prodguard.scanner.readiness.assess import build_report
from prodguard.scanner.readiness.model import ReadinessReport, Status

RENDERERS: dict[str, Callable[[ReadinessReport, TextIO], None]] = {
    "text": text.render,
    "json": json_doc.render,
    "html": html.render,
}
# --fail-on: the statuses that make the command exit 1.
FAIL_ON: dict[str, frozenset[Status]] = {
    "missing": frozenset({Status.MISSING}),
    "partly": frozenset({Status.MISSING, Status.PARTLY}),
}
EXIT_OK = 0
EXIT_NOT_READY = 1


@dataclass(frozen=True)
class ReadinessOptions:
    path: str = "."
    format: str = "text"
    output: str | None = None
    config: str | None = None
    fail_on: str | None = None


def report(options: ReadinessOptions) -> int:
    """Write the readiness report; exit 1 when ``--fail-on`` names a status some practice has."""
    if options.format not in RENDERERS:
        raise UsageError(f"unknown report format {options.format!r}")
    settings = resolve_settings(ScanOptions(paths=(options.path,), config=options.config))
    catalogue = catalogue_for(settings)
    result = build_report((options.path,), settings, catalogue)
    with ExitStack() as stack:
        out: TextIO = sys.stdout
        if options.output:
            try:
                out = stack.enter_context(open(options.output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot write {options.output}: {exc.strerror}") from None
        RENDERERS[options.format](result, out)
    failing = FAIL_ON.get(options.fail_on or "", frozenset())
    return EXIT_NOT_READY if any(p.status in failing for p in result.practices) else EXIT_OK
