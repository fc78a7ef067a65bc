"""The detection engine: bytes in, redacted findings out.

One keyword pass (the prefilter) decides which rules run and where; a rule's pattern then runs only in a
window around each keyword hit on its line (or over the whole blob for multi-line rules), and its
validators decide. The engine holds no state between blobs and is safe to copy into worker processes.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

from prodguard.rules.model import Kind, Rule, Scope
from prodguard.rules.names import names_pass
from prodguard.rules.validators import passes
from prodguard.scanner.assignments import assignment_name
from prodguard.scanner.blob import Blob
from prodguard.scanner.encoded import (
    MAX_DECODED,
    Decoder,
    base64_text,
    base64_values,
    basic_values,
    encoded_values,
)
from prodguard.scanner.filters import Allowance, is_allowed_inline
from prodguard.scanner.finding import (
    NO_NOTES,
    Finding,
    LineSpans,
    Notes,
    RedactedLine,
    fingerprint,
    hash_secret,
    redact,
)
from prodguard.scanner.lines import unify_line_ends
from prodguard.scanner.literals import Clause, required_clauses, window_may_match
from prodguard.scanner.prefilter import Prefilter, build_prefilter

# A secret, with what introduces it (``api_key = "``), fits well inside this many bytes either side of
# its keyword; bounding the window keeps minified one-line files linear.
WINDOW = 1024
GENERIC_PROVIDER = "generic"
# How far a rule's context words are looked for either side of a match, at most (``context.lines``
# lines, but no more than this many bytes).
CONTEXT_REACH = 4 * WINDOW
# Absent words veto a match from close by (``OpenAI(api_key="…")``): they are looked for this far at most.
ABSENT_REACH = 256
# Encoded secrets (``scanner.encoded``): the keywords that ask for decoding (a blob's base64 values, or
# those after ``Basic``) are part of the one prefilter pass.
_DECODE_ALL = ("kind: secret", 'kind: "secret"', '"kind": "secret"', '"auths"')
_DECODE_BASIC = "basic "
# A match that runs into the end of its window (a long bearer token or JWT) is matched again with this
# much more room, to the end of its line at most, so that the whole token is found and redacted rather
# than its first kilobyte (the rest would be printed, and the guard would send it). A match that reaches
# the new edge too is given four times the room, and so on: no fixed cap, the work stays proportional
# to the token's length (anchored ``match`` calls of linear-time patterns), bounded by the line.
EDGE_EXTENSION = 16 * WINDOW
# Matching work on one line is bounded: at most this many times the line's length, plus an allowance
# (a line packed with keywords would have every rule's pattern run over all of it: minutes for 20 MiB).
DENSE_FACTOR = 3
DENSE_ALLOWANCE = 64 * 1024


class EngineResult(NamedTuple):
    """What the engine found in one blob."""

    findings: list[Finding]
    masks: dict[int, LineSpans]  # line number -> character spans hidden on that line
    dense_lines: tuple[int, ...]  # lines where the work bound stopped some rules (see DENSE_FACTOR)


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
        self._order = {rule.id: n for n, rule in enumerate(self.rules)}
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
        for keyword in (*_DECODE_ALL, _DECODE_BASIC):
            if keyword not in index:
                index[keyword] = len(keywords)
                keywords.append(keyword)
                rules_of.append([])
        self._decode_all = frozenset(index[k] for k in _DECODE_ALL)
        self._decode_basic = index[_DECODE_BASIC]
        self._keywords = tuple(keywords)
        self._rules_of = tuple(tuple(r) for r in rules_of)
        self._prefilter: Prefilter | None = (
            build_prefilter(keywords, prefer_hyperscan=prefer_hyperscan) if keywords else None
        )
        # Rules that share a pattern (and differ in their checks) run it once per window: one key each.
        shared: dict[tuple[str, str], int] = {}
        self._pattern_keys = tuple(
            shared.setdefault((r.pattern, r.secret_group), len(shared)) for r in self.rules
        )
        # What each rule's matches must contain (``literals``), worked out when the rule first runs.
        self._clauses: list[tuple[Clause, ...] | None] = [None] * len(self.rules)

    def _may_match(self, rule_number: int, data: bytes, lo: int, hi: int) -> bool:
        clauses = self._clauses[rule_number]
        if clauses is None:
            clauses = self._clauses[rule_number] = required_clauses(self.rules[rule_number].pattern.encode())
        return not clauses or window_may_match(data, lo, hi, clauses)

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
        return self.scan_with_masks(blob).findings

    def scan_with_masks(self, blob: Blob) -> EngineResult:
        """Findings in ``blob``; by line number, the character spans hidden on each line (the secrets of
        every finding and every overlapping match), so that other checks reporting those lines build
        their excerpts from the same redacted text; and the lines the work bound cut short."""
        data = unify_line_ends(blob.data)
        if data is not blob.data:
            blob = replace(blob, data=data)
        dense: list[int] = []
        reported, masks = self._candidates(data, dense)
        findings, hidden = _to_findings(blob, reported, masks)
        numbers = tuple(data.count(b"\n", 0, start) + 1 for start in sorted(dense))
        return EngineResult(findings, hidden, numbers)

    def spans(self, data: bytes, *, encoded: bool = False) -> list[SecretSpan]:
        """Byte spans of the secrets in ``data`` (for redacting text in place, as the guard does).

        Overlapping matches are merged into one span (their union), attributed to the reported rule that
        starts first: a password glued to a provider key is hidden whole, not only the key's part.
        ``encoded``: also decode every base64, hex and %-encoded value (not only those the scanner's
        keywords point at) and hide a value whose decoded text holds a secret; the work is bounded as
        the scanner's (``MAX_DECODED`` values of at most 4 KiB each, per encoding)."""
        reported, masks = self._candidates(unify_line_ends(data), encoded=encoded)
        merged: list[SecretSpan] = []
        covering = sorted(
            [(c.start, c.end, c.rule, 0) for c in reported] + [(c.start, c.end, c.rule, 1) for c in masks],
            key=lambda item: (item[0], item[3]),
        )
        named: list[bool] = []  # whether a merged span's rule is one that was reported
        for start, end, rule, masked in covering:
            if merged and start < merged[-1].end:
                last = merged[-1]
                keep = named[-1] or masked
                merged[-1] = SecretSpan(last.start, max(last.end, end), last.rule if keep else rule)
                named[-1] = named[-1] or not masked
            else:
                merged.append(SecretSpan(start, end, rule))
                named.append(not masked)
        return merged

    def _within_budget(
        self, data: bytes, runs: list[tuple[int, int, int]], dense: list[int]
    ) -> list[tuple[int, int, int]]:
        """The (window, rule) runs to match, keeping the work on each line under ``DENSE_FACTOR`` times
        its length (plus ``DENSE_ALLOWANCE``). A line packed with keywords would otherwise have every
        rule's pattern run over all of it; past the bound, the remaining runs on that line are skipped
        (OpenAI's rules first, generic ones last, severe before mild: whole rules at a time) and the line's start offset goes to ``dense``."""
        if sum(hi - lo for lo, hi, _ in runs) <= DENSE_FACTOR * len(data) + DENSE_ALLOWANCE:
            return runs  # the common case: no line can be over its bound
        # Each window's line start, in one pass over the data (windows never cross a line end).
        starts: dict[int, int] = {}
        cursor = line_start = 0
        for lo in sorted({run[0] for run in runs}):
            newline = data.rfind(b"\n", cursor, lo)
            if newline >= 0:
                line_start = newline + 1
            starts[lo] = line_start
            cursor = lo
        # Whole rules in order of importance: OpenAI's first (what prodguard is for), then other
        # providers', generic ones last; severe before mild.
        rank = {
            n: (rule.provider == GENERIC_PROVIDER, rule.provider != "openai", -rule.severity, n)
            for n, rule in enumerate(self.rules)
        }
        runs.sort(key=lambda run: (rank[run[2]], run[0]))
        budgets: dict[int, int] = {}  # line start -> bytes of matching left
        kept = []
        for lo, hi, rule_number in runs:
            line_start = starts[lo]
            if line_start not in budgets:
                line_end = data.find(b"\n", lo)
                length = (len(data) if line_end < 0 else line_end) - line_start
                budgets[line_start] = DENSE_FACTOR * length + DENSE_ALLOWANCE
            if budgets[line_start] < hi - lo:
                if line_start not in dense:
                    dense.append(line_start)
                continue
            budgets[line_start] -= hi - lo
            kept.append((lo, hi, rule_number))
        return kept

    def _candidates(
        self, data: bytes, dense: list[int] | None = None, *, decode: bool = True, encoded: bool = False
    ) -> tuple[list[_Candidate], list[_Candidate]]:
        """(candidates to report, candidates only to hide): a match that another overlapping match
        supersedes is not reported, but its span is still redacted. Lines where the work bound cut
        matching short are added to ``dense`` (their start offsets)."""
        if dense is None:
            dense = []
        if self._prefilter is None or not data:
            return [], []
        hits = self._prefilter.hits(data)
        if not hits and not encoded:
            return [], []
        # Windows are gathered per keyword (one entry per hit, not one per rule of the keyword) and then
        # per rule; rules with the same keywords share their merged windows.
        kid_windows: dict[int, list[tuple[int, int]]] = {}
        size = len(data)
        token = (0, 0)  # the last token a window was extended through: (start, end)
        line_lo = line_hi = -1  # the last line found whole: later hits near enough get the same window
        for kid, end in sorted(hits, key=lambda hit: hit[1]):
            start = end - len(self._keywords[kid])
            if line_lo <= start and end <= line_hi and start - line_lo < WINDOW and line_hi - end < WINDOW:
                window = (line_lo, line_hi)
            else:
                # The window, clipped to the hit's line. Line ends are searched for within the window
                # only: a whole-line search per hit is quadratic on a long minified line with many hits.
                floor = max(0, start - WINDOW)
                newline = data.rfind(b"\n", floor, start)
                lo = newline + 1 if newline >= 0 else floor
                hi = data.find(b"\n", end, end + WINDOW)
                whole = hi >= 0 and (newline >= 0 or floor == 0)
                if hi < 0:
                    hi = min(size, end + WINDOW)
                    if hi < size and data[hi] in _TOKEN_BYTES and (data[hi] in _ALNUM or data[hi - 1] in _ALNUM):
                        # Cut inside a token (a JWT whose payload alone is longer than the window): the
                        # window runs to the token's end, so its structure can be matched whole. Hits are
                        # in order, so each token's end is searched for once.
                        if not token[0] <= hi < token[1]:
                            brk = _TOKEN_BREAK.search(data, hi)
                            token = (hi, brk.start() if brk else size)
                        hi = token[1]
                window = (lo, hi)
                line_lo, line_hi = (lo, hi) if whole else (-1, -1)
            windows = kid_windows.get(kid)
            if windows is None:
                kid_windows[kid] = [window]
            elif windows[-1] != window:
                windows.append(window)
        kids_of_rule: dict[int, list[int]] = defaultdict(list)
        for kid in kid_windows:
            for rule_number in self._rules_of[kid]:
                kids_of_rule[rule_number].append(kid)
        file_rules: set[int] = set()
        merged: dict[tuple[int, ...], list[tuple[int, int]]] = {}
        runs = []
        for rule_number, kids in kids_of_rule.items():
            if self.rules[rule_number].scope is Scope.FILE:
                file_rules.add(rule_number)
                continue
            key = tuple(kids)
            windows = merged.get(key)
            if windows is None:
                windows = merged[key] = _merge([w for kid in kids for w in kid_windows[kid]])
            runs.extend([(lo, hi, rule_number) for lo, hi in windows])
        candidates: list[_Candidate] = []
        # Rules that share a pattern (and differ in their checks) run it once per window.
        spans: dict[tuple[int, int, int], list[tuple[int, int, int, int]]] = {}
        for lo, hi, rule_number in self._within_budget(data, runs, dense):
            if self._may_match(rule_number, data, lo, hi):
                candidates.extend(self._match(rule_number, data, lo, hi, spans))
        for rule_number in file_rules:
            if self._may_match(rule_number, data, 0, size):
                candidates.extend(self._match(rule_number, data, 0, size, spans))
        if decode and encoded:
            for decoder, spans_of in encoded_values(data).items():
                candidates.extend(self._decoded(data, spans_of, decoder))
        elif decode:
            if self._decode_all.intersection(kid_windows):
                candidates.extend(self._decoded(data, base64_values(data)))
            elif self._decode_basic in kid_windows:
                candidates.extend(self._decoded(data, basic_values(data)))
        unique, overlapped = _dedupe(candidates)
        reported, superseded = _prefer_specific(unique, self._order)
        return reported, overlapped + superseded

    def _decoded(self, data: bytes, spans: list[tuple[int, int]], decoder: Decoder = base64_text) -> list[_Candidate]:
        """Secrets inside the encoded values at ``spans`` (base64 unless ``decoder`` says otherwise),
        reported at the encoded span."""
        found: list[_Candidate] = []
        for start, end in spans[:MAX_DECODED]:
            text = decoder(data[start:end])
            if text is None:
                continue
            reported, _ = self._candidates(text, decode=False)
            found.extend(_Candidate(inner.rule, start, end, inner.secret) for inner in reported)
        return found

    def _match(
        self,
        rule_number: int,
        data: bytes,
        lo: int,
        hi: int,
        spans: dict[tuple[int, int, int], list[tuple[int, int, int, int]]],
    ) -> list[_Candidate]:
        found = []
        rule = self.rules[rule_number]
        group = rule.secret_group
        # The window was cut inside a line: a match running into its end may go on after it.
        cut = hi < len(data) and data[hi] != 0x0A
        key = (self._pattern_keys[rule_number], lo, hi)
        if key not in spans:
            spans[key] = [(*m.span(group), m.start(), m.end()) for m in rule.regex.finditer(data, lo, hi)]
        for start, end, match_start, match_end in spans[key]:
            if start < 0:
                continue
            if cut and match_end >= hi:
                start, end = _extended(rule, data, match_start, hi, (start, end))
            secret = data[start:end]
            if not passes(secret.decode("utf-8", "replace"), rule.validation):
                continue
            if rule.validation.name_checks and not names_pass(
                data[match_start:start].decode("utf-8", "replace"), rule.validation.name_checks
            ):
                continue
            context = rule.context
            if context is not None and (
                (context.words and not _context_near(data, start, end, context.words, context.lines))
                or (
                    context.absent
                    and _context_near(data, start, end, context.absent, context.lines, reach=ABSENT_REACH)
                )
            ):
                continue
            found.append(_Candidate(rule, start, end, secret))
        return found


def _extended(rule: Rule, data: bytes, begin: int, hi: int, span: tuple[int, int]) -> tuple[int, int]:
    """The secret's span when the match starting at ``begin`` is given room past ``hi``: to the end of
    the line, in steps (``EDGE_EXTENSION`` bytes, then four times more each time the match reaches the
    step's edge again)."""
    room = EDGE_EXTENSION
    while True:
        limit = data.find(b"\n", hi, hi + room)
        line_ends = limit >= 0
        if not line_ends:
            limit = min(len(data), hi + room)
        longer = rule.regex.match(data, begin, limit)
        if longer is None:
            return span
        start, end = longer.span(rule.secret_group)
        if start < 0 or end < span[1]:
            return span
        if line_ends or limit >= len(data) or longer.end() < limit:
            return start, end
        span, hi, room = (start, end), limit, room * 4


# Characters of a token a window cut inside is extended through: base64(url), JWTs, hex, bearer tokens.
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_.~-")
_TOKEN_BREAK = re.compile(rb"[^A-Za-z0-9+/=_.~-]")
_ALNUM = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

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


def _dedupe(candidates: list[_Candidate]) -> tuple[list[_Candidate], list[_Candidate]]:
    """One candidate per stretch of a rule's matches: the same secret found from two windows (a token
    extended past its window and found again from the next) is reported once; an overlapping remainder
    is kept to be hidden."""
    unique: list[_Candidate] = []
    overlapped: list[_Candidate] = []
    reach: dict[str, int] = {}
    for c in sorted(candidates, key=lambda c: (c.rule.id, c.start, -c.end)):
        if c.start < reach.get(c.rule.id, -1):
            if c.end > reach[c.rule.id]:
                overlapped.append(c)
            continue
        reach[c.rule.id] = c.end
        unique.append(c)
    return unique, overlapped


def _prefer_specific(
    candidates: list[_Candidate], order: dict[str, int]
) -> tuple[list[_Candidate], list[_Candidate]]:
    """A provider rule and a generic assignment rule often match the same value; report the provider's.
    The generic match is still hidden: its span may reach further (``password = "Summer!sk_live_…"``).
    Two generic rules matching the same span report it once, as the rule listed first (``order``)."""
    specific = [c for c in candidates if c.rule.provider != GENERIC_PROVIDER]
    if len(specific) == len(candidates):
        return candidates, []
    # Generic rules overlap by design (a password-named pair is also a secret-named one): the same
    # secret is reported once, by the rule that comes first in the catalogue.
    seen: set[tuple[int, int]] = set()
    repeated: list[_Candidate] = []
    generic: list[_Candidate] = []
    for c in sorted((c for c in candidates if c.rule.provider == GENERIC_PROVIDER), key=lambda c: order[c.rule.id]):
        (repeated if (c.start, c.end) in seen else generic).append(c)
        seen.add((c.start, c.end))
    candidates = specific + generic
    kept = list(specific)
    superseded: list[_Candidate] = []
    ordered = sorted(specific, key=lambda s: s.start)
    starts = [s.start for s in ordered]
    # Running maximum of ends, to test overlap with any specific span starting before c.end in log time.
    reach: list[int] = []
    for s in ordered:
        reach.append(max(s.end, reach[-1]) if reach else s.end)
    for c in candidates:
        if c.rule.provider != GENERIC_PROVIDER:
            continue
        before = bisect_left(starts, c.end)  # specific spans starting before c ends
        overlaps = before > 0 and reach[before - 1] > c.start
        (superseded if overlaps else kept).append(c)
    return kept, superseded + repeated


def _context_near(
    data: bytes, start: int, end: int, words: tuple[str, ...], lines: int, reach: int = CONTEXT_REACH
) -> bool:
    # The region is also capped in bytes: on a long minified line, ``lines`` lines can be the whole
    # file, and searching it once per candidate is quadratic.
    floor = max(0, start - reach)
    ceiling = min(len(data), end + reach)
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


def _to_findings(
    blob: Blob, candidates: list[_Candidate], masks: list[_Candidate]
) -> tuple[list[Finding], dict[int, LineSpans]]:
    if not candidates:
        return [], {}
    data = blob.data
    candidates.sort(key=lambda c: (c.start, c.rule.id))
    # Every secret span on a line is redacted in that line's excerpts, whichever finding it belongs to,
    # and so is every match that was not reported because another one covers it (the union is hidden).
    spans_by_line: dict[int, LineSpans] = defaultdict(list)
    numbers: dict[int, int] = {}  # line start -> line number, for the lines holding spans
    located = []
    line_number = 1
    cursor = 0
    # Work per line is done once per line, not once per span on it: a minified line can hold
    # thousands of findings, and per-finding work proportional to its length would be quadratic.
    line_start = line_end = -1
    ascii_line = True
    mark = mark_col = 0  # a byte offset on the current line and its column, to count columns onward
    every = sorted([(c, True) for c in candidates] + [(m, False) for m in masks], key=lambda p: p[0].start)
    for c, reported in every:
        line_number += data.count(b"\n", cursor, c.start)
        cursor = c.start
        if c.start > line_end:
            line_start, line_end = _line_bounds(data, c.start)
            ascii_line = data[line_start:line_end].isascii()
            mark, mark_col = line_start, 0
            numbers[line_start] = line_number
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
        replacement = redact(secret_text, c.rule.redact_prefix)
        spans_by_line[line_start].append((col, end_col, replacement))
        newlines = c.secret.count(b"\n")
        if newlines:
            # A multi-line secret hides the lines it continues on too (another finding may report them).
            position, number = line_end, line_number
            while 0 <= position < c.end:
                number += 1
                next_start, next_end = position + 1, data.find(b"\n", position + 1)
                next_end = len(data) if next_end < 0 else next_end
                chars = len(data[next_start : min(next_end, c.end)].decode("utf-8", "replace"))
                spans_by_line[next_start].append((0, chars, "…"))
                numbers[next_start] = number
                position = next_end if next_end < len(data) else -1
            last_start = data.rfind(b"\n", 0, c.end) + 1
            end_col_last = len(data[last_start : c.end].decode("utf-8", "replace"))
        else:
            end_col_last = end_col
        if reported:
            located.append((c, line_number, line_start, line_end, col, line_number + newlines, end_col_last))
    lines: dict[int, tuple[str, RedactedLine]] = {}

    def shown(start: int, end: int) -> tuple[str, RedactedLine]:
        if start not in lines:
            text = data[start:end].decode("utf-8", "replace")
            lines[start] = (text, RedactedLine.build(text, spans_by_line.get(start, [])))
        return lines[start]

    allowances: dict[tuple[int, str], Allowance | None] = {}
    findings = []
    for c, line, line_start, line_end, col, end_line, end_col in located:
        line_text, redacted = shown(line_start, line_end)
        if (line_start, c.rule.id) not in allowances:
            # Allow comments are read from the redacted lines: the reason is printed, and on a long
            # minified line it can run over every later secret on the line.
            previous = shown(*_line_bounds(data, line_start - 1))[1].text if line_start else ""
            allowances[line_start, c.rule.id] = is_allowed_inline(redacted.text, previous, c.rule.id)
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
                suppressed=allowance.label() if allowance else None,
                notes=Notes(assigned_to=assigned_to) if assigned_to else NO_NOTES,
            )
        )
    return findings, {numbers[start]: spans for start, spans in spans_by_line.items()}
