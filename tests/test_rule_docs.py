"""Every rule has a docs page with the fixed sections, and the page is what the catalogue renders
(docs are generated: ``python -m prodguard.scanner.ruledocs docs/rules``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Rule
from prodguard.scanner.ruledocs import SECTIONS, render_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"
RULES = load_catalogue().rules


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_has_current_docs_page(rule: Rule) -> None:
    page = DOCS / f"{rule.id}.md"
    assert page.is_file(), f"{rule.id} has no docs page; run python -m prodguard.scanner.ruledocs docs/rules"
    text = page.read_text("utf-8")
    for section in SECTIONS:
        assert section in text, f"{page.name} lacks {section!r}"
    assert text == render_markdown(rule), f"{page.name} is stale; regenerate the docs"


def test_no_orphan_pages() -> None:
    ids = {r.id for r in RULES}
    pages = {p.stem for p in DOCS.glob("PG*.md")}
    assert pages <= ids, f"pages without a rule: {sorted(pages - ids)}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_docs_pages_show_no_full_secret(rule: Rule) -> None:
    text = (DOCS / f"{rule.id}.md").read_text("utf-8")
    for example in rule.examples.match:
        for line in example.splitlines():
            if "T3BlbkFJ" in line or "sk-proj-" in line:
                assert line not in text


def test_each_example_is_its_own_language_tagged_block() -> None:
    catalogue = load_catalogue()
    rule = catalogue.get("PG304")
    assert rule is not None
    page = render_markdown(rule)
    blocks = re.findall(r"```(\w+)\n(.*?)\n```", page, flags=re.DOTALL)
    expected = [
        *(("python", e.strip("\n")) for e in rule.examples.match[:2]),
        *(("ts", e.strip("\n")) for e in rule.examples.match_typescript[:2]),
        *(("python", e.strip("\n")) for e in rule.examples.ignore[:3]),
        *(("ts", e.strip("\n")) for e in rule.examples.ignore_typescript[:2]),
    ]
    assert blocks[: len(expected)] == expected


def test_redacted_example_lines_keep_their_indentation() -> None:
    rule = load_catalogue().get("PG120")  # an example whose key sits on an indented line
    assert rule is not None
    page = render_markdown(rule).splitlines()
    redacted = [
        line for example in rule.examples.match[:2] for line in example.splitlines() if line not in page
    ]
    assert redacted
    for line in redacted:
        indent = line[: len(line) - len(line.lstrip())]
        name = line.strip().split("=", 1)[0].split(":", 1)[0]
        shown = [p for p in page if p.strip().startswith(name) and "…" in p]
        assert shown and all(p[: len(p) - len(p.lstrip())] == indent for p in shown), (line, shown)
