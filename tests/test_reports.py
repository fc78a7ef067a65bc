"""The four report formats over one scanned tree: SARIF validates against the official 2.1.0 schema and
carries rule metadata; JSON has exactly its documented keys; JUnit has one failure per finding; text is
plain (no colour codes) when not on a terminal, grouped by file, with the fix."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest
from fakekeys import legacy_user_key, org_id, project_key, service_account_key

from prodguard import __version__
from prodguard.rules.catalogue import load_catalogue

REPO_ROOT = Path(__file__).resolve().parents[1]
# The OASIS SARIF 2.1.0 schema (errata 01), as published at docs.oasis-open.org; shipped so that the suite
# needs nothing beside the repository.
SARIF_SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
CATALOGUE = load_catalogue()

# The JSON report's contract (schema version 1): these keys, no others.
TOP_KEYS = {"version", "tool", "findings", "suppressed", "notices", "stats"}
FINDING_KEYS = {
    "rule_id",
    "title",
    "severity",
    "kind",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "excerpt",
    "fingerprint",
}
FINDING_OPTIONAL_KEYS = {
    "cell",  # notebooks
    "cell_line",  # notebooks: the line within the cell (``line`` is the .ipynb file's)
    "cell_column",
    "commit",  # history scans
    "suppressed",  # in "suppressed" only: why
    "assigned_to",  # the name the value is assigned to, when one is read
    "detail",  # environment and practice findings
    "environment",
    "environment_inferred",
}
NOTICE_KEYS = {"path", "category", "message"}
STATS_KEYS = {
    "files_scanned",
    "bytes_scanned",
    "findings",
    "by_severity",
    "suppressed",  # allowed_inline + baselined
    "allowed_inline",
    "baselined",
    "below_threshold",
    "min_severity",
    "skipped",
    "rules",
    "jobs",
    "seconds",
}
SEVERITIES = {"info", "low", "medium", "high", "critical"}
ANSI = re.compile(r"\x1b\[")


class Tree:
    """A small project with findings in three files (one a notebook), one allowed line, and a file over
    the size limit (a notice)."""

    def __init__(self, root: Path) -> None:
        rng = random.Random(7)
        self.root = root
        self.keys = [project_key(rng), project_key(rng), service_account_key(rng), legacy_user_key(rng)]
        self.allowed = project_key(rng)
        self.org = org_id(rng)
        (root / "src").mkdir()
        (root / "src" / "app.py").write_text(
            "import os\n\n"
            f'PRIMARY = "{self.keys[0]}"\n\n'
            f'KEYS = {{"web": "{self.keys[1]}", "worker": "{self.keys[2]}"}}\n'
            f'FIXTURE = "{self.allowed}"  # prodguard: allow PG102 -- revoked test key\n'
        )
        (root / ".env").write_text(f"OPENAI_API_KEY={self.keys[3]}\nOPENAI_ORG_ID={self.org}\n")
        notebook = {
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["# notes"]},
                {
                    "cell_type": "code",
                    "metadata": {},
                    "execution_count": 1,
                    "outputs": [],
                    "source": ["import openai\n", f'openai.api_key = "{self.keys[0]}"'],
                },
            ],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        (root / "notes.ipynb").write_text(json.dumps(notebook, indent=1))
        (root / "data").mkdir()
        (root / "data" / "big.log").write_text("log line\n" * 400)
        (root / "clean").mkdir()
        (root / "clean" / "ok.py").write_text("print('hello')\n")

    @property
    def secrets(self) -> list[str]:
        return [*self.keys, self.allowed]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    return Tree(tmp_path)


def _scan(run_cli: Any, tree: Tree, fmt: str, *extra: str, path: str = ".") -> str:
    result = run_cli("scan", path, "--format", fmt, "--max-file-size", "2KiB", *extra, cwd=tree.root)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    for secret in tree.secrets:
        assert secret not in result.output
        assert secret[4:-4] not in result.output
    return str(result.stdout)


def _json(run_cli: Any, tree: Tree, *extra: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(_scan(run_cli, tree, "json", *extra))
    return document


# --- SARIF -------------------------------------------------------------------------------------------


def _validate_sarif(document: dict[str, Any]) -> None:
    schema = json.loads(SARIF_SCHEMA.read_text("utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_sarif_validates_against_the_schema(run_cli: Any, tree: Tree) -> None:
    document = json.loads(_scan(run_cli, tree, "sarif"))
    _validate_sarif(document)
    run = document["runs"][0]
    assert run["results"]
    assert run["tool"]["driver"]["version"] == __version__
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert any("data/big.log" in n["message"]["text"] for n in notifications)


def test_sarif_of_a_clean_tree_validates(run_cli: Any, tree: Tree) -> None:
    document = json.loads(_scan(run_cli, tree, "sarif", path="clean"))
    _validate_sarif(document)
    assert document["runs"][0]["results"] == []


def test_sarif_rule_metadata(run_cli: Any, tree: Tree) -> None:
    run = json.loads(_scan(run_cli, tree, "sarif"))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert {r["id"] for r in rules} == {r["ruleId"] for r in run["results"]}
    for descriptor in rules:
        rule = CATALOGUE.get(descriptor["id"])
        assert rule is not None
        assert descriptor["helpUri"].endswith(f"/docs/rules/{rule.id}.md")
        assert descriptor["helpUri"].startswith("https://")
        assert (REPO_ROOT / "docs" / "rules" / f"{rule.id}.md").is_file()
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"] == rule.description
        assert descriptor["help"]["text"] == rule.remediation
        assert rule.why in descriptor["help"]["markdown"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_results_match_the_json_findings(run_cli: Any, tree: Tree) -> None:
    run = json.loads(_scan(run_cli, tree, "sarif"))["runs"][0]
    findings = _json(run_cli, tree)["findings"]
    assert len(run["results"]) == len(findings)
    for result, finding in zip(run["results"], findings, strict=True):
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == finding["path"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        region = location["region"]
        assert (region["startLine"], region["startColumn"]) == (finding["line"], finding["column"])
        assert (region["endLine"], region["endColumn"]) == (finding["end_line"], finding["end_column"])
        assert result["partialFingerprints"]["prodguard/v1"] == finding["fingerprint"]
        assert result.get("properties", {}).get("notebookCell") == finding.get("cell")


# --- JSON --------------------------------------------------------------------------------------------


def test_json_has_exactly_the_documented_keys(run_cli: Any, tree: Tree) -> None:
    document = _json(run_cli, tree)
    assert set(document) == TOP_KEYS
    assert document["version"] == 1
    assert document["tool"] == {"name": "prodguard", "version": __version__}
    assert document["findings"] and document["suppressed"] and document["notices"]
    for item in (*document["findings"], *document["suppressed"]):
        assert FINDING_KEYS <= set(item) <= FINDING_KEYS | FINDING_OPTIONAL_KEYS, set(item) ^ FINDING_KEYS
        assert item["severity"] in SEVERITIES
        assert re.fullmatch(r"[0-9a-f]{32}", item["fingerprint"])
    for notice in document["notices"]:
        assert set(notice) == NOTICE_KEYS
    stats = document["stats"]
    assert set(stats) == STATS_KEYS
    assert set(stats["by_severity"]) == SEVERITIES
    assert stats["findings"] == len(document["findings"]) == sum(stats["by_severity"].values())
    assert stats["suppressed"] == len(document["suppressed"]) == 1
    assert document["suppressed"][0]["suppressed"] == "inline allow: revoked test key"


def test_json_findings_are_sorted_and_located(run_cli: Any, tree: Tree) -> None:
    findings = _json(run_cli, tree)["findings"]
    keys = [(f["path"], f["line"], f["column"]) for f in findings]
    assert keys == sorted(keys)
    where = {(f["path"], f.get("cell"), f.get("cell_line", f["line"]), f["rule_id"]) for f in findings}
    assert where == {
        (".env", None, 1, "PG101"),
        ("notes.ipynb", 1, 2, "PG102"),
        ("src/app.py", None, 3, "PG102"),
        ("src/app.py", None, 5, "PG102"),
        ("src/app.py", None, 5, "PG103"),
    }


def test_json_min_severity_info_adds_identifiers(run_cli: Any, tree: Tree) -> None:
    default = _json(run_cli, tree)
    info = _json(run_cli, tree, "--min-severity", "info")
    added = [f for f in info["findings"] if f not in default["findings"]]
    assert [(f["rule_id"], f["severity"], f["kind"]) for f in added] == [("PG110", "info", "identifier")]
    assert default["stats"]["below_threshold"] == 1
    assert info["stats"]["min_severity"] == "info"


# --- JUnit -------------------------------------------------------------------------------------------


def test_junit_has_one_failure_per_finding(run_cli: Any, tree: Tree) -> None:
    root = ET.fromstring(_scan(run_cli, tree, "junit"))
    findings = _json(run_cli, tree)["findings"]
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    failures = suite.findall("testcase/failure")
    assert len(failures) == len(findings) == int(suite.get("failures", "-1")) == int(suite.get("tests", "-1"))
    for failure, finding in zip(failures, findings, strict=True):
        assert failure.get("type") == finding["rule_id"]
        assert finding["severity"] in (failure.get("message") or "")
        text = failure.text or ""
        assert finding["excerpt"] in text
        rule = CATALOGUE.get(finding["rule_id"])
        assert rule is not None and rule.remediation in text


def test_junit_of_a_clean_tree_has_one_passing_case(run_cli: Any, tree: Tree) -> None:
    root = ET.fromstring(_scan(run_cli, tree, "junit", path="clean"))
    (suite,) = root.findall("testsuite")
    assert suite.get("failures") == "0"
    assert len(suite.findall("testcase")) == 1
    assert not suite.findall("testcase/failure")


# --- text --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("no_color", [True, False])
def test_text_has_no_colour_codes_off_a_terminal(
    run_cli: Any, tree: Tree, monkeypatch: pytest.MonkeyPatch, no_color: bool
) -> None:
    # run_cli sets NO_COLOR; without it, the output is still not a terminal, so still no colour.
    if not no_color:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.delenv("FORCE_COLOR", raising=False)
        monkeypatch.setenv("TERM", "xterm-256color")
    result = run_cli("scan", ".", "--max-file-size", "2KiB", cwd=tree.root)
    assert result.exit_code == 1
    assert result.output.strip()
    assert not ANSI.search(result.output)


def test_text_groups_by_file_and_shows_the_fix(run_cli: Any, tree: Tree) -> None:
    text = _scan(run_cli, tree, "text")
    findings = _json(run_cli, tree)["findings"]
    lines = text.splitlines()
    headers = [line for line in lines if line and not line.startswith(" ")]
    paths = sorted({f["path"] for f in findings})
    assert [h for h in headers if h in paths] == paths  # each file once, in order
    for path in paths:
        start = lines.index(path)
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
        block = "\n".join(lines[start:end])
        for finding in (f for f in findings if f["path"] == path):
            assert finding["rule_id"] in block
            assert finding["excerpt"] in block
            assert f"{finding['line']}:{finding['column']}" in block
            rule = CATALOGUE.get(finding["rule_id"])
            assert rule is not None
            # Wrapped to the width, so compared word by word.
            assert " ".join(block.split()).count(" ".join(f"fix: {rule.remediation}".split())) == 1
    assert "cell 1:2:" in text
    assert any(line.startswith("notice: data/big.log:") for line in lines)
    assert re.search(
        r"^5 findings \(5 critical\) in \d+ files \([\d.]+ (B|KiB)\); .*1 allowed inline", text, re.MULTILINE
    )


def test_text_of_a_clean_tree(run_cli: Any, tree: Tree) -> None:
    result = run_cli("scan", "clean", cwd=tree.root)
    assert result.exit_code == 0
    assert result.stdout.startswith("no findings in 1 file (")
