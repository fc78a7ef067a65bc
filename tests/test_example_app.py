"""The bundled example application, scanned end to end through the installed command.

``examples/leaky-app/EXPECTED.json`` lists every planted (fake, randomly generated) credential by path and
line (and notebook cell), the identifiers reported only at ``--min-severity info``, the key silenced by an
inline allow, and the look-alike placeholders that must never be reported. ``value_at`` locates each
planted value in the raw file ([line, column, length]) so the tests can prove it never reaches any output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_REL = "examples/leaky-app"
APP = REPO_ROOT / APP_REL
EXPECTED: dict[str, list[dict[str, Any]]] = json.loads((APP / "EXPECTED.json").read_text("utf-8"))
OPENAI_RULES = {f"PG{n}" for n in range(101, 122)}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("PRODGUARD_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "prodguard", "scan", APP_REL, *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@cache
def _report(min_severity: str = "low") -> tuple[int, dict[str, Any]]:
    proc = _run("--format", "json", "--min-severity", min_severity)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _key(entry: dict[str, Any]) -> tuple[str, int | None, int]:
    return (f"{APP_REL}/{entry['path']}", entry.get("cell"), entry["line"])


def _finding_key(finding: dict[str, Any]) -> tuple[str, int | None, int]:
    return (finding["path"], finding.get("cell"), finding.get("cell_line", finding["line"]))


def _credentials(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Secret and identifier findings. Code-practice findings (PG3xx: the app also calls the API
    unsafely) and environment findings are other tests' business."""
    return [f for f in findings if f["kind"] in ("secret", "identifier")]


def _planted_value(entry: dict[str, Any]) -> str:
    line, column, length = entry["value_at"]
    text = (APP / entry["path"]).read_text("utf-8").splitlines()[line - 1]
    return text[column - 1 : column - 1 + length]


def _label(entry: dict[str, Any]) -> str:
    cell = f"#cell{entry['cell']}" if "cell" in entry else ""
    return f"{entry['path']}{cell}:{entry['line']}-{entry.get('kind') or entry.get('what')}"


def test_expected_file_is_consistent() -> None:
    for group in ("secrets", "identifiers", "allowed"):
        for entry in EXPECTED[group]:
            value = _planted_value(entry)
            assert len(value) >= 16, entry
            assert (APP / entry["path"]).read_text("utf-8").count(value) == 1, entry
    planted = {_key(e) for e in EXPECTED["secrets"]}
    assert not planted & {_key(e) for e in EXPECTED["placeholders"]}


def test_scan_exits_1() -> None:
    code, _ = _report()
    assert code == 1


@pytest.mark.parametrize("entry", EXPECTED["secrets"], ids=_label)
def test_planted_secret_is_reported(entry: dict[str, Any]) -> None:
    _, report = _report()
    at = [f for f in _credentials(report["findings"]) if _finding_key(f) == _key(entry)]
    assert at, f"no finding for the planted {entry['kind']} at {_label(entry)}"
    if "rule" in entry:
        assert {f["rule_id"] for f in at} == {entry["rule"]}
    else:
        # Other providers' rules: any id, but not an OpenAI rule misfiring on a foreign credential.
        assert not {f["rule_id"] for f in at} & OPENAI_RULES
    assert all(f["kind"] == "secret" for f in at)


@pytest.mark.parametrize("entry", EXPECTED["placeholders"], ids=_label)
def test_placeholder_is_not_reported(entry: dict[str, Any]) -> None:
    # Even at the lowest threshold nothing may be reported on a placeholder line.
    _, report = _report("info")
    at = [f["rule_id"] for f in _credentials(report["findings"]) if _finding_key(f) == _key(entry)]
    assert not at, f"{_label(entry)} ({entry['what']}) reported as {at}"


def test_nothing_reported_beyond_the_planted_credentials() -> None:
    _, report = _report()
    planted = {_key(e) for e in EXPECTED["secrets"]}
    extra = [
        (f["rule_id"], _finding_key(f))
        for f in _credentials(report["findings"])
        if _finding_key(f) not in planted
    ]
    assert not extra


def test_identifiers_show_only_at_info() -> None:
    _, default = _report()
    _, info = _report("info")
    for entry in EXPECTED["identifiers"]:
        assert not [f for f in _credentials(default["findings"]) if _finding_key(f) == _key(entry)]
        found = [f for f in _credentials(info["findings"]) if _finding_key(f) == _key(entry)]
        assert [f["rule_id"] for f in found] == [entry["rule"]]
        assert found[0]["severity"] == "info"
    assert default["stats"]["below_threshold"] >= len(EXPECTED["identifiers"])


def test_inline_allow_moves_the_finding_to_suppressed() -> None:
    _, report = _report()
    for entry in EXPECTED["allowed"]:
        assert not [f for f in _credentials(report["findings"]) if _finding_key(f) == _key(entry)]
        allowed = [f for f in _credentials(report["suppressed"]) if _finding_key(f) == _key(entry)]
        assert [f["rule_id"] for f in allowed] == [entry["rule"]]
        assert "revoked" in allowed[0]["suppressed"]


def test_notebook_image_output_is_not_scanned_as_text() -> None:
    _, report = _report("info")
    notebook = f"{APP_REL}/notebooks/prompt_experiments.ipynb"
    assert all("cell" in f for f in report["findings"] if f["path"] == notebook)
    assert not [n for n in report["notices"] if n["path"] == notebook]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_no_planted_value_appears_in_any_output(fmt: str) -> None:
    proc = _run("--format", fmt, "--min-severity", "info")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    output = proc.stdout + proc.stderr
    assert output.strip()
    for entry in (*EXPECTED["secrets"], *EXPECTED["allowed"]):
        value = _planted_value(entry)
        assert value not in output, f"{_label(entry)} printed in full ({fmt})"
        # Redaction keeps a short public prefix and the last four characters; the middle never shows.
        assert value[4:-4] not in output, f"{_label(entry)} partly printed ({fmt})"
