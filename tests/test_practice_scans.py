"""Practice rules through the real CLI: test code judged relative to the repository root (however the
path is typed), reported and configurable; JavaScript/TypeScript files in a scan; ``--history`` reporting
practice findings only when asked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitrepo import GitRepo

UNCAPPED = (
    "from openai import OpenAI\n"
    "client = OpenAI()\n"
    'reply = client.responses.create(model="gpt-4o-mini", input="hi")\n'
)
UNCAPPED_TS = (
    'import OpenAI from "openai";\n'
    "const client = new OpenAI();\n"
    'export const reply = await client.responses.create({ model: "gpt-4o-mini", input: "hi" });\n'
)


def _scan(run_cli: Any, *args: str, cwd: Path) -> dict[str, Any]:
    result = run_cli("scan", *args, "--format", "json", "--min-severity", "info", cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _rules(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((f["rule_id"], Path(f["path"]).name) for f in report["findings"])


def test_test_code_is_judged_from_the_repository_root_however_the_path_is_typed(
    run_cli: Any, tmp_path: Path
) -> None:
    # The repository itself sits below a folder named "tests": that must not make all of it test code.
    repo = GitRepo(tmp_path / "tests" / "shop")
    repo.write("fixtures/demo/seed.py", UNCAPPED)
    repo.write("app/main.py", UNCAPPED)
    repo.commit("code")
    typed = [
        _scan(run_cli, ".", cwd=repo.path / "fixtures" / "demo"),
        _scan(run_cli, "fixtures/demo", cwd=repo.path),
        _scan(run_cli, str(repo.path / "fixtures" / "demo"), cwd=tmp_path),
    ]
    for report in typed:
        assert not [f for f in report["findings"] if f["rule_id"] == "PG306"]
        notes = [n for n in report["notices"] if n["category"] == "test_code"]
        assert len(notes) == 1 and notes[0]["path"].endswith("seed.py")
        assert "'fixtures/'" in notes[0]["message"] and "PG306" in notes[0]["message"]
    main = _scan(run_cli, "app", cwd=repo.path)
    assert ("PG306", "main.py") in _rules(main)
    assert not [n for n in main["notices"] if n["category"] == "test_code"]


def test_test_paths_are_configurable(run_cli: Any, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.write("tests/live_check.py", UNCAPPED)
    repo.write("scripts/smoke.py", UNCAPPED)
    repo.write("prodguard.toml", 'test_paths = ["scripts/"]\n')
    report = _scan(run_cli, ".", cwd=repo.path / "tests")
    # The configuration's folder is the root; its patterns replace the defaults.
    assert ("PG306", "live_check.py") in _rules(report)
    report = _scan(run_cli, "scripts", cwd=repo.path)
    assert ("PG306", "smoke.py") not in _rules(report)


def test_a_bad_test_paths_value_is_a_configuration_error(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "prodguard.toml").write_text('test_paths = "tests/"\n')
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "test_paths must be a list of strings" in result.output
    assert "prodguard.toml" in result.output


def test_typescript_is_scanned_and_its_test_files_are_test_code(run_cli: Any, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "web")
    repo.write("src/reply.ts", UNCAPPED_TS)
    repo.write("src/reply.test.ts", UNCAPPED_TS)
    repo.write("src/types.d.ts", UNCAPPED_TS)
    report = _scan(run_cli, ".", cwd=repo.path)
    assert _rules(report) == [("PG306", "reply.ts")]
    assert [Path(n["path"]).name for n in report["notices"] if n["category"] == "test_code"] == [
        "reply.test.ts"
    ]


def test_history_reports_practice_findings_only_when_asked(run_cli: Any, tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    repo.write("app/old.py", UNCAPPED + f'other = OpenAI(api_key="{key}")\n')
    repo.commit("old code")
    (repo.path / "app" / "old.py").unlink()
    repo.commit("delete it")
    default = _scan(run_cli, "--history", ".", cwd=repo.path)
    kinds = {f["kind"] for f in default["findings"]}
    assert "practice" not in kinds and "environment" not in kinds
    asked = _scan(run_cli, "--history", "--history-practices", ".", cwd=repo.path)
    assert {"PG301", "PG306"} <= {f["rule_id"] for f in asked["findings"]}
    assert all(key not in json.dumps(f) for f in asked["findings"])
    result = run_cli("scan", "--history-practices", ".", cwd=repo.path)
    assert result.exit_code == 2 and "go with --history" in result.output


def test_suites_named_for_what_they_test_are_test_code(tmp_path: Path) -> None:
    from prodguard.scanner.practices import TestPaths

    tests = TestPaths(root=str(tmp_path))
    for path in ("ecosystem-tests/vercel-edge/src/app.ts", "pkg/integration_tests/run.py"):
        assert tests.matching(str(tmp_path / path)) in ("*-tests/", "*_tests/"), path
    for path in ("src/contests/route.ts", "src/latest-tests.ts", "app/unit_tests_report.py"):
        assert tests.matching(str(tmp_path / path)) is None, path
