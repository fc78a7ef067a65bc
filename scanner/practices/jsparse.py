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


def parse_script(data: bytes, *, tsx: bool, language: Language) -> Node | None:
    """The root node of ``data`` parsed as JavaScript, TypeScript or TSX; ``None`` when it cannot be
    parsed at all."""
    # JSX is part of tree-sitter's JavaScript grammar; TSX needs its own.
    grammar = ("tsx" if tsx else "typescript") if language is Language.TYPESCRIPT else "javascript"
    try:
        tree = _parser(grammar).parse(data)
    except (ValueError, RecursionError, MemoryError):
        return None
    return tree.root_node
