"""Findings: what the engine reports, already redacted. The secret itself is never kept."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from prodguard.rules.model import Kind, Severity
from prodguard.scanner.blob import WORKING_TREE, Origin

EXCERPT_WIDTH = 160


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
    suppressed: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.path, self.cell or 0, self.line, self.column, self.rule_id)


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
    replaced, not only the reported one, so a second secret on the same line cannot leak. Overlapping
    spans are hidden whole, and other occurrences of a reported secret on the line (where no rule
    matched it, say glued to other text) are replaced too.
    """
    out: list[str] = []
    length = 0  # of the text in ``out``
    cursor = 0
    shifted: int | None = None  # ``focus`` in the redacted text
    for start, end, replacement in sorted(_with_repeats(line_text, spans)):
        if end <= cursor:
            continue
        if start < cursor:  # overlaps the span just replaced: hide its remainder as well
            start, replacement = cursor, ""
        if shifted is None and focus < start:
            shifted = length + focus - cursor
        out.append(line_text[cursor:start])
        length += start - cursor
        if shifted is None and focus < end:
            shifted = length
        out.append(replacement)
        length += len(replacement)
        cursor = end
    if shifted is None:
        shifted = length + max(focus - cursor, 0)
    out.append(line_text[cursor:])
    text = "".join(out).rstrip("\r\n")
    stripped = text.lstrip()
    shifted -= len(text) - len(stripped)
    text = stripped.rstrip()
    if len(text) <= EXCERPT_WIDTH:
        return text
    begin = max(0, min(shifted - EXCERPT_WIDTH // 3, len(text) - EXCERPT_WIDTH))
    clipped = text[begin : begin + EXCERPT_WIDTH]
    return ("…" if begin else "") + clipped + ("…" if begin + EXCERPT_WIDTH < len(text) else "")


def _with_repeats(line_text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """``spans`` plus a span for every other occurrence, on the line, of the text a span covers."""
    found = list(spans)
    for start, end, replacement in spans:
        secret = line_text[start:end]
        if len(secret) < 8:
            continue
        position = line_text.find(secret)
        while position >= 0:
            if position != start:
                found.append((position, position + len(secret), replacement))
            position = line_text.find(secret, position + 1)
    return found
