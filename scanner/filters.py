"""Filters: pure predicates run in stages (path before reading, line during detection, finding after).

A filter never changes a finding; it decides whether the finding is reported. Inline allows and
threshold decisions are counted in the scan statistics so that nothing disappears silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches

import pathspec

from prodguard.rules.model import Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.lines import unify_line_ends

_ALLOW = re.compile(
    r"prodguard:\s*allow(?P<next>-next-line)?(?![\w-])"
    r"(?:\s*[\[(]?\s*(?P<ids>[A-Z]{2,4}\d{3,4}(?:\s*[,\s]\s*[A-Z]{2,4}\d{3,4})*)\s*[\])]?)?"
    r"(?:\s*(?:--|:)\s*(?P<reason>.*))?"
)


# The longest allow reason reported; a "reason" running on over a minified line is cut.
MAX_REASON = 200
# The allow comments of other scanners, honoured so that a team can migrate without rewriting them:
# gitleaks (``gitleaks:allow``) and detect-secrets (``pragma: allowlist secret``, and its next-line form).
_PEER_ALLOW = re.compile(r"gitleaks:allow|pragma:\s*allowlist[ -]secret")
_PEER_ALLOW_NEXT = re.compile(r"pragma:\s*allowlist[ -]nextline[ -]secret")
# Anything that looks like a prodguard directive, to tell a misspelt one from a comment that mentions us.
_DIRECTIVE = re.compile(r"prodguard:\s*([A-Za-z][\w-]*)(.*)")
_DIRECTIVES = ("allow", "allow-next-line")
# Words other tools use for the same purpose; "prodguard: <anything else>" is prose, not a directive.
_MISTAKEN = frozenset({"ignore", "ignore-next-line", "skip", "disable", "noqa", "allowlist", "whitelist", "nosec"})
_ID_LIKE = re.compile(r"\b[A-Z]{2,4}\d{3,4}\b")


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
    """The allow comment on ``line``; with ``next_line``, only an ``allow-next-line`` comment counts.
    A peer scanner's allow comment covers every rule."""
    if "prodguard:" not in line:
        if ("allow" in line) and (_PEER_ALLOW_NEXT if next_line else _PEER_ALLOW).search(line):
            return Allowance(frozenset(), "allowed by a gitleaks/detect-secrets comment")
        return None
    for match in _ALLOW.finditer(line):
        if bool(match.group("next")) != next_line:
            continue
        ids = match.group("ids") or ""
        return Allowance(
            frozenset(re.findall(r"[A-Z]{2,4}\d{3,4}", ids)), (match.group("reason") or "").strip()
        )
    return None


def allow_comment_problems(data: bytes, known_ids: frozenset[str]) -> list[tuple[int, str]]:
    """(line, message) for each ``prodguard:`` comment that does not do what it seems to: a misspelt
    directive (``prodguard: alow``) or a rule id no rule has. Such a comment silences nothing."""
    if b"prodguard:" not in data:
        return []
    problems = []
    for number, raw in enumerate(unify_line_ends(data).split(b"\n"), start=1):  # the scanner's line model
        if b"prodguard:" not in raw:
            continue
        line = raw.decode("utf-8", "replace")
        for match in _DIRECTIVE.finditer(line):
            word, rest = match.group(1), match.group(2)
            if word not in _DIRECTIVES:
                close = get_close_matches(word.lower(), _DIRECTIVES, n=1, cutoff=0.75)
                if close or word.lower() in _MISTAKEN:
                    hint = close[0] if close else "allow"
                    problems.append(
                        (number, f"unknown directive 'prodguard: {word}' (did you mean '{hint}'?); it allows nothing")
                    )
                continue
            ids_part = rest.split("--", 1)[0]
            unknown = [i for i in _ID_LIKE.findall(ids_part) if i not in known_ids]
            if unknown:
                problems.append((number, f"allow comment names unknown rule id {', '.join(unknown)}"))
    return problems


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
    # The plain regular-expression backend: a Hyperscan database (pathspec's default when the wheel is
    # installed) costs ~50 ms to compile per pattern set, more than matching a whole tree's paths.
    try:
        return pathspec.GitIgnoreSpec.from_lines(lines, backend="simple")
    except (ValueError, TypeError, re.error):
        pass
    usable = []
    for line in lines:
        try:
            pathspec.GitIgnoreSpec.from_lines([line], backend="simple")
        except (ValueError, TypeError, re.error):
            continue
        usable.append(line)
    return pathspec.GitIgnoreSpec.from_lines(usable, backend="simple")


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
