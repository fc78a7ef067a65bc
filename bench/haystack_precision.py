"""Flagged lines and scan speed on third-party code no one here wrote (installed site-packages).

    python bench/haystack_precision.py --source /path/to/site-packages [--megabytes 200] [--runs 3] \
        [--baseline-prodguard /path/to/older/prodguard] [--no-results]

Builds (or reuses) ``bench/corpus-thirdparty/`` from ``--source`` with scan_speed.py's builder, scans it
at the default severity and lists every flagged line (redacted excerpts only), then times prodguard and
``rg`` with one OpenAI-key regex in the same run (one warm-up, best of ``--runs``); with
``--baseline-prodguard`` an older build is timed in the same run too (the commands take turns), so a
speed change is measured rather than remembered. Without ``--source`` or ``rg`` it says so and exits 0. Results go to the
``haystack`` section of bench/RESULTS.md; the review of each flagged line is written by hand next to it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchtools import machine, prodguard_command, table, today, update_section
from scan_speed import CORPUS, RG_PATTERN, build_corpus

BUDGET_MB_PER_LINE = 4


def _best(commands: list[list[str]], runs: int) -> list[float]:
    """Best wall-clock time of each command; the commands take turns in every round, so that a change in
    the machine's load during the run falls on all of them alike."""
    best = [float("inf")] * len(commands)
    for round_number in range(runs + 1):  # round 0 warms the page cache and is not counted
        for index, command in enumerate(commands):
            start = time.perf_counter()
            subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if round_number:
                best[index] = min(best[index], time.perf_counter() - start)
    return best


def flagged(prodguard: list[str], tree: Path) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "findings.json"
        scan = [*prodguard, "scan", str(tree), "--format", "json", "-o", str(out), "--no-gitignore"]
        subprocess.run(scan, check=False, stdout=subprocess.DEVNULL)
        findings: list[dict[str, object]] = json.loads(out.read_text(encoding="utf-8"))["findings"]
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--source", type=Path, action="append", default=[], help="a site-packages folder")
    parser.add_argument("--megabytes", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline-prodguard", type=Path, help="an older prodguard executable to time too")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args(argv)
    sources = [s for s in args.source if s.is_dir()]
    if not sources:
        print("haystack: skipped, no --source folder exists", file=sys.stderr)
        return 0
    rg = shutil.which("rg")
    if rg is None:
        print("haystack: skipped, ripgrep (rg) is not installed (apt-get install ripgrep)", file=sys.stderr)
        return 0
    files, size = build_corpus(sources, int(args.megabytes * 1_000_000))
    megabytes = size / 1_000_000
    prodguard = prodguard_command()
    findings = flagged(prodguard, CORPUS)
    lines = sorted({(str(f["path"]), int(str(f["line"]))) for f in findings})
    pg_scan = [*prodguard, "scan", str(CORPUS), "--format", "json", "-o", "/dev/null", "--no-gitignore"]
    rg_scan = [rg, "--no-ignore", "--hidden", "-c", RG_PATTERN, str(CORPUS)]
    names, commands = ["prodguard", "rg (one OpenAI regex)"], [pg_scan, rg_scan]
    if args.baseline_prodguard:
        names.append("prodguard baseline")
        commands.append([str(args.baseline_prodguard), *pg_scan[len(prodguard) :]])
    timings = list(zip(names, _best(commands, args.runs), strict=True))
    rg_time = timings[1][1]
    rows = [[name, f"{t:.2f}", f"{megabytes / t:.1f}", f"{t / rg_time:.1f}x"] for name, t in timings]
    shown = [
        [
            f"`{str(f['path']).split('corpus-thirdparty/', 1)[-1]}:{f['line']}`",
            str(f["rule_id"]),
            "`" + str(f["excerpt"])[:90].replace("|", "\\|").replace("`", "'") + "`",
        ]
        for f in sorted(findings, key=lambda f: (str(f["path"]), int(str(f["line"]))))
    ]
    budget = megabytes / BUDGET_MB_PER_LINE
    body = "\n".join(
        [
            "## Third-party haystack: flagged lines and speed",
            "",
            f"- Date: {today()}",
            f"- Machine: {machine()}",
            f"- Command: `python bench/haystack_precision.py --source {' --source '.join(map(str, sources))}"
            f" --megabytes {args.megabytes:g} --runs {args.runs}"
            + (" --baseline-prodguard BASELINE`" if args.baseline_prodguard else "`"),
            f"- Corpus: `bench/corpus-thirdparty/`, {files} text files, {megabytes:.1f} MB copied from "
            f"{', '.join(map(str, sources))} (binaries skipped).",
            f"- Flagged lines at the default severity: **{len(lines)}** (budget: 1 per {BUDGET_MB_PER_LINE} MB ="
            f" {budget:.0f}).",
            "- Timing: wall clock including start-up; one warm-up round, then the commands take turns for each run and the best counts; other work shares the machine.",
            "",
            table(["command", "best s", "MB/s", "time vs rg"], rows),
            "",
            table(["line", "rule", "excerpt (redacted)"], shown) if shown else "(no flagged line)",
        ]
    )
    print(body)
    if not args.no_results:
        update_section("haystack", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
