"""Every rule proves itself: each ``examples.match`` entry is found by the real engine (prefilter,
pattern, validators) and each ``examples.ignore`` entry is not. A rule cannot ship without examples."""

from __future__ import annotations

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Rule
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine

CATALOGUE = load_catalogue(compile_builtin=True)
PATTERN_RULES = CATALOGUE.pattern_rules


def _cases(kind: str) -> list[tuple[Rule, str]]:
    return [
        pytest.param(rule, example, id=f"{rule.id}-{i}")
        for rule in PATTERN_RULES
        for i, example in enumerate(getattr(rule.examples, kind))
    ]


@pytest.fixture(scope="module")
def full_engine() -> Engine:
    return Engine(PATTERN_RULES)


@pytest.mark.parametrize(("rule", "example"), _cases("match"))
def test_match_example_is_found(full_engine: Engine, rule: Rule, example: str) -> None:
    findings = full_engine.scan(Blob("example.txt", example.encode("utf-8")))
    assert any(f.rule_id == rule.id for f in findings), f"{rule.id} did not match its example"


@pytest.mark.parametrize(("rule", "example"), _cases("ignore"))
def test_ignore_example_is_not_found(full_engine: Engine, rule: Rule, example: str) -> None:
    findings = full_engine.scan(Blob("example.txt", example.encode("utf-8")))
    assert not [f for f in findings if f.rule_id == rule.id], f"{rule.id} matched an ignore example"


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=lambda r: r.id)
def test_every_pattern_rule_has_examples_both_ways(rule: Rule) -> None:
    assert rule.examples.match, f"{rule.id} has no match examples"
    assert rule.examples.ignore, f"{rule.id} has no ignore examples"


@pytest.mark.parametrize(("rule", "example"), _cases("match"))
def test_excerpt_never_shows_the_secret(full_engine: Engine, rule: Rule, example: str) -> None:
    findings = [
        f for f in full_engine.scan(Blob("example.txt", example.encode("utf-8"))) if f.rule_id == rule.id
    ]
    for finding in findings:
        line = example.splitlines()[finding.line - 1]
        # The longest run of secret-looking characters on the line must not survive in the excerpt.
        start = finding.column - 1
        end = finding.end_column - 1 if finding.end_line == finding.line else len(line)
        secret = line[start:end]
        if len(secret) >= 8:
            assert secret not in finding.excerpt
        if len(secret) > 8:
            assert secret[4:-4] not in finding.excerpt


def test_rule_ids_are_unique_and_well_formed() -> None:
    ids = [r.id for r in CATALOGUE.rules]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("PG") for i in ids)
