"""Code-practice checks: small AST functions over Python files, registered under rule ids whose
metadata (title, severity, docs) lives in ``rules/packs/practices.toml`` like every other rule.

A check receives a parsed module and yields ``Hit``s; ``run_practices`` turns hits into findings. The
registry is an explicit dict (no discovery): a rule id in the pack without a check here, or a check
without a rule, fails the test-suite.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from prodguard.rules.model import Rule
from prodguard.scanner.blob import Blob
from prodguard.scanner.filters import is_allowed_inline
from prodguard.scanner.finding import Finding, LineSpans, RedactedLine, build_excerpt, fingerprint, redact
from prodguard.scanner.lines import split_lines

# Files are parsed only when they mention the SDK; most Python files never pay for ``ast.parse``.
PREFILTER = (b"openai",)
MAX_PARSE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Hit:
    """One practice problem at a source range (1-based lines, 0-based columns as ``ast`` gives them)."""

    rule_id: str
    line: int
    column: int
    end_line: int
    end_column: int
    detail: str = ""
    # Columns (on ``line``) of a value that must not be shown, e.g. a literal API key.
    redact_columns: tuple[int, int] | None = None


@dataclass(frozen=True)
class PythonFile:
    """What a check may look at: the parsed tree, the source text and its lines, the path."""

    path: str
    tree: ast.Module
    source: str
    lines: tuple[str, ...]


PracticeCheck = Callable[[PythonFile], Iterator[Hit]]

# rule id -> check. Filled by the check modules of this package.
CHECKS: dict[str, PracticeCheck] = {}


def wants(blob: Blob) -> bool:
    """Python files that import or name the SDK (``import openai`` / ``from openai import``)."""
    if not blob.path.endswith((".py", ".pyi")) or len(blob.data) > MAX_PARSE_BYTES:
        return False
    return any(word in blob.data for word in PREFILTER)


def run_practices(
    blob: Blob, rules: Mapping[str, Rule], masks: Mapping[int, LineSpans] | None = None
) -> list[Finding]:
    """Findings of the enabled practice rules (``rules``, by id) in one Python blob. ``masks`` are the
    spans the secret rules hide, by line number: excerpts and allow reasons are built with them hidden."""
    active = {rule_id: check for rule_id, check in CHECKS.items() if rule_id in rules}
    if not active or not wants(blob):
        return []
    source = blob.data.decode("utf-8", "replace")
    try:
        tree = ast.parse(source, filename=blob.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # not Python 3 source we can parse; the secret rules still ran on it
    # Lines as the parser numbers them: str.splitlines() also breaks at form feeds and other separators,
    # which would shift every later line (and show an unredacted line as another finding's excerpt).
    # The scanner's line model (scanner/lines.py), which is also the parser's.
    file = PythonFile(blob.path, tree, source, tuple(split_lines(source)))
    findings = []
    for rule_id, check in active.items():
        for hit in check(file):
            findings.append(_finding(rules[rule_id], hit, file, blob, masks or {}))
    return findings


def _finding(rule: Rule, hit: Hit, file: PythonFile, blob: Blob, masks: Mapping[int, LineSpans]) -> Finding:
    line_text = file.lines[hit.line - 1] if 0 < hit.line <= len(file.lines) else ""
    previous = file.lines[hit.line - 2] if hit.line >= 2 else ""
    # Identity of a practice finding: the code it is about, whitespace-insensitive, so it survives moves.
    segment = "\n".join(file.lines[hit.line - 1 : hit.end_line])
    digest = hashlib.sha256(" ".join(segment.split()).encode("utf-8", "surrogatepass")).hexdigest()
    spans = list(masks.get(hit.line, ()))
    if hit.redact_columns is not None:
        start, end = hit.redact_columns
        spans.append((start, end, redact(line_text[start:end])))
    # The allow comment is read from the redacted lines: its reason is printed.
    shown_previous = RedactedLine.build(previous, list(masks.get(hit.line - 1, ()))).text
    allowance = is_allowed_inline(RedactedLine.build(line_text, spans).text, shown_previous, rule.id)
    return Finding(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity,
        kind=rule.kind,
        path=blob.path,
        line=hit.line,
        column=hit.column + 1,
        end_line=hit.end_line,
        end_column=hit.end_column + 1,
        excerpt=build_excerpt(line_text, spans, hit.column),
        fingerprint=fingerprint(rule.id, digest, blob.path),
        secret_hash=digest,
        origin=blob.origin,
        suppressed=allowance.label() if allowance else None,
        extra={"detail": hit.detail} if hit.detail else {},
    )


# The checks import Hit/PythonFile from this module, so they are registered once those exist.
from prodguard.scanner.practices import call_checks, client_checks  # noqa: E402

# Every check but PG301's own hides literal keys on the lines it reports.
_hide = client_checks.hiding_literal_keys
CHECKS.update(
    {
        "PG207": _hide(client_checks.client_without_organization),
        "PG301": client_checks.literal_api_key,
        "PG302": _hide(client_checks.literal_organization),
        "PG303": _hide(client_checks.plain_http_base_url),
        "PG304": _hide(client_checks.tls_verification_disabled),
        "PG305": _hide(client_checks.retries_disabled),
        "PG306": _hide(call_checks.uncapped_generation),
        "PG307": _hide(call_checks.logged_prompt_or_response),
        "PG308": _hide(call_checks.unmoderated_user_generation),
        "PG309": _hide(call_checks.missing_end_user_id),
    }
)
