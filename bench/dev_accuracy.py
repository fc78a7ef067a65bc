"""Detection quality on labelled data written elsewhere: the secrets-dev corpus and the CredData dev split.

    python bench/dev_accuracy.py --secrets-dev ../shared/secrets-dev --creddata ../shared/creddata \
        [--creddata-data /tmp/creddata-dev/CredData/data] [--no-results]

Each data set is read from the path given and scored with the scorer shipped next to it (``score.py``);
a data set that is absent (or, for CredData, not yet built with its ``prepare.py``) is skipped with a
message, never faked. Nothing from either set is copied into the project: only the scores are written, to
the ``dev-accuracy`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchtools import machine, prodguard_command, today, update_section


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.stdout + (done.stderr if done.returncode else "")


def secrets_dev(root: Path, work: Path) -> str | None:
    corpus, scorer = root / "corpus", root / "score.py"
    if not corpus.is_dir() or not scorer.is_file():
        print(f"secrets-dev: skipped, no corpus/ and score.py under {root}", file=sys.stderr)
        return None
    report = work / "secrets-dev.json"
    scan = [*prodguard_command(), "scan", str(corpus), "--min-severity", "info", "--format", "json"]
    subprocess.run([*scan, "--output", str(report)], check=False, stdout=subprocess.DEVNULL)
    score = _run([sys.executable, str(scorer), str(report)])
    command = "prodguard scan corpus --min-severity info --format json --output F && python3 score.py F"
    return f"### secrets-dev\n\nCommand: `{command}`\n\n```\n{score.strip()}\n```\n"


def creddata(root: Path, data: Path, work: Path) -> str | None:
    scorer = root / "score.py"
    if not scorer.is_file():
        print(f"creddata: skipped, no score.py under {root}", file=sys.stderr)
        return None
    if not data.is_dir():
        print(f"creddata: skipped, {data} is not built (run {root}/prepare.py first)", file=sys.stderr)
        return None
    report = work / "creddata.sarif"
    scan = [*prodguard_command(), "scan", str(data), "--format", "sarif", "--output", str(report)]
    subprocess.run(scan, check=False, stdout=subprocess.DEVNULL)
    score = _run([sys.executable, str(scorer), str(report)])
    command = "prodguard scan /tmp/creddata-dev/CredData/data --format sarif --output F && python3 score.py F"
    return f"### CredData dev split (17 repositories)\n\nCommand: `{command}`\n\n```\n{score.strip()}\n```\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--secrets-dev", type=Path, help="the secrets-dev folder (corpus/, labels.jsonl, score.py)"
    )
    parser.add_argument("--creddata", type=Path, help="the creddata folder (prepare.py, score.py)")
    parser.add_argument(
        "--creddata-data",
        type=Path,
        default=Path("/tmp/creddata-dev/CredData/data"),
        help="built by prepare.py",
    )
    parser.add_argument("--no-results", action="store_true", help="print, do not write RESULTS.md")
    args = parser.parse_args(argv)
    parts = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.secrets_dev:
            parts.append(secrets_dev(args.secrets_dev, work))
        if args.creddata:
            parts.append(creddata(args.creddata, args.creddata_data, work))
    found = [p for p in parts if p]
    if not found:
        print("no data set available; nothing measured", file=sys.stderr)
        return 0
    body = "\n".join(
        [
            "## Detection on independent data (dev sets)",
            "",
            f"- Date: {today()}",
            f"- Machine: {machine()}",
            "- Command: `python bench/dev_accuracy.py --secrets-dev ../shared/secrets-dev --creddata ../shared/creddata`",
            "- Scoring is each set's own `score.py`, line by line (see their READMEs); dev data, not held-out.",
            "",
            *found,
        ]
    )
    print(body)
    if not args.no_results:
        update_section("dev-accuracy", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
