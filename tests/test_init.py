"""``prodguard init`` on real repositories: the config it writes loads and infers the environments from
the repository's paths, the hooks file names the hook ids this repository ships, the workflow uploads
SARIF, and nothing that exists is overwritten without --force."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from prodguard.config import load_project_config
from prodguard.scanner.initialize import infer_environment_paths
from prodguard.scanner.settings import settings_from_config
from tests.conftest import REPO_ROOT
from tests.gitrepo import GitRepo


def _repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "app")
    repo.write("pyproject.toml", '[project]\nname = "app"\n\n[tool.ruff]\nline-length = 100\n')
    repo.write(".env.production", "OPENAI_ORG_ID=\n")
    repo.write(".env.staging", "OPENAI_ORG_ID=\n")
    repo.write("deploy/prod/values.yaml", "replicas: 3\n")
    repo.write("src/app.py", "print('hi')\n")
    repo.commit("app")
    return repo


def test_infer_environment_paths() -> None:
    files = [".env.production", "deploy/prod/a.yaml", "deploy/prod/b.yaml", "deploy/staging/x.yaml", "src/app.py"]
    assert infer_environment_paths(files) == {
        "production": [".env.production", "deploy/prod/**"],
        "staging": ["deploy/staging/**"],
    }


def test_init_writes_three_files_that_work(run_cli: Any, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = run_cli("init", cwd=repo.path)
    assert result.exit_code == 0, result.output
    pyproject = (repo.path / "pyproject.toml").read_text()
    assert pyproject.startswith('[project]\nname = "app"\n\n[tool.ruff]\nline-length = 100\n')  # kept
    table = tomllib.loads(pyproject)["tool"]["prodguard"]
    assert table["environments"]["production"]["paths"] == [".env.production", "deploy/prod/**"]
    assert table["environments"]["staging"]["paths"] == [".env.staging"]
    assert "prodguard fingerprint" in pyproject
    settings = settings_from_config(load_project_config(repo.path / "pyproject.toml"))
    assert {e.name for e in settings.environments.environments} == {"production", "staging"}

    hooks = yaml.safe_load((repo.path / ".pre-commit-config.yaml").read_text())
    ids = [hook["id"] for hook in hooks["repos"][0]["hooks"]]
    shipped = {hook["id"] for hook in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert ids == ["prodguard", "prodguard-push"] and set(ids) <= shipped

    workflow = yaml.safe_load((repo.path / ".github/workflows/prodguard.yml").read_text())
    steps = workflow["jobs"]["scan"]["steps"]
    assert any("prodguard scan --format sarif" in step.get("run", "") for step in steps)
    upload = next(step for step in steps if "upload-sarif" in step.get("uses", ""))
    assert upload["with"]["sarif_file"] == "prodguard.sarif"
    assert workflow["permissions"]["security-events"] == "write"
    assert workflow[True]["push"]["branches"] == ["main"]  # YAML reads the key `on` as true

    # The repository scans with the new configuration (no error).
    assert run_cli("scan", ".", cwd=repo.path).exit_code == 0


def test_init_never_overwrites_without_force(run_cli: Any, tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo.path / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert run_cli("init", cwd=repo.path).exit_code == 0
    before = {p: (repo.path / p).read_bytes() for p in ("pyproject.toml", ".pre-commit-config.yaml")}
    assert before[".pre-commit-config.yaml"] == b"repos: []\n"
    again = run_cli("init", cwd=repo.path)
    assert again.exit_code == 0
    assert again.stdout.count("skipped") == 3 and "--force replaces it" in again.stdout
    assert "id: prodguard" in again.stdout  # what to add by hand is shown
    assert {p: (repo.path / p).read_bytes() for p in before} == before

    (repo.path / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.prodguard]\nmin_severity = "high"\n\n[tool.black]\nline-length = 90\n'
    )
    forced = run_cli("init", "--force", cwd=repo.path)
    assert forced.exit_code == 0
    document = tomllib.loads((repo.path / "pyproject.toml").read_text())
    assert document["tool"]["prodguard"]["min_severity"] == "low"
    assert document["tool"]["black"] == {"line-length": 90} and document["project"] == {"name": "app"}
    assert "id: prodguard" in (repo.path / ".pre-commit-config.yaml").read_text()


def test_init_outside_a_pyproject_writes_prodguard_toml(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "deploy" / "staging").mkdir(parents=True)
    (tmp_path / "deploy" / "staging" / "app.env").write_text("X=1\n")
    assert run_cli("init", cwd=tmp_path).exit_code == 0
    table = tomllib.loads((tmp_path / "prodguard.toml").read_text())
    assert table["environments"]["staging"]["paths"] == ["deploy/staging/**"]
