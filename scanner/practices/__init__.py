"""Code-practice checks: small functions over parsed Python (``ast``) and JavaScript/TypeScript
(tree-sitter) files, registered under rule ids whose metadata (title, severity, docs) lives in
``rules/packs/practices.toml`` like every other rule.

The scan runner calls ``analyze`` once per blob. A cheap byte-level prefilter decides first whether the
file can hold a finding at all; only those files are parsed. The registry (``registry.CHECKS``) is an
explicit dict: a rule id in the pack without a check, or a check without a rule, fails the test-suite.
"""

from __future__ import annotations

import ast
import gc
import hashlib
from collections.abc import Hashable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import NamedTuple

from prodguard.rules.model import Rule
from prodguard.scanner.blob import Blob
from prodguard.scanner.filters import is_allowed_inline
from prodguard.scanner.finding import (
    NO_NOTES,
    Finding,
    LineSpans,
    Notes,
    RedactedLine,
    build_excerpt,
    fingerprint,
    redact,
)
from prodguard.scanner.practices.model import Hit, Language, PythonFile, ScriptFile, split_lines
from prodguard.scanner.practices.registry import CHECKS, PracticeRule
from prodguard.scanner.practices.shapes import Gate, default_gate
from prodguard.scanner.practices.testpaths import TestPaths
from prodguard.scanner.prefilter import Prefilter, build_prefilter
from prodguard.scanner.sources import Notice

__all__ = [
    "CHECKS", "PracticeResult", "TestPaths", "analyze", "language_of", "path_profile", "run_practices", "wants",
]  # fmt: skip

# Larger source files are generated (SDK resources, bundles) far more often than written; parsing them
# cost more than the rest of a scan of an SDK-heavy tree. Skipped ones get a notice.
MAX_PARSE_BYTES = 256 * 1024
MINIFIED_LINE = 1000
# A file is parsed only when it can hold a finding: it holds something a check looks at — a client class
# call (``OpenAI(``, ``AsyncOpenAI(``, ``new AzureOpenAI(``, ``ChatOpenAI(``, ``createOpenAI(``), an import of
# the SDK under another name, a generation or moderation call, a REST endpoint, an Agents SDK agent or run,
# the legacy module client, or the key's environment variable. One case-insensitive pass of the keyword
# prefilter (Hyperscan where installed) decides; most files never pay for a parse.
PREFILTER_SHAPES = (
    "openai(", "openai as ", "openai:", 'from "openai"', "from 'openai'", 'require("openai")',
    "completions.create", "completions.parse", "completions.stream", "responses.create",
    "responses.parse", "responses.stream", "moderations.create", "moderation.create",
    "/chat/completions", "/v1/responses", "runner.run", "from agents import", "generatetext", "streamtext",
    "generateobject", "streamobject", "openai.api_", "openai.organization", "openai.project",
    "openai.base_url", "openai.http_client", "openai.max_retries", "openai.chatcompletion",
    "openai.completion", "openai_api_key", "openai_org",
)  # fmt: skip
_EXTENSIONS = {
    ".py": Language.PYTHON, ".pyi": Language.PYTHON,
    ".js": Language.JAVASCRIPT, ".mjs": Language.JAVASCRIPT, ".cjs": Language.JAVASCRIPT,
    ".jsx": Language.JAVASCRIPT,
    ".ts": Language.TYPESCRIPT, ".mts": Language.TYPESCRIPT, ".cts": Language.TYPESCRIPT,
    ".tsx": Language.TYPESCRIPT,
}  # fmt: skip
# Generated or declaration-only JavaScript: no calls of the application's own.
_SKIPPED_SUFFIXES = (".d.ts", ".d.mts", ".d.cts", ".min.js", ".bundle.js")
_DEFAULT_TESTS = TestPaths()


class PracticeResult(NamedTuple):
    """The practice findings of one blob, and a notice when it was judged to be test code."""

    findings: list[Finding]
    notice: Notice | None


def language_of(path: str) -> Language | None:
    """The language the practice checks read ``path`` as, or ``None`` (not analysed)."""
    lowered = path.lower()
    if lowered.endswith(_SKIPPED_SUFFIXES):
        return None
    dot = lowered.rfind(".")
    return _EXTENSIONS.get(lowered[dot:]) if dot >= 0 else None


def wants(blob: Blob) -> bool:
    """Files of a language the checks read that can hold a finding (``PREFILTER_SHAPES``).
    Minified or bundled JavaScript (lines of thousands of characters on average) is build output, not the
    application's source, and is not parsed."""
    language = language_of(blob.path)
    if language is None:
        return False
    if language is not Language.PYTHON and len(blob.data) > MINIFIED_LINE * (blob.data.count(b"\n") + 1):
        return False
    return any(not _in_comment_line(blob.data, end) for _kid, end in _shapes().hits(blob.data))


def _in_comment_line(data: bytes, end: int) -> bool:
    """The keyword ending at ``end`` sits on a comment line (``#``, ``//``, or the ``*`` lines of a block
    comment): SDK sources name every call shape in their doc comments, and those lines call nothing."""
    start = data.rfind(b"\n", 0, end) + 1
    return data[start:end].lstrip().startswith((b"#", b"//", b"*", b"/*"))


@lru_cache(maxsize=1)
def _shapes() -> Prefilter:
    """Built once per process (a Hyperscan database is not shared between processes)."""
    return build_prefilter(PREFILTER_SHAPES)


def analyze(
    blob: Blob,
    rules: Mapping[str, Rule],
    tests: TestPaths = _DEFAULT_TESTS,
    masks: Mapping[int, LineSpans] | None = None,
    gate: Gate | None = None,
) -> PracticeResult:
    """Findings of the enabled practice rules (``rules``, by id) in one blob. Rules that do not look at
    test code are skipped for files ``tests`` calls test code, and a notice says so. ``masks`` are the
    spans the secret rules hide, by line number: excerpts and allow reasons are built with them hidden.
    ``gate`` (default: the built-in rules' shapes) skips the rules whose shapes are not in the blob;
    ``Gate.open()`` runs every rule."""
    gate = default_gate() if gate is None else gate
    language = language_of(blob.path)
    if language is None or not wants(blob):
        return PracticeResult([], None)
    if len(blob.data) > MAX_PARSE_BYTES:
        message = (
            f"not analysed for code practices: {len(blob.data) // 1024} KiB is over the "
            f"{MAX_PARSE_BYTES // 1024} KiB limit (secret rules still ran)"
        )
        return PracticeResult([], Notice(blob.path, message, "practice_too_large"))
    active = {
        rule_id: entry for rule_id, entry in CHECKS.items() if rule_id in rules and entry.covers(language)
    }
    if not active:
        return PracticeResult([], None)
    pattern = tests.matching(blob.path)
    is_test = pattern is not None
    notice = None
    if is_test:
        skipped = sorted(rule_id for rule_id, entry in active.items() if not entry.in_tests)
        active = {rule_id: entry for rule_id, entry in active.items() if entry.in_tests}
        if skipped:
            notice = Notice(
                blob.path,
                f"treated as test code (test_paths pattern {pattern!r}): {', '.join(skipped)} not checked",
                "test_code",
            )
    # The shape gate: rules whose calls, keywords or imports are not in the bytes cannot report here.
    active = {rule_id: active[rule_id] for rule_id in gate.passing(active, language, blob.data)}
    if not active:
        return PracticeResult([], notice)
    with _collector_paused():
        if language is Language.PYTHON:
            hits, lines = _python_hits(blob, active, is_test)
        else:
            hits, lines = _script_hits(blob, language, active, is_test)
    return PracticeResult(
        [_finding(rules[hit.rule_id], hit, lines, blob, masks or {}) for hit in hits], notice
    )


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while one file is analysed. A syntax tree is hundreds of thousands
    of container objects that live exactly as long as the analysis and hold no reference cycles (they are
    freed by reference counting); the collector's passes over them while they are built and walked cost
    as much as the parse itself (measured on the openai-python history: half of the analysis time)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def path_profile(path: str, tests: TestPaths = _DEFAULT_TESTS) -> Hashable:
    """All that the practice analysis reads from a path: for the same bytes, two paths with the same
    profile give the same hits (history scans analyse each blob once per profile and copy its findings to
    every path with that profile). Python checks read only whether the file is test code; JavaScript and
    TypeScript checks also read the path itself (Next.js API routes and route handlers are servers)."""
    language = language_of(path)
    if language is None:
        return None
    is_test = tests.matching(path) is not None
    return (language, is_test) if language is Language.PYTHON else (language, is_test, path)


def run_practices(blob: Blob, rules: Mapping[str, Rule], tests: TestPaths = _DEFAULT_TESTS) -> list[Finding]:
    """``analyze`` without the notice: the findings alone."""
    return analyze(blob, rules, tests).findings


def _python_hits(
    blob: Blob, active: Mapping[str, PracticeRule], is_test: bool
) -> tuple[list[Hit], tuple[str, ...]]:
    source = blob.data.decode("utf-8", "replace")
    try:
        tree = ast.parse(source, filename=blob.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [], ()  # not Python 3 source we can parse; the secret rules still ran on it
    file = PythonFile(blob.path, tree, source, split_lines(source), is_test)
    return _collect(entry.python(file) for entry in active.values() if entry.python), file.lines


def _script_hits(
    blob: Blob, language: Language, active: Mapping[str, PracticeRule], is_test: bool
) -> tuple[list[Hit], tuple[str, ...]]:
    from prodguard.scanner.practices.jsparse import parse_script

    root = parse_script(blob.data, tsx=blob.path.lower().endswith(".tsx"), language=language)
    if root is None:
        return [], ()
    file = ScriptFile(blob.path, language, blob.data, root, is_test)
    hits = _collect(entry.script(file) for entry in active.values() if entry.script)
    return hits, (file.lines if hits else ())


def _collect(streams: Iterable[Iterable[Hit]]) -> list[Hit]:
    return [hit for stream in streams for hit in stream]


def _finding(
    rule: Rule, hit: Hit, lines: tuple[str, ...], blob: Blob, masks: Mapping[int, LineSpans]
) -> Finding:
    line_text = lines[hit.line - 1] if 0 < hit.line <= len(lines) else ""
    previous = lines[hit.line - 2] if hit.line >= 2 else ""
    # Identity of a practice finding: the code it is about, whitespace-insensitive, so it survives moves.
    segment = "\n".join(lines[hit.line - 1 : hit.end_line])
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
        notes=Notes(detail=hit.detail) if hit.detail else NO_NOTES,
    )
