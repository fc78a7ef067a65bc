"""Filters: pure predicates run in stages (path before reading, line during detection, finding after).

A filter never changes a finding; it decides whether the finding is reported. Inline allows and
threshold decisions are counted in the scan statistics so that nothing disappears silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pathspec

from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding

_ALLOW = re.compile(
    r"prodguard:\s*allow(?P<next>-next-line)?"
    r"(?:\s*[\[(]?\s*(?P<ids>[A-Z]{2,4}\d{3,4}(?:\s*[,\s]\s*[A-Z]{2,4}\d{3,4})*)\s*[\])]?)?"
    r"(?:\s*(?:--|:)\s*(?P<reason>.*))?"
)


@dataclass(frozen=True)
class Allowance:
    """An inline ``prodguard: allow`` comment: the rules it covers (empty: all) and the reason given."""

    rule_ids: frozenset[str]
    reason: str

    def covers(self, rule_id: str) -> bool:
        return not self.rule_ids or rule_id in self.rule_ids


def parse_allowance(line: str, *, next_line: bool = False) -> Allowance | None:
    """The allow comment on ``line``; with ``next_line``, only an ``allow-next-line`` comment counts."""
    if "prodguard:" not in line:
        return None
    for match in _ALLOW.finditer(line):
        if bool(match.group("next")) != next_line:
            continue
        ids = match.group("ids") or ""
        return Allowance(
            frozenset(re.findall(r"[A-Z]{2,4}\d{3,4}", ids)), (match.group("reason") or "").strip()
        )
    return None


def is_allowed_inline(line: str, previous_line: str, rule_id: str) -> Allowance | None:
    """Line-stage filter: an allow comment on the finding's line, or an allow-next-line above it."""
    for allowance in (parse_allowance(line), parse_allowance(previous_line, next_line=True)):
        if allowance is not None and allowance.covers(rule_id):
            return allowance
    return None


def is_below_threshold(finding: Finding, minimum: Severity) -> bool:
    """Finding-stage filter: severity under the configured threshold."""
    return finding.severity < minimum


class PathFilter:
    """Path-stage filter: config excludes, as gitignore-style patterns relative to the project root."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        # The plain regular-expression backend: a Hyperscan one (pathspec's default when the wheel is
        # installed) costs ~50 ms to compile, more than matching a whole tree's paths.
        self._spec = pathspec.GitIgnoreSpec.from_lines(patterns, backend="simple") if patterns else None

    def is_excluded(self, relative_path: str) -> bool:
        return self._spec is not None and self._spec.match_file(relative_path)

    def __reduce__(self) -> tuple[type, tuple[tuple[str, ...]]]:
        return (type(self), (self.patterns,))
