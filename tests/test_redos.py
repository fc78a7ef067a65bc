"""Every pattern rule stays fast on adversarial input (ReDoS and quadratic paths).

For each rule, 1 MB of near misses is built from the rule's own match examples and keywords: the secret
one character short, with a wrong last character, overlong (a long run of its own characters with no
terminator), cut in half, glued to other characters, after a long run of spaces; the text before the
secret repeated with no value; keywords repeated and followed by long runs; for rules with a context
condition, the matching line without its context. Lines are long (16 KiB) so that keyword windows merge
and patterns see long stretches of text, as in minified files.

The time is compared with a scan, by the same one-rule engine, of 1 MB of ordinary source code (this
repository's own) holding the same number of keyword occurrences: a ratio, so the bound holds on slow and
fast machines alike, and the work per keyword hit is the same in both (what differs is what the pattern
does with it).
"""

from __future__ import annotations

import random
import re
import time
from functools import cache
from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Rule, Scope
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine
from prodguard.scanner.prefilter import RegexPrefilter

REPO_ROOT = Path(__file__).resolve().parents[1]
SIZE = 1024 * 1024
LINE = SIZE
MAX_RATIO = 50
# A catastrophic (super-linear) path takes minutes on 1 MB; 15 s leaves room for a machine shared with other
# jobs (5 s failed at a load average of 17 while the ratio above still held).
MAX_SECONDS = 15.0
PATTERN_RULES = load_catalogue(compile_builtin=True).pattern_rules


@cache
def _repository_source() -> str:
    files = sorted(p for d in ("core", "rules", "scanner") for p in (REPO_ROOT / d).rglob("*.py"))
    return "\n".join(p.read_text("utf-8") for p in files)


def _examples(rule: Rule) -> list[tuple[str, int, int]]:
    """(example text, start, end of the secret in it) for each match example (character offsets)."""
    engine = Engine([rule])
    found = []
    for example in rule.examples.match:
        lines = example.split("\n")
        for finding in engine.scan(Blob("example", example.encode("utf-8"))):
            offset = sum(len(line) + 1 for line in lines[: finding.line - 1])
            start = offset + finding.column - 1
            end_offset = sum(len(line) + 1 for line in lines[: finding.end_line - 1])
            found.append((example, start, end_offset + finding.end_column - 1))
            break
    return found


def _near_misses(rule: Rule, rng: random.Random) -> list[str]:
    pieces: list[str] = []
    for example, start, end in _examples(rule):
        secret = example[start:end]
        charset = sorted(set(secret.replace("\n", ""))) or ["a"]

        def run(n: int, charset: list[str] = charset) -> str:
            return "".join(rng.choice(charset) for _ in range(n))

        before, after = example[:start], example[end:]
        pieces += [
            before + secret[:-1] + after,  # one character short
            before + secret[:-1] + "!" + after,  # wrong character at the end
            before + secret + run(3000) + after,  # overlong: no terminator in sight
            before + run(3000),  # the body's characters, never ending
            before + secret[: len(secret) // 2],  # cut in half, nothing after
            before * 50,  # the introduction repeated, no value
            before + "Z" + secret + "Z" + after,  # glued to other characters
            before + " " * 500 + secret[:-1],  # a long run of spaces first
        ]
        if rule.context is not None:
            line_start = example.rfind("\n", 0, start) + 1
            line_end = example.find("\n", end)
            # Matches that only the missing context rejects: many of them, each one checked.
            pieces += [example[line_start : line_end if line_end >= 0 else len(example)]] * 60
    for keyword in rule.keywords:
        pieces += [
            keyword * 200,
            keyword + " = " * 300,
            keyword + "".join(rng.choice("abcdefABCDEF0123456789_-") for _ in range(2000)),
            (keyword + "=") * 100 + "\n" * 3,
        ]
    if rule.context is not None:
        # Near misses for a context rule: matches with the context nowhere, so every one is checked.
        for word in rule.context.words:
            pieces = [re.sub(re.escape(word), "", piece, flags=re.IGNORECASE) for piece in pieces]
    if rule.scope is Scope.LINE:
        # One line holding the whole megabyte: every keyword window merges, as in a minified file.
        pieces = [piece.replace("\n", " ") for piece in pieces]
    return pieces


def _adversarial(rule: Rule) -> bytes:
    rng = random.Random(rule.id)
    pieces = _near_misses(rule, rng)
    out: list[str] = []
    size = line = 0
    i = 0
    while size < SIZE:
        piece = pieces[i % len(pieces)] if i % len(pieces) else pieces[rng.randrange(len(pieces))]
        i += 1
        separator = "\n" if line + len(piece) > LINE else " "
        line = 0 if separator == "\n" else line + len(piece) + 1
        out.append(piece + separator)
        size += len(piece) + 1
    return "".join(out).encode("utf-8")[:SIZE]


def _ordinary(rule: Rule, hits: int) -> bytes:
    """1 MB of this repository's source with ``hits`` keyword occurrences spread over it in comments."""
    source = _repository_source()
    lines = (source * (SIZE // len(source) + 1))[:SIZE].splitlines()
    per_line = max(1, -(-hits // len(lines)))
    step = max(1, len(lines) * per_line // max(hits, 1))
    placed = 0
    for index in range(0, len(lines), step):
        if placed >= hits:
            break
        count = min(per_line, hits - placed)
        words = " ".join(rule.keywords[(placed + j) % len(rule.keywords)] for j in range(count))
        lines[index] += f"  # see {words} in the settings"
        placed += count
    return "\n".join(lines).encode("utf-8")


def _seconds(engine: Engine, data: bytes) -> float:
    started = time.perf_counter()
    engine.scan(Blob("input", data))
    return time.perf_counter() - started


@pytest.mark.parametrize("rule", PATTERN_RULES, ids=lambda r: r.id)
def test_pattern_time_is_bounded_on_adversarial_input(rule: Rule) -> None:
    engine = Engine([rule])
    adversarial = _adversarial(rule)
    hits = len(RegexPrefilter(rule.keywords).hits(adversarial))
    assert hits > 1000, "the adversarial input must exercise the rule's keywords"
    ordinary = _ordinary(rule, hits)
    baseline = min(_seconds(engine, ordinary) for _ in range(2))
    elapsed = _seconds(engine, adversarial)
    if elapsed > MAX_RATIO * baseline or elapsed > MAX_SECONDS:
        # Another process may have taken the CPU for a moment: a slow path is slow every time.
        elapsed = min(elapsed, *(_seconds(engine, adversarial) for _ in range(2)))
        baseline = min(baseline, _seconds(engine, ordinary))
    assert elapsed < MAX_SECONDS, f"{rule.id}: {elapsed:.2f}s on 1 MB of near misses"
    assert elapsed < MAX_RATIO * baseline, (
        f"{rule.id}: {elapsed:.3f}s on near misses vs {baseline:.4f}s on ordinary source ({hits} hits each)"
    )
