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
    # The hook's environment has prodguard without the guard extra; the project configures the guard too.
    app.write("pyproject.toml", "[tool.prodguard.guard.pii]\nner = false\n")
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


WORKER = """import openai

client = openai.OpenAI(max_retries=0)


def summarise(text):
    return client.chat.completions.create(model="gpt-4.1-mini", messages=[{"role": "user", "content": text}])
"""


def _app_with_hooks(path: Path, hook_path: Path, rev: str, home: Path, *hook_ids: str) -> GitRepo:
    app = GitRepo(path)
    hooks = "".join(f"      - id: {hook_id}\n" for hook_id in hook_ids)
    app.write(".pre-commit-config.yaml", f"repos:\n  - repo: {hook_path.as_uri()}\n    rev: {rev}\n    hooks:\n{hooks}")
    app.write("worker.py", WORKER)
    app.commit("worker with advisory practice findings (before the hooks)")
    installed = run([str(PRE_COMMIT), "install"], app.path, home)
    assert installed.returncode == 0, installed.stderr
    return app


def _commit(app: GitRepo, home: Path, message: str) -> subprocess.CompletedProcess[str]:
    return run(["git", "commit", "-m", message], app.path, home)


@pytest.mark.slow
def test_credentials_hook_ignores_practice_findings_and_blocks_keys(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    hook_path, rev = hook_repo
    app = _app_with_hooks(tmp_path / "app", hook_path, rev, pre_commit_home, "prodguard")
    before = app.git("rev-list", "--count", "HEAD").strip()

    # A comment-only change to a file with (advisory) practice findings commits.
    app.write("worker.py", "# Summaries for the weekly digest.\n" + WORKER)
    app.git("add", "worker.py")
    comment = _commit(app, pre_commit_home, "document the worker")
    assert comment.returncode == 0, comment.stdout + comment.stderr
    assert int(app.git("rev-list", "--count", "HEAD")) == int(before) + 1

    # A change that adds a key is blocked, the key redacted.
    app.write("worker.py", "# Summaries for the weekly digest.\n" + WORKER + f'\nFALLBACK_KEY = "{KEY}"\n')
    app.git("add", "worker.py")
    blocked = _commit(app, pre_commit_home, "add a fallback key")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "PG102" in output and KEY not in output
    assert "PG305" not in output  # the practice finding on an old line is not part of this hook
    assert "1 file (" in output  # the summary says what was scanned
    assert int(app.git("rev-list", "--count", "HEAD")) == int(before) + 1


@pytest.mark.slow
def test_practice_hook_reports_only_changed_lines(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    hook_path, rev = hook_repo
    app = _app_with_hooks(tmp_path / "app", hook_path, rev, pre_commit_home, "prodguard", "prodguard-practices")

    app.write("worker.py", "# Summaries for the weekly digest.\n" + WORKER)
    app.git("add", "worker.py")
    comment = _commit(app, pre_commit_home, "document the worker")
    assert comment.returncode == 0, comment.stdout + comment.stderr

    # A new line with a practice problem is reported, and only that line (the old client on line 4 is not).
    app.write(
        "worker.py",
        "# Summaries for the weekly digest.\n" + WORKER + "\nbackup = openai.OpenAI(base_url=\"http://llm-proxy.acme-corp.net/v1\")\n",
    )
    app.git("add", "worker.py")
    blocked = _commit(app, pre_commit_home, "add a backup client")
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "PG303" in output
    assert "PG305" not in output and "1 finding (1 high)" in output


@pytest.mark.slow
def test_hooks_in_a_worktree_and_with_run_files(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    hook_path, rev = hook_repo
    app = _app_with_hooks(tmp_path / "app", hook_path, rev, pre_commit_home, "prodguard")
    app.git("worktree", "add", "-q", str(tmp_path / "feature"), "-b", "feature")
    feature = tmp_path / "feature"
    (feature / "settings.py").write_text(f'OPENAI_API_KEY = "{KEY}"\n')
    run(["git", "add", "settings.py"], feature, pre_commit_home)
    blocked = run(["git", "commit", "-m", "key in a worktree"], feature, pre_commit_home)
    assert blocked.returncode != 0 and "PG102" in blocked.stdout + blocked.stderr

    # `pre-commit run --files` scans exactly the files named, staged or not.
    (app.path / "notes.py").write_text(f'TOKEN = "{KEY}"\n')
    named = run([str(PRE_COMMIT), "run", "prodguard", "--files", "notes.py"], app.path, pre_commit_home)
    assert named.returncode == 1 and "notes.py" in named.stdout and "not in the index" in named.stdout
    everything = run([str(PRE_COMMIT), "run", "prodguard", "--all-files"], app.path, pre_commit_home)
    assert everything.returncode == 0, everything.stdout
