"""Count code-practice findings (every registered AST check, PG207 included) on trees of third-party Python.

    python bench/practice_counts.py DIR [DIR ...] [--json OUT]

``prodguard scan`` reports the practice rules but leaves PG207 to the environment analyzer, which only
reports it in repositories with several environments; this script runs the checks directly so every rule
gets a count. It prints a table per rule and, with ``--json``, writes every finding (path, line, redacted
excerpt) for the manual review recorded in RESULTS.md ("practices" section, written by hand).
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
from prodguard.scanner.blob import Blob
from prodguard.scanner.practices import CHECKS, run_practices


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, help="write every finding here")
    args = parser.parse_args(argv)
    rules = {r.id: r for r in load_catalogue().rules if r.id in CHECKS}
    findings: list[dict[str, object]] = []
    files = parsed = 0
    started = time.perf_counter()
    for top in args.dirs:
        for folder, _dirs, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith((".py", ".pyi")):
                    continue
                path = os.path.join(folder, name)
                try:
                    data = Path(path).read_bytes()
                except OSError:
                    continue
                files += 1
                parsed += b"openai" in data.lower()
                for f in run_practices(Blob(path, data), rules):
                    findings.append(
                        {"rule": f.rule_id, "path": path, "line": f.line, "excerpt": f.excerpt, **f.extra}
                    )
    seconds = time.perf_counter() - started
    counts = Counter(str(f["rule"]) for f in findings)
    print(f"{files} Python files, {parsed} mention openai (parsed), {seconds:.1f} s")
    print("| rule | findings |\n|---|---|")
    for rule_id in sorted(rules):
        print(f"| {rule_id} | {counts.get(rule_id, 0)} |")
    if args.json:
        args.json.write_text(json.dumps(findings, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
