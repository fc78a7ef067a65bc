"""The hook in .pre-commit-hooks.yaml, run by the real pre-commit tool on a real repository: a commit
that adds an OpenAI key is blocked with the key redacted; a clean commit goes through."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo, git_environ

KEY = openai_project_key(21)
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")
# What the hook's own environment needs to build prodguard from the snapshot.
SNAPSHOT_ITEMS = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "core", "rules", "scanner", "guard")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A committed snapshot of this working tree (as `pre-commit try-repo` makes), so uncommitted
    changes are tested too."""
    snapshot = GitRepo(tmp_path_factory.mktemp("hook") / "prodguard")
    for item in SNAPSHOT_ITEMS:
        source = REPO_ROOT / item
        if source.is_dir():
            shutil.copytree(source, snapshot.path / item, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, snapshot.path / item)
    return snapshot.path, snapshot.commit("snapshot")


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def run(cmd: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = git_environ()
    env["PRE_COMMIT_HOME"] = str(home)
    env["NO_COLOR"] = "1"
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_installed_hook_blocks_a_key_and_allows_a_clean_commit(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    hook_path, rev = hook_repo
    app = GitRepo(tmp_path / "app")
    app.write(
        ".pre-commit-config.yaml",
        f"repos:\n  - repo: {hook_path.as_uri()}\n    rev: {rev}\n    hooks:\n      - id: prodguard\n",
    )
    app.write("README.md", "# app\n")
    app.commit("config")
    installed = run([str(PRE_COMMIT), "install"], app.path, pre_commit_home)
    assert installed.returncode == 0, installed.stderr

    app.write("settings.py", f'OPENAI_API_KEY = "{KEY}"\n')
    app.git("add", "settings.py")
    blocked = run(["git", "commit", "-m", "add settings"], app.path, pre_commit_home)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "PG102" in output and "settings.py" in output
    assert "sk-proj-…" in output
    assert KEY not in output and KEY[8:40] not in output
    assert app.git("rev-list", "--count", "HEAD").strip() == "1"  # nothing was committed

    app.write("settings.py", 'import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    app.git("add", "settings.py")
    allowed = run(["git", "commit", "-m", "add settings"], app.path, pre_commit_home)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert app.git("rev-list", "--count", "HEAD").strip() == "2"


@pytest.mark.slow
def test_try_repo_scans_staged_content(tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    hook_path, _ = hook_repo
    app = GitRepo(tmp_path / "app")
    app.write("README.md", "# app\n")
    app.commit("init")
    app.write(".env", f"OPENAI_API_KEY={KEY}\n")
    app.git("add", ".env")
    result = run([str(PRE_COMMIT), "try-repo", str(hook_path), "prodguard"], app.path, pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert ".env" in output and KEY not in output
