"""Every rule has a docs page with the fixed sections, and the page is what the catalogue renders
(docs are generated: ``python -m prodguard.scanner.ruledocs docs/rules``)."""

from __future__ import annotations

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
