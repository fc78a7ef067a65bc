"""Parsing JavaScript and TypeScript with tree-sitter (grammars from PyPI wheels; no Node at scan time).

Parsers are built once per process and per grammar. A file that does not parse cleanly is still analysed:
tree-sitter recovers around errors and the checks only read the nodes they recognise.
"""

from __future__ import annotations

from functools import lru_cache

from tree_sitter import Language as Grammar
from tree_sitter import Node, Parser

from prodguard.scanner.practices.model import Language


@lru_cache(maxsize=3)
def _parser(grammar: str) -> Parser:
    if grammar == "javascript":
        import tree_sitter_javascript

        return Parser(Grammar(tree_sitter_javascript.language()))
    import tree_sitter_typescript

    language = (
        tree_sitter_typescript.language_tsx()
        if grammar == "tsx"
        else tree_sitter_typescript.language_typescript()
    )
    return Parser(Grammar(language))


def _grammar_name(language: Language, tsx: bool) -> str:
    # JSX is part of tree-sitter's JavaScript grammar; TSX needs its own.
    return ("tsx" if tsx else "typescript") if language is Language.TYPESCRIPT else "javascript"


def grammar(language: Language, *, tsx: bool) -> Grammar:
    """The tree-sitter grammar files of ``language`` are parsed with (queries are built per grammar)."""
    found = _parser(_grammar_name(language, tsx)).language
    assert found is not None  # every parser here is built with its language
    return found


def parse_script(data: bytes, *, tsx: bool, language: Language) -> Node | None:
    """The root node of ``data`` parsed as JavaScript, TypeScript or TSX; ``None`` when it cannot be
    parsed at all."""
    try:
        tree = _parser(_grammar_name(language, tsx)).parse(data)
    except (ValueError, RecursionError, MemoryError):
        return None
    return tree.root_node
