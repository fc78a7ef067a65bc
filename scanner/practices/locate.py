"""Turning AST nodes into ``Hit`` positions.

``ast`` reports columns as UTF-8 byte offsets; findings and excerpts use character offsets of the line
text, so every column is converted here. A literal that must not be shown gets redaction columns that
cover exactly its characters — or, when they cannot be located with certainty, the whole line.
"""

from __future__ import annotations

import ast

from prodguard.scanner.practices.model import Hit, PythonFile


def _line(file: PythonFile, number: int) -> str:
    return file.lines[number - 1] if 0 < number <= len(file.lines) else ""


def char_column(file: PythonFile, line: int, byte_offset: int) -> int:
    """The character column of ``byte_offset`` on ``line`` (1-based)."""
    text = _line(file, line)
    return len(text.encode("utf-8", "surrogatepass")[:byte_offset].decode("utf-8", "replace"))


def hit_at(file: PythonFile, rule_id: str, node: ast.expr | ast.stmt | ast.keyword, detail: str = "") -> Hit:
    """A hit covering ``node``."""
    end_line = node.end_lineno or node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
    return Hit(
        rule_id=rule_id,
        line=node.lineno,
        column=char_column(file, node.lineno, node.col_offset),
        end_line=end_line,
        end_column=char_column(file, end_line, end_col),
        detail=detail,
    )


def secret_hit(file: PythonFile, rule_id: str, literal: ast.Constant, detail: str = "") -> Hit:
    """A hit on a string literal whose value must be redacted in the excerpt."""
    hit = hit_at(file, rule_id, literal, detail)
    text = _line(file, literal.lineno)
    value = literal.value if isinstance(literal.value, str) else ""
    if literal.end_lineno == literal.lineno:
        start = text.find(value, hit.column, hit.end_column) if value else -1
        span = (start, start + len(value)) if start >= 0 else (hit.column, hit.end_column)
    else:
        span = (hit.column, len(text))
    if not value or text[span[0] : span[1]] != value:
        # The value is not written as-is on this line (escapes, implicit concatenation, or line
        # numbering that differs from ast's): hide the whole line rather than risk showing part of it.
        span = (0, len(text))
    return Hit(hit.rule_id, hit.line, hit.column, hit.end_line, hit.end_column, detail, span)
