"""Only what a change introduces: ``--diff BASE`` and ``hook pre-push`` report values (keys, identifiers)
that the touched files did not hold at the range's boundary, and practice findings on the lines the
commits add; ``--staged --changed-lines`` does the same for the staged change. Real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodguard.scanner.changes import parse_added_lines
from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo

OLD_KEY = openai_project_key(31)
NEW_KEY = openai_project_key(32)

SERVICE = """import openai

client = openai.OpenAI(max_retries=0)
API_KEY = "{key}"


def answer(question):
    return client.chat.completions.create(model="gpt-4.1-mini", messages=[{{"role": "user", "content": question}}])
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """main has a file with an old key and old practice findings; ``feature`` branches from it."""
    r = GitRepo(tmp_path / "repo")
    r.write("service.py", SERVICE.format(key=OLD_KEY))
    r.write(".env", f"OPENAI_API_KEY={OLD_KEY}\n")
    r.commit("service with an old key")
    r.git("checkout", "-q", "-b", "feature")
    return r


def _json(run_cli, repo: GitRepo, *args: str) -> tuple[int, dict]:
    result = run_cli(*args, "--format", "json", cwd=repo.path) if args[0] == "scan" else run_cli(*args, cwd=repo.path)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _touch_old_files(repo: GitRepo) -> str:
    # Lines move, a comment is added, the old key stays: nothing new.
    repo.write("service.py", "# The answering service.\n\n" + SERVICE.format(key=OLD_KEY) + "\n# end\n")
    repo.write(".env", f"# local settings\nOPENAI_API_KEY={OLD_KEY}\nLOG_LEVEL=debug\n")
    return repo.commit("document the service")


def test_diff_reports_nothing_for_a_branch_touching_only_files_with_old_findings(run_cli, repo: GitRepo) -> None:
    _touch_old_files(repo)
    # The old findings are there (a plain scan sees them) ...
    code, plain = _json(run_cli, repo, "scan", ".")
    assert code == 1 and {f["rule_id"] for f in plain["findings"]} >= {"PG102", "PG305"}
    # ... but the branch introduced none of them.
    code, diff = _json(run_cli, repo, "scan", "--diff", "main")
    assert code == 0, diff["findings"]
    assert diff["findings"] == []


def test_pre_push_reports_nothing_for_a_branch_touching_only_files_with_old_findings(
    run_cli, repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = repo.git("rev-parse", "main").strip()
    head = _touch_old_files(repo)
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)
    result = run_cli("hook", "pre-push", cwd=repo.path)
    assert result.exit_code == 0, result.output
    # A new branch (FROM is all zeros) is compared with what the remotes have: here, main as a remote.
    remote = GitRepo(repo.path.parent / "remote.git", bare=True)
    repo.git("remote", "add", "origin", str(remote.path))
    repo.git("push", "-q", "origin", "main")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "0" * 40)
    result = run_cli("hook", "pre-push", cwd=repo.path)
    assert result.exit_code == 0, result.output


def test_diff_reports_a_new_key_and_new_practice_lines_with_their_commit(run_cli, repo: GitRepo) -> None:
    _touch_old_files(repo)
    repo.write(
        "service.py",
        "# The answering service.\n\n"
        + SERVICE.format(key=OLD_KEY)
        + f'\nFALLBACK = "{NEW_KEY}"\nbackup = openai.OpenAI(base_url="http://llm-proxy.acme-corp.net/v1")\n',
    )
    sha = repo.commit("fallback key and a backup client")
    repo.write("README.md", "# service\n")
    repo.commit("readme")
    code, diff = _json(run_cli, repo, "scan", "--diff", "main")
    assert code == 1
    found = {(f["rule_id"], f["line"], f["commit"]["sha"]) for f in diff["findings"]}
    assert found == {("PG102", 12, sha), ("PG303", 13, sha)}
    assert NEW_KEY not in json.dumps(diff)
    text = run_cli("scan", "--diff", "main", cwd=repo.path).stdout
    assert f"introduced in {sha[:12]}" in text


def test_a_key_removed_from_one_file_and_added_to_another_is_not_new(run_cli, repo: GitRepo) -> None:
    repo.write(".env", "# moved to settings\n")
    repo.write("service.py", SERVICE.format(key=OLD_KEY).replace("max_retries=0", "max_retries=5"))
    repo.commit("tidy")
    code, diff = _json(run_cli, repo, "scan", "--diff", "main")
    assert code == 0, diff["findings"]


def test_a_key_moved_to_a_new_file_or_renamed_with_its_file_is_not_new(run_cli, repo: GitRepo) -> None:
    repo.git("mv", ".env", "config.env")
    repo.write("service.py", SERVICE.format(key="").replace('API_KEY = ""', "import settings"))
    repo.write("settings.py", f'API_KEY = "{OLD_KEY}"\n')
    repo.commit("move the key to settings.py; rename .env")
    code, diff = _json(run_cli, repo, "scan", "--diff", "main")
    assert code == 0, diff["findings"]
    # A key that no touched file held on main is new.
    repo.write("extra.py", f'OTHER = "{NEW_KEY}"\n')
    repo.commit("a new key")
    code, diff = _json(run_cli, repo, "scan", "--diff", "main")
    assert code == 1 and [f["path"] for f in diff["findings"]] == ["extra.py"]


def test_staged_changed_lines(run_cli, repo: GitRepo) -> None:
    repo.write("service.py", SERVICE.format(key=OLD_KEY) + '\nlate = openai.OpenAI(max_retries=0)\n')
    repo.git("add", "service.py")
    code, whole = _json(run_cli, repo, "scan", "--staged", "--kinds", "practice")
    assert {(f["rule_id"], f["line"]) for f in whole["findings"]} >= {("PG305", 3), ("PG306", 8), ("PG305", 10)}
    code, changed = _json(run_cli, repo, "scan", "--staged", "--kinds", "practice", "--changed-lines")
    assert code == 1
    assert {(f["rule_id"], f["line"]) for f in changed["findings"]} == {("PG305", 10)}


def test_kinds_filter(run_cli, repo: GitRepo) -> None:
    code, secrets = _json(run_cli, repo, "scan", ".", "--kinds", "secret")
    assert code == 1 and {f["kind"] for f in secrets["findings"]} == {"secret"}
    code, practice = _json(run_cli, repo, "scan", ".", "--kinds", "practice")
    assert {f["kind"] for f in practice["findings"]} == {"practice"}
    bad = run_cli("scan", ".", "--kinds", "secrets", cwd=repo.path)
    assert bad.exit_code == 2 and "unknown kind 'secrets'" in bad.output


def test_changed_lines_needs_staged(run_cli, repo: GitRepo) -> None:
    result = run_cli("scan", ".", "--changed-lines", cwd=repo.path)
    assert result.exit_code == 2 and "--changed-lines goes with --staged" in result.output


def test_parse_added_lines_handles_quoted_paths_and_pure_deletions() -> None:
    patch = (
        b"\x01abc\n"
        b'diff --git "a/t\\303\\251st\\tx.py" "b/t\\303\\251st\\tx.py"\n'
        b'--- "a/t\\303\\251st\\tx.py"\n'
        b'+++ "b/t\\303\\251st\\tx.py"\n'
        b"@@ -1,0 +2,3 @@\n+a\n+b\n+c\n"
        b"@@ -9 +11,0 @@\n-gone\n"
        b"@@ -20 +21 @@\n-x\n+y\n"
        b"diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )
    assert parse_added_lines(patch, b"\x01") == {("abc", "t\u00e9st\tx.py"): {2, 3, 4, 21}}


def test_staged_changed_lines_in_a_notebook_keep_only_findings_on_changed_cell_lines(
    run_cli, repo: GitRepo
) -> None:
    """A notebook is diffed as JSON: only findings on the cell lines (JSON strings) the change adds stay."""

    def notebook(second_cell: list[str]) -> str:
        cells = [
            {"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {}, "outputs": [],
             "source": ["import os\n", f'OLD = "{OLD_KEY}"\n', "print(OLD)"]},
            {"cell_type": "code", "execution_count": None, "id": "b2", "metadata": {}, "outputs": [],
             "source": second_cell},
        ]  # fmt: skip
        document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        return json.dumps(document, indent=1) + "\n"

    repo.write("explore.ipynb", notebook(["x = 1\n", "y = 2"]))
    repo.commit("a notebook with an old key")
    # The second cell gains a key and the first cell's key stays: only the new one is on a changed line.
    repo.write("explore.ipynb", notebook(["x = 1\n", f'NEW = "{NEW_KEY}"\n', "y = 2"]))
    repo.git("add", "explore.ipynb")
    _code, whole = _json(run_cli, repo, "scan", "--staged", "--kinds", "secret")
    assert sorted((f["cell"], f["cell_line"]) for f in whole["findings"]) == [(0, 2), (1, 2)]
    code, changed = _json(run_cli, repo, "scan", "--staged", "--kinds", "secret", "--changed-lines")
    assert code == 1
    assert [(f["cell"], f["cell_line"]) for f in changed["findings"]] == [(1, 2)]
    # A change elsewhere in the notebook (a new cell without a key) keeps none of the old findings.
    repo.write("explore.ipynb", notebook(["x = 1\n", "y = 2\n", "z = 3"]))
    repo.git("add", "explore.ipynb")
    code, changed = _json(run_cli, repo, "scan", "--staged", "--kinds", "secret", "--changed-lines")
    assert code == 0 and changed["findings"] == []
