"""Records shared by the practice analysis: what a check reports (``Hit``), what it looks at (a parsed
Python or JavaScript/TypeScript file), and the check signatures the registry holds."""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from prodguard.scanner.lines import split_lines as _split_lines

if TYPE_CHECKING:  # the tree-sitter node type; only the JS/TS fact extractor touches it at run time
    from tree_sitter import Node


class Language(enum.StrEnum):
    """Languages the practice checks read. TypeScript is JavaScript with types to the checks; it is named
    separately because it is parsed with its own grammar and listed as covered on its own."""

    PYTHON = "python"
    JAVASCRIPT = "javascript"
    TYPESCRIPT = "typescript"


@dataclass(frozen=True)
class Hit:
    """One practice problem at a source range (1-based lines, 0-based character columns)."""

    rule_id: str
    line: int
    column: int
    end_line: int
    end_column: int
    detail: str = ""
    # Columns (on ``line``) of a value that must not be shown, e.g. a literal API key.
    redact_columns: tuple[int, int] | None = None


@dataclass(frozen=True)
class PythonFile:
    """What a Python check may look at: the parsed tree, the source text and its lines, the path (as
    reported) and whether it is test code (judged relative to the repository root, see ``testpaths``)."""

    path: str
    tree: ast.Module
    source: str
    lines: tuple[str, ...]
    is_test: bool = False


@dataclass(frozen=True)
class ScriptFile:
    """What a JavaScript/TypeScript check may look at: the tree-sitter root node over ``data`` (columns in
    the tree are byte offsets), the path and whether it is test code; ``lines`` are decoded on first use
    (only files with findings need them)."""

    path: str
    language: Language
    data: bytes
    root: Node
    is_test: bool = False

    @cached_property
    def lines(self) -> tuple[str, ...]:
        return split_lines(self.data.decode("utf-8", "replace"))


def split_lines(source: str) -> tuple[str, ...]:
    """Lines as the parsers number them: the scanner's one line model (``scanner/lines.py``)."""
    return tuple(_split_lines(source))


PracticeCheck = Callable[[PythonFile], Iterator[Hit]]
ScriptCheck = Callable[[ScriptFile], Iterator[Hit]]
