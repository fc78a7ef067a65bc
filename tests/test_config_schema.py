"""One schema for the whole [tool.prodguard] table: misplaced sections are errors saying where they
belong, every section is validated when the file is loaded (by the scanner and by the guard alike),
and each error names the file and the line."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import pytest

from prodguard.config import load_project_config
from prodguard.configdocs import reference
from prodguard.errors import ConfigError
from prodguard.guard import Policy
from prodguard.schema import SECTIONS, Rule, fields_of, section_record


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


# A scanner-only install (the pre-commit hook's environment): the guard's runtime dependencies are absent.
CORE_ONLY = (
    "import sys\n"
    "for name in ('httpx2', 'openai', 'cryptography', 'presidio_analyzer', 'spacy', 'redis'):\n"
    "    sys.modules[name] = None  # importing any of them raises ModuleNotFoundError\n"
    "sys.argv = ['prodguard', *sys.argv[1:]]\n"
    "from prodguard.cli import main\n"
    "main()\n"
)


def _core_only(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CORE_ONLY, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_a_scanner_only_install_reads_a_guard_section_and_writes_the_report(tmp_path: Path) -> None:
    write(tmp_path, '[tool.prodguard.guard.pii]\nner = false\n[tool.prodguard.guard.moderation]\nenabled = false\n')
    (tmp_path / "app.py").write_text('client = OpenAI(api_key="placeholder")\n')
    scan = _core_only("scan", ".", cwd=tmp_path)
    assert scan.returncode in (0, 1) and "Traceback" not in scan.stderr, scan.stderr
    report = _core_only("report", ".", "--format", "json", cwd=tmp_path)
    assert report.returncode == 0 and "Traceback" not in report.stderr, report.stderr
    assert json.loads(report.stdout)["practices"]
    # A mistake in the guard section is still an error with file and line, without the guard installed.
    write(tmp_path, "[tool.prodguard.guard.pii]\nnerr = false\n")
    broken = _core_only("scan", ".", cwd=tmp_path)
    assert broken.returncode == 2 and "pyproject.toml:2" in broken.stderr, broken.stderr
    # What needs the runtime says which extra to install.
    logs = _core_only("logs", "verify", "--dir", str(tmp_path), cwd=tmp_path)
    assert logs.returncode == 2 and "pip install 'prodguard[guard]'" in logs.stderr and "Traceback" not in logs.stderr


# --- the declarative schema, attacked field by field ----------------------------------------------------
#
# The tables below are generated from the schema itself, so a section or a field added later is attacked
# too. Each case writes a prodguard.toml whose last line is the bad one and expects a ConfigError at that
# line, from the loader and from Policy.load alike.

# Values that make a table valid where a field is required.
REQUIRED = {"scope": '"global"', "period": '"day"', "input": "1.0"}
# Sub-tables reached through a name (a mapping of records): the name used here.
NAMES = {"environments": "qa", "prices": "m"}


def _tables() -> list[tuple[str, type, dict[str, Rule]]]:
    """(header, record, overlay rules) of every table the schema declares; "" is the top level."""
    found: list[tuple[str, type, dict[str, Rule]]] = []

    def walk(header: str, record: type, array: bool = False) -> None:
        found.append((f"[[{header}]]" if array else f"[{header}]" if header else "", record, {}))
        for f in fields_of(record):
            path = f"{header}.{f.key}" if header else f.key
            if f.rule.inline is not None:
                found.append((f"[{path[: -len(f.key) - 1]}]", f.rule.inline, {}))
            elif dataclasses.is_dataclass(f.annotation):
                walk(path, f.annotation)  # type: ignore[arg-type]
            else:
                for arg in typing.get_args(f.annotation):
                    if dataclasses.is_dataclass(arg):
                        if typing.get_origin(f.annotation) is tuple:
                            walk(path, arg, array=True)  # type: ignore[arg-type]
                        else:
                            walk(f"{path}.{NAMES[f.key]}", arg)  # type: ignore[arg-type]

    for section in SECTIONS:
        record = section_record(section.key)
        if section.named:
            walk(f"{section.key}.{NAMES[section.key]}", record)
        else:
            walk(section.key, record)
    return found


TABLES = _tables()


def _bad_values(annotation: object, rule: Rule) -> list[str]:
    """TOML values of the wrong type or out of range for a field."""
    if rule.parse is not None:
        return ["true", '"lots"', "-1", "[1]"]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _bad_values(inner, rule)
    if origin is Literal:
        return ['"nope"', "1", "true", f'"{str(args[0]).upper()}"']
    if annotation is bool:
        return ['"yes"', "1", "[]"]
    if annotation is int:
        bad = ['"7"', "-1", "1.5", "1e400", "true", str(2**60), "{ a = 1 }"]
        return bad + (["0"] if rule.min is None else [])
    if annotation is float:
        bad = ['"x"', "-1.0", "1e400", "-1e400", "nan", "inf", "true", str(2**60), "[1.0]"]
        if rule.max is not None:
            bad.append(str(rule.max + 1))
        return bad + (["0"] if rule.min is None else [])
    if annotation is str:
        return ["5", "[]", "{ a = 1 }"] + (['"! !"'] if rule.pattern else [])
    if origin is tuple:
        if dataclasses.is_dataclass(args[0]):
            return ["5", "[1]", '"x"']
        return ["5", "[1]", '["a", 2]', "{ a = 1 }"] + ([] if rule.one_or_many else ['"x"'])
    if origin in (Mapping, dict):
        if dataclasses.is_dataclass(args[1]):
            return ["5", "{ m = 5 }"]
        return ["5", '{ a = "x" }', "{ a = 1e400 }", "{ a = -1.0 }", "{ a = 2.0 }"]
    if dataclasses.is_dataclass(annotation):
        return ["5", '"x"', "[]"]
    raise AssertionError(f"no bad values for {annotation!r}")


def _cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for header, record, overlay in TABLES:
        required = [f"{f.key} = {REQUIRED[f.key]}" for f in fields_of(record) if f.required]
        outer = {f.key for t in TABLES if t[0] == header and t[1] is not record for f in fields_of(t[1])}
        for f in fields_of(record):
            if f.required or f.key in outer or f.rule.inline is not None:
                continue
            for bad in _bad_values(f.annotation, overlay.get(f.key, f.rule)):
                cases.append((header, "\n".join(required), f.key, bad))
    return cases


def _write(tmp_path: Path, header: str, required: str, line: str) -> tuple[Path, int]:
    text = "\n".join(part for part in (header, required, line) if part) + "\n"
    path = tmp_path / "prodguard.toml"
    path.write_text(text, "utf-8")
    return path, text.count("\n")


def _refused_at(path: Path, line: int, *words: str) -> None:
    for load in (lambda: load_project_config(path), lambda: Policy.load(path)):
        with pytest.raises(ConfigError) as error:
            load()
        message = str(error.value)
        assert message.startswith(f"{path}:{line}: "), message
        assert all(word in message for word in words), message


@pytest.mark.parametrize(("header", "required", "key", "bad"), _cases())
def test_every_field_refuses_wrong_types_and_out_of_range_values(
    tmp_path: Path, header: str, required: str, key: str, bad: str
) -> None:
    path, line = _write(tmp_path, header, required, f"{key} = {bad}")
    _refused_at(path, line, key)


@pytest.mark.parametrize(("header", "record", "overlay"), TABLES, ids=[t[0] or "top" for t in TABLES])
def test_every_table_refuses_an_unknown_key(tmp_path: Path, header: str, record: type, overlay: object) -> None:
    required = "\n".join(f"{f.key} = {REQUIRED[f.key]}" for f in fields_of(record) if f.required)
    path, line = _write(tmp_path, header, required, "no_such_key = 1")
    _refused_at(path, line, "unknown key 'no_such_key'")


GUARD_FIELDS = [f.key for f in fields_of(section_record("guard"))]
SCANNER_FIELDS = [f.key for f in fields_of(section_record(""))]


@pytest.mark.parametrize("key", GUARD_FIELDS)
def test_a_guard_key_at_the_top_level_says_where_it_belongs(tmp_path: Path, key: str) -> None:
    path, line = _write(tmp_path, "", "", f"{key} = 1")
    _refused_at(path, line, f"belongs in [guard.{key}]")


@pytest.mark.parametrize("key", SCANNER_FIELDS)
def test_a_scanner_key_in_the_guard_table_says_where_it_belongs(tmp_path: Path, key: str) -> None:
    path, line = _write(tmp_path, "[guard]", "", f"{key} = 1")
    _refused_at(path, line, f"belongs in [{key}]")


def test_a_good_file_with_every_section_loads(tmp_path: Path) -> None:
    text = """\
exclude = ["build/"]
max_file_size = "2MiB"
[rules]
disable = ["PG106"]
[environments.staging]
organization = "org-aaaaaaaaaaaaaaaaaaaaaaaa"
[guard]
environment = "staging"
backend = "memory"
budgets = [{scope = "tag:team", period = "month", max_cost_usd = 5, soft_cost_usd = 4}]
[guard.pii]
fail = "open"
entities = ["PERSON"]
score_threshold = 0
cache_size = 0
[guard.moderation]
thresholds = { violence = 0.25 }
[guard.backoff]
max_retries = 0
[guard.accounting.prices.m]
input = 0
"""
    path = tmp_path / "prodguard.toml"
    path.write_text(text, "utf-8")
    policy = Policy.load(path)
    assert policy.environment == "staging" and policy.budgets[0].scope == "tag:team"
    options = policy.pii.options
    assert (options.entities, options.score_threshold, options.cache_size) == (("PERSON",), 0.0, 0)
    assert policy.moderation.thresholds == {"violence": 0.25} and policy.backoff.max_retries == 0
    assert policy.accounting.prices["m"].input == 0.0 and policy.rules.disable == ("PG106",)
    assert Policy.from_mapping({"pii": {"fail": "open"}}).pii.fail == "open"


def test_every_setting_is_documented() -> None:
    for _, record, overlay in TABLES:
        for f in fields_of(record):
            rule = overlay.get(f.key, f.rule)
            assert rule.doc or f.key == "enabled", f"{record.__name__}.{f.key} has no doc"


def test_the_configuration_reference_is_current() -> None:
    page = Path(__file__).parents[1] / "docs" / "configuration.md"
    assert page.read_text("utf-8") == reference(), "run: python -m prodguard.configdocs > docs/configuration.md"
