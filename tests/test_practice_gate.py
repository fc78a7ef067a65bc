"""The practice prefilter (``practices.shapes``) never changes what the checks report: every practice
rule's examples and every practice fixture give the same findings through the gate (with and without the
Hyperscan word pass) as through an open gate that parses every file; files without a rule's shapes are not
parsed."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Kind
from prodguard.scanner.blob import Blob
from prodguard.scanner.finding import Finding
from prodguard.scanner.practices import CHECKS, TestPaths, analyze, language_of, shapes
from prodguard.scanner.practices.shapes import (
    Caseless,
    FileView,
    Gate,
    Needs,
    Pattern,
    WordIndex,
    default_gate,
    words,
)

CATALOGUE = load_catalogue(compile_builtin=True)
AST = {r.id: r for r in CATALOGUE.rules if r.id in CHECKS}
PRACTICE = {rule_id: r for rule_id, r in AST.items() if r.kind is Kind.PRACTICE}
ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIRS = (ROOT / "tests" / "practice_fixtures", ROOT / "examples")
FIXTURES = sorted(
    p for d in FIXTURE_DIRS for p in d.rglob("*") if p.is_file() and language_of(p.name) is not None
)
GATES = {"hyperscan": default_gate(), "plain": Gate(default_gate().needs, use_hyperscan=False)}


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
    blob = _assert_same_through_every_gate(rule_id, example, path)
    if example in AST[rule_id].examples.match and path == "app/service.py":
        assert any(f.rule_id == rule_id for f in analyze(blob, AST, gate=GATES["hyperscan"]).findings)


def _typescript_examples() -> list[object]:
    return [
        pytest.param(rule.id, example, id=f"{rule.id}-{kind}-{i}")
        for rule in AST.values()
        for kind in ("match_typescript", "ignore_typescript")
        for i, example in enumerate(getattr(rule.examples, kind))
    ]


@pytest.mark.parametrize(("rule_id", "example"), _typescript_examples())
@pytest.mark.parametrize("path", ["app/service.ts", "app/service.test.ts"])
def test_every_typescript_example_gives_the_same_findings_through_the_gate(
    rule_id: str, example: str, path: str
) -> None:
    _assert_same_through_every_gate(rule_id, example, path)


def _assert_same_through_every_gate(rule_id: str, example: str, path: str) -> Blob:
    """The rule alone and with every rule: each gate gives what the open gate gives."""
    blob = Blob(path, example.encode("utf-8"))
    for rules in ({rule_id: AST[rule_id]}, AST):
        reference = _seen(analyze(blob, rules, gate=Gate.open()).findings)
        for name, gate in GATES.items():
            assert _seen(analyze(blob, rules, gate=gate).findings) == reference, name
    return blob


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_fixture_gives_the_same_findings_through_the_gate(path: Path) -> None:
    blob = Blob(str(path), path.read_bytes())
    tests = TestPaths(root=str(path.parent))
    reference = _seen(analyze(blob, AST, tests, gate=Gate.open()).findings)
    for name, gate in GATES.items():
        assert _seen(analyze(blob, AST, tests, gate=gate).findings) == reference, name


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The file names the practice analysis hands to ``ast.parse`` during the test."""
    names: list[str] = []
    real_parse = ast.parse

    def counting_parse(source: str, filename: str = "<unknown>", *args: object, **kwargs: object) -> object:
        names.append(filename)
        return real_parse(source, filename)

    monkeypatch.setattr("prodguard.scanner.practices.ast.parse", counting_parse)
    return names


def test_a_file_without_the_shapes_is_not_parsed(parsed: list[str]) -> None:
    # Imports the SDK (the global prefilter passes) but builds no client and makes no request.
    plain = Blob("app/models.py", b"import openai as oa\n\n\ndef version():\n    return oa.__version__\n")
    assert analyze(plain, AST).findings == [] and parsed == []
    analyze(plain, AST, gate=Gate.open())
    assert parsed == ["app/models.py"]
    uncapped = Blob(
        "app/chat.py", b"from openai import OpenAI\nc = OpenAI()\nc.chat.completions.create(model='m')\n"
    )
    assert {f.rule_id for f in analyze(uncapped, AST).findings} >= {"PG306"}


def test_needs_combine_as_any_of_alternatives_each_all_of_its_groups() -> None:
    needs = Needs.all_of(words("a1", "a2"), words("b")) | Needs.all_of(words("c"))
    assert needs.met_by(FileView(b"a2 b").has)
    assert needs.met_by(FileView(b"c").has)
    assert not needs.met_by(FileView(b"a1 a2").has)
    both = needs & Needs.all_of(words("d"))
    assert not both.met_by(FileView(b"c").has) and both.met_by(FileView(b"c d").has)


def test_shapes_answer_the_same_with_and_without_the_word_pass() -> None:
    shapes = [
        *words("OpenAI", "max_retries", "openai"),
        Caseless(b"http://"),
        Pattern(rb"from[\s\\]+openai\b", (b"openai",)),
    ]
    index = WordIndex([b"OpenAI", b"max_retries", b"openai"])
    for data in (b"", b"OpenAI()", b"from  openai import x", b"HTTP://host max_retries", b"openaix"):
        assert [FileView(data, index).has(s) for s in shapes] == [FileView(data).has(s) for s in shapes]


def test_the_gate_crosses_to_worker_processes_without_its_database() -> None:
    gate = default_gate()
    assert gate.word_index is not None or shapes.hyperscan is None
    copy = pickle.loads(pickle.dumps(gate))
    assert copy.needs == gate.needs and "word_index" not in copy.__dict__


def test_declared_needs_belong_to_registered_checks_of_that_language() -> None:
    for rule_id in shapes.PYTHON_NEEDS:
        assert rule_id in CHECKS and CHECKS[rule_id].python is not None, rule_id
    for rule_id in shapes.SCRIPT_NEEDS:
        assert rule_id in CHECKS and CHECKS[rule_id].script is not None, rule_id
    assert set(PRACTICE) <= set(CHECKS)


# Each shape the gate was narrowed to, written every way the checks still see it: through the gate the
# findings are the open gate's (and not empty, so the case is one the checks report).
NARROWED = {
    "client class imported under another name": (
        "PG207",
        "from openai import OpenAI as Client\nclient = Client()\n",
    ),
    "client class called through the module": ("PG207", "import openai\nclient = openai.AsyncOpenAI()\n"),
    "generation call bound to a name first": (
        "PG306",
        "from openai import OpenAI\nclient = OpenAI()\ncreate = client.chat.completions.create\n"
        "create(model='m', messages=[])\n",
    ),
    "generation call bound in parentheses": (
        "PG306",
        "from openai import OpenAI\nclient = OpenAI()\ncreate = (client.chat.completions.create)\n"
        "create(model='m', messages=[])\n",
    ),
    "response wrapper after the verb": (
        "PG306",
        "from openai import OpenAI\nclient = OpenAI()\n"
        "client.chat.completions.create.with_raw_response(model='m', messages=[])\n",
    ),
    "os.environ imported under another name": (
        "PG301",
        "from os import environ as env\nimport openai\nenv['OPENAI_API_KEY'] = 'sk-proj-Qm9vT3hKc1BxW2Lz8Yd4Nf6Rj0Ve'\n",
    ),
    "os.environ.setdefault": (
        "PG301",
        "import os\nos.environ.setdefault('OPENAI_API_KEY', 'sk-proj-Qm9vT3hKc1BxW2Lz8Yd4Nf6Rj0Ve')\n",
    ),
    "legacy module client assigned with an annotation": (
        "PG301",
        "import openai\nopenai.api_key: str = 'sk-proj-Qm9vT3hKc1BxW2Lz8Yd4Nf6Rj0Ve'\n",
    ),
    "option given through with_options": (
        "PG305",
        "import openai as oa\nfrom app import client\nfast = client.with_options(max_retries=0)\n",
    ),
    "legacy moderation call": (
        "PG312",
        "import openai\n\ndef check(text):\n    openai.Moderation.create(input=text)\n",
    ),
}


@pytest.mark.parametrize("name", NARROWED)
def test_narrowed_shapes_still_let_every_written_form_through(name: str) -> None:
    rule_id, source = NARROWED[name]
    blob = Blob("app/service.py", source.encode("utf-8"))
    reference = _seen(analyze(blob, AST, gate=Gate.open()).findings)
    assert any(seen[0] == rule_id for seen in reference), reference
    for gate_name, gate in GATES.items():
        assert _seen(analyze(blob, AST, gate=gate).findings) == reference, gate_name


# What the SDK's own sources hold (its history is thousands of versions of these): the class defined, the
# request methods wrapped, the site linked, the key read from the environment. No rule can report there.
SDK_SOURCE = b'''from .._client import OpenAI
from . import completions


class OpenAI(SyncAPIClient):
    """See [pricing](https://openai.com/api/pricing) and `openai.pydantic_function_tool`."""

    def __init__(self, api_key=None, max_retries=2):
        api_key = os.environ.get("OPENAI_API_KEY")
        self.base_url = f"https://api.openai.com/v1"


class CompletionsWithRawResponse:
    def __init__(self, completions: Completions) -> None:
        self.create = to_raw_response_wrapper(
            completions.create,
        )
        self.moderations = resources.moderations
'''


def test_the_sdks_own_sources_are_not_parsed(parsed: list[str]) -> None:
    assert analyze(Blob("src/openai/resources/completions.py", SDK_SOURCE), AST).findings == []
    assert parsed == []
