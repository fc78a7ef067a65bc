"""Scan throughput of prodguard and its peers on >= 200 MB of real third-party source, in one run.

    python bench/scan_speed.py [--source DIR ...] [--megabytes 210] [--runs 3] [--no-results] [--profile]

Builds ``bench/corpus-thirdparty/`` (text files copied from installed site-packages, binaries skipped),
a 20 MB hard-linked subset under ``bench/out/thirdparty-subset/`` and bare git repositories of both under
``bench/out/`` for trufflehog v2 (it scans git history, not directories). Each command runs once to warm
the page cache and then ``--runs`` times; the best wall-clock time counts (start-up included). Commands
slower than ``--slow-seconds`` on their warm-up run are timed once more only. detect-secrets and
CredSweeper run on the subset and their MB/s is extrapolated; so says the table. Flagged lines per tool are
counted on the subset (all tools) and on the full corpus (the tools that scan it). Results go to the
``speed`` section of bench/RESULTS.md; ``--profile`` adds a cProfile of ``prodguard scan --jobs 1``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchtools import BENCH, machine, peer, prodguard_command, table, today, update_section, version_of

DEFAULT_SOURCES = (
    "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages",
    "/tmp/venv/lib/python3.11/site-packages",
)
CORPUS = BENCH / "corpus-thirdparty"
OUT = BENCH / "out"
SUBSET = OUT / "thirdparty-subset"
MANIFEST = OUT / "thirdparty-manifest.json"
RG_PATTERN = "sk-proj-[A-Za-z0-9_-]{20,}"
MAX_FILE = 8 * 1024 * 1024  # below prodguard's 20 MiB default, so every tool sees the same files
BINARY_SUFFIXES = frozenset(
    [
        ".so",
        ".pyc",
        ".pyd",
        ".pyo",
        ".dll",
        ".dylib",
        ".a",
        ".o",
        ".exe",
        ".whl",
        ".zip",
        ".gz",
        ".bz2",
        ".xz",
        ".tar",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".ico",
        ".pdf",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".npy",
        ".npz",
        ".pkl",
        ".db",
        ".sqlite",
        ".onnx",
        ".bin",
        ".mo",
    ]
)
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
}


# --- corpus ------------------------------------------------------------------------------------------


def _is_text(path: Path) -> bool:
    if path.suffix.lower() in BINARY_SUFFIXES or path.name == ".gitignore":
        return False
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError:
        return False
    return b"\0" not in head


def build_corpus(sources: list[Path], target: int) -> tuple[int, int]:
    """Copy text files (sorted walk, so the same machine gives the same corpus) until ``target`` bytes."""
    wanted = {"sources": [str(s) for s in sources], "target": target}
    if MANIFEST.exists() and CORPUS.exists():
        manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
        if manifest.get("wanted") == wanted:
            return manifest["files"], manifest["bytes"]
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    files = total = 0
    for number, source in enumerate(sources):
        for root, dirs, names in os.walk(source):
            dirs.sort()
            dirs[:] = [d for d in dirs if d not in ("__pycache__", ".git")]
            for name in sorted(names):
                path = Path(root, name)
                if path.is_symlink() or not path.is_file():
                    continue
                size = path.stat().st_size
                if size == 0 or size > MAX_FILE or not _is_text(path):
                    continue
                target_path = CORPUS / f"src{number}" / path.relative_to(source)
                target_path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target_path)
                files += 1
                total += size
                if total >= target:
                    break
            if total >= target:
                break
    OUT.mkdir(exist_ok=True)
    MANIFEST.write_text(
        json.dumps({"wanted": wanted, "files": files, "bytes": total}) + "\n", encoding="utf-8"
    )
    return files, total


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file())


def build_subset(target: int) -> tuple[int, int]:
    """Hard links to every k-th corpus file (k = corpus size // target) until ``target`` bytes."""
    if SUBSET.exists():
        shutil.rmtree(SUBSET)
    paths = corpus_files()
    total_size = sum(p.stat().st_size for p in paths)
    stride = max(1, total_size // target)
    files = size = 0
    for path in paths[::stride]:
        if size >= target:
            break
        link = SUBSET / path.relative_to(CORPUS)
        link.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, link)
        files += 1
        size += path.stat().st_size
    return files, size


def build_git(tree: Path, git_dir: Path) -> None:
    """A bare repository holding ``tree`` as one commit (trufflehog v2 reads commits, not directories)."""
    if git_dir.exists():
        shutil.rmtree(git_dir)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "--quiet", "--bare", str(git_dir)], check=True, env=env)
    git = ["git", "--git-dir", str(git_dir), "--work-tree", str(tree), "-c", "core.excludesFile=/dev/null"]
    subprocess.run([*git, "add", "--all", "--force", "."], check=True, env=env, cwd=tree)
    subprocess.run([*git, "commit", "--quiet", "--no-verify", "-m", "corpus"], check=True, env=env, cwd=tree)
    # trufflehog --repo_path fetches from "origin" before scanning: point it at the repository itself.
    subprocess.run(
        ["git", "--git-dir", str(git_dir), "remote", "add", "origin", str(git_dir)], check=True, env=env
    )


# --- timing ------------------------------------------------------------------------------------------


@dataclass
class Timing:
    name: str
    command: str
    corpus: str  # "full" or "subset"
    megabytes: float
    best: float
    runs: list[float]

    @property
    def mb_per_s(self) -> float:
        return self.megabytes / self.best if self.best else 0.0


def time_command(command: list[str], runs: int, slow_seconds: float, cwd: Path | None = None) -> list[float]:
    def once() -> float:
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - started

    warm = once()
    count = 1 if warm > slow_seconds else runs
    return [once() for _ in range(count)]


@dataclass(frozen=True)
class Tool:
    name: str
    corpus: str
    command: Callable[[Path, Path], list[str]]  # (tree, git_dir) -> argv
    shown: str


def _pg(*extra: str) -> Callable[[Path, Path], list[str]]:
    return lambda tree, _git: [
        *prodguard_command(),
        "scan",
        str(tree),
        "--format",
        "json",
        "-o",
        os.devnull,
        "--no-gitignore",
        *extra,
    ]


def _trufflehog(tree: Path, git_dir: Path) -> list[str]:
    return [
        peer("trufflehog"),
        "--regex",
        "--entropy=False",
        "--repo_path",
        str(git_dir),
        f"file://{git_dir}",
    ]


def _rg(tree: Path, _git: Path) -> list[str]:
    return ["rg", "--no-ignore", "--hidden", "-c", RG_PATTERN, str(tree)]


TOOLS = (
    Tool("prodguard", "full", _pg(), "prodguard scan DIR --format json -o /dev/null --no-gitignore"),
    Tool(
        "prodguard --jobs 1",
        "full",
        _pg("--jobs", "1"),
        "prodguard scan DIR --jobs 1 --format json -o /dev/null --no-gitignore",
    ),
    Tool("rg (one OpenAI regex)", "full", _rg, f"rg --no-ignore --hidden -c '{RG_PATTERN}' DIR"),
    Tool(
        "trufflehog 2.2.1",
        "full",
        _trufflehog,
        "trufflehog --regex --entropy=False --repo_path GIT file://GIT",
    ),
    Tool(
        "detect-secrets",
        "subset",
        lambda tree, _g: [peer("detect-secrets"), "scan", "--all-files", str(tree)],
        "detect-secrets scan --all-files SUBSET",
    ),
    Tool(
        "credsweeper",
        "subset",
        lambda tree, _g: [
            peer("credsweeper"),
            "--path",
            str(tree),
            "--jobs",
            "2",
            "--save-json",
            os.devnull,
            "--no-stdout",
        ],
        "credsweeper --path SUBSET --jobs 2",
    ),
)


# --- flagged lines -----------------------------------------------------------------------------------


def flagged_prodguard(tree: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pg.json"
        subprocess.run(
            [*prodguard_command(), "scan", str(tree), "--format", "json", "-o", str(out), "--no-gitignore"],
            check=False,
            stdout=subprocess.DEVNULL,
        )
        findings = json.loads(out.read_text(encoding="utf-8"))["findings"]
    return len({(f["path"], f.get("cell"), f["line"]) for f in findings})


def flagged_detect_secrets(tree: Path) -> int:
    done = subprocess.run(
        [peer("detect-secrets"), "scan", "--all-files", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    results = json.loads(done.stdout)["results"]
    return len({(path, item["line_number"]) for path, items in results.items() for item in items})


def flagged_credsweeper(tree: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cs.json"
        subprocess.run(
            [peer("credsweeper"), "--path", ".", "--jobs", "2", "--save-json", str(out), "--no-stdout"],
            cwd=tree,
            capture_output=True,
            check=True,
        )
        document = json.loads(out.read_text(encoding="utf-8"))
    return len({(line["path"], line["line_num"]) for item in document for line in item["line_data_list"]})


def flagged_trufflehog(git_dir: Path) -> int:
    """Distinct (path, string) pairs: trufflehog v2 reports strings per diff, without line numbers."""
    done = subprocess.run(
        [
            peer("trufflehog"),
            "--json",
            "--regex",
            "--entropy=False",
            "--repo_path",
            str(git_dir),
            f"file://{git_dir}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    found = set()
    for line in done.stdout.splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        for string in item.get("stringsFound", []):
            found.add((item.get("path"), string))
    return len(found)


def flagged_rg(tree: Path) -> int:
    done = subprocess.run(
        ["rg", "--no-ignore", "--hidden", "-c", "--no-filename", RG_PATTERN, str(tree)],
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(int(n) for n in done.stdout.split())


# --- profile -----------------------------------------------------------------------------------------


def profile_prodguard(tree: Path, top: int = 25) -> str:
    """cProfile of an in-process ``prodguard scan --jobs 1`` (the CLI's own code path)."""
    from prodguard.cli import cli

    profiler = cProfile.Profile()
    argv = ["scan", str(tree), "--jobs", "1", "--format", "json", "-o", os.devnull, "--no-gitignore"]
    profiler.enable()
    with contextlib.suppress(SystemExit):
        cli.main(args=argv, prog_name="prodguard", standalone_mode=False)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(top)
    stream.write("\n--- by own time ---\n")
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    return stream.getvalue()


# --- main --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", type=Path, help="directory to copy text files from")
    parser.add_argument("--megabytes", type=float, default=210.0, help="corpus size (default 210)")
    parser.add_argument("--subset-megabytes", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--slow-seconds", type=float, default=90.0)
    parser.add_argument("--tools", default="all", help="comma-separated tool names, or all")
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument("--profile", action="store_true", help="also profile prodguard --jobs 1")
    args = parser.parse_args(argv)
    sources = args.source or [Path(s) for s in DEFAULT_SOURCES]
    files, size = build_corpus(sources, int(args.megabytes * 1_000_000))
    sub_files, sub_size = build_subset(int(args.subset_megabytes * 1_000_000))
    full_git, sub_git = OUT / "thirdparty.git", OUT / "thirdparty-subset.git"
    build_git(CORPUS, full_git)
    build_git(SUBSET, sub_git)
    # Building the repositories writes a few hundred MB; let the kernel flush them before anything is
    # timed, or the first tool measured pays for the write-back.
    os.sync()
    time.sleep(3)
    print(
        f"corpus: {files} files, {size / 1e6:.1f} MB; subset: {sub_files} files, {sub_size / 1e6:.1f} MB",
        file=sys.stderr,
    )
    chosen = [t for t in TOOLS if args.tools == "all" or t.name.split()[0] in args.tools.split(",")]
    load_before = os.getloadavg()[0]
    timings = []
    for tool in chosen:
        tree, git_dir, mb = (
            (CORPUS, full_git, size / 1e6) if tool.corpus == "full" else (SUBSET, sub_git, sub_size / 1e6)
        )
        runs = time_command(tool.command(tree, git_dir), args.runs, args.slow_seconds)
        timings.append(Timing(tool.name, tool.shown, tool.corpus, mb, min(runs), runs))
        print(
            f"{tool.name}: {min(runs):.2f}s best of {len(runs)} ({mb / min(runs):.1f} MB/s)", file=sys.stderr
        )
    load = (load_before, os.getloadavg()[0])
    flagged = count_flagged(chosen, full_git, sub_git)
    report = render(timings, flagged, files, size, sub_files, sub_size, args, load)
    if args.profile:
        text = profile_prodguard(CORPUS)
        (OUT / "profile.txt").write_text(text, encoding="utf-8")
        report += "\n\nProfile of `prodguard scan --jobs 1` (cProfile, top by cumulative time): bench/out/profile.txt"
    print(report)
    if not args.no_results:
        update_section("speed", report)
    return 0


def count_flagged(
    chosen: list[Tool], full_git: Path, sub_git: Path
) -> dict[str, tuple[int | None, int | None]]:
    names = {t.name.split()[0] for t in chosen}
    flagged: dict[str, tuple[int | None, int | None]] = {}
    if "prodguard" in names:
        flagged["prodguard (default severity)"] = (flagged_prodguard(CORPUS), flagged_prodguard(SUBSET))
    if "trufflehog" in names:
        flagged["trufflehog 2.2.1 (path, string)"] = (
            flagged_trufflehog(full_git),
            flagged_trufflehog(sub_git),
        )
    if "rg" in names:
        flagged["rg (one OpenAI regex)"] = (flagged_rg(CORPUS), flagged_rg(SUBSET))
    if "detect-secrets" in names:
        flagged["detect-secrets"] = (None, flagged_detect_secrets(SUBSET))
    if "credsweeper" in names:
        flagged["credsweeper"] = (None, flagged_credsweeper(SUBSET))
    return flagged


def render(
    timings: list[Timing],
    flagged: dict[str, tuple[int | None, int | None]],
    files: int,
    size: int,
    sub_files: int,
    sub_size: int,
    args: argparse.Namespace,
    load: tuple[float, float],
) -> str:
    by_name = {t.name: t for t in timings}
    rows = [
        [
            t.name,
            f"`{t.command}`",
            t.corpus,
            f"{t.megabytes:.1f}",
            f"{t.best:.2f}",
            f"{len(t.runs)}",
            f"{t.mb_per_s:.1f}" + (" (extrapolated from subset)" if t.corpus == "subset" else ""),
        ]
        for t in timings
    ]
    lines = [
        "## Scan speed (third-party source)",
        "",
        f"- Date: {today()}",
        f"- Machine: {machine()}",
        f"- Command: `python bench/scan_speed.py --megabytes {args.megabytes:g} --runs {args.runs}`",
        f"- Corpus: `bench/corpus-thirdparty/`, {files} text files, {size / 1e6:.1f} MB copied from "
        f"{', '.join(str(s) for s in (args.source or DEFAULT_SOURCES))} (binaries skipped); subset: every k-th "
        f"file, {sub_files} files, {sub_size / 1e6:.1f} MB.",
        f"- Timing: wall clock including start-up, one warm-up run then best of {args.runs} (one timed run if the "
        f"warm-up took over {args.slow_seconds:g} s); page cache warm.",
        f"- 1-minute load average when timing started / ended: {load[0]:.1f} / {load[1]:.1f} "
        f"(other work shares the machine; above {os.cpu_count()} the timings are inflated).",
        "- Versions: "
        + "; ".join(
            [
                f"prodguard `{version_of([*prodguard_command(), '--version'])}`",
                f"detect-secrets `{version_of([peer('detect-secrets'), '--version'])}`",
                f"credsweeper `{version_of([peer('credsweeper'), '--version'])}`",
                f"rg `{version_of(['rg', '--version'])}`",
                "trufflehog 2.2.1",
            ]
        ),
        "",
        table(["tool", "command", "corpus", "MB", "best s", "runs", "MB/s"], rows),
        "",
    ]
    pg = by_name.get("prodguard")
    ratios = []
    if pg:
        for other, label, target in (
            ("trufflehog 2.2.1", "throughput vs trufflehog", ">= 10x"),
            ("detect-secrets", "throughput vs detect-secrets", "—"),
            ("credsweeper", "throughput vs CredSweeper", "—"),
        ):
            if other in by_name:
                ratios.append([label, f"{pg.mb_per_s / by_name[other].mb_per_s:.1f}x", target])
        rg = by_name.get("rg (one OpenAI regex)")
        if rg:
            ratios.append(
                ["time vs rg (one regex)", f"{pg.best / rg.best:.1f}x rg's time", "<= 10x (stretch 4x)"]
            )
        single = by_name.get("prodguard --jobs 1")
        if single:
            ratios.append(["--jobs 1 throughput", f"{single.mb_per_s:.1f} MB/s", "—"])
    if ratios:
        lines += [table(["prodguard", "value", "target"], ratios), ""]
    lines += [
        "Flagged lines (distinct path+line; trufflehog: distinct path+string):",
        "",
        table(
            ["tool", f"full corpus ({size / 1e6:.0f} MB)", f"subset ({sub_size / 1e6:.0f} MB)"],
            [
                [name, "—" if full is None else str(full), "—" if sub is None else str(sub)]
                for name, (full, sub) in flagged.items()
            ],
        ),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
