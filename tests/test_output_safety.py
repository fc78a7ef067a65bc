"""What a scanned file or a commit can put into a report: control characters (ANSI colour and OSC title
escapes, C0/C1 controls, bidi overrides) in excerpts, paths and commit authors are shown escaped in text
and JUnit output, and every format stays valid; SARIF paths are relative to the repository root
wherever the scan runs, with the repository's provenance."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from prodguard.scanner.reports.common import escape_controls
from tests.fakes import openai_project_key
from tests.gitrepo import GitRepo

SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
KEY = openai_project_key(41)
# Red text, a window-title change (OSC), a bell, a C1 CSI, a right-to-left override.
NASTY = "\x1b[31mred\x1b[0m \x1b]0;pwned\x07 \x9b2J \u202eevil"
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


def test_escape_controls() -> None:
    assert escape_controls("a\x1b[31mb") == "a\\x1b[31mb"
    assert escape_controls("\u202eabc") == "\\u202eabc"
    assert escape_controls("tab\there") == "tab\\x09here"
    assert escape_controls("plain ünïcode → ok") == "plain ünïcode → ok"


@pytest.fixture
def nasty_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    # A key on a line full of escapes, in a file whose name holds an escape too.
    repo.write("conf/\x1b[2Jsettings.py", f'KEY = "{KEY}"  # {NASTY}\n')
    repo.git("add", "-A")
    repo.git(
        "-c", "user.name=Mallory \x1b]0;owned\x07", "-c", "user.email=m@example.test",
        "commit", "-q", "-m", "settings", "--author", "Mallory \x1b[5m <m@example.test>",
    )  # fmt: skip
    return repo


@pytest.mark.parametrize("args", [("scan", "."), ("scan", "--history")])
def test_text_output_escapes_control_characters(run_cli: Any, nasty_repo: GitRepo, args: tuple[str, ...]) -> None:
    result = run_cli(*args, cwd=nasty_repo.path)
    assert result.exit_code == 1
    out = result.stdout
    assert not RAW_CONTROL.search(out), repr(out)
    assert "\\x1b[31mred" in out and "\\u202eevil" in out
    assert "conf/\\x1b[2Jsettings.py" in out
    assert KEY not in out


def test_every_format_stays_valid_with_control_characters(run_cli: Any, nasty_repo: GitRepo) -> None:
    junit = run_cli("scan", "--history", "--format", "junit", cwd=nasty_repo.path).stdout
    root = ET.fromstring(junit)  # parses: no raw control character in the XML
    assert root.find("testsuite/testcase/failure") is not None
    assert not RAW_CONTROL.search(junit)
    document = json.loads(run_cli("scan", "--history", "--format", "json", cwd=nasty_repo.path).stdout)
    (finding,) = document["findings"]
    assert finding["path"] == "conf/\x1b[2Jsettings.py"  # JSON keeps the data, escaped by the encoder
    sarif = json.loads(run_cli("scan", ".", "--format", "sarif", cwd=nasty_repo.path).stdout)
    validator = jsonschema.validators.validator_for(json.loads(SARIF_SCHEMA.read_text("utf-8")))
    validator(json.loads(SARIF_SCHEMA.read_text("utf-8"))).validate(sarif)


def _sarif(run_cli: Any, cwd: Path, *args: str) -> dict[str, Any]:
    result = run_cli("scan", *args, "--format", "sarif", cwd=cwd)
    assert result.exit_code == 1, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_sarif_paths_are_relative_to_the_repository_root_from_a_subfolder(run_cli: Any, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("services/api/settings.py", f'OPENAI_API_KEY = "{KEY}"\n')
    sha = repo.commit("api")
    repo.git("remote", "add", "origin", "https://ci-bot:s3cr3t@github.example/acme/api.git")
    from_root = _sarif(run_cli, repo.path, ".")
    from_sub = _sarif(run_cli, repo.path / "services", ".")
    for document in (from_root, from_sub):
        run = document["runs"][0]
        location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": "services/api/settings.py", "uriBaseId": "%SRCROOT%"}
        assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.path.resolve().as_uri() + "/"
        (provenance,) = run["versionControlProvenance"]
        assert provenance["repositoryUri"] == "https://github.example/acme/api.git"  # no credentials
        assert provenance["revisionId"] == sha and provenance["branch"] == "main"
    assert "s3cr3t" not in json.dumps(from_sub)
    schema = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(from_sub)


def test_scp_style_remote_becomes_an_https_uri() -> None:
    from prodguard.scanner.git import repository_uri

    assert repository_uri("git@github.com:acme/api.git") == "https://github.com/acme/api"
    assert repository_uri("ssh://git@host:2222/acme/api.git") == "ssh://host:2222/acme/api.git"
    assert repository_uri("https://user:token@host/x.git") == "https://host/x.git"
