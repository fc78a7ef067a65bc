"""Code-practice rules prove themselves like pattern rules do: every ``examples.match`` snippet of an AST
rule yields a finding of that rule through ``run_practices`` (the real parser and checks), every
``examples.ignore`` snippet yields none. The catalogue and the check registry must agree."""

from __future__ import annotations

from typing import Any

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Kind, Rule
from prodguard.scanner.blob import Blob
from prodguard.scanner.finding import Finding
from prodguard.scanner.practices import CHECKS, run_practices
from prodguard.scanner.run import build_detector

CATALOGUE = load_catalogue(compile_builtin=True)
AST_RULES = tuple(r for r in CATALOGUE.rules if r.id in CHECKS)
ALL_AST = {r.id: r for r in AST_RULES}


def _findings(
    code: str, rule_ids: tuple[str, ...] | None = None, path: str = "app/service.py"
) -> list[Finding]:
    rules = ALL_AST if rule_ids is None else {i: ALL_AST[i] for i in rule_ids}
    return run_practices(Blob(path, code.encode("utf-8")), rules)


def _ids(code: str, path: str = "app/service.py") -> list[str]:
    return sorted(f.rule_id for f in _findings(code, path=path))


# Python examples are read as a ``.py`` file, TypeScript ones as a ``.ts`` file.
_EXAMPLE_PATHS = {"": "app/service.py", "_typescript": "app/service.ts"}


def _cases(kind: str) -> list[object]:
    return [
        pytest.param(rule, example, path, id=f"{rule.id}{suffix.replace('_', '-')}-{i}")
        for rule in AST_RULES
        for suffix, path in _EXAMPLE_PATHS.items()
        for i, example in enumerate(getattr(rule.examples, kind + suffix))
    ]


@pytest.mark.parametrize(("rule", "example", "path"), _cases("match"))
def test_match_example_is_found(rule: Rule, example: str, path: str) -> None:
    found = [f for f in _findings(example, (rule.id,), path) if f.rule_id == rule.id]
    assert found, f"{rule.id} did not report its example"
    assert all(f.kind is rule.kind and f.severity is rule.severity for f in found)


@pytest.mark.parametrize(("rule", "example", "path"), _cases("ignore"))
def test_ignore_example_is_not_found(rule: Rule, example: str, path: str) -> None:
    assert not _findings(example, (rule.id,), path), f"{rule.id} reported an ignore example"


def test_typescript_examples_only_where_the_check_reads_typescript() -> None:
    for rule in CATALOGUE.rules:
        if rule.examples.match_typescript or rule.examples.ignore_typescript:
            entry = CHECKS.get(rule.id)
            assert entry is not None and entry.script is not None, f"{rule.id} has no JS/TS check"


def test_catalogue_and_registry_agree() -> None:
    ast_practice = {r.id for r in CATALOGUE.rules if r.kind is Kind.PRACTICE and not r.pattern}
    registered_practice = {
        i for i in CHECKS if (r := CATALOGUE.get(i)) is not None and r.kind is Kind.PRACTICE
    }
    assert ast_practice == registered_practice
    assert set(CHECKS) <= CATALOGUE.ids(), "a check without a rule in the catalogue"
    for rule_id in CHECKS:
        rule = CATALOGUE.get(rule_id)
        assert rule is not None and not rule.pattern
        assert rule.examples.match and rule.examples.ignore, f"{rule_id} needs examples both ways"
    assert ALL_AST["PG207"].kind is Kind.ENVIRONMENT


def test_detector_runs_every_ast_check_including_the_environment_one() -> None:
    # PG207 runs where the file is parsed anyway; the environment analysis then keeps its findings only
    # in repositories with several environments (tests/test_environments.py).
    detector = build_detector(CATALOGUE)
    assert set(detector.practice_rules) == set(CHECKS)


def test_literal_key_is_redacted_in_the_excerpt() -> None:
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    finding = _findings(f'from openai import OpenAI\nclient = OpenAI(api_key="{key}")\n', ("PG301",))[0]
    assert key not in finding.excerpt and key[4:-4] not in finding.excerpt
    assert finding.excerpt.startswith("client = OpenAI(api_key=")
    assert (finding.line, finding.column) == (2, 25)


def test_columns_are_characters_not_utf8_bytes() -> None:
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    code = f'from openai import OpenAI\nclient = OpenAI(default_query={{"é": "ü"}}, api_key="{key}")\n'
    finding = _findings(code, ("PG301",))[0]
    line = code.splitlines()[1]
    assert line[finding.column - 1 :].startswith(f'"{key}"')
    assert key not in finding.excerpt


def test_key_through_a_name_is_reported_at_the_literal() -> None:
    code = (
        "import openai\n"
        'SERVICE_KEY = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"\n'
        "client = openai.AsyncOpenAI(api_key=SERVICE_KEY)\n"
    )
    (finding,) = _findings(code, ("PG301",))
    assert finding.line == 2
    assert "Zq7Rw2Lp" not in finding.excerpt


def test_reassigned_name_is_not_resolved() -> None:
    code = (
        "import os\nimport openai\n"
        'KEY = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"\n'
        'KEY = os.environ.get("OPENAI_API_KEY", KEY)\n'
        "client = openai.OpenAI(api_key=KEY)\n"
    )
    assert not _findings(code, ("PG301",))


def test_files_without_the_sdk_are_not_parsed() -> None:
    code = 'from somewhere import OpenAI\nclient = OpenAI(api_key="Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue")\n'
    assert not _findings(code)


def test_other_vendors_sdks_are_not_openai() -> None:
    code = (
        "import openai\nfrom together import Together\n"
        "client = Together()\n"
        'reply = client.chat.completions.create(model="m", messages=[])\n'
    )
    assert not _findings(code, ("PG306",))


def test_syntax_errors_are_skipped_quietly() -> None:
    assert not _findings("import openai\ndef broken(:\n")


def test_test_code_skips_runtime_rules_but_not_literal_keys() -> None:
    code = (
        "from openai import OpenAI\n"
        'client = OpenAI(max_retries=0, api_key="Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue")\n'
        'client.chat.completions.create(model="gpt-4o-mini", messages=[])\n'
    )
    assert _ids(code, "app/jobs.py") == ["PG207", "PG301", "PG305", "PG306"]
    assert _ids(code, "tests/test_jobs.py") == ["PG301"]


def test_inline_allow_suppresses_a_practice_finding() -> None:
    code = (
        "from openai import OpenAI\nclient = OpenAI()\n"
        "# prodguard: allow-next-line PG306 -- summaries are capped by the prompt\n"
        'client.responses.create(model="gpt-4o-mini", input="x")\n'
    )
    (finding,) = _findings(code, ("PG306",))
    assert finding.suppressed == "inline allow: summaries are capped by the prompt"


def test_raw_response_wrapper_and_legacy_calls_are_generation_calls() -> None:
    code = (
        "import openai\nclient = openai.OpenAI()\n"
        'raw = client.chat.completions.with_raw_response.create(model="m", messages=[])\n'
        'old = openai.ChatCompletion.create(model="gpt-3.5-turbo", messages=[])\n'
        'capped = openai.Completion.create(model="davinci-002", prompt="x", max_tokens=5)\n'
    )
    assert [f.line for f in _findings(code, ("PG306",))] == [3, 4]


def test_logging_metadata_is_fine_but_streamed_text_is_not() -> None:
    code = (
        "import logging\nfrom fastapi import FastAPI\nfrom openai import OpenAI\n"
        "log = logging.getLogger(__name__)\napp = FastAPI()\nclient = OpenAI()\n"
        '@app.post("/chat")\n'
        "def chat(q: str):\n"
        '    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": q}], max_tokens=9, stream=True)\n'
        "    for chunk in stream:\n"
        '        log.info("usage %s", chunk.usage)\n'
        "        print(chunk.choices[0].delta.content)\n"
    )
    assert [f.line for f in _findings(code, ("PG307",))] == [12]


def test_handler_reaches_helpers_through_self_methods() -> None:
    code = (
        "from django.views import View\nfrom openai import OpenAI\n"
        "client = OpenAI()\n"
        "class Reply(View):\n"
        "    def post(self, request):\n"
        '        return self._draft(request.POST["text"])\n'
        "    def _draft(self, text):\n"
        '        return client.responses.create(model="m", input=text, max_output_tokens=50)\n'
    )
    assert [(f.rule_id, f.line) for f in _findings(code, ("PG308", "PG309"))] == [("PG308", 8), ("PG309", 8)]


def test_line_numbers_follow_the_parser_across_form_feeds() -> None:
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    code = f'import openai\n\x0c\n# page two\nopenai.api_key = "{key}"\nclient = openai.OpenAI()\n'
    found = {f.rule_id: f for f in _findings(code, ("PG207", "PG301"))}
    assert found["PG207"].line == 5 and found["PG207"].excerpt == "client = openai.OpenAI()"
    assert found["PG301"].line == 4 and key not in found["PG301"].excerpt


def test_other_rules_never_show_a_literal_key_on_their_line() -> None:
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    code = f'import openai\nclient = openai.OpenAI(api_key="{key}", max_retries=0, base_url="http://llm.acme-corp.com")\n'
    findings = _findings(code, ("PG303", "PG305"))
    assert sorted(f.rule_id for f in findings) == ["PG303", "PG305"]
    assert all(key[4:-4] not in f.excerpt for f in findings)


def test_a_local_servers_key_is_not_reported_but_still_hidden() -> None:
    key = "9c4e7b1fd2a64e0f8b3a5c7d9e1f2a4b"
    code = f'import openai\nclient = openai.OpenAI(base_url="http://localhost:8000/v1", api_key="{key}", max_retries=0)\n'
    findings = _findings(code, ("PG301", "PG305"))
    assert [f.rule_id for f in findings] == ["PG305"]
    assert key[4:-4] not in findings[0].excerpt


def test_examples_give_exactly_the_expected_findings(run_cli: Any) -> None:
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "examples" / "practices"
    expected = json.loads((root / "EXPECTED.json").read_text())
    want = {(e["rule"], e["path"], e["line"]) for e in (*expected["practice"], *expected["other_rules"])}
    result = run_cli("scan", ".", "--min-severity", "info", "--format", "json", cwd=root)
    assert result.exit_code == 1, result.output
    got = {(f["rule_id"], f["path"], f["line"]) for f in json.loads(result.stdout)["findings"]}
    assert got == want
    assert not any(path in {p for _, p, _ in got} for path in expected["clean"])


def test_inline_allow_works_in_javascript_comments() -> None:
    code = (
        'import OpenAI from "openai";\nconst client = new OpenAI();\n'
        "// prodguard: allow-next-line PG306 -- capped by the proxy\n"
        'await client.responses.create({ model: "gpt-4o-mini", input: "x" });\n'
    )
    (finding,) = _findings(code, ("PG306",), path="src/job.ts")
    assert finding.suppressed == "inline allow: capped by the proxy"


def test_tsx_components_and_minified_bundles() -> None:
    tsx = (
        'import OpenAI from "openai";\nconst client = new OpenAI();\n'
        "export function Button() { return <button onClick={() => client.responses.create({ input: 'x' })} />; }\n"
    )
    assert [f.line for f in _findings(tsx, ("PG306",), path="src/Button.tsx")] == [3]
    bundle = ('import OpenAI from "openai";const c=new OpenAI();c.responses.create({input:"x"});' * 40).encode()
    assert not _findings(bundle.decode(), ("PG306",), path="dist/app.js")


def test_a_literal_key_beside_another_finding_is_hidden_in_javascript() -> None:
    key = "Zq7Rw2LpX9vKc4TnB8mHs3JdF6gYa1Ue"
    code = f'import OpenAI from "openai";\nconst client = new OpenAI({{ apiKey: "{key}", maxRetries: 0 }});\n'
    findings = _findings(code, ("PG301", "PG305"), path="src/client.js")
    assert sorted(f.rule_id for f in findings) == ["PG301", "PG305"]
    assert all(key[4:-4] not in f.excerpt for f in findings)


def test_prefilter_parses_only_files_that_can_hold_a_finding() -> None:
    from prodguard.scanner.practices import wants

    assert wants(Blob("app.py", b"import openai\nclient = openai.OpenAI()\n"))
    assert wants(Blob("app.ts", b'import Client from "openai";\n'))
    assert not wants(Blob("app.py", b"# see openai.OpenAI() and client.chat.completions.create()\nx = 1\n"))
    assert not wants(Blob("sdk.ts", b"/**\n * const r = await client.responses.create({...});\n */\nexport {};\n"))
    assert not wants(Blob("notes.md", b"client = OpenAI()\n"))
    assert not wants(Blob("lib.py", b"from openai.types import ChatCompletion\n"))


def test_oversized_files_are_not_parsed_and_say_so() -> None:
    from prodguard.scanner.practices import MAX_PARSE_BYTES, analyze

    code = 'from openai import OpenAI\nclient = OpenAI()\nclient.responses.create(model="m", input="x")\n'
    big = code + "# padding\n" * (MAX_PARSE_BYTES // 10)
    result = analyze(Blob("app/big.py", big.encode()), {"PG306": ALL_AST["PG306"]})
    assert not result.findings
    assert result.notice is not None and result.notice.category == "practice_too_large"
    assert [f.rule_id for f in _findings(code, ("PG306",))] == ["PG306"]
