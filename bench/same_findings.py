"""Two prodguard JSON reports of the same scan hold the same findings: a speed change must not change
what is reported.

    python bench/same_findings.py BEFORE.json AFTER.json

Findings are compared as (rule, path, line, column, commit) multisets, suppressed ones included; the
counts per rule are printed, and every finding only one side has. Exit 0 when equal, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

Key = tuple[str, str, int, int, str]


def keys(report: Path) -> Counter[Key]:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    found: Counter[Key] = Counter()
    for finding in [*data["findings"], *data.get("suppressed", [])]:
        commit = (finding.get("commit") or {}).get("sha", "")
        found[(finding["rule_id"], finding["path"], finding["line"], finding["column"], commit)] += 1
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    before, after = keys(args.before), keys(args.after)
    per_rule = Counter(k[0] for k in before.elements())
    print(f"before {sum(before.values())}, after {sum(after.values())}: "
          + ", ".join(f"{rule} {n}" for rule, n in sorted(per_rule.items())))  # fmt: skip
    for label, only in (("only before", before - after), ("only after", after - before)):
        for key in sorted(only.elements()):
            print(f"{label}: {key}")
    return 0 if before == after else 1


if __name__ == "__main__":
    sys.exit(main())
