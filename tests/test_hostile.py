"""A repository written by an attacker: every hostile file at once must not stop, hang, crash or
mislead a scan (of the tree, the index or the history); and the files prodguard reads besides the
scanned ones (ignore files, configs, rule packs, baselines) and the revisions it hands to git cannot be
turned against it.

Scans run in a subprocess with a timeout, so that a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fakekeys import project_key

from tests.cli_process import run_prodguard
from tests.gitrepo import GitRepo, git_environ

PACK_HEAD = (
    '[pack]\nname = "mine"\n\n[[rules]]\nid = "ACME001"\nname = "acme-token"\ntitle = "Acme token"\n'
    'kind = "secret"\nseverity = "high"\ndescription = "Checks for Acme tokens."\nwhy = "They unlock Acme."\n'
    'remediation = "Rotate it."\n'
)


def _prodguard(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # Pinned git identities; hostile names and contents may not decode, and must not fail the decode.
    return run_prodguard(*args, cwd=cwd, base_env=git_environ(), timeout=timeout, errors="replace")


def _hostile_repo(root: Path, key: str) -> GitRepo:
    repo = GitRepo(root)
    repo.write("app.py", f'OPENAI_API_KEY = "{key}"\n')
    # Ignore files: invalid patterns git tolerates, a link to /dev/zero, a FIFO, one over the size limit.
    repo.write(".gitignore", "\\\\\n!\n[z-a]\n*.log\n")
    repo.write("zero/.keep", "")
    os.symlink("/dev/zero", root / "zero" / ".gitignore")
    repo.write("fifo/.keep", "")
    repo.write("huge/.gitignore", "#" * (5 * 1024 * 1024))
    # Names git allows and Python does not decode; a notebook with outputs that are not a list.
    repo.write(b"caf\xe9\xff.py", f'KEY = "{key}"\n'.encode())
    repo.write("broken.ipynb", json.dumps({"cells": [{"source": "x = 1", "outputs": 5}], "metadata": {}}))
    # Special files under scanned names, links that loop or dangle.
    os.symlink("/dev/zero", root / "zeros.txt")
    os.symlink("loop_a", root / "loop_b")
    os.symlink("loop_b", root / "loop_a")
    os.symlink("nowhere", root / "dangling.py")
    os.symlink(".", root / "self")
    # A key in a file with lone-CR line ends, and a line packed with rule keywords.
    repo.write("cr_only.py", f'import os\rKEY = "{key}"\rprint(1)\r'.encode())
    repo.write("dense.min.js", ("token=secret;password=api_key;Bearer ;sk-proj-;" * 40_000))
    # A JSON document nested 10,000 deep (baseline-shaped) and a config pointing at a hostile pack.
    repo.write("deep.json", "[" * 10_000 + "]" * 10_000)
    return repo


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, str]:
    key = project_key(random.Random(7))
    repo = _hostile_repo(tmp_path_factory.mktemp("hostile") / "repo", key)
    repo.git("add", "-A")  # the links are committed as links
    repo.commit("everything hostile", add_all=False)
    # FIFOs last: git itself would wait for ever on a FIFO .gitignore.
    os.mkfifo(repo.path / "fifo" / ".gitignore")
    os.mkfifo(repo.path / "named_pipe.py")
    return repo, key


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_tree_scans_to_completion_with_notices(hostile: tuple[GitRepo, str]) -> None:
    repo, _key = hostile
    document = _json(_prodguard("scan", "--format", "json", ".", cwd=repo.path))
    where = {(f["path"], f["rule_id"]) for f in document["findings"]}
    assert ("app.py", "PG102") in where and ("cr_only.py", "PG102") in where
    assert any(path.startswith("caf") and rule == "PG102" for path, rule in where)
    notices = {(n["path"], n["message"]) for n in document["notices"]}
    assert ("zero/.gitignore", ".gitignore not used: is a symbolic link; not followed") in notices
    assert ("fifo/.gitignore", ".gitignore not used: not a regular file") in notices
    assert any(p == "huge/.gitignore" and "over the 4.0 MiB limit" in m for p, m in notices)
    assert any(p == "dense.min.js" and "packed with rule keywords" in m for p, m in notices)
    assert any(p == "named_pipe.py" and "not a regular file" in m for p, m in notices)
    cr_only = next(f for f in document["findings"] if f["path"] == "cr_only.py")
    assert cr_only["line"] == 2  # a lone CR ends a line, for the engine as for Python


def test_the_index_and_the_history_scan_to_completion(hostile: tuple[GitRepo, str]) -> None:
    repo, key = hostile
    history = _json(_prodguard("scan", "--history", "--format", "json", cwd=repo.path))
    paths = {f["path"] for f in history["findings"]}
    assert "app.py" in paths and "cr_only.py" in paths and any(p.startswith("caf") for p in paths)
    repo.write(b"staged-\xfe.py", f'KEY = "{key}"\n'.encode())
    repo.write("staged.py", f'KEY = "{key}"\r'.encode())
    repo.git("add", "staged.py", os.fsdecode(b"staged-\xfe.py"))
    staged = _json(_prodguard("scan", "--staged", "--format", "json", cwd=repo.path))
    paths = {f["path"] for f in staged["findings"]}
    assert "staged.py" in paths and any(p.startswith("staged-") and p != "staged.py" for p in paths)


@pytest.mark.parametrize("fmt", ["text", "sarif", "junit"])
def test_every_format_completes(hostile: tuple[GitRepo, str], fmt: str) -> None:
    repo, key = hostile
    result = _prodguard("scan", "--format", fmt, ".", cwd=repo.path)
    assert result.returncode == 1, result.stderr
    assert key[8:] not in result.stdout


def _pack(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pack.toml").write_text(PACK_HEAD + body)
    config = tmp_path / "prodguard.toml"
    config.write_text('packs = ["pack.toml"]\n')
    return config


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>(a+)+$)"\n', "more than linear time"),
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>\\\\w+\\\\d+)"\n', "more than linear time"),
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>a{4294967296})"\n', "invalid pattern"),
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>' + "(" * 1200 + "a" + ")" * 1200 + ')"\n', "invalid pattern"),
        ('keywords = [""]\npattern = "acme_(?P<secret>[a-z]{10})"\n', "shorter than 3 characters"),
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>[a-z]{10})"\nredact_prefix = 99\n', "redact_prefix"),
        ('keywords = ["acme_"]\npattern = "acme_(?P<secret>[a-z]{10})"\nredact_prefix = -1\n', "redact_prefix"),
    ],
    ids=["catastrophic", "quadratic", "huge-count", "nested-groups", "empty-keyword", "prefix-high", "prefix-low"],
)
def test_user_packs_that_could_hang_or_crash_are_refused_with_file_and_line(
    tmp_path: Path, body: str, message: str
) -> None:
    config = _pack(tmp_path, body)
    (tmp_path / "a.py").write_text("acme_" + "a" * 40 + "!\n")
    result = _prodguard("scan", "--config", str(config), "a.py", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "pack.toml:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
@pytest.mark.parametrize("what", ["config", "pack", "baseline"])
def test_auxiliary_files_are_read_like_scanned_ones(tmp_path: Path, kind: str, what: str) -> None:
    target = tmp_path / {"config": "prodguard.toml", "pack": "pack.toml", "baseline": "baseline.json"}[what]
    if what == "pack":
        (tmp_path / "prodguard.toml").write_text('packs = ["pack.toml"]\n')
    if kind == "dev-zero":
        os.symlink("/dev/zero", target)
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.write_text("#" * (70 * 1024 * 1024) if what == "baseline" else "#" * (5 * 1024 * 1024))
    (tmp_path / "a.py").write_text("x = 1\n")
    args = ["scan", "a.py"] if what != "baseline" else ["scan", "--baseline", str(target), "a.py"]
    if what == "config":
        args = ["scan", "--config", str(target), "a.py"]
    result = _prodguard(*args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert target.name in result.stderr
    assert ("not a regular file" if kind != "huge" else "limit") in result.stderr


def test_baseline_targets_that_are_not_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    full = _prodguard("baseline", "create", "-o", "/dev/full", "a.py", cwd=tmp_path, timeout=60)
    assert full.returncode == 2 and "/dev/full: not a regular file" in full.stderr
    # A link planted at the temporary name does not redirect the write.
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, tmp_path / "baseline.json.tmp")
    created = _prodguard("baseline", "create", "-o", "baseline.json", "a.py", cwd=tmp_path, timeout=60)
    assert created.returncode == 0, created.stderr
    assert victim.read_text() == "keep me\n" and json.loads((tmp_path / "baseline.json").read_text())
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 1000 + "]" * 1000)
    deep = _prodguard("scan", "--baseline", str(nested), "a.py", cwd=tmp_path, timeout=60)
    assert deep.returncode == 2 and "nested too deeply" in deep.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("scan", "--diff", "--output=F"),
        ("scan", "--history", "--", "--output=F"),
        ("scan", "--history", "--since", "--output=F"),
        ("scan", "--history", "--", "^--output=F"),
        ("scan", "--history", "--", "no-such-branch"),
        ("scan", "--history", "--", "HEAD:app.py"),
    ],
    ids=["diff", "history", "since", "negated", "unknown", "blob"],
)
def test_revisions_cannot_become_git_options(hostile: tuple[GitRepo, str], args: tuple[str, ...]) -> None:
    repo, _key = hostile
    result = _prodguard(*args, cwd=repo.path, timeout=60)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert not list(repo.path.glob("F*")) and not list(repo.path.glob("*--output*"))
    assert "no findings" not in result.stdout
