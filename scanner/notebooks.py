"""Jupyter notebooks, scanned cell by cell: sources and text outputs, never image payloads.

Scanning the raw JSON would report lines of the JSON file (meaningless to a notebook user) and wade
through base64 images; splitting into cells reports "cell 3, line 2" and skips the images.
"""

from __future__ import annotations

import json
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
    for output in cell.get("outputs", []) or []:
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
    # Notebook-level metadata (kernel specs, widget state) can hold tokens too.
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and metadata:
        blobs.append(
            Blob(path, json.dumps(metadata, indent=1).encode("utf-8", "surrogatepass"), origin, cell=None)
        )
    return blobs
