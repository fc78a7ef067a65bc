"""The practice prefilter (``practices.shapes``) never changes what the checks report: every practice
rule's examples and every practice fixture give the same findings with the gate (lazy ``re`` and compiled
Hyperscan) as with an open gate that parses every file; files without a rule's shapes are not parsed."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Kind
from prodguard.scanner.blob import Blob
from prodguard.scanner.finding import Finding
from prodguard.scanner.practices import CHECKS, TestPaths, analyze, language_of, shapes
from prodguard.scanner.practices.model import Language
from prodguard.scanner.practices.shapes import Gate, Needs, ShapeIndex, default_gate, words

CATALOGUE = load_catalogue(compile_builtin=True)
AST = {r.id: r for r in CATALOGUE.rules if r.id in CHECKS}
PRACTICE = {rule_id: r for rule_id, r in AST.items() if r.kind is Kind.PRACTICE}
ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIRS = (ROOT / "tests" / "practice_fixtures", ROOT / "examples")
FIXTURES = sorted(
    p for d in FIXTURE_DIRS for p in d.rglob("*") if p.is_file() and language_of(p.name) is not None
)
GATES = {"lazy": default_gate(), "compiled": default_gate(compiled=True)}


def _seen(findings: list[Finding]) -> list[tuple[object, ...]]:
    return sorted((f.rule_id, f.line, f.column, f.end_line, f.excerpt, f.fingerprint) for f in findings)


def _examples() -> list[object]:
    cases = []
    for rule in AST.values():
        for kind in ("match", "ignore"):
            for i, example in enumerate(getattr(rule.examples, kind)):
                cases.append(pytest.param(rule.id, example, id=f"{rule.id}-{kind}-{i}"))
    return cases


@pytest.mark.parametrize(("rule_id", "example"), _examples())
@pytest.mark.parametrize("path", ["app/service.py", "tests/test_service.py"])
def test_every_rule_example_gives_the_same_findings_through_the_gate(
    rule_id: str, example: str, path: str
) -> None:
    blob = Blob(path, example.encode("utf-8"))
    for rules in ({rule_id: AST[rule_id]}, AST):
        reference = _seen(analyze(blob, rules, gate=Gate.open()).findings)
        for name, gate in GATES.items():
            assert _seen(analyze(blob, rules, gate=gate).findings) == reference, name
    if example in AST[rule_id].examples.match and path == "app/service.py":
        assert any(f.rule_id == rule_id for f in analyze(blob, AST, gate=GATES["lazy"]).findings)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_gives_the_same_findings_through_the_gate(path: Path) -> None:
    blob = Blob(str(path), path.read_bytes())
    tests = TestPaths(root=str(path.parent))
    reference = _seen(analyze(blob, AST, tests, Gate.open()).findings)
    for name, gate in GATES.items():
        assert _seen(analyze(blob, AST, tests, gate).findings) == reference, name


def test_a_file_without_the_shapes_is_not_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real_parse = ast.parse

    def counting_parse(source: str, filename: str = "<unknown>", *args: object, **kwargs: object) -> object:
        parsed.append(filename)
        return real_parse(source, filename)

    monkeypatch.setattr("prodguard.scanner.practices.ast.parse", counting_parse)
    # Mentions the SDK (the global prefilter passes) but constructs no client, calls nothing.
    plain = Blob("app/models.py", b'"""Types shared with openai responses."""\nfrom .x import y\n')
    assert analyze(plain, AST).findings == [] and parsed == []
    analyze(plain, AST, gate=Gate.open())
    assert parsed == ["app/models.py"]
    uncapped = Blob(
        "app/chat.py", b"from openai import OpenAI\nc = OpenAI()\nc.chat.completions.create(model='m')\n"
    )
    assert {f.rule_id for f in analyze(uncapped, AST).findings} >= {"PG306"}


def test_needs_combine_as_any_of_alternatives_each_all_of_its_groups() -> None:
    needs = Needs.all_of(words("a1", "a2"), words("b")) | Needs.all_of(words("c"))
    index = ShapeIndex(needs.shapes)
    assert needs.met_by(index.probe(b"a2 b"))
    assert needs.met_by(index.probe(b"c"))
    assert not needs.met_by(index.probe(b"a1 a2"))
    both = needs & Needs.all_of(words("d"))
    wider = ShapeIndex(both.shapes)
    assert not both.met_by(wider.probe(b"c")) and both.met_by(wider.probe(b"c d"))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"OpenAI()",
        b"x.chat.completions  .create(",
        b"HTTP://host base_url",
        b"import { streamText } from 'ai'",
    ],
)
def test_compiled_and_lazy_indexes_agree(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    all_shapes = default_gate().index
    every = sorted(
        GATES["compiled"].needs[("PG306", Language.PYTHON)].shapes | {rb"(?i)http://", rb"base_url"}
    )
    lazy, compiled = ShapeIndex(every), ShapeIndex(every, compiled=True)
    assert [lazy.probe(data)(s) for s in every] == [compiled.probe(data)(s) for s in every]
    monkeypatch.setattr(shapes, "hyperscan", None)  # no wheel on this platform: the same answers with re
    fallback = ShapeIndex(every, compiled=True)
    assert [fallback.probe(data)(s) for s in every] == [lazy.probe(data)(s) for s in every]
    assert all_shapes is default_gate().index  # built once per process


def test_declared_needs_belong_to_registered_checks_of_that_language() -> None:
    for rule_id in shapes.PYTHON_NEEDS:
        assert rule_id in CHECKS and CHECKS[rule_id].python is not None, rule_id
    for rule_id in shapes.SCRIPT_NEEDS:
        assert rule_id in CHECKS and CHECKS[rule_id].script is not None, rule_id
    assert set(PRACTICE) <= set(CHECKS)
