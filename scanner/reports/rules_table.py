"""The rule catalogue for the terminal: ``prodguard rules list`` as an aligned table that fits the
terminal's width, and ``prodguard rules show`` rendered from the rule's Markdown page."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import TextIO

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from prodguard.rules.model import Rule
from prodguard.scanner.reports.markdown import TerminalMarkdown
from prodguard.scanner.reports.text import SEVERITY_STYLE, make_console, print_trimmed
from prodguard.scanner.ruledocs import languages_label

_AUTOLINK = re.compile(r"<(https?://[^>\s]+)>")


def print_rules(rules: Sequence[Rule], enabled: Collection[str], out: TextIO) -> None:
    """One row per rule, sorted by id; a long title wraps within its own column. The rule's name (its
    slug) is shown only where the terminal is wide enough for it."""
    console = make_console(out)
    table = Table(box=None, pad_edge=False, padding=(0, 2, 0, 0), header_style="bold")
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("severity", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("reads", no_wrap=True)
    table.add_column("title", ratio=1)
    wide = console.width >= 140
    if wide:
        table.add_column("name", no_wrap=True, style="dim")
    for rule in rules:
        title = Text(rule.title)
        if rule.id not in enabled:
            title.append(" (disabled)", style="dim")
        row: list[RenderableType] = [
            rule.id,
            Text(rule.severity.label, style=SEVERITY_STYLE[rule.severity]),
            rule.kind.value,
            _short_languages(rule),
            title,
        ]
        table.add_row(*row, *([rule.name] if wide else []))
    print_trimmed(console, table)


def _short_languages(rule: Rule) -> str:
    """What the rule reads, short: ``py, js, ts`` for code checks, ``any file`` for pattern rules."""
    label = languages_label(rule)
    short = {"python": "py", "javascript": "js", "typescript": "ts", "any text file": "any file"}
    return ", ".join(short.get(part, part) for part in label.split(", "))


def print_rule_page(markdown: str, out: TextIO) -> None:
    console = make_console(out)
    # An autolink (<https://...>) would print its address twice: as the text and again in parentheses.
    print_trimmed(console, TerminalMarkdown(_AUTOLINK.sub(r"\1", markdown)))
