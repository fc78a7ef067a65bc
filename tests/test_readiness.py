"""``prodguard report``: each practice's status on the example apps in all three formats (the HTML as
headless Chromium renders it), the guard's evidence on a guarded app, escaping, and the rule table."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Kind, Severity
from prodguard.scanner.finding import Finding
from prodguard.scanner.readiness import catalog
from prodguard.scanner.readiness.assess import decide
from prodguard.scanner.readiness.catalog import Need
from prodguard.scanner.readiness.controls import CONTROLS, Controls
from prodguard.scanner.readiness.html import SEVERITY_COLOR, STATUS_COLOR
from prodguard.scanner.readiness.model import Evidence, EvidenceKind, Status
from tests import chromium
from tests.test_example_environments import PLANTED_KEY

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"
M, P, X, NA = "met", "partly", "missing", "not_applicable"
ORDER = (
    "api-keys", "organization", "staging-production", "billing-limits", "rate-limits", "caching",
    "output-token-caps", "evaluation", "data-in-transit", "data-protection", "input-sanitization",
    "moderation", "end-user-ids",
)  # fmt: skip
# Why each status is right is in docs/report.md ("The example apps").
EXPECTED: dict[str, tuple[str, ...]] = {
    "leaky-app": (X, P, X, X, P, X, P, X, M, P, X, X, M),
    "two-env-app": (X, P, X, X, P, X, P, M, X, X, X, P, P),
    "two-env-app-clean": (M, M, M, X, M, X, M, M, M, P, X, M, M),
}
# Secrets planted in leaky-app besides OpenAI keys (read from its files, never written here).
LEAKY_VALUES = re.compile(r"ghp_[A-Za-z0-9]{36}|AKIA[A-Z0-9]{16}|sk-ant-api03-[A-Za-z0-9_-]{40,}")


def _expected(name: str) -> dict[str, str]:
    return dict(zip(ORDER, EXPECTED[name], strict=True))


def _planted(name: str) -> set[str]:
    values: set[str] = set()
    for path in (EXAMPLES / name).rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8", errors="replace")
            values.update(PLANTED_KEY.findall(text))
            values.update(LEAKY_VALUES.findall(text))
    return values


def _assert_no_secret(name: str, text: str) -> None:
    for value in _planted(name):
        assert value not in text


class _Rows(HTMLParser):
    """Practice rows, chart bars and every element name of a (browser-serialized) page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.bars: list[dict[str, str]] = []
        self.groups: set[str] = set()
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        a = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-practice" in a:
            self.rows[a["data-practice"]] = a["data-status"]
        if tag == "rect" and "bar" in a.get("class", ""):
            self.bars.append(a)
        if tag == "section" and "group" in a.get("class", ""):
            self.groups.add(a["data-practice"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(dom: str) -> _Rows:
    parser = _Rows()
    parser.feed(dom)
    return parser


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_statuses(run_cli, name: str) -> None:
    result = run_cli("report", str(EXAMPLES / name), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, json.loads(SCHEMA.read_text("utf-8")))
    assert {p["id"]: p["status"] for p in document["practices"]} == _expected(name)
    for practice in document["practices"]:
        assert {"id", "title", "status", "evidence", "next_step", "guide"} <= set(practice)
        assert practice["status"] in {s.value for s in Status}
        # Every status but met/n-a says what to do next; findings appear as evidence with locations.
        assert (practice["next_step"] is None) == (practice["status"] in (M, NA))
        for finding in practice["findings"]:
            assert any(
                e.get("rule_id") == finding["rule_id"] and e.get("line") == finding["line"]
                for e in practice["evidence"]
            )
    assert document["unmapped_findings"] == []
    _assert_no_secret(name, result.stdout)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_text_statuses(run_cli, name: str) -> None:
    result = run_cli("report", str(EXAMPLES / name))
    assert result.exit_code == 0, result.output
    found = dict(
        (practice, "not_applicable" if status == "n/a" else status)
        for status, practice in re.findall(r"^\[(met|partly|missing|n/a)\] ([a-z-]+):", result.stdout, re.M)
    )
    assert found == _expected(name)
    _assert_no_secret(name, result.stdout)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Each example's HTML report (written by the CLI) and its DOM as headless Chromium serializes it."""
    from click.testing import CliRunner

    from prodguard.cli import cli

    pages: dict[str, tuple[str, str]] = {}
    for name in EXPECTED:
        directory = tmp_path_factory.mktemp(name)
        page = directory / "report.html"
        result = CliRunner().invoke(
            cli, ["report", str(EXAMPLES / name), "--format", "html", "-o", str(page)]
        )
        assert result.exit_code == 0, result.output
        pages[name] = (page.read_text("utf-8"), chromium.dump_dom(page, directory / "profile"))
    return pages


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_html_statuses_in_chromium(rendered: dict[str, tuple[str, str]], name: str) -> None:
    source, dom = rendered[name]
    page = _parse(dom)
    assert page.rows == _expected(name)
    # Self-contained: no script, no external resource of any kind.
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert not re.search(r"""\bsrc=""", source) and "@import" not in source and "url(" not in source
    # The chart has one bar per (practice, severity) with findings; the counts add up to the findings.
    document_findings = sum(int(bar["data-count"]) for bar in page.bars)
    headline = re.search(r"(\d+) findings in", " ".join(page.text))
    assert headline is not None and document_findings == int(headline.group(1))
    # A bar for exactly the practices whose findings are listed in the grouped findings section.
    assert {bar["data-practice"] for bar in page.bars} == page.groups
    _assert_no_secret(name, source)
    _assert_no_secret(name, dom)


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def test_html_screenshot_shows_summary_and_chart(
    rendered: dict[str, tuple[str, str]], tmp_path: Path
) -> None:
    """Rendered pixels: the status tiles' colours at the top, the chart's severity bars below them."""
    page = tmp_path / "leaky.html"
    page.write_text(rendered["leaky-app"][0], "utf-8")
    shot = chromium.screenshot(page, tmp_path / "profile", 1000, 700)
    top = (0, 0, 1000, 260)
    for status in (Status.MET, Status.PARTLY, Status.MISSING):
        assert shot.count(_rgb(STATUS_COLOR[status]), top) > 200  # tile border and number
    chart = (0, 260, 1000, 700)
    # api-keys: 12 critical findings, the longest bar; the legend's swatch alone is 144 pixels.
    assert shot.count(_rgb(SEVERITY_COLOR[Severity.CRITICAL]), chart) > 2000
    assert shot.count(_rgb(SEVERITY_COLOR[Severity.MEDIUM]), chart) > 500
    assert shot.count(_rgb(SEVERITY_COLOR[Severity.INFO]), chart) < 300  # no info finding: legend only


def test_html_prints(rendered: dict[str, tuple[str, str]], tmp_path: Path) -> None:
    """Printed (print media), the page is a few A4/Letter pages, not one clipped screen or hundreds."""
    page = tmp_path / "two-env.html"
    page.write_text(rendered["two-env-app"][0], "utf-8")
    pdf = chromium.print_pdf(page, tmp_path / "profile")
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert 2 <= pages <= 20


def test_html_escapes_repository_text(run_cli, tmp_path: Path) -> None:
    """A file name and a line that carry markup end up as text in the rendered page, not as elements."""
    repo = tmp_path / "repo"
    repo.mkdir()
    key = (
        "sk-proj-"
        + "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3Ab4Cd5Ef6Gh7Ij8Kl9Mn0Op1Q"
        + "T3BlbkFJ"
        + "z9Yx8Wv7Ut6Sr5Qp4On3Ml2Kj1Ih0Gf9Ed8Cb7Az6By5Cx4Dw3Ev2Fu1Gt0Hs9Ir8J"
    )
    (repo / "x<img src=q onerror=alert(1)>.env").write_text(
        f"OPENAI_API_KEY={key} # <script>alert(2)</script>\n"
    )
    page = tmp_path / "r.html"
    result = run_cli("report", str(repo), "--format", "html", "-o", str(page))
    assert result.exit_code == 0, result.output
    dom = chromium.dump_dom(page, tmp_path / "profile")
    parsed = _parse(dom)
    assert "img" not in parsed.tags and "script" not in parsed.tags
    text = "".join(parsed.text)
    assert "x<img src=q onerror=alert(1)>.env" in text and "<script>alert(2)</script>" in text
    assert parsed.rows["api-keys"] == X
    assert key not in dom and key[-12:] not in page.read_text("utf-8")


GUARDED_APP = '''"""A guarded service."""
import openai
from fastapi import FastAPI, HTTPException
from openai import OpenAI
from prodguard.guard import protect

app = FastAPI()
client = protect(OpenAI(timeout=20))


@app.post("/answer")
def answer(text: str) -> str:
    try:
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": text}],
                                               max_completion_tokens=200, safety_identifier="u-1")
    except openai.APIError as exc:
        raise HTTPException(503, "unavailable") from exc
    return reply.choices[0].message.content or ""
'''
GUARD_CONFIG = """[tool.prodguard.guard]
budgets = [{scope = "project", period = "day", max_cost_usd = 20, soft_cost_usd = 15}]
[tool.prodguard.guard.cache]
enabled = true
[tool.prodguard.guard.audit]
enabled = true
retention_days = 30
"""


def _report(run_cli, repo: Path) -> dict[str, dict[str, object]]:
    result = run_cli("report", str(repo), "--format", "json")
    assert result.exit_code == 0, result.output
    return {p["id"]: p for p in json.loads(result.stdout)["practices"]}


def test_guard_installed_and_configured(run_cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(GUARD_CONFIG)
    (tmp_path / "app.py").write_text(GUARDED_APP)
    practices = _report(run_cli, tmp_path)
    statuses = {k: v["status"] for k, v in practices.items()}
    for practice in ("billing-limits", "caching", "data-protection", "input-sanitization", "moderation",
                     "end-user-ids", "rate-limits", "output-token-caps", "api-keys"):  # fmt: skip
        assert statuses[practice] == M, practice
    assert statuses["staging-production"] == X and statuses["evaluation"] == X
    summaries = [e["summary"] for e in practices["billing-limits"]["evidence"]]
    assert summaries == ["budget project/day: hard $ 20.0, soft $ 15.0"]
    moderation = [e for e in practices["moderation"]["evidence"] if e["kind"] == "config"]
    assert moderation and moderation[0]["summary"].startswith("guard moderates input and output")


def test_guard_configured_but_not_installed(run_cli, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(GUARD_CONFIG.replace(", soft_cost_usd = 15", ""))
    (tmp_path / "app.py").write_text(GUARDED_APP.replace("protect(OpenAI(timeout=20))", "OpenAI(timeout=20)"))
    practices = _report(run_cli, tmp_path)
    statuses = {k: v["status"] for k, v in practices.items()}
    assert statuses["billing-limits"] == P
    assert "no soft limit" in str(practices["billing-limits"]["reason"])
    assert "no code installs the guard" in str(practices["billing-limits"]["reason"])
    assert statuses["caching"] == P and statuses["input-sanitization"] == P
    assert statuses["moderation"] == P  # configured, not running, and no moderation call
    assert statuses["output-token-caps"] == M  # the call itself is capped


def test_repository_without_api_use(run_cli, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# docs only\n")
    statuses = {k: v["status"] for k, v in _report(run_cli, tmp_path).items()}
    assert statuses.pop("api-keys") == M
    assert set(statuses.values()) == {NA}


def test_fail_on_and_errors(run_cli, tmp_path: Path) -> None:
    assert run_cli("report", str(EXAMPLES / "two-env-app-clean"), "--fail-on", "missing").exit_code == 1
    (tmp_path / "README.md").write_text("# docs only\n")
    assert run_cli("report", str(tmp_path), "--fail-on", "partly").exit_code == 0
    (tmp_path / "prodguard.toml").write_text("[guard]\nmoderaton = {}\n")
    result = run_cli("report", str(tmp_path))
    assert result.exit_code == 2
    assert "prodguard.toml:2" in result.stderr and "moderaton" in result.stderr
    assert run_cli("report", str(tmp_path / "missing")).exit_code == 2


def test_help_explains_each_status(run_cli) -> None:
    result = run_cli("report", "--help")
    text = " ".join(result.stdout.split())
    for status in ("met", "partly", "missing", "not_applicable"):
        assert f" {status} " in text
    assert "no finding goes against it" in text and "never calls the OpenAI API" in text


def test_every_rule_maps_to_a_practice(catalogue: Catalogue) -> None:
    assert catalog.unmapped_rules(catalogue.rules) == []
    ids = {r.id for r in catalogue.rules}
    assert set(catalog.RULE_PRACTICE) <= ids
    practice_ids = [p.id for p in catalog.PRACTICES]
    assert practice_ids == list(ORDER) and set(CONTROLS) == set(practice_ids)
    assert set(catalog.RULE_PRACTICE.values()) | set(catalog.KIND_PRACTICE.values()) <= set(practice_ids)


def test_rule_no_practice_claims_is_listed_not_dropped(run_cli, tmp_path: Path) -> None:
    """A user pack's practice rule that the table does not map shows up as an unmapped finding."""
    (tmp_path / "prodguard.toml").write_text('packs = ["house.toml"]\n')
    (tmp_path / "house.toml").write_text(
        """[pack]
name = "house"
description = "house rules"

[[rules]]
id = "ACME101"
name = "prompt-dump"
title = "Prompt dump left enabled"
kind = "practice"
severity = "medium"
keywords = ["dump_prompts"]
pattern = '''(?P<secret>DUMP_PROMPTS\\s*=\\s*True)'''
description = "Checks for the prompt dump switch."
why = "Prompts end up on disk."
remediation = "Turn it off."
examples = { match = ["DUMP_PROMPTS = True"], ignore = ["DUMP_PROMPTS = False"] }
"""
    )
    (tmp_path / "settings.py").write_text("DUMP_PROMPTS = True\n")
    result = run_cli("report", str(tmp_path), "--format", "json")
    document = json.loads(result.stdout)
    assert [(f["rule_id"], Path(f["path"]).name) for f in document["unmapped_findings"]] == [
        ("ACME101", "house.toml"),
        ("ACME101", "settings.py"),
    ]
    assert all(p["findings"] == [] for p in document["practices"])


def _finding(severity: Severity) -> Finding:
    return Finding("PG306", "t", severity, Kind.PRACTICE, "a.py", 1, 1, 1, 2, "x", "f", "h")


_CONTROL = Evidence(EvidenceKind.CODE, "control", "a.py", 1)


@pytest.mark.parametrize(
    ("need", "findings", "found", "complete", "applies", "status"),
    [
        (Need.NOTHING, [Severity.CRITICAL], True, True, True, X),  # high or critical: missing, whatever else
        (Need.NOTHING, [Severity.HIGH], False, True, False, X),
        (Need.NOTHING, [Severity.MEDIUM], False, True, True, P),  # nothing needed: lower findings, partly
        (Need.REQUIRED, [Severity.LOW], False, True, True, X),  # findings and no control: missing
        (Need.REQUIRED, [Severity.LOW], True, True, True, P),
        (Need.REQUIRED, [], False, True, False, NA),
        (Need.REQUIRED, [], True, True, True, M),
        (Need.REQUIRED, [], True, False, True, P),  # a control configured incompletely
        (Need.REQUIRED, [], False, True, True, X),
        (Need.RECOMMENDED, [], False, True, True, P),
        (Need.NOTHING, [], False, True, True, M),
    ],
)
def test_status_rule(
    need: Need, findings: list[Severity], found: bool, complete: bool, applies: bool, status: str
) -> None:
    practice = replace(catalog.PRACTICES[0], need=need)
    controls = Controls((_CONTROL,) if found else (), complete=complete, gap="gap", absent="absent")
    decided, reason = decide(practice, [_finding(s) for s in findings], controls, applies)
    assert decided.value == status
    assert reason
