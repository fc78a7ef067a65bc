"""Jupyter notebooks, scanned cell by cell: sources and text outputs, never image payloads.

Scanning the raw JSON would wade through base64 images and match across the JSON quoting; splitting into
cells scans what the user wrote and skips the images. Findings are then put back where they stand in the
``.ipynb`` file (line and column of the JSON text, as code-scanning dashboards annotate the file), and keep
the cell and the line within it as extra fields.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from prodguard.scanner.blob import Blob, Origin
from prodguard.scanner.finding import Finding

# Output MIME types whose content is text a secret can be printed into.
TEXT_MIME = ("text/plain", "text/markdown", "text/html", "application/json", "text/latex")

# Every string token of a JSON text, in order (outside strings JSON has no quotes).
_STRING_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
# One escape inside a JSON string; a surrogate pair decodes to one character.
_ESCAPE = re.compile(
    r"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", re.S
)

# A string's position: the offset of its first character in the document text, or None when unknown.
Located = tuple[str, int | None]


@dataclass(frozen=True)
class CellPositions:
    """Where a cell's scanned text stands in the notebook file.

    The cell text was joined from pieces: ``starts`` are their offsets in the cell text, ``raws`` the
    offsets of their JSON strings' bodies in ``document`` (None for text that has no single place, such as
    a JSON output re-serialised). ``line_starts`` are the offsets in the cell text at which lines begin."""

    document: str
    newlines: tuple[int, ...]
    starts: tuple[int, ...]
    raws: tuple[int | None, ...]
    line_starts: tuple[int, ...]

    def file_position(self, line: int, column: int) -> tuple[int, int]:
        """The file's (line, column), both 1-based, of the cell text's ``line``:``column``."""
        offset = self.line_starts[min(line, len(self.line_starts)) - 1] + column - 1
        index = bisect_right(self.starts, offset) - 1
        raw: int | None = None
        within = 0
        while index >= 0:
            part_start, raw = self.starts[index], self.raws[index]
            if raw is not None:
                within = offset - part_start
                break
            index -= 1
            offset = part_start  # unknown place: point at the end of the last known string before it
        if raw is None:
            return line, column
        raw = _raw_offset(self.document, raw, within)
        file_line = bisect_right(self.newlines, raw - 1)
        line_start = self.newlines[file_line - 1] + 1 if file_line else 0
        return file_line + 1, raw - line_start + 1

    def relocate(self, finding: Finding) -> Finding:
        """``finding`` at the file's line and column, keeping its place in the cell as ``cell_line`` and
        ``cell_column``."""
        line, column = self.file_position(finding.line, finding.column)
        end_line, end_column = self.file_position(finding.end_line, finding.end_column)
        return replace(
            finding,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            cell_line=finding.line,
            cell_column=finding.column,
        )


def _raw_offset(document: str, start: int, index: int) -> int:
    """The document offset of the ``index``-th decoded character of the JSON string body at ``start``."""
    pos = start
    decoded = 0
    while decoded < index and pos < len(document) and document[pos] != '"':
        if document[pos] == "\\":
            match = _ESCAPE.match(document, pos)
            if match is None:
                break
            try:
                decoded += len(json.loads(f'"{match.group()}"'))
            except ValueError:
                decoded += 1
            pos = match.end()
        else:
            decoded += 1
            pos += 1
    return pos


def _mirror(value: Any, tokens: Iterator[re.Match[str]]) -> Any:
    """``value`` with every string replaced by the offset of its body in the document (keys consumed)."""
    if isinstance(value, str):
        return next(tokens).start() + 1
    if isinstance(value, list):
        return [_mirror(v, tokens) for v in value]
    if isinstance(value, dict):
        mirrored = {}
        for key, item in value.items():
            next(tokens)
            mirrored[key] = _mirror(item, tokens)
        return mirrored
    return None


def _texts(value: Any, where: Any) -> list[Located]:
    if isinstance(value, list):
        spots = where if isinstance(where, list) and len(where) == len(value) else [None] * len(value)
        return [
            (v, w if isinstance(w, int) else None) if isinstance(v, str) else (str(v), None)
            for v, w in zip(value, spots, strict=True)
        ]
    if isinstance(value, str):
        return [(value, where if isinstance(where, int) else None)]
    if isinstance(value, (dict, int, float)):
        return [(json.dumps(value), None)]
    return []


def _get(where: Any, key: str | int) -> Any:
    if isinstance(where, dict):
        return where.get(key)
    if isinstance(where, list) and isinstance(key, int) and key < len(where):
        return where[key]
    return None


def _cell_parts(cell: dict[str, Any], where: Any) -> list[list[Located]]:
    parts = [_texts(cell.get("source", ""), _get(where, "source"))]
    outputs = cell.get("outputs")
    # A malformed notebook ("outputs": 5) is scanned for what it does hold, not refused.
    for number, output in enumerate(outputs if isinstance(outputs, list) else ()):
        if not isinstance(output, dict):
            continue
        at = _get(_get(where, "outputs"), number)
        if "text" in output:
            parts.append(_texts(output["text"], _get(at, "text")))
        data = output.get("data")
        if isinstance(data, dict):
            parts.extend(
                _texts(data[mime], _get(_get(at, "data"), mime)) for mime in TEXT_MIME if mime in data
            )
        if output.get("output_type") == "error":
            parts.append(_texts(output.get("traceback", []), _get(at, "traceback")))
    return [p for p in parts if any(text for text, _ in p)]


def _line_starts(text: str) -> tuple[int, ...]:
    return (0, *(m.end() for m in re.finditer("\n", text)))


def split_notebook(path: str, data: bytes, origin: Origin) -> list[tuple[Blob, CellPositions | None]] | None:
    """One blob per cell, each with where its text stands in the file (``None`` when that cannot be told),
    or ``None`` when ``data`` is not a notebook (the caller scans it raw)."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return None
    where = _locate(document, text)
    newlines = tuple(m.start() for m in re.finditer("\n", text)) if where is not None else ()
    blobs: list[tuple[Blob, CellPositions | None]] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        pieces: list[tuple[int, int | None]] = []
        chunks: list[str] = []
        length = 0
        for part in _cell_parts(cell, _get(_get(where, "cells"), index)):
            if chunks:
                chunks.append("\n")
                length += 1
            for piece, raw in part:
                pieces.append((length, raw))
                chunks.append(piece)
                length += len(piece)
        if not chunks:
            continue
        cell_text = "".join(chunks)
        positions = (
            CellPositions(
                text,
                newlines,
                tuple(s for s, _ in pieces),
                tuple(r for _, r in pieces),
                _line_starts(cell_text),
            )
            if where is not None
            else None
        )
        blobs.append((Blob(path, cell_text.encode("utf-8", "surrogatepass"), origin, cell=index), positions))
    # Notebook-level metadata (kernel specs, widget state) can hold tokens too. It is scanned where it
    # stands in the file, so that its findings name the file's own lines.
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and metadata:
        in_place = _metadata_in_place(data)
        if in_place is None:
            in_place = json.dumps(metadata, indent=1).encode("utf-8", "surrogatepass")
        blobs.append((Blob(path, in_place, origin, cell=None), None))
    return blobs


def _locate(document: Any, text: str) -> Any:
    """The document's mirror of string positions, or None if the tokens do not line up (duplicate keys)."""
    tokens = _STRING_TOKEN.finditer(text)
    try:
        where = _mirror(document, tokens)
    except StopIteration:
        return None
    return where if next(tokens, None) is None else None


_SPACE = re.compile(r"[ \t\r\n]*")


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _metadata_in_place(data: bytes) -> bytes | None:
    """The notebook's top-level ``metadata`` value, preceded by blank lines and spaces so that its lines
    and columns are the file's; ``None`` if it cannot tell where it stands."""
    try:
        text = data.decode("utf-8")
        pos = _skip_space(text, 0)
        if text[pos : pos + 1] != "{":
            return None
        pos += 1
        decoder = json.JSONDecoder()
        while True:
            pos = _skip_space(text, pos)
            if text[pos : pos + 1] != '"':
                return None
            key, pos = decoder.raw_decode(text, pos)
            pos = _skip_space(text, pos)
            if text[pos : pos + 1] != ":":
                return None
            pos = _skip_space(text, pos + 1)
            _, end = decoder.raw_decode(text, pos)
            if key == "metadata":
                # What comes before only needs its newlines, and the start column of the value's line.
                before = text[:pos]
                indent = len(before) - before.rfind("\n") - 1
                blank = "\n" * before.count("\n") + " " * indent + text[pos:end]
                return blank.encode("utf-8", "surrogatepass")
            pos = _skip_space(text, end)
            if text[pos : pos + 1] != ",":
                return None
            pos += 1
    except (ValueError, RecursionError):
        return None
