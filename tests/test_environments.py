"""Staging/production separation: the environment model (declared and inferred), its config errors,
and the findings the analysis derives from identifiers and keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prodguard.config import load_project_config
from prodguard.errors import ConfigError
from prodguard.rules.environments import (
    Tier,
    infer_from_name,
    key_fingerprint,
    load_environments,
    tier_of,
)
from tests.fakes import openai_org_id, openai_project_key

PROD_ORG = openai_org_id(101)
STAGING_ORG = openai_org_id(102)
OTHER_ORG = openai_org_id(103)
PROD_KEY = openai_project_key(104)
STAGING_KEY = openai_project_key(105)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def declared_config(extra: str = "") -> str:
    return f"""
[tool.prodguard.environments.production]
organization = "{PROD_ORG}"
key_fingerprints = ["{key_fingerprint(PROD_KEY)}"]
paths = ["deploy/prod/**", ".env.production"]

[tool.prodguard.environments.staging]
organization = ["{STAGING_ORG}"]
key_fingerprints = ["{key_fingerprint(STAGING_KEY)}"]
paths = ["deploy/staging/**", ".env.staging", "tests/**"]
{extra}"""


def env_findings(run_cli, root: Path) -> set[tuple[str, str, int]]:
    result = run_cli("scan", ".", "--format", "json", cwd=root)
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)
    assert PROD_KEY not in result.stdout and STAGING_KEY not in result.stdout
    return {(f["rule_id"], f["path"], f["line"]) for f in report["findings"] if f["kind"] == "environment"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("deploy/prod/app.yaml", "production"),
        (".env.production", "production"),
        ("PROD_OPENAI_ORG", "production"),
        ("openai.production.organization", "production"),
        ("STAGING_PROJECT_ID", "staging"),
        (".env.development", "development"),
        ("docker-compose.override.yml", "development"),
        ("tests/fixtures/prod.env", "test"),
        ("src/app/main.py", None),
        ("product/catalog.py", None),
    ],
)
def test_inference_from_names(name: str, expected: str | None) -> None:
    assert infer_from_name(name) == expected


def test_tiers() -> None:
    assert tier_of("production") is Tier.PRODUCTION and tier_of("prod-eu") is Tier.PRODUCTION
    assert tier_of("staging") is Tier.NON_PRODUCTION


def test_declared_mode_finds_each_misuse(run_cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": declared_config(),
            "deploy/prod/app.env": f"OPENAI_ORG_ID={PROD_ORG}\n",  # right place: no finding
            "deploy/staging/app.env": f"OPENAI_ORG_ID={STAGING_ORG}\n",  # right place: no finding
            "tests/conftest.py": f'ORG = "{PROD_ORG}"\n',  # production id in a staging context
            "deploy/prod/extra.env": f"OPENAI_ORG_ID={STAGING_ORG}\n",  # staging id in production
            "scripts/tool.py": f'ORG = "{OTHER_ORG}"\n',  # undeclared
            "notes/key.txt": f"{PROD_KEY}\n",  # production key anywhere
        },
    )
    assert env_findings(run_cli, tmp_path) == {
        ("PG201", "tests/conftest.py", 1),
        ("PG203", "deploy/prod/extra.env", 1),
        ("PG206", "scripts/tool.py", 1),
        ("PG202", "notes/key.txt", 1),
    }


def test_inferred_mode_labels_inferred_contexts(run_cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".env.production": f"OPENAI_ORG_ID={PROD_ORG}\n",
            ".env.staging": f"OPENAI_ORG_ID={PROD_ORG}\n",  # same org in both: no separation
            "settings.env": f"PROD_OPENAI_ORG={OTHER_ORG}\nSTAGING_OPENAI_ORG={STAGING_ORG}\n",
        },
    )
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    findings = [f for f in json.loads(result.stdout)["findings"] if f["kind"] == "environment"]
    got = {(f["rule_id"], f["path"], f["line"]) for f in findings}
    assert got == {
        ("PG204", ".env.production", 1),
        ("PG204", ".env.staging", 1),
        ("PG205", "settings.env", 2),
    }
    shared = [f for f in findings if f["rule_id"] == "PG204"]
    assert all(f["environment_inferred"] == "true" for f in shared)
    assert {f["environment"] for f in shared} == {"production", "staging"}


def test_identifiers_alone_are_not_findings_at_the_default_threshold(run_cli, tmp_path: Path) -> None:
    write(tmp_path, {"app.env": f"OPENAI_ORG_ID={PROD_ORG}\n"})
    assert run_cli("scan", ".", cwd=tmp_path).exit_code == 0
    result = run_cli("scan", ".", "--min-severity", "info", "--format", "json", cwd=tmp_path)
    assert [f["rule_id"] for f in json.loads(result.stdout)["findings"]] == ["PG110"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[tool.prodguard.environments.qa]\norganization = "org-short"\n', "not an organization id"),
        ('[tool.prodguard.environments.qa]\nprojects = ["proj_bad"]\n', "not a project id"),
        ('[tool.prodguard.environments.qa]\nkey_fingerprints = ["sha256:zz"]\n', "not a key fingerprint"),
        ('[tool.prodguard.environments.qa]\nregion = "eu"\n', "unknown key 'region'"),
        (f'[tool.prodguard.environments.qa]\norganization = "{PROD_ORG}"\n', "declared for both"),
    ],
)
def test_config_errors_name_file_and_line(tmp_path: Path, extra: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(declared_config(extra))
    with pytest.raises(ConfigError) as error:
        load_environments(load_project_config(tmp_path / "pyproject.toml"))
    text = str(error.value)
    assert message in text
    lines = (tmp_path / "pyproject.toml").read_text().splitlines()
    line = int(text.split(":")[1])
    assert "qa" in lines[line - 1] or "=" in lines[line - 1]


def test_a_key_pasted_as_fingerprint_is_refused_without_echo(tmp_path: Path) -> None:
    (tmp_path / "prodguard.toml").write_text(f'[environments.production]\nkey_fingerprints = ["{PROD_KEY}"]\n')
    with pytest.raises(ConfigError) as error:
        load_environments(load_project_config(tmp_path / "prodguard.toml"))
    assert PROD_KEY[:12] not in str(error.value) and "looks like an API key" in str(error.value)


def test_config_error_through_the_cli_exits_2(run_cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(declared_config('[tool.prodguard.environments.qa]\nprojects = 3\n'))
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "pyproject.toml:" in result.stderr and "Traceback" not in result.stderr


def test_fingerprint_command_never_echoes_the_key(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli("fingerprint", input=PROD_KEY + "\n")
    assert result.exit_code == 0
    assert result.stdout.strip() == key_fingerprint(PROD_KEY)
    assert PROD_KEY[8:] not in result.output
    monkeypatch.setenv("OPENAI_API_KEY", STAGING_KEY)
    result = run_cli("fingerprint", "--env")
    assert result.stdout.strip() == key_fingerprint(STAGING_KEY)
    monkeypatch.delenv("OPENAI_API_KEY")
    assert run_cli("fingerprint", "--env").exit_code == 2


def test_a_production_named_value_in_a_test_file_is_inferred_misuse(run_cli, tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/conftest.py": f'PROD_OPENAI_ORG = "{PROD_ORG}"\n',
            "deploy/staging/values.yaml": f"openai:\n  production:\n    organization: {OTHER_ORG}\n",
            "deploy/prod/values.yaml": f"openai:\n  staging:\n    project: proj_{openai_org_id(107)[4:]}\n",
        },
    )
    assert env_findings(run_cli, tmp_path) == {
        ("PG201", "tests/conftest.py", 1),
        ("PG201", "deploy/staging/values.yaml", 3),
        ("PG203", "deploy/prod/values.yaml", 3),
    }


def test_client_without_organization_is_excused_by_nested_org_settings(run_cli, tmp_path: Path) -> None:
    client = "from openai import OpenAI\n\nclient = OpenAI()\n"
    write(
        tmp_path,
        {
            "deploy/staging/compose.yml": f"services:\n  job:\n    environment:\n      OPENAI_ORG_ID: {STAGING_ORG}\n",
            "deploy/prod/app.env": f"OPENAI_ORG_ID={PROD_ORG}\n",
            "deploy/staging/job.py": client,
            "deploy/prod/job.py": client,
        },
    )
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "PG207"]
    assert found == []
    (tmp_path / "deploy/prod/app.env").write_text("OTHER=1\n")
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "PG207"]
    assert [(f["path"], f["environment"], f["environment_inferred"]) for f in found] == [
        ("deploy/prod/job.py", "production", "true")
    ]


def test_typescript_clients_without_organization_in_a_two_environment_repo(run_cli, tmp_path: Path) -> None:
    client = 'import OpenAI from "openai";\n\nexport const client = new OpenAI({ timeout: 20_000 });\n'
    billed = 'import OpenAI from "openai";\n\nexport const client = new OpenAI({ organization: ORG });\n'
    write(tmp_path, {"deploy/prod/job.ts": client, "deploy/prod/billed.ts": billed})
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    assert [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "PG207"] == []  # one env
    write(tmp_path, {"deploy/staging/job.mjs": client.replace(": 20_000", ": 20000")})
    result = run_cli("scan", ".", "--format", "json", cwd=tmp_path)
    found = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "PG207"]
    assert sorted((f["path"], f["line"], f["environment"]) for f in found) == [
        ("deploy/prod/job.ts", 3, "production"),
        ("deploy/staging/job.mjs", 3, "staging"),
    ]
