"""The name a value is assigned to, read from the text around it: ``PROD_OPENAI_ORG`` in
``PROD_OPENAI_ORG=org-…``, ``organization`` in ``OpenAI(organization="org-…")``, and
``openai.production.organization`` for a YAML or JSON value nested under parent keys.

The environment analysis uses the name as a hint of which environment a value belongs to.
"""

from __future__ import annotations

import re

_NAME_BEFORE = re.compile(r"""["']?([A-Za-z_][\w.-]*)["']?\s*(?:=|:=|=>|:)\s*["'`(\[{]?\s*$""")
_KEY_LINE = re.compile(r"""^(\s*)(?:-\s+)?["']?([A-Za-z_][\w.-]*)["']?\s*:\s*(?:[{\[]\s*)?(?:#.*)?$""")
MAX_PARENT_LINES = 200
MAX_NAME_PREFIX = 256


def assignment_name(data: bytes, line_start: int, column: int, line: str | None = None) -> str | None:
    """The dotted name the value at ``column`` (0-based, characters) of the line starting at byte
    ``line_start`` is assigned to, or ``None``. ``line`` is that line, decoded, when the caller has it."""
    if line is None:
        line_end = data.find(b"\n", line_start)
        line = data[line_start : line_end if line_end >= 0 else len(data)].decode("utf-8", "replace")
    # Only the text just before the value can name it. Bounding it keeps the search linear: on a long
    # minified line the pattern backtracks over every identifier run (quadratic, minutes for 40 KB).
    match = _NAME_BEFORE.search(line[max(0, column - MAX_NAME_PREFIX) : column])
    if match is None:
        return None
    name = match.group(1)
    indent = len(line) - len(line.lstrip())
    parents: list[str] = []
    cursor = line_start
    for _ in range(MAX_PARENT_LINES):
        if cursor <= 0 or indent == 0:
            break
        previous_start = data.rfind(b"\n", 0, cursor - 1) + 1
        previous = data[previous_start : cursor - 1].decode("utf-8", "replace")
        cursor = previous_start
        if not previous.strip():
            continue
        prev_indent = len(previous) - len(previous.lstrip())
        if prev_indent < indent:
            key = _KEY_LINE.match(previous)
            if key is None:
                break
            parents.append(key.group(2))
            indent = prev_indent
    return ".".join([*reversed(parents), name])
