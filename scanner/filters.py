"""Filters: pure predicates run in stages (path before reading, line during detection, finding after).

A filter never changes a finding; it decides whether the finding is reported. Inline allows and
threshold decisions are counted in the scan statistics so that nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pathspec

from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding

_ALLOW = re.compile(
    r"prodguard:\s*allow(?P<next>-next-line)?"
    r"(?:\s*[\[(]?\s*(?P<ids>[A-Z]{2,4}\d{3,4}(?:\s*[,\s]\s*[A-Z]{2,4}\d{3,4})*)\s*[\])]?)?"
    r"(?:\s*(?:--|:)\s*(?P<reason>.*))?"
)


# The longest allow reason reported; a "reason" running on over a minified line is cut.
MAX_REASON = 200


@dataclass(frozen=True)
class Allowance:
    """An inline ``prodguard: allow`` comment: the rules it covers (empty: all) and the reason given.

    The reason is printed in reports: callers parse allowances from redacted lines (the engine does), so
    that a key written after the comment is not copied into the report with it."""

    rule_ids: frozenset[str]
    reason: str

    def covers(self, rule_id: str) -> bool:
        return not self.rule_ids or rule_id in self.rule_ids

    def label(self) -> str:
        """What a suppressed finding says about why: ``inline allow: <reason>``."""
        reason = self.reason if len(self.reason) <= MAX_REASON else self.reason[: MAX_REASON - 1] + "…"
        return "inline allow" + (f": {reason}" if reason else "")


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


def compile_ignore_lines(lines: Sequence[str]) -> pathspec.GitIgnoreSpec:
    """Gitignore patterns as git reads them: a pattern git cannot use (a lone ``\\``, a bare ``!``, a
    range such as ``[z-a]``) matches nothing, and the other lines keep working."""
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines)
    except (ValueError, TypeError, re.error):
        pass
    usable = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except (ValueError, TypeError, re.error):
            continue
        usable.append(line)
    return pathspec.GitIgnoreSpec.from_lines(usable)


def matchable(path: str) -> str:
    """``path`` as patterns can be matched against it: a file name that is not UTF-8 (held with
    surrogate escapes) has its undecodable bytes replaced; git matches bytes, and no pattern written in
    a text file names those bytes anyway."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return path


class PathFilter:
    """Path-stage filter: config excludes, as gitignore-style patterns relative to the project root."""

    def __init__(self, patterns: tuple[str, ...]) -> None:
        self.patterns = patterns
        self._spec = compile_ignore_lines(patterns) if patterns else None

    def is_excluded(self, relative_path: str) -> bool:
        return self._spec is not None and self._spec.match_file(matchable(relative_path))

    def __reduce__(self) -> tuple[type, tuple[tuple[str, ...]]]:
        return (type(self), (self.patterns,))
