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
    """``sk-proj-…Ab3x``: the rule's public prefix, an ellipsis, and the last four characters when the
    secret is long enough that four characters give nothing away."""
    if "\n" in secret:
        secret = secret.split("\n", 1)[0]
        return f"{secret[:prefix]}…" if prefix else "…"
    shown_prefix = secret[: min(prefix, max(len(secret) - 8, 0))]
    if len(secret) >= 16:
        return f"{shown_prefix}…{secret[-4:]}"
    return f"{shown_prefix}…"


def build_excerpt(line_text: str, spans: list[tuple[int, int, str]], focus: int) -> str:
    """The line with every secret span replaced by its redaction, trimmed around ``focus``.

    ``spans`` are (start, end, replacement) in character offsets of ``line_text``; all of them are
    replaced, not only the reported one, so a second secret on the same line cannot leak.
    """
    out: list[str] = []
    cursor = 0
    shift_focus = focus
    for start, end, replacement in sorted(spans):
        if start < cursor:
            continue
        out.append(line_text[cursor:start])
        out.append(replacement)
        if start < focus:
            shift_focus += len(replacement) - (min(end, focus) - start) if end <= focus else 0
        cursor = end
    out.append(line_text[cursor:])
    text = "".join(out).strip("\r\n")
    stripped = text.lstrip()
    shift_focus -= len(text) - len(stripped)
    text = stripped.rstrip()
    if len(text) <= EXCERPT_WIDTH:
        return text
    begin = max(0, min(shift_focus - EXCERPT_WIDTH // 3, len(text) - EXCERPT_WIDTH))
    clipped = text[begin : begin + EXCERPT_WIDTH]
    return ("…" if begin else "") + clipped + ("…" if begin + EXCERPT_WIDTH < len(text) else "")
