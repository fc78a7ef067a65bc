"""The git sources against real repositories: staged content, history attribution, and the edge cases
(merges, renames, binary blobs, bare, shallow and empty repositories, non-UTF-8 paths)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.fakes import openai_legacy_key, openai_project_key
from tests.gitrepo import GitRepo, git_environ

KEY = openai_project_key(1)
KEY2 = openai_project_key(2)
LEGACY = openai_legacy_key(3)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    r = GitRepo(tmp_path / "repo")
    r.write("README.md", "# app\n")
    r.commit("initial")
    return r


def scan_json(run_cli, cwd: Path, *args: str) -> tuple[int, dict]:
    result = run_cli("scan", "--format", "json", *args, cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def test_staged_scan_reads_the_index_not_the_working_tree(run_cli, repo: GitRepo) -> None:
    repo.write("settings.py", f'OPENAI_API_KEY = "{KEY}"\n')
    repo.git("add", "settings.py")
    # The secret is removed from the working tree but is still staged: the commit would contain it.
    repo.write("settings.py", 'import os\nOPENAI_API_KEY = os.environ["OPENAI_API_KEY"]\n')
    code, report = scan_json(run_cli, repo.path, "--staged")
    assert code == 1
    [finding] = report["findings"]
    assert finding["path"] == "settings.py" and finding["line"] == 1
    assert KEY not in json.dumps(report)
    # The working-tree scan sees the clean file.
    code, report = scan_json(run_cli, repo.path, "settings.py")
    assert code == 0 and report["findings"] == []


def test_unstaged_secret_is_not_blamed_on_the_commit(run_cli, repo: GitRepo) -> None:
    repo.write("app.py", "print('hello')\n")
    repo.git("add", "app.py")
    repo.write("app.py", f"print('hello')\nKEY = '{KEY}'\n")  # edited after staging
    code, report = scan_json(run_cli, repo.path, "--staged")
    assert code == 0 and report["findings"] == []


def test_staged_line_numbers_refer_to_staged_content(run_cli, repo: GitRepo) -> None:
    repo.write("conf.py", "\n" * 9 + f'KEY = "{KEY}"\n')
    repo.git("add", "conf.py")
    repo.write("conf.py", f'KEY = "{KEY}"\n')  # working tree moved it to line 1
    _, report = scan_json(run_cli, repo.path, "--staged")
    assert [f["line"] for f in report["findings"]] == [10]


def test_staged_with_file_arguments_scans_those_files_index_content(run_cli, repo: GitRepo) -> None:
    repo.write("a.py", f'A = "{KEY}"\n')
    repo.write("b.py", f'B = "{KEY2}"\n')
    repo.git("add", "a.py", "b.py")
    _, report = scan_json(run_cli, repo.path, "--staged", "b.py")
    assert [f["path"] for f in report["findings"]] == ["b.py"]


def test_history_attributes_a_deleted_secret_to_the_commit_that_added_it(run_cli, repo: GitRepo) -> None:
    repo.write("app.py", "x = 1\n")
    repo.commit("add app")
    repo.write("app.py", f"x = 1\nKEY = '{KEY}'\n")
    added = repo.commit("add key")
    repo.write("app.py", f"x = 1\nKEY = '{KEY}'\ny = 2\n")  # edited with the key still in
    repo.commit("edit")
    repo.write("app.py", "x = 1\ny = 2\n")
    repo.commit("remove key")
    code, report = scan_json(run_cli, repo.path, "--history")
    assert code == 1
    [finding] = report["findings"]
    assert finding["commit"]["sha"] == added
    assert finding["commit"]["author"] == "Ada Tester <ada@example.test>"
    assert finding["path"] == "app.py" and finding["line"] == 2
    # The working tree is clean.
    assert scan_json(run_cli, repo.path)[0] == 0


def test_history_since_and_ranges(run_cli, repo: GitRepo) -> None:
    repo.write("one.py", f"K = '{KEY}'\n")
    first = repo.commit("one")
    repo.write("two.py", f"K = '{KEY2}'\n")
    repo.commit("two")
    _, report = scan_json(run_cli, repo.path, "--history", "--since", first)
    assert [f["path"] for f in report["findings"]] == ["two.py"]
    _, report = scan_json(run_cli, repo.path, "--history", f"{first}~1..{first}")
    assert [f["path"] for f in report["findings"]] == ["one.py"]
    _, report = scan_json(run_cli, repo.path, "--diff", first)
    assert [f["path"] for f in report["findings"]] == ["two.py"]


def test_history_merge_commits_and_branches(run_cli, repo: GitRepo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("feature.py", f"K = '{KEY}'\n")
    on_branch = repo.commit("feature key")
    repo.git("checkout", "-q", "main")
    repo.write("main.py", "m = 1\n")
    repo.commit("main work")
    repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    _, report = scan_json(run_cli, repo.path, "--history")
    [finding] = report["findings"]
    assert finding["commit"]["sha"] == on_branch  # the branch commit, not the merge
    # A branch never merged is found with --all-refs only.
    repo.git("checkout", "-q", "-b", "unmerged")
    repo.write("side.py", f"S = '{KEY2}'\n")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    assert len(scan_json(run_cli, repo.path, "--history")[1]["findings"]) == 1
    assert len(scan_json(run_cli, repo.path, "--history", "--all-refs")[1]["findings"]) == 2


def test_history_renamed_file_is_reported_at_each_path_with_the_commit_that_put_it_there(
    run_cli, repo: GitRepo
) -> None:
    repo.write("old_name.py", f"K = '{KEY}'\n")
    added = repo.commit("add")
    repo.git("mv", "old_name.py", "new_name.py")
    renamed = repo.commit("rename")
    repo.write("new_name.py", f"K = '{KEY}'\nX = 1\n")  # edited after the rename: still the rename's doing
    repo.commit("edit")
    repo.write("copy.py", f"K = '{KEY}'\nX = 1\n")  # a verbatim copy of the edited file
    copied = repo.commit("copy")
    _, report = scan_json(run_cli, repo.path, "--history")
    got = {(f["path"], f["commit"]["sha"]) for f in report["findings"]}
    assert got == {("old_name.py", added), ("new_name.py", renamed), ("copy.py", copied)}
    # Each blob was still read once: README, the key file, its edited version.
    assert report["stats"]["files_scanned"] == 3


def test_history_skips_binary_blobs_and_counts_them(run_cli, repo: GitRepo) -> None:
    repo.write("logo.png", b"\x89PNG\r\n\x1a\n\0\0" + KEY.encode())
    repo.write("ok.py", f"K = '{KEY2}'\n")
    repo.commit("binary and text")
    _, report = scan_json(run_cli, repo.path, "--history")
    assert [f["path"] for f in report["findings"]] == ["ok.py"]
    assert report["stats"]["skipped"].get("binary") == 1


def test_history_each_unique_blob_is_read_once(run_cli, repo: GitRepo) -> None:
    for i in range(5):
        repo.write("same.py", f"K = '{KEY}'\n" if i % 2 == 0 else "clean = 1\n")
        repo.commit(f"flip {i}")
    _, report = scan_json(run_cli, repo.path, "--history")
    # README + two distinct versions of same.py.
    assert report["stats"]["files_scanned"] == 3
    assert len(report["findings"]) == 1


def test_history_of_a_bare_repository(run_cli, repo: GitRepo, tmp_path: Path) -> None:
    repo.write("cfg.py", f"K = '{KEY}'\n")
    repo.commit("key")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], env=git_environ(), check=True)
    code, report = scan_json(run_cli, bare, "--history")
    assert code == 1 and report["findings"][0]["path"] == "cfg.py"


def test_history_of_a_shallow_clone_says_what_it_cannot_see(run_cli, repo: GitRepo, tmp_path: Path) -> None:
    repo.write("early.py", f"K = '{KEY}'\n")
    repo.commit("early key")
    for i in range(3):
        repo.write(f"later{i}.py", f"v = {i}\n")
        repo.commit(f"later {i}")
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)], env=git_environ(), check=True
    )
    code, report = scan_json(run_cli, shallow, "--history")
    assert any(n["category"] == "shallow" for n in report["notices"])
    # The key still exists in the visible tree, so the boundary commit carries it.
    assert code == 1 and report["findings"][0]["path"] == "early.py"


def test_history_of_an_empty_repository(run_cli, tmp_path: Path) -> None:
    empty = GitRepo(tmp_path / "empty")
    code, report = scan_json(run_cli, empty.path, "--history")
    assert code == 0 and report["findings"] == []
    assert any(n["category"] == "empty" for n in report["notices"])
    # Staged content in a repository without commits is still scanned.
    empty.write("first.py", f"K = '{KEY}'\n")
    empty.git("add", "first.py")
    assert scan_json(run_cli, empty.path, "--staged")[0] == 1


def test_non_utf8_paths(run_cli, repo: GitRepo) -> None:
    name = b"caf\xe9-config.py"
    repo.write(name, f"K = '{KEY}'\n")
    repo.commit("latin-1 name")
    for args in (("--history",), ()):
        result = run_cli("scan", "--format", "json", *args, cwd=repo.path)
        assert result.exit_code == 1, result.output
        [finding] = json.loads(result.stdout)["findings"]
        assert finding["path"].startswith("caf") and finding["path"].endswith("-config.py")
        assert KEY not in result.output


def test_not_a_repository_is_a_clear_error(run_cli, tmp_path: Path) -> None:
    result = run_cli("scan", "--history", cwd=tmp_path)
    assert result.exit_code == 2
    assert "git" in result.stderr and "Traceback" not in result.stderr


def test_options_that_do_not_combine(run_cli, repo: GitRepo) -> None:
    assert run_cli("scan", "--staged", "--history", cwd=repo.path).exit_code == 2
    assert run_cli("scan", "--since", "HEAD", cwd=repo.path).exit_code == 2


def test_history_finds_secrets_in_git_env_of_hook(run_cli, repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    # Inside a hook git exports GIT_DIR pointing elsewhere; our calls must not follow it.
    repo.write("k.py", f"K = '{LEGACY}'\n")
    repo.commit("legacy key")
    monkeypatch.setenv("GIT_DIR", os.devnull)
    code, report = scan_json(run_cli, repo.path, "--history")
    assert code == 1 and report["findings"][0]["rule_id"] == "PG101"


def test_pre_push_hook_scans_the_pushed_range(run_cli, repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    base = repo.git("rev-parse", "HEAD").strip()
    repo.write("pushed.py", f"K = '{KEY}'\n")
    repo.commit("about to be pushed")
    repo.write("pushed.py", "K = None\n")  # deleted again before the push: still in what is pushed
    head = repo.commit("remove it")
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", base)
    monkeypatch.setenv("PRE_COMMIT_TO_REF", head)
    result = run_cli("hook", "pre-push", cwd=repo.path)
    assert result.exit_code == 1 and "pushed.py" in result.stdout and KEY not in result.output
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", head)  # nothing new in the range
    assert run_cli("hook", "pre-push", cwd=repo.path).exit_code == 0


def test_text_report_names_the_introducing_commit(run_cli, repo: GitRepo) -> None:
    repo.write("k.py", f"K = '{KEY}'\n")
    sha = repo.commit("key")
    result = run_cli("scan", "--history", cwd=repo.path)
    assert result.exit_code == 1
    assert f"introduced in {sha[:12]} by Ada Tester <ada@example.test>" in result.stdout


def test_tracked_file_that_gitignore_lists_is_still_scanned(run_cli, repo: GitRepo) -> None:
    # The most common leak: a .env committed first, listed in .gitignore afterwards. Git keeps tracking it
    # (it is in every clone), so the working-tree scan must read it.
    repo.write(".env", f"OPENAI_API_KEY={KEY}\n")
    repo.write("deploy/prod/secrets.yaml", f"openai_key: {KEY2}\n")
    repo.commit("add env")
    repo.write(".gitignore", ".env\ndeploy/\n")
    repo.write("deploy/prod/local-only.txt", f"OPENAI_API_KEY={LEGACY}\n")  # untracked and ignored
    repo.commit("ignore env", add_all=False)
    repo.git("add", ".gitignore")
    repo.commit("gitignore", add_all=False)
    code, report = scan_json(run_cli, repo.path, ".")
    assert code == 1
    paths = sorted(f["path"] for f in report["findings"])
    assert paths == [".env", "deploy/prod/secrets.yaml"]
    # The untracked ignored folder content stays skipped, and the summary says so.
    assert report["stats"]["skipped"].get("ignored", 0) >= 1
    text = run_cli("scan", ".", cwd=repo.path)
    assert "untracked and git-ignored" in text.stdout


def test_ignored_files_outside_git_stay_skipped(run_cli, tmp_path: Path) -> None:
    tree = tmp_path / "plain"
    tree.mkdir()
    (tree / ".gitignore").write_text(".env\n")
    (tree / ".env").write_text(f"OPENAI_API_KEY={KEY}\n")
    code, report = scan_json(run_cli, tree, ".")
    assert code == 0 and report["findings"] == []
