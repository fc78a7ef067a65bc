"""The practice fixture suite, in the shape of public rule suites: a ``# ruleid: PG306`` (``//`` in
JavaScript/TypeScript) comment names the rules that must report the line below it, an ``# ok: PG306``
comment the rules that must not. Every finding in a fixture must be announced by a ``ruleid`` line, so a
new false positive fails too. One parametrized test runs every fixture of every language through the real
parsers and checks (``practices.analyze``). PG207 (an environment rule with a code check) is annotated where
its check reports a client; whether the repository has several environments is decided later, by the
environment analysis (``tests/test_environments.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.scanner.blob import Blob
from prodguard.scanner.practices import CHECKS, TestPaths, analyze, language_of

ROOT = Path(__file__).resolve().parent / "practice_fixtures"
RULES = {r.id: r for r in load_catalogue(compile_builtin=True).rules if r.id in CHECKS}
_ANNOTATION = re.compile(r"^\s*(?:#|//)\s*(ruleid|ok):\s*(PG\d+(?:\s*,\s*PG\d+)*)\s*$")
# The fixtures live under tests/: judged relative to their own folder, they are application code.
TESTS = TestPaths(root=str(ROOT))
FIXTURES = sorted(p for p in ROOT.rglob("*") if p.is_file() and language_of(p.name) is not None)


def _expectations(lines: list[str]) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(rule, line) pairs that must be reported and pairs that must not (1-based lines)."""
    expected: set[tuple[str, int]] = set()
    forbidden: set[tuple[str, int]] = set()
    for number, line in enumerate(lines, start=1):
        match = _ANNOTATION.match(line)
        if match is None:
            continue
        target = number + 1
        while target <= len(lines) and _ANNOTATION.match(lines[target - 1]):
            target += 1  # stacked annotations all point at the first code line below them
        for rule_id in re.split(r"\s*,\s*", match.group(2)):
            (expected if match.group(1) == "ruleid" else forbidden).add((rule_id, target))
    return expected, forbidden


def test_the_suite_covers_every_language() -> None:
    languages = {language_of(p.name) for p in FIXTURES}
    assert {str(language) for language in languages} == {"python", "javascript", "typescript"}


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_fixture_annotations_hold(path: Path) -> None:
    data = path.read_bytes()
    expected, forbidden = _expectations(data.decode("utf-8").splitlines())
    assert expected or forbidden, "a fixture without annotations proves nothing"
    for rule_id, _line in expected | forbidden:
        assert rule_id in RULES, f"not a rule with a code check: {rule_id}"
    findings = analyze(Blob(str(path), data), RULES, TESTS).findings
    got = {(f.rule_id, f.line) for f in findings}
    missing = sorted(expected - got, key=lambda pair: pair[1])
    unexpected = sorted(got - expected, key=lambda pair: pair[1])
    wrongly = sorted(got & forbidden, key=lambda pair: pair[1])
    assert not missing and not unexpected and not wrongly, (
        f"missing {missing}, not announced {unexpected}, reported despite ok: {wrongly}"
    )
