"""Git history and staged scans: time, unique-blob throughput, and a check of every attribution.

    python bench/history_speed.py [--commits 5000] [--runs 3] [--staged-runs 5] [--no-real] [--no-results]

1. Generates ``bench/out/history/churn`` (``history_repo.build_churn_repo``, fixed seed): >= 5,000 commits
   of small edits over real Python source, side branches merged every ~200 commits, and planted fake
   secrets. ``prodguard scan --history`` must report each one with the commit that introduced it and the
   line in that commit's blob; any wrong, missing or duplicated attribution fails the run (exit 1).
   Times the history scan (default jobs and ``--jobs 1``), a working-tree scan of the final checkout, and
   the git floors (``git log --raw`` to list, ``git cat-file --batch`` to read the unique blobs), and reports
   the ratio history / working tree (target < 20x).
2. Real history: successive PyPI sdist releases of a package (``pip download``, cached under
   ``bench/out/sdists/``) committed in order, scanned the same way. Not the project's own git history.
3. Staged: a 10,000-file repository with one modified, staged file; ``prodguard scan --staged`` end to end
   (process start included) against ``prodguard --version`` (target well under 0.5 s).

Every timing: one warm-up run (page cache warm), then best of N wall clock. The machine is shared: before
each measurement the script waits (up to ``--load-wait`` seconds) for the 1-minute load average to drop
below ``--max-load`` and prints the load next to each number. Results go to the ``history`` section of
bench/RESULTS.md; a failed check is recorded there as such, printed to stderr, and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchtools import BENCH, machine, prodguard_command, table, today, update_section, version_of
from history_repo import (
    ChurnRepo,
    PlantedSecret,
    assignment,
    build_churn_repo,
    build_flat_repo,
    build_release_repo,
    python_sources,
    secret_value,
    text_files,
)

OUT = BENCH / "out" / "history"
SDISTS = BENCH / "out" / "sdists"
STDLIB = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
SEED = 20251124
REAL_PACKAGE = "openai"
# 30 consecutive releases (oldest first); fixed so that the benchmark does not depend on the newest release.
REAL_VERSIONS = [
    "3.27.0",
    "3.28.0",
    "3.29.0",
    "3.30.0",
    "3.31.0",
    "3.32.0",
    "3.33.0",
    "3.34.0",
    "3.35.0",
    "3.35.1",
    "3.36.0",
    "3.36.1",
    "3.37.0",
    "3.38.0",
    "3.39.0",
    "3.40.0",
    "3.41.0",
    "3.42.0",
    "3.42.1",
    "3.43.0",
    "3.44.0",
    "3.45.0",
    "3.46.0",
    "3.48.0",
    "3.49.0",
    "3.50.0",
    "3.51.0",
    "3.52.0",
    "3.53.0",
    "3.54.0",
]
# Timed commands run with bytecode caching on, as a pip-installed prodguard has it: this machine sets
# PYTHONDONTWRITEBYTECODE, which makes every run of the editable install compile its modules from source.
# The cache goes to bench/out/pycache, not into the source tree.
PYCACHE = BENCH / "out" / "pycache"
LOG_ARGS = ["log", "--reverse", "--topo-order", "-m", "--root", "--raw", "--no-abbrev", "--no-renames", "-z"]


# --- timing ------------------------------------------------------------------------------------------


@dataclass
class Timed:
    label: str
    command: str
    best: float
    runs: list[float]
    load: float  # 1-minute load average when the timed runs started

    def cell(self) -> str:
        return f"{self.best:.3f}"


class Clock:
    def __init__(self, runs: int, max_load: float, load_wait: float) -> None:
        self.runs = runs
        self.max_load = max_load
        self.load_wait = load_wait

    def quiet_load(self) -> float:
        """Wait (a bounded time) for the machine to calm down; return the load we start with."""
        deadline = time.monotonic() + self.load_wait
        load = os.getloadavg()[0]
        while load > self.max_load and time.monotonic() < deadline:
            print(f"  load {load:.2f} > {self.max_load}: waiting", file=sys.stderr)
            time.sleep(15)
            load = os.getloadavg()[0]
        return load

    def time(
        self,
        label: str,
        argv: Sequence[str],
        shown: str,
        cwd: Path | None = None,
        runs: int | None = None,
        stdin: Path | None = None,
        bytecode: bool = True,
    ) -> Timed:
        env = timing_env(bytecode)

        def once() -> float:
            with open(stdin or os.devnull, "rb") as feed:
                started = time.perf_counter()
                subprocess.run(
                    argv,
                    cwd=cwd,
                    env=env,
                    stdin=feed,
                    check=False,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                return time.perf_counter() - started

        once()  # warm the page cache (and the interpreter's .pyc files)
        load = self.quiet_load()
        times = [once() for _ in range(runs or self.runs)]
        timed = Timed(label, shown, min(times), times, load)
        print(f"  {label}: {timed.best:.3f} s best of {len(times)} (load {load:.2f})", file=sys.stderr)
        return timed


def timing_env(bytecode: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def run_json(argv: Sequence[str], cwd: Path | None = None) -> tuple[int, dict[str, Any]]:
    """Run a prodguard command with ``--format json -o FILE``; (exit code, report)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.json"
        done = subprocess.run(
            [*argv, "--format", "json", "-o", str(out)], cwd=cwd, capture_output=True, text=True, check=False
        )
        if done.returncode not in (0, 1) or not out.exists():
            raise SystemExit(f"FAILED: {' '.join(argv)} exited {done.returncode}\n{done.stderr}")
        return done.returncode, json.loads(out.read_text(encoding="utf-8"))


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


# --- attribution check -------------------------------------------------------------------------------


@dataclass
class Verdict:
    plant: PlantedSecret
    reported: str  # "commit line" as reported, or "not reported"
    ok: bool


def check_attributions(
    planted: list[PlantedSecret], findings: list[dict[str, Any]]
) -> tuple[list[Verdict], list[str]]:
    """Each planted secret reported once at its path, with its introducing commit and line; findings at
    other paths are listed as unexpected (the churn uses only source files without secrets)."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for finding in findings:
        by_path.setdefault(finding["path"], []).append(finding)
    verdicts = []
    for plant in planted:
        found = by_path.pop(plant.path, [])
        shown = ", ".join(f"{f['commit']['sha'][:10]} line {f['line']} ({f['rule_id']})" for f in found)
        if not found:
            verdicts.append(Verdict(plant, "not reported", not plant.required))
            continue
        ok = len(found) == 1 and found[0]["commit"]["sha"] == plant.commit and found[0]["line"] == plant.line
        verdicts.append(Verdict(plant, shown, ok))
    unexpected = [
        f"{f['path']}:{f['line']} {f['rule_id']} {f['commit']['sha'][:10]}"
        for fs in by_path.values()
        for f in fs
    ]
    return verdicts, unexpected


def finding_keys(report: dict[str, Any]) -> set[tuple[str, int, str, str]]:
    return {(f["path"], f["line"], f["rule_id"], f["commit"]["sha"]) for f in report["findings"]}


# --- the three benchmarks ----------------------------------------------------------------------------


@dataclass
class HistoryRun:
    name: str
    repo: Path
    commits: int
    tree_files: int
    tree_bytes: int
    history: Timed
    history_single: Timed | None
    tree: Timed
    tree_single: Timed | None
    log: Timed
    cat: Timed
    report: dict[str, Any]

    @property
    def blobs(self) -> int:
        return int(self.report["stats"]["files_scanned"])

    @property
    def blob_bytes(self) -> int:
        return int(self.report["stats"]["bytes_scanned"])


def measure_history(clock: Clock, name: str, repo: Path, commits: int, single: bool) -> HistoryRun:
    """Scans run inside the repository on ``.``, so reported paths are repository paths."""
    pg = prodguard_command()
    _, report = run_json([*pg, "scan", "--history", "."], cwd=repo)
    _, tree_report = run_json([*pg, "scan", ".", "--no-gitignore"], cwd=repo)
    tracked = len(git(repo, "ls-files", "-z").split("\0")) - 1
    stats = tree_report["stats"]
    seen = stats["files_scanned"] + sum(stats["skipped"].get(k, 0) for k in ("binary", "too_large"))
    if seen != tracked:
        raise SystemExit(f"FAILED: the working-tree scan of {repo} saw {seen} files, git tracks {tracked}")
    print(f"{name}:", file=sys.stderr)

    def scan(label: str, *options: str) -> Timed:
        argv = [*pg, "scan", *options, ".", "--format", "json", "-o", os.devnull]
        return clock.time(label, argv, f"prodguard scan {' '.join(options)} .".replace("  ", " "), cwd=repo)

    history = scan("history", "--history")
    history_single = scan("history --jobs 1", "--history", "--jobs", "1") if single else None
    tree = scan("working tree", "--no-gitignore")
    tree_single = scan("working tree --jobs 1", "--no-gitignore", "--jobs", "1") if single else None
    log = clock.time(
        "git log --raw",
        ["git", *LOG_ARGS, "--format=%x01%H%x00%an <%ae>%x00%aI%x00", "HEAD", "--"],
        "git log --reverse --topo-order -m --root --raw --no-abbrev --no-renames -z HEAD",
        cwd=repo,
    )
    blobs = OUT / f"{repo.name}-blobs.txt"
    blobs.write_bytes(b"".join(blob.encode() + b"\n" for blob in unique_blobs(repo)))
    cat = clock.time(
        "git cat-file --batch",
        ["git", "cat-file", "--batch"],
        "git cat-file --batch < UNIQUE-BLOBS",
        repo,
        None,
        blobs,
    )
    tree_bytes = int(stats["bytes_scanned"])
    return HistoryRun(
        name, repo, commits, tracked, tree_bytes, history, history_single, tree, tree_single, log, cat, report
    )


def unique_blobs(repo: Path) -> list[str]:
    """Blobs of regular files added or changed in HEAD's history, first appearance first (what a history
    scan reads), parsed from ``git log --raw`` here so the floor does not depend on prodguard's code."""
    out = subprocess.run(
        ["git", "-C", str(repo), *LOG_ARGS, "--format=", "HEAD", "--"], capture_output=True, check=True
    ).stdout
    seen: dict[str, None] = {}
    tokens = iter(out.split(b"\0"))
    for token in tokens:
        token = token.strip(b"\n")
        if not token.startswith(b":"):
            continue
        next(tokens, None)  # the path
        _old_mode, new_mode, _old, new, status = token[1:].split(b" ")[:5]
        if status[:1] in (b"A", b"M", b"T") and new_mode in (b"100644", b"100755"):
            seen.setdefault(new.decode(), None)
    return list(seen)


def churn_benchmark(
    clock: Clock, commits: int
) -> tuple[ChurnRepo, HistoryRun, list[Verdict], list[str], bool]:
    started = time.perf_counter()
    donors = python_sources(STDLIB, skip=("site-packages",))
    churn = build_churn_repo(OUT / "churn", donors, SEED, commits)
    churn.seconds = time.perf_counter() - started
    print(
        f"churn repository: {churn.commits} commits ({churn.main_commits} on main, {churn.merges} merges), "
        f"{churn.files_final} files, generated in {churn.seconds:.1f} s",
        file=sys.stderr,
    )
    run = measure_history(clock, "churn", churn.repo, churn.commits, single=True)
    verdicts, unexpected = check_attributions(churn.planted, run.report["findings"])
    _, single_report = run_json(
        [*prodguard_command(), "scan", "--history", "--jobs", "1", "."], cwd=churn.repo
    )
    same = finding_keys(single_report) == finding_keys(run.report)
    return churn, run, verdicts, unexpected, same


def download_sdists(package: str, versions: Sequence[str]) -> list[tuple[str, Path]]:
    SDISTS.mkdir(parents=True, exist_ok=True)
    found = []
    for version in versions:
        matches = sorted(SDISTS.glob(f"{package}-{version}.tar.gz"))
        if not matches:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    "-d",
                    str(SDISTS),
                    f"{package}=={version}",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"pip download {package}=={version} failed:\n{done.stderr}")
            matches = sorted(SDISTS.glob(f"{package}-{version}.tar.gz"))
        if not matches:
            raise SystemExit(f"pip download saved no {package}-{version}.tar.gz in {SDISTS}")
        found.append((version, matches[0]))
    return found


def real_benchmark(clock: Clock, package: str, versions: Sequence[str]) -> HistoryRun:
    archives = download_sdists(package, versions)
    repo = OUT / f"{package}-releases"
    commits = build_release_repo(repo, archives)
    return measure_history(clock, f"{package} releases", repo, commits, single=True)


@dataclass
class StagedRun:
    files: int
    staged_path: str
    staged: Timed
    version: Timed
    uncached: Timed
    diff: Timed
    findings: list[str]


def staged_benchmark(clock: Clock, files: int, runs: int) -> StagedRun:
    repo = OUT / "staged"
    chosen = text_files(STDLIB, files)
    if len(chosen) < files:
        raise SystemExit(f"only {len(chosen)} text files under {STDLIB}; need {files}")
    build_flat_repo(repo, chosen)
    path = chosen[len(chosen) // 2][0]
    # A real edit with a (fake) key, so the staged scan has one thing to find and the check can see it.
    name, value = secret_value("openai-project-58", random.Random(SEED))
    target = repo / path
    target.write_bytes(target.read_bytes() + assignment(name, value, "py"))
    subprocess.run(["git", "-C", str(repo), "add", "--", path], check=True)
    pg = prodguard_command()
    code, report = run_json([*pg, "scan", "--staged"], cwd=repo)
    found = [f"{f['path']}:{f['line']} {f['rule_id']}" for f in report["findings"]]
    if code != 1 or [f["path"] for f in report["findings"]] != [path]:
        raise SystemExit(
            f"FAILED: staged scan of {repo} (exit {code}) reported {found}, expected one finding in {path}"
        )
    print("staged:", file=sys.stderr)
    staged = clock.time(
        "scan --staged", [*pg, "scan", "--staged"], "prodguard scan --staged", cwd=repo, runs=runs
    )
    version = clock.time("--version", [*pg, "--version"], "prodguard --version", runs=runs)
    uncached = clock.time(
        "scan --staged, no bytecode cache",
        [*pg, "scan", "--staged"],
        "PYTHONDONTWRITEBYTECODE=1 prodguard scan --staged",
        cwd=repo,
        runs=runs,
        bytecode=False,
    )
    diff = clock.time(
        "git diff --cached",
        ["git", "diff", "--cached", "--name-only", "-z", "HEAD"],
        "git diff --cached --name-only -z HEAD",
        cwd=repo,
        runs=runs,
    )
    return StagedRun(files, path, staged, version, uncached, diff, found)


# --- report ------------------------------------------------------------------------------------------


def _load(t: Timed | None) -> str:
    return "—" if t is None else f"{t.load:.2f}"


def history_tables(runs: list[HistoryRun]) -> str:
    sizes = table(
        ["repository", "commits", "final tree files", "final tree MB", "unique blobs", "unique-blob MB"],
        [
            [
                run.name,
                f"{run.commits:,}",
                f"{run.tree_files:,}",
                f"{run.tree_bytes / 1e6:.1f}",
                f"{run.blobs:,}",
                f"{run.blob_bytes / 1e6:.1f}",
            ]
            for run in runs
        ],
    )
    timings = table(
        ["repository", "command", "best s", "runs (s)", "load"],
        [
            [
                run.name,
                f"`{t.command}`",
                f"{t.best:.3f}",
                " ".join(f"{r:.3f}" for r in t.runs),
                f"{t.load:.2f}",
            ]
            for run in runs
            for t in (run.history, run.history_single, run.tree, run.tree_single, run.log, run.cat)
            if t is not None
        ],
    )
    derived = []
    for run in runs:
        mb = run.blob_bytes / 1e6
        single = (
            f"{run.history_single.best / run.tree_single.best:.1f}x"
            if run.history_single is not None and run.tree_single is not None
            else "—"
        )
        derived.append(
            [
                run.name,
                f"**{run.history.best / run.tree.best:.1f}x**",
                single,
                f"{run.blobs / run.history.best:,.0f}",
                f"{mb / run.history.best:.1f}",
                f"{run.commits * run.tree.best / run.history.best:,.0f}x",
            ]
        )
    ratios = table(
        [
            "repository",
            "history / working tree",
            "same, both --jobs 1",
            "unique blobs/s",
            "unique-blob MB/s",
            "cheaper than N tree scans by",
        ],
        derived,
    )
    return "\n\n".join([sizes, timings, ratios])


def verdict_table(verdicts: list[Verdict]) -> str:
    def status(v: Verdict) -> str:
        if not v.ok:
            return "**WRONG**"
        return "ok" if v.reported != "not reported" else "ok (blob already reported at its first path)"

    rows = [
        [
            v.plant.scenario,
            v.plant.kind,
            f"`{v.plant.path}`",
            f"{v.plant.commit[:10]} line {v.plant.line}",
            "must" if v.plant.required else "may",
            v.reported,
            status(v),
        ]
        for v in verdicts
    ]
    return table(["planted", "kind", "path", "introduced by", "reported?", "reported as", "check"], rows)


def render(
    args: argparse.Namespace,
    load_start: float,
    churn: ChurnRepo,
    churn_run: HistoryRun,
    verdicts: list[Verdict],
    unexpected: list[str],
    same: bool,
    real: HistoryRun | None,
    staged: StagedRun | None,
) -> str:
    required = [v for v in verdicts if v.plant.required]
    ratio = churn_run.history.best / churn_run.tree.best
    lines = [
        "## Git history and staged scans",
        "",
        f"- Date: {today()}",
        f"- Machine: {machine()}; 1-minute load average at start {load_start:.2f} (each timing shows the load "
        f"when its runs started; the script waits up to {args.load_wait:g} s for it to fall below {args.max_load:g})",
        f"- Command: `python bench/history_speed.py --commits {args.commits} --runs {args.runs} "
        f"--staged-runs {args.staged_runs}`; prodguard `{version_of([*prodguard_command(), '--version'])}`, "
        f"`{version_of(['git', '--version'])}`",
        f"- Timing: wall clock including process start, one warm-up run (page cache and bytecode cache warm), "
        f"best of {args.runs} (staged: best of {args.staged_runs}). Output `--format json -o /dev/null`. "
        "Python bytecode caching is on (`PYTHONPYCACHEPREFIX=bench/out/pycache`), as in a pip install; this "
        "machine sets `PYTHONDONTWRITEBYTECODE=1`, under which the editable install compiles its modules from "
        "source on every run (the staged table shows that case too).",
        "",
        "### History scan",
        "",
        f"`churn`: `bench/out/history/churn`, generated by `history_repo.build_churn_repo` (seed {SEED}) with one "
        f"`git fast-import` stream: {churn.commits} commits ({churn.main_commits} on `main`, {churn.merges} merges of "
        f"side branches of 4-9 commits every 200 commits), starting from 1,200 Python files of the standard "
        f"library ({STDLIB}); each commit edits 1-4 files (hot files, heavy-tailed, get most edits) with 1-3 "
        "small hunks of lines from other real files; now and then a file is added, deleted or renamed. "
        f"Final tree {churn.files_final} files. Generating and checking out the repository took "
        f"{churn.seconds:.1f} s.",
    ]
    if real is not None:
        lines.append(
            f"`{real.name}`: `bench/out/history/{args.real_package}-releases`, the sdists of {len(args.real_versions)} "
            f"consecutive {args.real_package} releases ({args.real_versions[0]} to {args.real_versions[-1]}, `pip "
            "download --no-deps --no-binary :all:`) committed in order, one commit per release replacing the whole "
            "tree. Real code and real churn between releases, but far fewer, larger commits than the project's "
            "git history (which is not available offline)."
        )
    runs = [churn_run] + ([real] if real is not None else [])
    lines += [
        "",
        history_tables(runs),
        "",
        "Unique blobs = every blob a commit in the range adds or changes, each read once "
        "(`stats.files_scanned`); MB = their bytes. *Cheaper than N tree scans by* = commits × working-tree "
        "time / history time: the saving over scanning each commit's tree.",
        "",
        f"Target: a {churn.commits}-commit history scan in under 20x the time of one working-tree scan of the final "
        f"tree: **{'met' if ratio < 20 else 'NOT met'}** ({ratio:.1f}x).",
        "",
    ]
    if real is not None:
        lines += [
            f"Findings in the {real.name} history (default severity): {len(real.report['findings'])} "
            f"({', '.join(f'{k} {v}' for k, v in sorted(_rule_counts(real.report).items())) or 'none'}).",
            "",
        ]
    failed = [v for v in required if not v.ok]
    wrong = [v for v in verdicts if not v.ok]
    lines += [
        "### Attribution check (churn repository)",
        "",
        f"**{'CHECK FAILED' if wrong or unexpected or not same else 'Check passed'}.** "
        f"`prodguard scan --history --format json`: {len(required) - len(failed)} of {len(required)} planted "
        "secrets that must be reported are reported once at their path with the commit that introduced them "
        "and the line in that commit's blob; "
        f"wrong attributions in all: {len(wrong)}; unexpected findings: {len(unexpected) or 'none'}; "
        f"`--jobs 1` and the default give {'identical' if same else 'DIFFERENT'} findings. A path whose first "
        "blob was already committed at another path (*may* rows: a copy or a rename) need not be reported, "
        "since each blob is read once; if it is reported, it must name the commit that put the secret at "
        "that path.",
        "",
        verdict_table(verdicts),
        "",
    ]
    if unexpected:
        lines += ["Unexpected findings: " + "; ".join(unexpected), ""]
    if staged is not None:
        lines += [
            "### Staged scan",
            "",
            f"`bench/out/history/staged`: one commit of {staged.files:,} text files (the first of a sorted walk of "
            f"{STDLIB}, site-packages included), then a fake key appended to `{staged.staged_path}` and staged. "
            f"`prodguard scan --staged` reports it ({', '.join(staged.findings)}).",
            "",
            table(
                ["command", "best s", "runs (s)", "load"],
                [
                    [f"`{t.command}`", f"{t.best:.3f}", " ".join(f"{r:.3f}" for r in t.runs), f"{t.load:.2f}"]
                    for t in (staged.staged, staged.version, staged.uncached, staged.diff)
                ],
            ),
            "",
            f"Target: well under 0.5 s end to end: **{'met' if staged.staged.best < 0.5 else 'NOT met'}** "
            f"({staged.staged.best:.3f} s, of which {staged.version.best:.3f} s is the start-up floor of "
            f"`prodguard --version`; {staged.uncached.best:.3f} s without a bytecode cache).",
        ]
    return "\n".join(lines)


def _rule_counts(report: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for finding in report["findings"]:
        counts[finding["rule_id"]] = counts.get(finding["rule_id"], 0) + 1
    return counts


# --- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000, help="main-branch commits (default 5000)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--staged-runs", type=int, default=5)
    parser.add_argument("--staged-files", type=int, default=10_000)
    parser.add_argument("--real-package", default=REAL_PACKAGE)
    parser.add_argument(
        "--real-versions",
        type=lambda s: s.split(","),
        default=REAL_VERSIONS,
        help="comma-separated versions, oldest first",
    )
    parser.add_argument("--no-real", action="store_true", help="skip the PyPI release history")
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--load-wait", type=float, default=240.0, help="seconds to wait for a low load")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    clock = Clock(args.runs, args.max_load, args.load_wait)
    churn, churn_run, verdicts, unexpected, same = churn_benchmark(clock, args.commits)
    real = None if args.no_real else real_benchmark(clock, args.real_package, args.real_versions)
    staged = staged_benchmark(clock, args.staged_files, args.staged_runs)
    report = render(args, load_start, churn, churn_run, verdicts, unexpected, same, real, staged)
    print(report)
    failures = [v for v in verdicts if not v.ok]
    if failures or unexpected or not same:
        print("\nFAILED: prodguard's history attribution is wrong:", file=sys.stderr)
        for v in failures:
            print(
                f"  {v.plant.scenario}: {v.plant.path} introduced by {v.plant.commit} line {v.plant.line}; "
                f"reported: {v.reported}",
                file=sys.stderr,
            )
        for item in unexpected:
            print(f"  unexpected finding: {item}", file=sys.stderr)
        if not same:
            print("  --jobs 1 and the default job count report different findings", file=sys.stderr)
        print(f"  reproduce: cd {churn.repo} && prodguard scan --history --format json .", file=sys.stderr)
    if not args.no_results:
        update_section("history", report)
    return 1 if failures or unexpected or not same else 0


if __name__ == "__main__":
    sys.exit(main())
