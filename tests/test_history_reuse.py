"""History scans read and scan each blob once per path profile and copy its findings to every other
place it was introduced at; that must give exactly the findings of scanning every introduction on its own.
Merges are listed with git's combined diff over a whole history: a blob a merge resolution creates is
still found, at the merge."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.gitsources import scan_history
from prodguard.scanner.practices import TestPaths
from prodguard.scanner.settings import ScanSettings
from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo

KEY = openai_project_key(1)
KEY2 = openai_project_key(2)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    r = GitRepo(tmp_path / "repo")
    monkeypatch.chdir(r.path)  # findings are reported relative to the current folder
    r.write("README.md", "# app\n")
    r.commit("initial")
    return r


SERVICE = f"""from openai import OpenAI

client = OpenAI(api_key="{KEY}", max_retries=0)


def answer(question):
    return client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": question}}])
"""


def _keys(
    repo: GitRepo, *, reuse: bool, jobs: int, revisions: tuple[str, ...] = ("--all",)
) -> list[tuple[object, ...]]:
    settings = ScanSettings(
        root=repo.path, jobs=jobs, min_severity=Severity.INFO, test_paths=TestPaths(root=str(repo.path))
    )
    result = scan_history(str(repo.path), list(revisions), settings, load_catalogue(), reuse=reuse)
    return sorted(
        (f.rule_id, f.path, f.line, f.origin.commit, f.fingerprint, f.excerpt)
        for f in [*result.findings, *result.suppressed]
    )


@pytest.mark.parametrize("jobs", [1, 2])
def test_reused_findings_equal_scanning_every_introduction(repo: GitRepo, jobs: int) -> None:
    repo.write("app/service.py", SERVICE)
    repo.write("config.txt", f"token = {KEY2}\n")
    repo.commit("service and config")
    # The same bytes at a test path (runtime rules do not look at tests), at a path no practice rule reads,
    # at a second application path, and a copy of the config elsewhere.
    repo.write("tests/test_service.py", SERVICE)
    repo.write("notes/service.txt", SERVICE)
    repo.write("app/copy.py", SERVICE)
    repo.write("deploy/config.txt", f"token = {KEY2}\n")
    repo.commit("copies")
    repo.git("rm", "-q", "app/service.py")
    repo.commit("remove")
    repo.write("app/service.py", SERVICE)  # reverted: the same blob at the same path again
    repo.commit("revert")
    reused = _keys(repo, reuse=True, jobs=jobs)
    assert reused == _keys(repo, reuse=False, jobs=1)
    by_path = {(rule, path) for rule, path, *_ in reused}
    assert ("PG306", "app/copy.py") in by_path and ("PG305", "app/copy.py") in by_path
    assert ("PG102", "tests/test_service.py") in by_path  # the key is reported in tests too
    assert ("PG305", "tests/test_service.py") not in by_path
    assert ("PG306", "tests/test_service.py") not in by_path
    assert not any(path == "notes/service.txt" and rule.startswith("PG3") for rule, path in by_path)


def test_a_blob_made_by_a_merge_resolution_is_found_at_the_merge(repo: GitRepo) -> None:
    repo.write("settings.py", "NAME = 'base'\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("settings.py", "NAME = 'side'\n")
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.write("settings.py", "NAME = 'main'\n")
    repo.commit("main")
    repo.git("merge", "-q", "side", check=False)  # conflicts
    repo.write("settings.py", f"NAME = 'merged'\nKEY = '{KEY}'\n")
    merge = repo.commit("merge side")
    whole = _keys(repo, reuse=True, jobs=1)
    assert [(rule, path, commit) for rule, path, _line, commit, *_ in whole if path == "settings.py"] == [
        (whole[0][0], "settings.py", merge)
    ]
    # A range that excludes the side branch still diffs the merge against each parent.
    ranged = _keys(repo, reuse=True, jobs=1, revisions=("side..main",))
    assert [commit for *_, commit, _fp, _ex in ranged] == [merge]
