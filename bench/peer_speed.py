"""prodguard against Kingfisher on SDK-heavy repositories: working tree, full history, and a large haystack.

    python bench/peer_speed.py --openai-python REPO --juice-shop REPO [--haystack DIR] [--runs 3]
                               [--only NAMES] [--notes FILE] [--no-results]

Kingfisher (Rust + Vectorscan) is installed from PyPI as ``kingfisher-bin`` (pinned below) into the peer
virtualenv ``bench/.peers`` when it is missing there. Both tools run on the same inputs in one run,
alternating, each with one warm-up run (page cache, Kingfisher's compiled-rule cache, prodguard's bytecode)
and then best of ``--runs`` wall clock:

- ``openai-python tree``: the working tree of the ``--openai-python`` repository (a bare repository's
  ``HEAD`` is exported with ``git archive`` into ``bench/out/peer/``);
- ``openai-python history`` and ``juice-shop history``: every commit of every ref
  (``prodguard scan --history --all-refs --history-practices``: practice rules on; Kingfisher's default
  full-history git scan);
- ``haystack``: any directory (``bench/scan_speed.py`` builds its 210 MB site-packages corpus in
  ``bench/corpus-thirdparty/``).

Targets whose path is not given or does not exist are skipped with a message. prodguard runs with its
default rules, practice rules included, at ``--min-severity info``; Kingfisher with ``--no-validate`` (no
network) and ``-j`` equal to prodguard's worker count (the core count). Peak memory is sampled over each
tool's whole process tree (workers and git included) every 50 ms. Findings are counted per tool (prodguard
split into secret/identifier and practice findings). The ``peers`` section of bench/RESULTS.md records
the command, the machine, the times, the ratios and the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchtools import BENCH, machine, prodguard_command, table, today, update_section, version_of

KINGFISHER_PACKAGE = "kingfisher-bin"
KINGFISHER_VERSION = "2.14.0"
PEERS = BENCH / ".peers"
OUT = BENCH / "out" / "peer"
# A pip-installed prodguard has its bytecode cached; this machine sets PYTHONDONTWRITEBYTECODE, which would
# make every run of the editable install compile its modules from source. The cache goes to bench/out.
PYCACHE = BENCH / "out" / "pycache"


@dataclass(frozen=True)
class Target:
    name: str
    path: Path
    history: bool


@dataclass
class Run:
    seconds: list[float] = field(default_factory=list)
    peak_rss: int = 0  # bytes, largest sampled sum over the process tree
    findings: str = "?"

    @property
    def best(self) -> float:
        return min(self.seconds)


def kingfisher() -> Path:
    """The pinned Kingfisher binary in bench/.peers, installed there on first use."""
    binary = PEERS / "bin" / "kingfisher"
    if binary.exists() and KINGFISHER_VERSION in version_of([str(binary), "--version"]):
        return binary
    if not (PEERS / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEERS)], check=True)
    subprocess.run(
        [str(PEERS / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         f"{KINGFISHER_PACKAGE}=={KINGFISHER_VERSION}"],
        check=True,
    )  # fmt: skip
    return binary


def is_bare(repo: Path) -> bool:
    done = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--is-bare-repository"], capture_output=True, text=True
    )
    return done.stdout.strip() == "true"


def working_tree(repo: Path) -> Path:
    """The repository's working tree, or its ``HEAD`` exported once into bench/out/peer/ when it is bare."""
    if not is_bare(repo):
        return repo
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tree = OUT / f"{repo.parent.name if repo.name == 'repo' else repo.name}-{head[:12]}"
    if not tree.exists():
        partial = tree.with_name(tree.name + ".partial")
        partial.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "-C", str(repo), "archive", "HEAD"], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(partial)], stdin=archive.stdout, check=True)
        archive.wait()
        partial.rename(tree)
    return tree


def _tree_rss(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * page
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += rss.get(pid, 0)
        pending.extend(children.get(pid, ()))
    return total


def timed_run(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, int]:
    """(wall seconds, peak process-tree RSS in bytes, exit code) of one run."""
    peak = 0
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, _tree_rss(process.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode not in (0, 1, 200, 205):
        raise SystemExit(
            f"FAILED ({process.returncode}): {' '.join(argv)}\n{stderr.decode(errors='replace')}"
        )
    return elapsed, peak, process.returncode


def prodguard_argv(target: Target, report: Path) -> list[str]:
    argv = [*prodguard_command(), "scan", str(target.path), "--min-severity", "info"]
    if target.history:
        argv += ["--history", "--all-refs", "--history-practices"]
    return [*argv, "--format", "json", "-o", str(report)]


def kingfisher_argv(binary: Path, target: Target, report: Path, jobs: int) -> list[str]:
    argv = [str(binary), "scan", str(target.path), "--no-validate", "--no-update-check", "-j", str(jobs)]
    if not target.history:
        argv += ["--git-history", "none"]
    return [*argv, "--format", "json", "--output", str(report)]


def prodguard_counts(report: Path) -> str:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    kinds = Counter(f.get("kind", "?") for f in data["findings"])
    practice = kinds.pop("practice", 0)
    return f"{sum(kinds.values())} secret/identifier + {practice} practice"


def kingfisher_counts(report: Path) -> str:
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return str(len(data.get("findings", [])))


def measure(target: Target, binary: Path, runs: int, jobs: int, workdir: Path) -> tuple[Run, Run]:
    pg_report, kf_report = workdir / "prodguard.json", workdir / "kingfisher.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    commands = {
        "prodguard": prodguard_argv(target, pg_report),
        "kingfisher": kingfisher_argv(binary, target, kf_report, jobs),
    }
    results = {"prodguard": Run(), "kingfisher": Run()}
    for argv in commands.values():
        timed_run(argv, workdir, env)  # warm-up
    for _ in range(runs):  # alternate, so both tools see the same machine load
        for tool, argv in commands.items():
            seconds, peak, _code = timed_run(argv, workdir, env)
            results[tool].seconds.append(seconds)
            results[tool].peak_rss = max(results[tool].peak_rss, peak)
    results["prodguard"].findings = prodguard_counts(pg_report)
    results["kingfisher"].findings = kingfisher_counts(kf_report)
    for tool, run in results.items():
        times = ", ".join(f"{s:.2f}" for s in run.seconds)
        print(f"  {target.name} {tool}: best {run.best:.2f} s ({times}), peak {run.peak_rss >> 20} MiB, "
              f"findings {run.findings}", file=sys.stderr)  # fmt: skip
    return results["prodguard"], results["kingfisher"]


def render(rows: list[tuple[Target, Run, Run]], skipped: list[str], argv: Sequence[str], runs: int) -> str:
    lines = [
        "## prodguard against Kingfisher (working tree, full history, haystack)",
        "",
        f"- Date: {today()}",
        f"- Machine: {machine()}; load average at the end {os.getloadavg()[0]:.2f} (shared machine)",
        f"- Command: `python bench/peer_speed.py {' '.join(argv)}`",
        f"- Tools (same run, alternating; one warm-up each, then best of {runs} wall clock): "
        f"prodguard `{version_of([*prodguard_command(), '--version'])}` (default rules with practice rules, "
        f"`--min-severity info`), Kingfisher `{KINGFISHER_PACKAGE}=={KINGFISHER_VERSION}` (`--no-validate`)",
        "- Ratio = Kingfisher's time / prodguard's (above 1: prodguard is faster). Peak memory is the largest"
        " sampled sum over the tool's process tree (workers and git included).",
        "",
    ]
    header = ["target", "prodguard s", "Kingfisher s", "ratio", "prodguard peak MiB", "Kingfisher peak MiB",
              "prodguard findings", "Kingfisher findings"]  # fmt: skip
    body = [
        [
            f"{t.name} (`{t.path}`)",
            f"{pg.best:.2f}",
            f"{kf.best:.2f}",
            f"{kf.best / pg.best:.2f}x",
            str(pg.peak_rss >> 20),
            str(kf.peak_rss >> 20),
            pg.findings,
            kf.findings,
        ]
        for t, pg, kf in rows
    ]
    lines.append(table(header, body))
    if skipped:
        lines += ["", "Skipped: " + "; ".join(skipped)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--openai-python", type=Path, help="git repository of openai/openai-python")
    parser.add_argument("--juice-shop", type=Path, help="git repository of juice-shop/juice-shop")
    parser.add_argument("--haystack", type=Path, help="directory of third-party text (site-packages)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated target names to run (default all)")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    parser.add_argument(
        "--notes",
        type=Path,
        help="markdown file appended to the section (profiles, before/after tables measured otherwise)",
    )
    args = parser.parse_args(argv)

    targets: list[Target] = []
    skipped: list[str] = []
    if args.openai_python is not None and args.openai_python.exists():
        targets.append(Target("openai-python tree", working_tree(args.openai_python.resolve()), False))
        targets.append(Target("openai-python history", args.openai_python.resolve(), True))
    else:
        skipped.append("openai-python (no --openai-python repository)")
    if args.juice_shop is not None and args.juice_shop.exists():
        targets.append(Target("juice-shop history", args.juice_shop.resolve(), True))
    else:
        skipped.append("juice-shop (no --juice-shop repository)")
    if args.haystack is not None and args.haystack.is_dir():
        targets.append(Target("haystack", args.haystack.resolve(), False))
    else:
        skipped.append("haystack (no --haystack directory)")
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        targets = [t for t in targets if t.name in wanted]
    for message in skipped:
        print(f"skipped: {message}", file=sys.stderr)
    if not targets:
        print("nothing to run", file=sys.stderr)
        return 0

    binary = kingfisher()
    jobs = os.cpu_count() or 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="peer-speed-") as tmp:
        for target in targets:
            rows.append((target, *measure(target, binary, args.runs, jobs, Path(tmp))))
    report = render(rows, skipped, argv if argv is not None else sys.argv[1:], args.runs)
    if args.notes is not None:
        report += "\n\n" + args.notes.read_text(encoding="utf-8").strip()
    print(report)
    if not args.no_results:
        update_section("peers", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
