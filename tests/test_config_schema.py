"""One schema for the whole [tool.prodguard] table: misplaced sections are errors saying where they
belong, every section is validated when the file is loaded (by the scanner and by the guard alike),
and each error names the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from prodguard.config import load_project_config
from prodguard.errors import ConfigError
from prodguard.guard import Policy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "line", "belongs"),
    [
        ('[tool.prodguard]\nexclude = []\n\n[tool.prodguard.budgets]\nmax = 1\n', 4, "[tool.prodguard.guard.budgets]"),
        ('[tool.prodguard]\n\n[tool.prodguard.audit]\nenabled = true\n', 3, "[tool.prodguard.guard.audit]"),
        ('[tool.prodguard]\npii = { enabled = false }\n', 2, "[tool.prodguard.guard.pii]"),
        ('[tool.prodguard.guard]\nexclude = ["x"]\n', 2, "[tool.prodguard.exclude]"),
    ],
)
def test_misplaced_sections_say_where_they_belong(tmp_path: Path, text: str, line: int, belongs: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_project_config(path)
    assert f"{path}:{line}:" in str(error.value) and belongs in str(error.value)


@pytest.mark.parametrize(
    ("table", "line"),
    [
        ('[tool.prodguard.guard.pii]\nentities = ["PERSON", "SHOE_SIZE"]\n', 1),
        ('[tool.prodguard.guard.pii]\nno_such_option = 1\n', 2),
        ('[tool.prodguard.guard.audit]\ndirectory = 5\n', 2),
        ('[tool.prodguard.guard.audit]\nretention_days = "abc"\n', 2),
        ('[tool.prodguard.guard.moderation]\nthresholds = { violence = 1e400 }\n', 2),
        ('[tool.prodguard.guard]\nunguarded = "sometimes"\n', 2),
    ],
)
def test_guard_mistakes_fail_at_load_with_file_and_line(tmp_path: Path, table: str, line: int) -> None:
    path = write(tmp_path, table)
    for load in (lambda: load_project_config(path), lambda: Policy.load(path)):
        with pytest.raises(ConfigError) as error:
            load()
        assert str(error.value).startswith(f"{path}:{line}:")


def test_scan_reports_a_broken_guard_policy(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, '[tool.prodguard.guard.secrets]\nactoin = "refuse"\n')
    (tmp_path / ".git").mkdir()
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 2 and "pyproject.toml:2" in result.output + (result.stderr or "")


def test_audit_directory_and_state_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.prodguard.guard.audit]\ndirectory = "logs/audit"\n')
    policy = Policy.load(path)
    assert policy.audit.directory == str(tmp_path / "logs" / "audit")
    assert policy.state_dir == str(tmp_path / ".prodguard")


def test_missing_optional_dependency_names_the_extra(tmp_path: Path, run_cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    # A core-only install: the audit log's cryptography is not importable.
    loaded = ("cryptography.", "prodguard.guard._audit", "prodguard.guard._commands")
    for name in [m for m in sys.modules if m == "cryptography" or m.startswith(loaded)]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    result = run_cli("logs", "verify", "--dir", str(tmp_path), cwd=tmp_path)
    assert result.exit_code == 2
    assert "pip install 'prodguard[guard]'" in (result.stderr or result.output) and "Traceback" not in result.output
