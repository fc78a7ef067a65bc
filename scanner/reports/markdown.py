"""Markdown for the terminal: rich's renderer with compact code blocks (indented, no padding rows, no
background), so a fix with a snippet reads like a linter's help text rather than a slide."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Markdown, MarkdownElement
from rich.syntax import Syntax

CODE_THEME = "ansi_dark"


class _CompactCodeBlock(CodeBlock):
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Syntax(
            str(self.text).rstrip(),
            self.lexer_name,
            theme=self.theme,
            word_wrap=True,
            padding=(0, 0, 0, 2),
            background_color="default",
        )


class TerminalMarkdown(Markdown):
    """``Markdown`` with compact code blocks and no hyperlink escapes (they break in pagers and logs)."""

    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **Markdown.elements,
        "fence": _CompactCodeBlock,
        "code_block": _CompactCodeBlock,
    }

    def __init__(self, markup: str) -> None:
        super().__init__(markup, code_theme=CODE_THEME, hyperlinks=False)
