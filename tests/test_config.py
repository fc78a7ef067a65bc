"""Configuration that is valid: where it is found, what each key does, how the command line overrides it,
and that the settings object crosses process boundaries (house rule 10). Broken configuration is in
test_robustness.py."""

from __future__ import annotations

import json
import pickle
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fakekeys import ALNUM, body, org_id, project_key

from prodguard.config import find_config, load_project_config
from prodguard.scanner.settings import ScanSettings, settings_from_config

ACME_PACK = """\
[pack]
name = "acme"
description = "In-house tokens"

[[rules]]
id = "ACME001"
name = "acme-deploy-token"
title = "Acme deploy token"
kind = "secret"
severity = "high"
provider = "acme"
keywords = ["acmedeploy_"]
pattern = '''(?<![A-Za-z0-9_])(?P<secret>acmedeploy_[A-Za-z0-9]{32})(?![A-Za-z0-9])'''
redact_prefix = 11
validate = { min_entropy = 3.5 }
description = "Checks for Acme deploy tokens."
why = "They can deploy to production."
remediation = "Revoke it in the Acme console."
[rules.examples]
match = ["token = acmedeploy_Xq7Lm2Pz9Rt4Wv6Yb8Nc3Df5Gh1Jk0Ls"]
ignore = ["token = acmedeploy_REDACTED"]
"""


@pytest.fixture
def rng() -> random.Random:
    return random.Random(31337)


def _scan(run_cli: Any, cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = run_cli("scan", *args, "--format", "json", cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, json.loads(result.stdout)


def _reported(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["path"], f["rule_id"]) for f in document["findings"]}


def _plant(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(line + "\n")


@pytest.fixture
def project(tmp_path: Path, rng: random.Random) -> Path:
    """A repository with keys in code, in test fixtures, a medium-severity secret and an organization id."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _plant(tmp_path / "src" / "app.py", f'KEY = "{project_key(rng)}"')
    _plant(tmp_path / "src" / "realtime.py", f'SESSION = "ek_{body(rng, ALNUM, 40)}"')  # PG106, medium
    _plant(tmp_path / "src" / "settings.py", f'ORGANIZATION = "{org_id(rng)}"')  # PG110, info
    _plant(tmp_path / "tests" / "fixtures" / "keys.py", f'KEY = "{project_key(rng)}"')
    _plant(tmp_path / "build" / "bundle.js", f'const k = "{project_key(rng)}";')
    (tmp_path / ".gitignore").write_text("build/\n")
    return tmp_path


DEFAULT = {
    ("src/app.py", "PG102"),
    ("src/realtime.py", "PG106"),
    ("tests/fixtures/keys.py", "PG102"),
}


def test_without_configuration(run_cli: Any, project: Path) -> None:
    assert _reported(_scan(run_cli, project, ".")[1]) == DEFAULT


@pytest.mark.parametrize("where", ["prodguard.toml", "pyproject.toml"])
def test_exclude_and_min_severity_from_either_file(run_cli: Any, project: Path, where: str) -> None:
    table = 'exclude = ["tests/fixtures/"]\nmin_severity = "info"\n'
    if where == "pyproject.toml":
        (project / where).write_text('[project]\nname = "demo"\n\n[tool.prodguard]\n' + table)
    else:
        (project / where).write_text(table)
    _, document = _scan(run_cli, project, ".")
    assert _reported(document) == {
        ("src/app.py", "PG102"),
        ("src/realtime.py", "PG106"),
        ("src/settings.py", "PG110"),
    }
    assert document["stats"]["min_severity"] == "info"


def test_prodguard_toml_wins_over_pyproject_in_the_same_directory(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text('min_severity = "critical"\n')
    (project / "pyproject.toml").write_text('[tool.prodguard]\nmin_severity = "info"\n')
    assert find_config(project) == (project / "prodguard.toml").resolve()
    assert _scan(run_cli, project, ".")[1]["stats"]["min_severity"] == "critical"


def test_pyproject_without_a_prodguard_table_is_not_a_config(project: Path) -> None:
    (project / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    assert find_config(project / "src") is None


def test_config_is_found_from_a_subdirectory_and_excludes_are_relative_to_it(
    run_cli: Any, project: Path
) -> None:
    (project / "prodguard.toml").write_text('exclude = ["tests/fixtures/"]\n')
    assert find_config(project / "tests" / "fixtures") == (project / "prodguard.toml").resolve()
    # Scanning from the repository root a subdirectory, and from inside the subdirectory itself.
    assert _reported(_scan(run_cli, project, "tests")[1]) == set()
    _, inside = _scan(run_cli, project / "tests", ".")
    assert inside["findings"] == []
    assert inside["stats"]["skipped"].get("excluded") == 1


def test_discovery_stops_at_the_repository_root(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    (tmp_path / "prodguard.toml").write_text('min_severity = "critical"\n')
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _plant(repo / "realtime.py", f'SECRET = "ek_{body(rng, ALNUM, 40)}"')
    assert find_config(repo) is None
    code, document = _scan(run_cli, repo, ".")
    assert code == 1 and document["stats"]["min_severity"] == "low"


def test_command_line_overrides_the_configuration(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text('min_severity = "critical"\nexclude = ["src/app.py"]\n')
    _, configured = _scan(run_cli, project, ".")
    assert _reported(configured) == {("tests/fixtures/keys.py", "PG102")}
    # --min-severity replaces the configured one; --exclude adds to the configured ones.
    _, overridden = _scan(run_cli, project, ".", "--min-severity", "medium", "--exclude", "tests/")
    assert _reported(overridden) == {("src/realtime.py", "PG106")}


def test_explicit_config_file(run_cli: Any, project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("ci") / "strict.toml"
    elsewhere.write_text('min_severity = "info"\n')
    _, document = _scan(run_cli, project, ".", "--config", str(elsewhere))
    assert ("src/settings.py", "PG110") in _reported(document)


@pytest.mark.parametrize(
    ("rules_table", "expected"),
    [
        ('disable = ["PG106"]', {("src/app.py", "PG102"), ("tests/fixtures/keys.py", "PG102")}),
        ('disable = ["PG10*"]', set()),  # an explicit glob: PG100-PG109
        ('disable = ["PG1"]', set()),  # a family: every PG1xx rule
        ('enable = ["PG106"]', {("src/realtime.py", "PG106")}),
        ('enable = ["PG1"]\ndisable = ["PG102"]', {("src/realtime.py", "PG106")}),
    ],
)
def test_rules_enable_and_disable(
    run_cli: Any, project: Path, rules_table: str, expected: set[tuple[str, str]]
) -> None:
    (project / "prodguard.toml").write_text(f"[rules]\n{rules_table}\n")
    assert _reported(_scan(run_cli, project, ".")[1]) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("PG10", "'PG10' is neither a rule id nor a whole family"),
        ("PG999", "unknown rule id 'PG999'"),
        ("XX1", "unknown rule id or family 'XX1'"),
        ("PG99*", "'PG99*' matches no rule"),
    ],
)
@pytest.mark.parametrize("key", ["enable", "disable"])
def test_rule_selection_mistakes_are_errors_with_file_and_line(
    run_cli: Any, project: Path, key: str, entry: str, message: str
) -> None:
    (project / "pyproject.toml").write_text(
        f'[project]\nname = "app"\n\n[tool.prodguard]\nmin_severity = "low"\n\n[tool.prodguard.rules]\n'
        f'{key} = ["PG102", "{entry}"]\n'
    )
    result = run_cli("scan", ".", cwd=project)
    assert result.exit_code == 2
    assert f"pyproject.toml:8: rules.{key}: {message}" in result.output
    assert "Traceback" not in result.output


def test_a_disabled_rule_id_in_an_allow_comment_is_known(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text('[rules]\ndisable = ["PG106"]\n')
    (project / "src" / "note.py").write_text("x = 1  # prodguard: allow PG106 -- kept for the demo\n")
    result = run_cli("scan", ".", "--format", "json", cwd=project)
    assert not [n for n in json.loads(result.stdout)["notices"] if n["category"] == "allow-comment"]


def test_disabled_rule_is_listed_as_disabled(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text('[rules]\ndisable = ["PG106"]\n')
    result = run_cli("rules", "list", "--format", "json", "--config", "prodguard.toml", cwd=project)
    enabled = {row["id"]: row["enabled"] for row in json.loads(result.stdout)}
    assert enabled["PG106"] is False and enabled["PG102"] is True


def test_user_rule_pack(run_cli: Any, project: Path, rng: random.Random) -> None:
    (project / "security").mkdir()
    (project / "security" / "acme.toml").write_text(ACME_PACK)
    (project / "prodguard.toml").write_text('packs = ["security/acme.toml"]\n')
    token = "acmedeploy_" + body(rng, ALNUM, 32)
    _plant(project / "deploy" / "ci.sh", f"export ACME_TOKEN={token}")
    _, document = _scan(run_cli, project, ".")
    # The pack's own match example is reported too: a rule pack is a file like any other.
    assert {(f["path"], f["line"]) for f in document["findings"] if f["rule_id"] == "ACME001"} == {
        ("deploy/ci.sh", 1),
        ("security/acme.toml", 20),
    }
    (finding,) = [f for f in document["findings"] if f["path"] == "deploy/ci.sh"]
    assert (finding["rule_id"], finding["severity"]) == ("ACME001", "high")
    assert finding["excerpt"] == f"export ACME_TOKEN=acmedeploy_…{token[-4:]}"
    listed = run_cli("rules", "list", "--format", "json", "--config", "prodguard.toml", cwd=project)
    row = next(r for r in json.loads(listed.stdout) if r["id"] == "ACME001")
    assert row["source"] == "acme.toml" and row["provider"] == "acme"
    shown = run_cli("rules", "show", "ACME001", "--config", "prodguard.toml", "--format", "markdown", cwd=project)
    assert shown.exit_code == 0
    assert shown.stdout.startswith("# ACME001: Acme deploy token")
    assert "Xq7Lm2Pz9Rt4Wv6Yb8Nc3Df5Gh1Jk0Ls" not in shown.stdout  # its example is shown redacted


def test_max_file_size_from_config_and_command_line(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text('max_file_size = "40"\n')  # bytes
    _, small = _scan(run_cli, project, ".")
    assert {n["category"] for n in small["notices"]} == {"too_large"}
    assert _reported(small) == set()
    _, large = _scan(run_cli, project, ".", "--max-file-size", "1MiB")
    assert _reported(large) == DEFAULT


def test_gitignore_false_in_config(run_cli: Any, project: Path) -> None:
    (project / "prodguard.toml").write_text("gitignore = false\n")
    assert _reported(_scan(run_cli, project, ".")[1]) == {*DEFAULT, ("build/bundle.js", "PG102")}


def test_sections_owned_by_the_guard_are_accepted(run_cli: Any, project: Path, rng: random.Random) -> None:
    (project / "prodguard.toml").write_text(
        f'[environments.production]\norganization = "{org_id(rng)}"\npaths = ["deploy/prod/**"]\n\n[guard]\n'
    )
    code, document = _scan(run_cli, project, ".")
    assert code == 1
    assert _reported(document) >= DEFAULT


def test_settings_survive_pickling(project: Path) -> None:
    (project / "prodguard.toml").write_text(
        'exclude = ["a/", "*.min.js"]\nmin_severity = "medium"\nmax_file_size = "2MiB"\n'
        '[rules]\ndisable = ["PG106"]\n'
    )
    settings = settings_from_config(load_project_config(project / "prodguard.toml"))
    assert isinstance(settings, ScanSettings)
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    assert copy.max_file_size == 2 * 1024 * 1024 and copy.disable == ("PG106",)
