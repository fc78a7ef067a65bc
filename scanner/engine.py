"""The detection engine: bytes in, redacted findings out.

One keyword pass (the prefilter) decides which rules run and where; a rule's pattern then runs only in a
window around each keyword hit on its line (or over the whole blob for multi-line rules), and its
validators decide. The engine holds no state between blobs and is safe to copy into worker processes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from prodguard.rules.model import Kind, Rule, Scope
from prodguard.rules.validators import passes
from prodguard.scanner.assignments import assignment_name
from prodguard.scanner.blob import Blob
from prodguard.scanner.filters import Allowance, is_allowed_inline
from prodguard.scanner.finding import Finding, RedactedLine, fingerprint, hash_secret, redact
from prodguard.scanner.prefilter import Prefilter, build_prefilter

# A secret, with what introduces it (``api_key = "``), fits well inside this many bytes either side of
# its keyword; bounding the window keeps minified one-line files linear.
WINDOW = 1024
GENERIC_PROVIDER = "generic"
# How far a rule's context words are looked for either side of a match, at most (``context.lines``
# lines, but no more than this many bytes).
CONTEXT_REACH = 4 * WINDOW


@dataclass(frozen=True)
class SecretSpan:
    """Where a rule matched a secret, in bytes of the scanned data."""

    start: int
    end: int
    rule: Rule


@dataclass(frozen=True)
class _Candidate:
    rule: Rule
    start: int
    end: int
    secret: bytes


class Engine:
    """Runs a fixed set of pattern rules over blobs."""

    def __init__(self, rules: Sequence[Rule], *, prefer_hyperscan: bool = True) -> None:
        self.rules = tuple(r for r in rules if r.pattern)
        keywords: list[str] = []
        index: dict[str, int] = {}
        rules_of: list[list[int]] = []
        for rule_number, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                if keyword not in index:
                    index[keyword] = len(keywords)
                    keywords.append(keyword)
                    rules_of.append([])
                rules_of[index[keyword]].append(rule_number)
        self._keywords = tuple(keywords)
        self._rules_of = tuple(tuple(r) for r in rules_of)
        self._prefilter: Prefilter | None = (
            build_prefilter(keywords, prefer_hyperscan=prefer_hyperscan) if keywords else None
        )

    def may_match(self, data: bytes) -> bool:
        """Whether any keyword occurs in ``data`` (cheap; used before parsing notebooks)."""
        return self._prefilter is not None and bool(self._prefilter.hits(data))

    def keyword_starts(self, data: bytes) -> list[int]:
        """Byte offsets where a rule keyword starts in ``data`` (the guard holds streamed text from there)."""
        if self._prefilter is None or not data:
            return []
        return sorted(end - len(self._keywords[kid]) for kid, end in self._prefilter.hits(data))

    def scan(self, blob: Blob) -> list[Finding]:
        """Findings in ``blob``, sorted by position, each with a redacted excerpt."""
        return _to_findings(blob, self._candidates(blob.data))

    def spans(self, data: bytes) -> list[SecretSpan]:
        """Byte spans of the secrets in ``data`` (for redacting text in place, as the guard does)."""
        return [SecretSpan(c.start, c.end, c.rule) for c in self._candidates(data)]

    def _candidates(self, data: bytes) -> list[_Candidate]:
        if self._prefilter is None or not data:
            return []
        hits = self._prefilter.hits(data)
        if not hits:
            return []
        line_windows: dict[int, list[tuple[int, int]]] = defaultdict(list)
        file_rules: set[int] = set()
        size = len(data)
        for kid, end in hits:
            start = end - len(self._keywords[kid])
            # The window, clipped to the hit's line. Line ends are searched for within the window only:
            # a whole-line search per hit is quadratic on a long minified line with many hits.
            floor = max(0, start - WINDOW)
            newline = data.rfind(b"\n", floor, start)
            lo = newline + 1 if newline >= 0 else floor
            hi = data.find(b"\n", end, end + WINDOW)
            if hi < 0:
                hi = min(size, end + WINDOW)
            for rule_number in self._rules_of[kid]:
                if self.rules[rule_number].scope is Scope.FILE:
                    file_rules.add(rule_number)
                    continue
                line_windows[rule_number].append((lo, hi))
        candidates: list[_Candidate] = []
        for rule_number, windows in line_windows.items():
            rule = self.rules[rule_number]
            for lo, hi in _merge(windows):
                candidates.extend(self._match(rule, data, lo, hi))
        for rule_number in file_rules:
            candidates.extend(self._match(self.rules[rule_number], data, 0, size))
        return _prefer_specific(_dedupe(candidates))

    def _match(self, rule: Rule, data: bytes, lo: int, hi: int) -> list[_Candidate]:
        found = []
        group = rule.secret_group
        for match in rule.regex.finditer(data, lo, hi):
            start, end = match.span(group)
            if start < 0:
                continue
            secret = data[start:end]
            if not passes(secret.decode("utf-8", "replace"), rule.validation):
                continue
            if rule.context is not None and not _context_near(
                data, start, end, rule.context.words, rule.context.lines
            ):
                continue
            found.append(_Candidate(rule, start, end, secret))
        return found


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    windows.sort()
    merged = [windows[0]]
    for lo, hi in windows[1:]:
        last_lo, last_hi = merged[-1]
        if lo <= last_hi:
            merged[-1] = (last_lo, max(last_hi, hi))
        else:
            merged.append((lo, hi))
    return merged


def _dedupe(candidates: list[_Candidate]) -> list[_Candidate]:
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for c in candidates:
        key = (c.rule.id, c.start, c.end)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def _prefer_specific(candidates: list[_Candidate]) -> list[_Candidate]:
    """A provider rule and a generic assignment rule often match the same value; report the provider's."""
    specific = [c for c in candidates if c.rule.provider != GENERIC_PROVIDER]
    if len(specific) == len(candidates):
        return candidates
    kept = list(specific)
    for c in candidates:
        if c.rule.provider == GENERIC_PROVIDER and not any(
            s.start < c.end and c.start < s.end for s in specific
        ):
            kept.append(c)
    return kept


def _context_near(data: bytes, start: int, end: int, words: tuple[str, ...], lines: int) -> bool:
    # The region is also capped in bytes: on a long minified line, ``lines`` lines can be the whole
    # file, and searching it once per candidate is quadratic.
    floor = max(0, start - CONTEXT_REACH)
    ceiling = min(len(data), end + CONTEXT_REACH)
    lo = start
    for _ in range(lines + 1):
        lo = data.rfind(b"\n", floor, lo)
        if lo < 0:
            lo = floor
            break
    hi = end
    for _ in range(lines + 1):
        nxt = data.find(b"\n", hi + 1, ceiling)
        if nxt < 0:
            hi = ceiling
            break
        hi = nxt
    region = data[lo:hi].lower()
    return any(word.encode("utf-8") in region for word in words)


def _line_bounds(data: bytes, pos: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return start, (len(data) if end < 0 else end)


def _to_findings(blob: Blob, candidates: list[_Candidate]) -> list[Finding]:
    if not candidates:
        return []
    data = blob.data
    candidates.sort(key=lambda c: (c.start, c.rule.id))
    # Every secret span on a line is redacted in that line's excerpts, whichever finding it belongs to.
    spans_by_line: dict[int, list[tuple[int, int, str]]] = defaultdict(list)
    located = []
    line_number = 1
    cursor = 0
    # Work per line is done once per line, not once per finding on it: a minified line can hold
    # thousands of findings, and per-finding work proportional to its length would be quadratic.
    line_start = line_end = -1
    ascii_line = True
    mark = mark_col = 0  # a byte offset on the current line and its column, to count columns onward
    for c in candidates:
        line_number += data.count(b"\n", cursor, c.start)
        cursor = c.start
        if c.start > line_end:
            line_start, line_end = _line_bounds(data, c.start)
            ascii_line = data[line_start:line_end].isascii()
            mark, mark_col = line_start, 0
        if not ascii_line:
            # Decoding in two parts counts the same as in one when the cut is not inside a character.
            if mark != line_start and 0x80 <= data[mark] < 0xC0:
                mark, mark_col = line_start, 0
            mark_col += len(data[mark : c.start].decode("utf-8", "replace"))
            mark = c.start
        col = c.start - line_start if ascii_line else mark_col
        first_line_end = min(c.end, line_end)
        end_col = col + len(data[c.start : first_line_end].decode("utf-8", "replace"))
        secret_text = c.secret.decode("utf-8", "replace")
        spans_by_line[line_start].append((col, end_col, redact(secret_text, c.rule.redact_prefix)))
        newlines = c.secret.count(b"\n")
        if newlines:
            last_start = data.rfind(b"\n", 0, c.end) + 1
            end_col_last = len(data[last_start : c.end].decode("utf-8", "replace"))
        else:
            end_col_last = end_col
        located.append((c, line_number, line_start, line_end, col, line_number + newlines, end_col_last))
    lines: dict[int, tuple[str, RedactedLine, str]] = {}
    allowances: dict[tuple[int, str], Allowance | None] = {}
    findings = []
    for c, line, line_start, line_end, col, end_line, end_col in located:
        if line_start not in lines:
            line_text = data[line_start:line_end].decode("utf-8", "replace")
            prev_start, _ = _line_bounds(data, max(line_start - 1, 0)) if line_start else (0, 0)
            previous = data[prev_start : line_start - 1].decode("utf-8", "replace") if line_start else ""
            lines[line_start] = (line_text, RedactedLine.build(line_text, spans_by_line[line_start]), previous)
        line_text, redacted, previous = lines[line_start]
        if (line_start, c.rule.id) not in allowances:
            allowances[line_start, c.rule.id] = is_allowed_inline(line_text, previous, c.rule.id)
        allowance = allowances[line_start, c.rule.id]
        secret_hash = hash_secret(c.secret)
        assigned_to = (
            assignment_name(data, line_start, col, line_text)
            if c.rule.kind is Kind.IDENTIFIER or c.rule.provider == "openai"
            else None
        )
        findings.append(
            Finding(
                rule_id=c.rule.id,
                title=c.rule.title,
                severity=c.rule.severity,
                kind=c.rule.kind,
                path=blob.path,
                line=line,
                column=col + 1,
                end_line=end_line,
                end_column=end_col + 1,
                excerpt=redacted.excerpt(col),
                fingerprint=fingerprint(c.rule.id, secret_hash, blob.path),
                secret_hash=secret_hash,
                origin=blob.origin,
                cell=blob.cell,
                suppressed=("inline allow" + (f": {allowance.reason}" if allowance.reason else ""))
                if allowance
                else None,
                extra={"assigned_to": assigned_to} if assigned_to else {},
            )
        )
    return findings
