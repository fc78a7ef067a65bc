"""What ``prodguard report`` costs on top of the scan it runs: best-of-N wall clock of the scan alone
(the reference, same run) and of the whole report (scan, code facts, judging, each renderer).

    python bench/report_speed.py DIR [DIR ...] [--repeat 3] [--record]

Trees of Python that use the SDK everywhere (the installed ``openai`` package, say) are the worst case:
the code-facts pass parses every file that mentions ``openai``. ``--record`` writes the "report"
section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchtools import machine, table, today, update_section

from prodguard.scanner.commands import ScanOptions, catalogue_for, resolve_settings
from prodguard.scanner.readiness import html, json_doc, text
from prodguard.scanner.readiness.assess import build_report
from prodguard.scanner.run import scan_paths


def best(repeat: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(directory: Path, repeat: int) -> list[str]:
    """One table row: the scan alone, the whole report, the renderers."""
    settings = resolve_settings(ScanOptions(paths=(str(directory),), jobs=1))
    catalogue = catalogue_for(settings)
    paths = (str(directory),)
    scan_s = best(repeat, partial(scan_paths, paths, settings, catalogue))
    report_s = best(repeat, partial(build_report, paths, settings, catalogue))
    report = build_report(paths, settings, catalogue)
    render = [
        best(repeat, partial(r, report, io.StringIO())) for r in (text.render, json_doc.render, html.render)
    ]
    files = sum(1 for _ in directory.rglob("*.py"))
    return [
        f"`{directory.name}` ({files} .py files, {report.files_scanned} scanned, {report.findings} findings)",
        f"{scan_s:.2f}",
        f"{report_s:.2f}",
        f"{report_s / scan_s:.2f}x",
        " / ".join(f"{seconds * 1000:.0f}" for seconds in render),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    for directory in args.dirs:
        if not directory.is_dir():
            print(f"skipped: {directory} is not a directory", file=sys.stderr)
            continue
        rows.append(measure(directory, args.repeat))
    body = table(["tree", "scan s", "report s", "report/scan", "render ms text/json/html"], rows)
    print(body)
    if args.record:
        update_section(
            "report",
            "## Readiness report cost (`prodguard report` against the scan it runs)\n\n"
            f"- Date: {today()}\n- Machine: {machine()}\n"
            f"- Command: `python bench/report_speed.py {' '.join(str(d) for d in args.dirs)} --repeat {args.repeat} --record`\n"
            "- One process (`jobs=1`), best of the repeats; the scan alone is the reference measured in the same run.\n\n"
            + body
            + "\n",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
