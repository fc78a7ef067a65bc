"""Baselines hold (rule, path, salted secret hash): they survive line moves, reformatting, rebases and
squashes, never contain the secret, and re-creating one for an unchanged tree changes no byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo

KEY = openai_project_key(11)
KEY2 = openai_project_key(12)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "repo")
    r.write("app/settings.py", f'import os\n\nOPENAI_API_KEY = "{KEY}"\n')
    r.write(".env", f"OPENAI_API_KEY={KEY2}\n")
    r.commit("initial with two known keys")
    return r


def new_findings(run_cli, repo: GitRepo, *args: str) -> list[dict]:
    result = run_cli("scan", "--format", "json", "--baseline", ".prodguard-baseline.json", *args, cwd=repo.path)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)["findings"]


def create(run_cli, repo: GitRepo, *args: str) -> None:
    result = run_cli("baseline", "create", *args, cwd=repo.path)
    assert result.exit_code == 0, result.output


def test_baseline_suppresses_known_and_reports_new(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo)
    text = (repo.path / ".prodguard-baseline.json").read_text()
    assert KEY not in text and KEY2 not in text and KEY[8:-4] not in text
    entries = json.loads(text)["entries"]
    assert sorted(e["path"] for e in entries) == [".env", "app/settings.py"]
    assert all(set(e) == {"rule_id", "path", "hash"} for e in entries)
    assert new_findings(run_cli, repo) == []
    repo.write("app/new.py", f'KEY = "{openai_project_key(13)}"\n')
    assert [f["path"] for f in new_findings(run_cli, repo)] == ["app/new.py"]


def test_recreating_an_unchanged_baseline_changes_nothing(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo)
    first = (repo.path / ".prodguard-baseline.json").read_bytes()
    create(run_cli, repo)
    assert (repo.path / ".prodguard-baseline.json").read_bytes() == first


def test_baseline_survives_line_moves_and_reformatting(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo)
    repo.write(
        "app/settings.py",
        "# a long header\n" * 20 + f"import os\nSETTINGS = {{\n    'openai_api_key':   '{KEY}',\n}}\n",
    )
    repo.write(".env", f"# moved\n\n\nexport OPENAI_API_KEY='{KEY2}'\n")
    assert new_findings(run_cli, repo) == []


def test_baseline_survives_rebase_and_squash_in_history_scans(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo, "--history")
    base = repo.git("rev-parse", "HEAD").strip()
    repo.git("checkout", "-q", "-b", "work")
    for i in range(3):
        repo.write(f"mod{i}.py", f"value = {i}\n")
        repo.commit(f"work {i}")
    repo.git("checkout", "-q", "main")
    repo.write("main_only.py", "m = 1\n")
    repo.commit("main moves on")
    repo.git("checkout", "-q", "work")
    repo.git("rebase", "-q", "main")
    assert new_findings(run_cli, repo, "--history") == []
    # Squash everything into one commit: new SHAs, same secrets and paths.
    repo.git("reset", "-q", "--soft", base)
    repo.git("commit", "-q", "-m", "squashed")
    assert new_findings(run_cli, repo, "--history") == []


def test_a_renamed_file_is_a_new_exposure(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo)
    (repo.path / ".env").rename(repo.path / ".env.production")
    assert [f["path"] for f in new_findings(run_cli, repo)] == [".env.production"]


def test_audit_lists_locations_and_prunable_entries(run_cli, repo: GitRepo) -> None:
    create(run_cli, repo)
    repo.write(".env", "OPENAI_API_KEY=\n")  # the known key is gone
    result = run_cli("baseline", "audit", "--format", "json", cwd=repo.path)
    assert result.exit_code == 0, result.output
    rows = {row["path"]: row for row in json.loads(result.stdout)}
    assert rows[".env"]["prunable"] is True
    assert rows["app/settings.py"]["locations"] == ["app/settings.py:3"]
    result = run_cli("baseline", "audit", "--prune", cwd=repo.path)
    assert result.exit_code == 0
    entries = json.loads((repo.path / ".prodguard-baseline.json").read_text())["entries"]
    assert [e["path"] for e in entries] == ["app/settings.py"]


def test_corrupt_baseline_is_a_clear_error(run_cli, repo: GitRepo) -> None:
    (repo.path / ".prodguard-baseline.json").write_text("{not json")
    result = run_cli("scan", "--baseline", ".prodguard-baseline.json", cwd=repo.path)
    assert result.exit_code == 2
    assert ".prodguard-baseline.json" in result.stderr and "Traceback" not in result.stderr
