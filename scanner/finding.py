"""Findings: what the engine reports, already redacted. The secret itself is never kept."""

from __future__ import annotations

import hashlib
import sys
from bisect import bisect_right
from dataclasses import dataclass, field

from prodguard.rules.model import Kind, Severity
from prodguard.scanner.blob import WORKING_TREE, Origin
from prodguard.scanner.verify.model import Verification

EXCERPT_WIDTH = 160

# Character spans of one line to hide in its excerpt: (start, end, replacement).
LineSpans = list[tuple[int, int, str]]


@dataclass(frozen=True)
class Notes:
    """What a finding says beyond its place and rule: the name its value is assigned to (read by the
    environment analysis), the rule's explanation for this case, and the environment it was judged in.
    Reports print them; JSON and SARIF keep the flat keys they always had."""

    assigned_to: str | None = None
    detail: str | None = None
    environment: str | None = None
    environment_inferred: bool = False

    def as_json(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.assigned_to:
            out["assigned_to"] = self.assigned_to
        if self.detail:
            out["detail"] = self.detail
        if self.environment:
            out["environment"] = self.environment
            out["environment_inferred"] = "true" if self.environment_inferred else "false"
        return out


NO_NOTES = Notes()


@dataclass(frozen=True)
class Finding:
    """One reported problem. ``secret_hash`` (SHA-256 of the matched secret) lets baselines and
    de-duplication work without the secret; it is never printed."""

    rule_id: str
    title: str
    severity: Severity
    kind: Kind
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    excerpt: str
    fingerprint: str
    secret_hash: str
    origin: Origin = WORKING_TREE
    cell: int | None = None
    # For a notebook cell, ``line`` and ``column`` are the ``.ipynb`` file's; these are the place in the cell.
    cell_line: int | None = None
    cell_column: int | None = None
    suppressed: str | None = None
    notes: Notes = field(default=NO_NOTES, compare=False, hash=False)
    # What the API said about the key (``scan --verify`` only).
    verification: Verification | None = field(default=None, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule_id)


def hash_secret(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def fingerprint(rule_id: str, secret_hash: str, path: str) -> str:
    """Stable across line moves and rebases: it depends on the rule, the secret and the path only."""
    digest = hashlib.sha256(f"{rule_id}\0{secret_hash}\0{path}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:32]


def redact(secret: str, prefix: int = 0) -> str:
    """``sk-proj-…Ab3x``: the rule's public prefix, an ellipsis, and the last four characters when they
    give nothing away: for prefixed tokens of 16 characters or more and for other values of 32 or more
    (random keys). Passwords and short values show no character at all."""
    if "\n" in secret:
        secret = secret.split("\n", 1)[0]
        return f"{secret[:prefix]}…" if prefix else "…"
    shown_prefix = secret[: min(prefix, max(len(secret) - 8, 0))]
    if (prefix and len(secret) >= 16) or len(secret) >= 32:
        return f"{shown_prefix}…{secret[-4:]}"
    return f"{shown_prefix}…"


def build_excerpt(line_text: str, spans: list[tuple[int, int, str]], focus: int) -> str:
    """The line with every secret span replaced by its redaction, trimmed around ``focus``.

    ``spans`` are (start, end, replacement) in character offsets of ``line_text``; all of them are
    replaced, not only the reported one, so a second secret on the same line cannot leak (see
    ``RedactedLine``).
    """
    return RedactedLine.build(line_text, spans).excerpt(focus)


@dataclass(frozen=True)
class RedactedLine:
    """A line with its secrets replaced, built once and shared by all the findings on the line (so a
    minified line with many findings costs its length once, not once per finding).

    Every span is replaced; overlapping spans are hidden whole; other occurrences of a span's text on
    the line (where no rule matched it, say glued to other text) are replaced too. ``anchors`` maps
    offsets of the original line to the redacted text: (start, end, new start, new end) per replacement.
    """

    text: str
    anchors: tuple[tuple[int, int, int, int], ...]

    @classmethod
    def build(cls, line_text: str, spans: list[tuple[int, int, str]]) -> RedactedLine:
        out: list[str] = []
        anchors: list[tuple[int, int, int, int]] = []
        length = cursor = 0
        for start, end, replacement in sorted(_with_repeats(line_text, spans)):
            if end <= cursor:
                continue
            if start < cursor:  # overlaps the span just replaced: hide its remainder as well
                start, replacement = cursor, ""
            out.append(line_text[cursor:start])
            length += start - cursor
            anchors.append((start, end, length, length + len(replacement)))
            out.append(replacement)
            length += len(replacement)
            cursor = end
        out.append(line_text[cursor:])
        return cls("".join(out), tuple(anchors))

    def position(self, offset: int) -> int:
        """Where ``offset`` of the original line is in the redacted text (a replaced span's start for
        an offset inside it)."""
        index = bisect_right(self.anchors, (offset, sys.maxsize)) - 1
        if index < 0:
            return offset
        _, end, new_start, new_end = self.anchors[index]
        return new_start if offset < end else new_end + offset - end

    def excerpt(self, focus: int) -> str:
        """The redacted line, stripped and trimmed to ``EXCERPT_WIDTH`` around ``focus`` (an offset of
        the original line)."""
        text = self.text.rstrip("\r\n")
        stripped = text.lstrip()
        shifted = self.position(focus) - (len(text) - len(stripped))
        text = stripped.rstrip()
        if len(text) <= EXCERPT_WIDTH:
            return text
        begin = max(0, min(shifted - EXCERPT_WIDTH // 3, len(text) - EXCERPT_WIDTH))
        clipped = text[begin : begin + EXCERPT_WIDTH]
        return ("…" if begin else "") + clipped + ("…" if begin + EXCERPT_WIDTH < len(text) else "")


def _with_repeats(line_text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """``spans`` plus a span for every other occurrence, on the line, of the text a span covers."""
    found = list(spans)
    secrets: dict[str, str] = {}
    for start, end, replacement in spans:
        if end - start >= 8:
            secrets.setdefault(line_text[start:end], replacement)
    covered = {start for start, _, _ in spans}
    for secret, replacement in secrets.items():
        position = line_text.find(secret)
        while position >= 0:
            if position not in covered:
                found.append((position, position + len(secret), replacement))
            position = line_text.find(secret, position + 1)
    return found
