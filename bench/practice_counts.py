"""Count code-practice findings (every registered check, PG207 included) on trees of third-party code, and
time the practice analysis against the pattern engine on the same files.

    python bench/practice_counts.py DIR [DIR ...] [--json OUT] [--sample N]

``prodguard scan`` reports the practice rules but leaves PG207 to the environment analyzer, which only
reports it in repositories with several environments; this script runs the checks directly so every rule
gets a count. It prints a table per rule and the cost of the practice analysis (prefilter, parse, checks)
next to the pattern engine's time on the same files (the reference of the same run); with ``--json`` it
writes every finding (path, line, redacted excerpt, detail) for the manual review recorded in RESULTS.md
("practices" section, written by hand). Runs with the prodguard installed in the interpreter, so the same
script measures an older checkout (``run_practices`` only) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Rule
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine
from prodguard.scanner.finding import Finding
from prodguard.scanner.practices import CHECKS

try:  # this checkout: every language, test code judged relative to the tree scanned
    from prodguard.scanner.practices import TestPaths, analyze, wants

    def practice_findings(blob: Blob, rules: dict[str, Rule], root: str) -> list[Finding]:
        return analyze(blob, rules, TestPaths(root=root)).findings

except ImportError:  # an older checkout: Python only
    from prodguard.scanner.practices import run_practices, wants

    def practice_findings(blob: Blob, rules: dict[str, Rule], root: str) -> list[Finding]:
        return run_practices(blob, rules)


SUFFIXES = (".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every finding here")
    args = parser.parse_args(argv)
    catalogue = load_catalogue()
    rules = {r.id: r for r in catalogue.rules if r.id in CHECKS}
    engine = Engine(catalogue.pattern_rules)
    findings: list[dict[str, object]] = []
    files = wanted = size = 0
    practice_s = engine_s = prefilter_s = 0.0
    by_suffix: Counter[str] = Counter()
    for top in args.dirs:
        for folder, _dirs, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith(SUFFIXES):
                    continue
                path = os.path.join(folder, name)
                try:
                    data = Path(path).read_bytes()
                except OSError:
                    continue
                blob = Blob(path, data)
                files += 1
                size += len(data)
                by_suffix[os.path.splitext(name)[1]] += 1
                started = time.perf_counter()
                engine.scan(blob)
                engine_s += time.perf_counter() - started
                started = time.perf_counter()
                wanted += wants(blob)
                prefilter_s += time.perf_counter() - started
                started = time.perf_counter()
                found = practice_findings(blob, rules, str(top.resolve()))
                practice_s += time.perf_counter() - started
                for f in found:
                    findings.append(
                        {"rule": f.rule_id, "path": path, "line": f.line, "excerpt": f.excerpt, **f.extra}
                    )
    counts = Counter(str(f["rule"]) for f in findings)
    print(
        f"{files} files ({size / 1e6:.1f} MB; {dict(by_suffix.most_common())}), {wanted} pass the prefilter"
    )
    per_file = 1000 * practice_s / max(files, 1)
    print(
        f"practice analysis {practice_s:.2f} s ({per_file:.3f} ms/file; prefilter {prefilter_s:.2f} s), "
        f"pattern engine {engine_s:.2f} s ({1000 * engine_s / max(files, 1):.3f} ms/file): "
        f"practice/engine = {practice_s / max(engine_s, 1e-9):.2f}"
    )
    print("| rule | findings |\n|---|---|")
    for rule_id in sorted(rules):
        print(f"| {rule_id} | {counts.get(rule_id, 0)} |")
    if args.json:
        args.json.write_text(json.dumps(findings, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
