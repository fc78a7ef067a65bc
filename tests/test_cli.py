"""The command line: exit codes, options, inline allows, excludes and .gitignore, and the rules commands.

Most tests run the CLI in-process (``run_cli``); the ones about processes (``--jobs``, tracebacks) run the
installed entry point in a subprocess.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fakekeys import ALNUM, body, org_id, project_key

from prodguard import __version__
from prodguard.rules.catalogue import load_catalogue
from tests.cli_process import run_prodguard as _prodguard


def _findings(run_cli: Any, cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("scan", *args, "--format", "json", cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _located(document: dict[str, Any], group: str = "findings") -> set[tuple[str, int]]:
    return {(f["path"], f["line"]) for f in document[group]}


@pytest.fixture
def rng() -> random.Random:
    return random.Random(99)


# --- exit codes --------------------------------------------------------------------------------------


def test_exit_0_on_a_clean_tree(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text('api_key = os.environ["OPENAI_API_KEY"]\n')
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "no findings" in result.stdout


def test_exit_1_on_findings(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "app.py").write_text(f'KEY = "{project_key(rng)}"\n')
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert "PG102" in result.stdout


def test_scan_without_paths_scans_the_current_directory(
    run_cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    (tmp_path / "app.py").write_text(f'KEY = "{project_key(rng)}"\n')
    code, document = _findings(run_cli, tmp_path)
    assert code == 1 and _located(document) == {("app.py", 1)}


def test_findings_only_below_the_threshold_exit_0(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "settings.py").write_text(f'ORGANIZATION = "{org_id(rng)}"\n')
    code, document = _findings(run_cli, tmp_path, ".")
    assert code == 0
    assert document["findings"] == [] and document["stats"]["below_threshold"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan", "does-not-exist"], "no such file or directory: does-not-exist"),
        (["scan", ".", "--min-severity", "urgent"], "Invalid value for '--min-severity'"),
        (["scan", ".", "--format", "xml"], "Invalid value for '--format'"),
        (["scan", ".", "--max-file-size", "huge"], "not a size"),
        (["scan", ".", "--jobs", "-1"], "Invalid value for '--jobs'"),
        (["scan", ".", "--config", "missing.toml"], "config file not found: missing.toml"),
        (["scan", ".", "--format", "json", "--output", "no/such/dir/report.json"], "cannot write"),
        (["rules", "show", "PG999"], "no rule 'PG999'"),
        (["frobnicate"], "No such command"),
    ],
)
def test_exit_2_on_usage_errors_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    proc = _prodguard(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_exit_2_on_config_error_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "prodguard.toml").write_text('exclude = ["build/"]\nmin_severity = "urgent"\n')
    proc = _prodguard("scan", ".", cwd=tmp_path)
    assert proc.returncode == 2
    assert "prodguard.toml:2:" in proc.stderr
    assert "unknown severity 'urgent'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_exit_2_when_the_output_is_a_directory(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    result = run_cli("scan", ".", "--output", "out", cwd=tmp_path)
    assert result.exit_code == 2


# --- options -----------------------------------------------------------------------------------------


def test_min_severity_info_shows_identifiers(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    org = org_id(rng)
    (tmp_path / "settings.py").write_text(f'client = OpenAI(organization="{org}")\n')
    default = run_cli("scan", ".", cwd=tmp_path)
    assert default.exit_code == 0 and "PG110" not in default.stdout
    assert "1 below --min-severity low" in default.stdout
    shown = run_cli("scan", ".", "--min-severity", "info", cwd=tmp_path)
    assert shown.exit_code == 1
    assert "PG110" in shown.stdout and f"org-…{org[-4:]}" in shown.stdout
    assert org not in shown.stdout


def test_min_severity_critical_hides_lower(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "hooks.py").write_text(f'SECRET = "ek_{body(rng, ALNUM, 40)}"\n')  # PG106 is medium
    assert run_cli("scan", ".", cwd=tmp_path).exit_code == 1
    assert run_cli("scan", ".", "--min-severity", "critical", cwd=tmp_path).exit_code == 0


def test_output_writes_the_report_to_a_file(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    key = project_key(rng)
    (tmp_path / "app.py").write_text(f'KEY = "{key}"\n')
    result = run_cli("scan", "app.py", "--format", "json", "--output", "report.json", cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stdout == ""
    report = (tmp_path / "report.json").read_text("utf-8")
    assert key not in report
    assert [f["rule_id"] for f in json.loads(report)["findings"]] == ["PG102"]


def test_version() -> None:
    proc = _prodguard("--version", cwd=Path.cwd())
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"prodguard, version {__version__}"


def _big_tree(root: Path, rng: random.Random) -> set[tuple[str, int]]:
    """80 files of ~56 KiB (4.4 MiB in all): over both thresholds at which ``--jobs 0`` uses a pool."""
    filler = "".join(
        f"    value_{i} = compute(value_{i - 1}, 'sk-' + str({i}))  # api_key rotation\n"
        for i in range(1, 800)
    )
    planted: set[tuple[str, int]] = set()
    for n in range(80):
        directory = root / f"pkg{n % 7}"
        directory.mkdir(exist_ok=True)
        lines = filler.splitlines(keepends=True)
        if n % 9 == 0:
            at = rng.randrange(len(lines))
            lines.insert(at, f'KEY = "{project_key(rng)}"\n')
            planted.add((f"pkg{n % 7}/module_{n:02d}.py", at + 1))
        (directory / f"module_{n:02d}.py").write_text("".join(lines))
    return planted


def test_jobs_2_gives_the_same_findings_as_jobs_1(tmp_path: Path, rng: random.Random) -> None:
    planted = _big_tree(tmp_path, rng)
    total = sum(p.stat().st_size for p in tmp_path.rglob("*.py"))
    assert total > 4 * 1024 * 1024
    reports = {}
    for jobs in ("1", "2", "0"):
        proc = _prodguard("scan", ".", "--format", "json", "--jobs", jobs, cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        reports[jobs] = json.loads(proc.stdout)
    assert reports["1"]["stats"]["jobs"] == 1
    assert reports["2"]["stats"]["jobs"] == 2
    assert reports["0"]["stats"]["jobs"] == max(1, os.cpu_count() or 1)
    assert _located(reports["1"]) == planted
    assert reports["2"]["findings"] == reports["1"]["findings"] == reports["0"]["findings"]
    assert reports["2"]["stats"]["files_scanned"] == reports["1"]["stats"]["files_scanned"] == 80
    assert reports["2"]["stats"]["bytes_scanned"] == reports["1"]["stats"]["bytes_scanned"] == total


# --- rules commands ----------------------------------------------------------------------------------


def test_rules_list_json(run_cli: Any) -> None:
    result = run_cli("rules", "list", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    catalogue = load_catalogue()
    assert [row["id"] for row in rows] == sorted(rule.id for rule in catalogue.rules)
    assert {"PG101", "PG102", "PG103", "PG104", "PG110", "PG120"} <= {row["id"] for row in rows}
    for row in rows:
        assert set(row) == {
            "id",
            "name",
            "title",
            "kind",
            "severity",
            "provider",
            "keywords",
            "languages",
            "enabled",
            "source",
        }
        assert row["enabled"] is True
        assert row["source"].endswith(".toml")
    languages = {row["id"]: row["languages"] for row in rows}
    assert languages["PG306"] == "python, javascript, typescript"
    assert languages["PG304"] == "python, javascript, typescript" and languages["PG101"] == "any text file"


def test_rules_list_text_is_sorted_and_fits_the_width(run_cli: Any) -> None:
    result = run_cli("rules", "list")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    ids = [line.split()[0] for line in lines[1:] if line[:1].isalpha()]
    assert ids == sorted(rule.id for rule in load_catalogue().rules)
    assert all(len(line) <= 80 and line == line.rstrip() for line in lines)
    # A long title wraps within its own column: continuation lines start under the title, not at column 0.
    title_column = lines[0].index("title")
    continuations = [line for line in lines[1:] if not line[:1].isalpha()]
    assert continuations and all(line[:title_column].strip() == "" for line in continuations)
    for rule in load_catalogue().rules:
        row = next(i for i, line in enumerate(lines) if line.startswith(rule.id + " "))
        text = lines[row][title_column:] + "".join(
            " " + line[title_column:] for line in lines[row + 1 :] if not line[:1].isalpha()
        )
        assert " ".join(rule.title.split()) in " ".join(text.split())


def test_rules_show_renders_markdown_for_the_terminal(run_cli: Any) -> None:
    rule = load_catalogue().get("PG308")
    assert rule is not None
    out = run_cli("rules", "show", "PG308").stdout
    assert "PG308: " + rule.title in out
    assert "```" not in out and "**" not in out and "## " not in out
    assert "What it does" in out and "How to fix" in out


@pytest.mark.parametrize("rule_id", ["PG102", "pg102"])
def test_rules_show(run_cli: Any, rule_id: str) -> None:
    result = run_cli("rules", "show", rule_id, "--format", "markdown")
    assert result.exit_code == 0
    rule = load_catalogue(compile_builtin=True).get("PG102")
    assert rule is not None
    out = result.stdout
    assert out.startswith("# PG102: OpenAI project API key")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## How to fix"):
        assert section in out
    assert rule.remediation in out
    # The examples are shown as the scanner shows findings: redacted.
    for example in rule.examples.match:
        secret = example.split("sk-proj-", 1)[1].split('"')[0]
        assert secret not in out


# --- inline allows -----------------------------------------------------------------------------------


def test_inline_allow_forms(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    k = [project_key(rng) for _ in range(9)]
    (tmp_path / "fixtures.py").write_text(
        "\n".join(
            [
                f'A = "{k[0]}"  # prodguard: allow',  # 1 all rules
                f'B = "{k[1]}"  # prodguard: allow PG102',  # 2 the right id
                f'C = "{k[2]}"  # prodguard: allow PG101',  # 3 another rule: still reported
                f'D = "{k[3]}"  # prodguard: allow PG101, PG102 -- rotated 2024-05',  # 4 ids and reason
                "# prodguard: allow-next-line PG102 -- documented test key",  # 5
                f'E = "{k[4]}"',  # 6 covered by line 5
                f'F = "{k[5]}"',  # 7 not covered: allow-next-line covers one line only
                "# prodguard: allow",  # 8 a plain allow covers its own line only
                f'G = "{k[6]}"',  # 9 reported
                f'const H = "{k[7]}"; // prodguard: allow -- JS comment',  # 10
                f'I = "{k[8]}"  # prodguard: allow-next-line',  # 11 covers line 12, not itself
            ]
        )
        + "\n"
    )
    code, document = _findings(run_cli, tmp_path, ".")
    assert code == 1
    assert _located(document) == {("fixtures.py", n) for n in (3, 7, 9, 11)}
    reasons = {f["line"]: f["suppressed"] for f in document["suppressed"]}
    assert reasons == {
        1: "inline allow",
        2: "inline allow",
        4: "inline allow: rotated 2024-05",
        6: "inline allow: documented test key",
        10: "inline allow: JS comment",
    }
    text = run_cli("scan", ".", cwd=tmp_path).stdout
    assert "5 allowed inline" in text


def test_all_findings_allowed_exits_0(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "a.py").write_text(f'KEY = "{project_key(rng)}"  # prodguard: allow PG102 -- revoked\n')
    assert run_cli("scan", ".", cwd=tmp_path).exit_code == 0


# --- what is walked ----------------------------------------------------------------------------------


def _plant(path: Path, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'OPENAI_API_KEY="{project_key(rng)}"\n')


def test_exclude_patterns(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    for name in ("src/app.py", "tests/fixtures/keys.py", "web/app.min.js", "web/app.js"):
        _plant(tmp_path / name, rng)
    _, everything = _findings(run_cli, tmp_path, ".")
    assert len(everything["findings"]) == 4
    _, some = _findings(run_cli, tmp_path, ".", "--exclude", "tests/fixtures/", "--exclude", "*.min.js")
    assert {f["path"] for f in some["findings"]} == {"src/app.py", "web/app.js"}
    assert some["stats"]["skipped"].get("excluded") == 2


@pytest.fixture
def ignored_repo(tmp_path: Path, rng: random.Random) -> Path:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("secrets/\n*.log\n/top.txt\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*.env\n!keep.env\n")
    for name in (
        "main.py",
        "secrets/prod.py",
        "debug.log",
        "top.txt",
        "sub/top.txt",
        "sub/local.env",
        "sub/keep.env",
        "sub/deeper/other.env",
        "sub/deeper/trace.log",
        "other/local.env",
        ".git/stray-config",
    ):
        _plant(tmp_path / name, rng)
    return tmp_path


def test_gitignore_is_honoured_with_nesting_and_negation(run_cli: Any, ignored_repo: Path) -> None:
    _, document = _findings(run_cli, ignored_repo, ".")
    assert {f["path"] for f in document["findings"]} == {
        "main.py",
        "sub/top.txt",  # /top.txt is anchored to the root
        "sub/keep.env",  # re-included by the negation
        "other/local.env",  # the nested .gitignore applies below sub/ only
    }
    assert document["stats"]["skipped"].get("ignored", 0) >= 5


def test_gitignore_of_the_repository_applies_when_scanning_a_subdirectory(
    run_cli: Any, ignored_repo: Path
) -> None:
    _, document = _findings(run_cli, ignored_repo, "sub")
    assert {f["path"] for f in document["findings"]} == {"sub/top.txt", "sub/keep.env"}


def test_no_gitignore_scans_everything_but_git_internals(run_cli: Any, ignored_repo: Path) -> None:
    _, document = _findings(run_cli, ignored_repo, ".", "--no-gitignore")
    assert {f["path"] for f in document["findings"]} == {
        "main.py",
        "secrets/prod.py",
        "debug.log",
        "top.txt",
        "sub/top.txt",
        "sub/local.env",
        "sub/keep.env",
        "sub/deeper/other.env",
        "sub/deeper/trace.log",
        "other/local.env",
    }


def test_explicit_files_are_scanned_even_when_ignored(run_cli: Any, ignored_repo: Path) -> None:
    _, document = _findings(run_cli, ignored_repo, "debug.log", "sub/local.env", "main.py")
    assert {f["path"] for f in document["findings"]} == {"debug.log", "sub/local.env", "main.py"}
    assert document["stats"]["files_scanned"] == 3


def test_explicit_files_still_honour_excludes(run_cli: Any, ignored_repo: Path) -> None:
    # The pre-commit hook passes every staged file by name; configured excludes must still apply.
    _, document = _findings(run_cli, ignored_repo, "main.py", "debug.log", "--exclude", "*.log")
    assert {f["path"] for f in document["findings"]} == {"main.py"}


def test_explicit_symlink_is_not_followed(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    _plant(tmp_path / "real.py", rng)
    (tmp_path / "link.py").symlink_to(tmp_path / "real.py")
    _, document = _findings(run_cli, tmp_path, "link.py")
    assert document["findings"] == []
    assert [n["category"] for n in document["notices"]] == ["symlink"]
