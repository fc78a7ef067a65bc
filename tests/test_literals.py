"""Required pieces read from a pattern (``scanner/literals.py``): every match contains a string of every
clause, so a window without one is skipped without changing what the engine finds."""

from __future__ import annotations

import re

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Rule
from prodguard.scanner.literals import required_clauses, window_may_match

CATALOGUE = load_catalogue(compile_builtin=True)
PATTERN_RULES = [r for r in CATALOGUE.rules if r.pattern]


def _satisfied(pattern: bytes, text: bytes) -> None:
    clauses = required_clauses(pattern)
    for match in re.finditer(pattern, text):
        assert window_may_match(text, match.start(), match.end(), clauses), (pattern, match.group())


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=lambda r: r.id)
def test_every_match_of_every_rule_example_holds_its_rules_clauses(rule: Rule) -> None:
    for example in (*rule.examples.match, *rule.examples.ignore):
        _satisfied(rule.pattern.encode("utf-8"), example.encode("utf-8"))


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        (rb"sk-proj-[A-Za-z0-9]{20}", [{b"sk-proj-"}]),
        # Letters under (?i) may come in either case; punctuation is fixed.
        (rb"(?i)token\s*=\s*@", [{b"@"}, {b"="}]),
        (rb"(?i:x)@@|(?-i:Q)##", [{b"@@", b"##"}]),
        (rb"[\"'`]value", [{b"value"}, {b'"', b"'", b"`"}]),
        # Optional parts, lookarounds (a lookbehind reads before the window) and negated classes: nothing.
        (rb"(?<=@@)x(?:##)?[^:]", []),
        (rb"a|(?:b)", []),
        (rb"(?:ab)+:c", [{b":c"}, {b"ab"}]),
    ],
)
def test_clauses_of_small_patterns(pattern: bytes, required: list[set[bytes]]) -> None:
    assert sorted(map(sorted, required_clauses(pattern))) == sorted(map(sorted, required))


def test_a_window_is_skipped_only_when_a_clause_has_nothing_in_it() -> None:
    clauses = required_clauses(rb"(?i)[a-z]+://[^@\s]+:[^@\s]+@host")
    line = b"see https://platform.example.com/docs and mail user@host\n"
    assert window_may_match(line, 0, len(line), clauses)
    assert not window_may_match(line, 0, line.index(b" and"), clauses)
    _satisfied(rb"(?i)[a-z]+://[^@\s]+:[^@\s]+@host", b"x = 'https://ci:pw@host/simple'")


def test_a_pattern_the_analysis_cannot_read_has_no_clauses() -> None:
    assert required_clauses(b"(unclosed") == ()
