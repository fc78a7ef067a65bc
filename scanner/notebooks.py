"""Jupyter notebooks, scanned cell by cell: sources and text outputs, never image payloads.

Scanning the raw JSON would report lines of the JSON file (meaningless to a notebook user) and wade
through base64 images; splitting into cells reports "cell 3, line 2" and skips the images.
"""

from __future__ import annotations

import json
import re
from typing import Any

from prodguard.scanner.blob import Blob, Origin

# Output MIME types whose content is text a secret can be printed into.
TEXT_MIME = ("text/plain", "text/markdown", "text/html", "application/json", "text/latex")


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, int, float)):
        return json.dumps(value)
    return ""


def _cell_text(cell: dict[str, Any]) -> str:
    parts = [_text(cell.get("source", ""))]
    outputs = cell.get("outputs")
    # A malformed notebook ("outputs": 5) is scanned for what it does hold, not refused.
    for output in outputs if isinstance(outputs, list) else ():
        if not isinstance(output, dict):
            continue
        if "text" in output:
            parts.append(_text(output["text"]))
        data = output.get("data")
        if isinstance(data, dict):
            parts.extend(_text(data[mime]) for mime in TEXT_MIME if mime in data)
        if output.get("output_type") == "error":
            parts.append(_text(output.get("traceback", [])))
    return "\n".join(p for p in parts if p)


def split_notebook(path: str, data: bytes, origin: Origin) -> list[Blob] | None:
    """One blob per cell, or ``None`` when ``data`` is not a notebook (the caller scans it raw)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        return None
    blobs = []
    for index, cell in enumerate(cells):
        if isinstance(cell, dict):
            text = _cell_text(cell)
            if text:
                blobs.append(Blob(path, text.encode("utf-8", "surrogatepass"), origin, cell=index))
    # Notebook-level metadata (kernel specs, widget state) can hold tokens too. It is scanned where it
    # stands in the file, so that its findings name the file's own lines.
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and metadata:
        in_place = _metadata_in_place(data)
        if in_place is None:
            in_place = json.dumps(metadata, indent=1).encode("utf-8", "surrogatepass")
        blobs.append(Blob(path, in_place, origin, cell=None))
    return blobs


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
