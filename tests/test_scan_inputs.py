"""Everyday inputs and settings: standard input, PRODGUARD_CONFIG, baselines found by themselves, the
allow comments of other scanners, misspelt allow comments, staged files that cannot be read, and what
``-o``, ``-q`` print."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo, git_environ

KEY = openai_project_key(51)
KEY2 = openai_project_key(52)


def _findings(result: Any) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_standard_input(tmp_path: Path, name: str) -> None:
    source = f'import openai\nclient = openai.OpenAI(max_retries=0)\nKEY = "{KEY}"\n'
    proc = subprocess.run(
        [sys.executable, "-m", "prodguard", "scan", name, "--stdin-filename", "app.py", "--format", "json"],
        input=source.encode(),
        capture_output=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert {(f["path"], f["rule_id"], f["line"]) for f in findings} == {("app.py", "PG305", 2), ("app.py", "PG102", 3)}
    assert KEY.encode() not in proc.stdout


def test_standard_input_is_scanned_alone(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("scan", "-", ".", input="x = 1\n", cwd=tmp_path)
    assert result.exit_code == 2 and "standard input (-) is scanned on its own" in result.output


def test_prodguard_config_variable(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app.py").write_text(f'KEY = "{KEY}"\n')
    elsewhere = tmp_path.parent / f"{tmp_path.name}-ci.toml"
    elsewhere.write_text('[rules]\ndisable = ["PG102"]\n')
    assert run_cli("scan", ".", cwd=tmp_path).exit_code == 1
    monkeypatch.setenv("PRODGUARD_CONFIG", str(elsewhere))
    assert run_cli("scan", ".", cwd=tmp_path).exit_code == 0
    monkeypatch.setenv("PRODGUARD_CONFIG", str(tmp_path / "missing.toml"))
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 2 and "config file not found" in result.output


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "repo")
    r.write("app/settings.py", f'KEY = "{KEY}"\nOTHER = "{KEY2}"  # prodguard: allow PG102 -- revoked\n')
    r.commit("known key")
    return r


def test_baseline_at_the_repository_root_is_found_and_counted_apart(run_cli: Any, repo: GitRepo) -> None:
    assert run_cli("baseline", "create", cwd=repo.path).exit_code == 0
    # From a subfolder, with no --baseline: the root's .prodguard-baseline.json applies.
    result = run_cli("scan", ".", cwd=repo.path / "app")
    assert result.exit_code == 0, result.output
    assert "1 allowed inline; 1 in baseline" in result.stdout
    stats = json.loads(run_cli("scan", ".", "--format", "json", cwd=repo.path).stdout)["stats"]
    assert (stats["allowed_inline"], stats["baselined"], stats["suppressed"]) == (1, 1, 2)
    assert run_cli("scan", ".", "--no-baseline", cwd=repo.path).exit_code == 1
    # The staged scan (the pre-commit hook) finds it too.
    repo.write("app/settings.py", f'# settings\nKEY = "{KEY}"\n')
    repo.git("add", "app/settings.py")
    assert run_cli("scan", "--staged", cwd=repo.path).exit_code == 0


def test_baseline_named_in_the_config(run_cli: Any, repo: GitRepo) -> None:
    assert run_cli("baseline", "create", "-o", "security/known.json", cwd=repo.path).exit_code == 0
    assert run_cli("scan", ".", cwd=repo.path).exit_code == 1
    repo.write("pyproject.toml", '[tool.prodguard]\nbaseline = "security/known.json"\n')
    assert run_cli("scan", ".", cwd=repo.path).exit_code == 0


def test_peer_allow_comments(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        f'A = "{KEY}"  # gitleaks:allow\n'
        f'B = "{KEY2}"  # pragma: allowlist secret\n'
        "# pragma: allowlist nextline secret\n"
        f'C = "{KEY}"\n'
        f'D = "{KEY2}"\n'
    )
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert [f["line"] for f in _findings(result)] == [5]
    assert len(json.loads(result.stdout)["suppressed"]) == 3


def test_misspelt_allow_comments_get_a_notice(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        f'A = "{KEY}"  # prodguard: alow PG102\n'
        f'B = "{KEY2}"  # prodguard: allow PG999 -- old id\n'
        'print("prodguard: error: this is prose, not a directive")\n'
    )
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert [f["line"] for f in document["findings"]] == [1, 2]
    notices = sorted((n["path"], n["category"], n["message"]) for n in document["notices"])
    assert [(path, category) for path, category, _ in notices] == [("a.py", "allow-comment")] * 2
    assert notices[0][2].startswith("line 1: ") and "did you mean 'allow'?" in notices[0][2]
    assert notices[1][2].startswith("line 2: ") and "PG999" in notices[1][2]


def test_output_file_prints_the_summary_on_stderr_and_quiet_prints_findings_only(
    run_cli: Any, tmp_path: Path
) -> None:
    (tmp_path / "a.py").write_text(f'A = "{KEY}"\n')
    written = run_cli("scan", ".", "-o", "report.json", "--format", "json", cwd=tmp_path)
    assert written.exit_code == 1
    assert written.stdout == ""
    assert written.stderr.startswith("report.json: 1 finding (1 critical) in 1 file (")
    quiet = run_cli("scan", ".", "-q", cwd=tmp_path)
    assert quiet.exit_code == 1 and "PG102" in quiet.stdout and "finding" not in quiet.stdout.split("\n")[-2]
    assert run_cli("scan", ".", "-q", "-o", "r.txt", cwd=tmp_path).stderr == ""


# --- staged files that cannot be read -----------------------------------------------------------------


def _stage(repo: GitRepo, path: str, blob: str) -> None:
    repo.git("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}")


def test_staged_files_that_cannot_be_read_fail_the_hook_clearly(run_cli: Any, repo: GitRepo) -> None:
    _stage(repo, "lost.py", "1234567890abcdef1234567890abcdef12345678")  # a blob the repository lacks
    result = run_cli("scan", "--staged", cwd=repo.path)
    assert result.exit_code == 2
    assert "1 staged file, none could be read, so nothing was scanned" in result.output
    assert "lost.py" in result.output


def test_lfs_pointers_are_notices_and_the_rest_is_scanned(run_cli: Any, repo: GitRepo) -> None:
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "a" * 64 + "\nsize 12345\n"
    repo.write("model.bin", pointer)
    repo.git("add", "model.bin")
    only_lfs = run_cli("scan", "--staged", cwd=repo.path)
    assert only_lfs.exit_code == 2 and "Git LFS pointer" in only_lfs.output
    repo.write("app/clean.py", "x = 1\n")
    repo.git("add", "app/clean.py")
    result = run_cli("scan", "--staged", cwd=repo.path)
    assert result.exit_code == 0, result.output
    assert "notice: model.bin: Git LFS pointer" in result.stdout
    assert "no findings in 1 file (6 B) of 2 staged" in result.stdout


def test_partial_clone_with_missing_blobs(run_cli: Any, repo: GitRepo, tmp_path: Path) -> None:
    repo.write("big/data.py", "x = 2\n")
    repo.commit("more")
    repo.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    env = git_environ()
    subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--filter=blob:none", repo.path.as_uri(), str(clone)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    # The promisor remote is gone: its blobs cannot be fetched (offline laptop, deleted fork).
    subprocess.run(["git", "-C", str(clone), "remote", "set-url", "origin", str(tmp_path / "gone")], env=env, check=True)
    subprocess.run(["git", "-C", str(clone), "read-tree", "HEAD"], env=env, check=True)
    result = run_cli("scan", "--staged", "app/settings.py", cwd=clone)
    assert result.exit_code == 2, result.output
    assert "is missing from the repository" in result.output
