"""The staging/production example apps, scanned through the real CLI.

``examples/two-env-app`` declares its environments and plants every environment (PG2xx) and code-practice
(PG3xx) problem; ``examples/two-env-inferred`` declares none, so the analysis infers every environment;
``examples/two-env-app-clean`` is the first app done right. Each ``EXPECTED.json`` lists the exact
findings as [rule_id, path, line]; the tests compare sets in both directions, the environment each
finding carries, the exit codes, and that no planted key reaches any report.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from click.testing import CliRunner, Result

from prodguard.cli import cli
from prodguard.config import load_project_config
from prodguard.rules.catalogue import Catalogue
from prodguard.rules.environments import EnvironmentPolicy, key_fingerprint, load_environments
from prodguard.rules.model import Kind

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DECLARED = EXAMPLES / "two-env-app"
INFERRED = EXAMPLES / "two-env-inferred"
CLEAN = EXAMPLES / "two-env-app-clean"
PLANTED_TREES = (DECLARED, INFERRED)
# Credentials planted in the examples: OpenAI keys and the LLM-gateway key (read from the files, so that
# no key is written here as well).
PLANTED_KEY = re.compile(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|\blgw_[A-Za-z0-9]{30,}")

Triple = tuple[str, str, int]


@cache
def scan(tree: Path, *args: str) -> Result:
    """``prodguard scan . ARGS`` run in ``tree`` (paths in reports are then relative to it); each
    distinct scan runs once per session."""
    old = os.getcwd()
    os.chdir(tree)
    try:
        return CliRunner(env={"NO_COLOR": "1"}).invoke(cli, ["scan", ".", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def report(tree: Path, min_severity: str = "low") -> list[dict[str, Any]]:
    result = scan(tree, "--format", "json", "--min-severity", min_severity)
    assert result.exit_code in (0, 1), result.output
    findings: list[dict[str, Any]] = json.loads(result.stdout)["findings"]
    return findings


def expected(tree: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tree / "EXPECTED.json").read_text("utf-8"))
    return data


def triples(findings: list[dict[str, Any]]) -> list[Triple]:
    return [(f["rule_id"], f["path"], f["line"]) for f in findings]


def policy_of(tree: Path) -> EnvironmentPolicy:
    return load_environments(load_project_config(tree / "pyproject.toml"))


def planted_keys() -> list[str]:
    keys: set[str] = set()
    for path in _files(DECLARED):
        keys.update(PLANTED_KEY.findall(path.read_text("utf-8", errors="replace")))
    return sorted(keys)


def _files(tree: Path) -> Iterator[Path]:
    return (p for p in tree.rglob("*") if p.is_file() and p.name != "EXPECTED.json")


@pytest.mark.parametrize("tree", PLANTED_TREES, ids=lambda t: t.name)
def test_findings_are_exactly_the_expected_ones(tree: Path) -> None:
    got = triples(report(tree))
    want = {(rule, path, line) for rule, path, line in expected(tree)["findings"]}
    assert not [t for t, n in Counter(got).items() if n > 1], "a finding is reported twice"
    assert sorted(set(got) - want) == [], "reported but not expected"
    assert sorted(want - set(got)) == [], "expected but not reported"


@pytest.mark.parametrize("tree", PLANTED_TREES, ids=lambda t: t.name)
def test_planted_trees_exit_1_at_the_default_threshold(tree: Path) -> None:
    assert scan(tree).exit_code == 1


def test_the_declared_app_exercises_every_environment_and_practice_rule(catalogue: Catalogue) -> None:
    rules = {r.id for r in catalogue.rules if r.kind in (Kind.ENVIRONMENT, Kind.PRACTICE)}
    assert {f"PG20{n}" for n in range(1, 8)} | {f"PG3{n:02}" for n in range(1, 16)} <= rules
    assert rules <= {rule for rule, _, _ in triples(report(DECLARED))}


def test_the_inferred_tree_declares_nothing_and_infers_every_context() -> None:
    assert policy_of(DECLARED).declared
    assert not policy_of(INFERRED).declared
    findings = [f for f in report(INFERRED) if f["kind"] == "environment"]
    assert {f["rule_id"] for f in findings} == {"PG204", "PG205", "PG207"}
    assert all(f["environment_inferred"] == "true" for f in findings if "environment" in f)


@pytest.mark.parametrize("tree", PLANTED_TREES, ids=lambda t: t.name)
def test_environment_findings_carry_the_expected_context(tree: Path) -> None:
    got = {
        (f["rule_id"], f["path"], f["line"], f.get("environment"), f.get("environment_inferred"))
        for f in report(tree)
        if f["kind"] == "environment"
    }
    assert got == {tuple(entry) for entry in expected(tree)["environment_contexts"]}


def test_declared_paths_give_declared_contexts() -> None:
    """Where a finding's file matches an environment's declared ``paths``, the finding names that
    environment and says it was not inferred."""
    policy = policy_of(DECLARED)
    checked = 0
    for f in report(DECLARED):
        declared = policy.declared_context(f["path"])
        if f["kind"] == "environment" and declared is not None:
            assert (f["environment"], f["environment_inferred"]) == (declared.name, "false"), f
            checked += 1
    assert checked >= 5


def test_the_clean_twin_has_no_finding() -> None:
    assert scan(CLEAN).exit_code == 0
    assert report(CLEAN) == []
    # Below the default threshold only the identifiers themselves remain (they are where they belong).
    everything = report(CLEAN, "info")
    assert everything, "the clean twin still holds its environments' identifiers"
    assert {(f["rule_id"], f["kind"], f["severity"]) for f in everything} == {
        ("PG110", "identifier", "info"),
        ("PG111", "identifier", "info"),
    }


def test_the_clean_twin_declares_the_same_environments() -> None:
    assert policy_of(CLEAN).environments == policy_of(DECLARED).environments


def test_planted_keys_are_the_declared_ones() -> None:
    """The example is coherent: the keys PG202/PG203 are about have the fingerprints declared."""
    keys = planted_keys()
    assert len(keys) == 3
    policy = policy_of(DECLARED)
    owners = sorted(
        owner.name for key in keys if (owner := policy.owner_of(key_fingerprint(key))) is not None
    )
    assert owners == ["production", "staging"]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_no_planted_key_appears_in_any_report(fmt: str) -> None:
    keys = planted_keys()
    for tree in (DECLARED, INFERRED, CLEAN):
        output = scan(tree, "--format", fmt, "--min-severity", "info").output
        for key in keys:
            # Redacted excerpts keep a short prefix and the last four characters; the body never shows.
            assert key[8:-4] not in output, f"{fmt} report of {tree.name} shows a planted key"


def test_sarif_reports_the_same_findings_as_json() -> None:
    sarif = json.loads(scan(DECLARED, "--format", "sarif", "--min-severity", "low").stdout)
    # SARIF paths are relative to the repository's top level (%SRCROOT%), JSON paths to where the scan ran.
    root = Path(unquote(urlsplit(sarif["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]).path))
    prefix = DECLARED.resolve().relative_to(root.resolve()).as_posix()
    located = {
        (r["ruleId"], loc["artifactLocation"]["uri"], loc["region"]["startLine"])
        for r in sarif["runs"][0]["results"]
        for loc in (r["locations"][0]["physicalLocation"],)
    }
    expected_paths = {(rule, f"{prefix}/{path}" if prefix != "." else path, line) for rule, path, line in triples(report(DECLARED))}
    assert located == expected_paths
