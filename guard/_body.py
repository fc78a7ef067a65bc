"""Every text in a JSON body, found by structure rather than by a list of known fields.

The guard inspects the final JSON the SDK is about to send (after ``extra_body`` is merged), so a field
the SDK adds tomorrow is inspected today. ``map_texts`` applies a function to every string value except
strings directly under *structural* keys: identifiers and enumerations that never carry user text
(``model``, ``role``, ``type``, ids). Object keys are not texts. Binary payloads (``data:`` URLs, base64 file data,
embeddings) are skipped unless ``binary=True`` (the secret scan reads them; PII analysis does not).

``map_texts`` returns the very same object when nothing changed, so an untouched request is sent as
the SDK serialized it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prodguard.guard._call import Json
from prodguard.guard._routes import Kind

TextFn = Callable[[str], str]

STRUCTURAL = frozenset(
    {
        "model", "role", "type", "id", "object", "status", "call_id", "item_id", "tool_call_id",
        "previous_response_id", "response_id", "conversation_id", "file_id", "file_ids", "vector_store_id",
        "vector_store_ids", "container_id", "prompt_cache_key", "service_tier", "reasoning_effort", "effort",
        "truncation", "encoding_format", "detail", "format", "voice", "modalities", "include", "media_type",
        "mime_type", "purpose", "order", "after", "before", "finish_reason", "system_fingerprint",
        "created", "created_at", "logit_bias", "safety_identifier", "verbosity", "quality", "size",
        "background", "moderation", "output_format", "response_format", "stop_reason",
    }
)
BINARY = frozenset({"file_data", "b64_json", "embedding", "data", "image_data", "audio_data", "partial_image_b64"})


# What a binary payload looks like as JSON text: base64 (or base64url), at least 16 characters. A plain
# sentence under a ``data`` key (any key a caller may put in ``extra_body``) is text, not a payload.
_PAYLOAD = re.compile(r"[A-Za-z0-9+/=_\r\n-]{16,}")


def is_binary(key: str | None, text: str) -> bool:
    if text.startswith("data:"):
        return True
    return key in BINARY and _PAYLOAD.fullmatch(text) is not None


def map_texts(value: Json, fn: TextFn, *, binary: bool = False, key: str | None = None) -> Json:
    """``value`` with ``fn`` applied to every text; the same object when ``fn`` changed nothing."""
    if isinstance(value, str):
        if key in STRUCTURAL or (not binary and is_binary(key, value)):
            return value
        new = fn(value)
        return value if new == value else new
    if isinstance(value, dict):
        # Structural keys skip their strings only: an object under one (``text.format`` with a JSON
        # schema, ``response_format``) is walked like any other.
        items: Any = ((name, item, name) for name, item in value.items())
    elif isinstance(value, list):
        items = ((index, item, key) for index, item in enumerate(value))
    else:
        return value
    changed: Any = None
    for slot, item, item_key in items:
        if isinstance(item, (str, dict, list)):
            new_item = map_texts(item, fn, binary=binary, key=item_key)
            if new_item is not item:
                if changed is None:
                    changed = dict(value) if isinstance(value, dict) else list(value)
                changed[slot] = new_item
    return value if changed is None else changed


def texts(value: Json, *, binary: bool = False) -> list[str]:
    """Every text of ``value``, in order."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    map_texts(value, collect, binary=binary)
    return found


def answer_parts(kind: Kind, body: Json) -> list[Json]:
    """The parts of a complete answer that hold generated text (for output moderation and the audit
    record): chat messages, Responses output items, completion texts. Echoed request fields (a Responses
    answer repeats ``instructions`` and ``tools``) are not generated text."""
    if not isinstance(body, dict):
        return []
    if kind == "responses":
        return [body.get("output")]
    if kind in ("chat", "completions"):
        return [c.get("message", c.get("text")) for c in body.get("choices") or [] if isinstance(c, dict)]
    return []


def answer_texts(kind: Kind, body: Json) -> list[str]:
    return [t for part in answer_parts(kind, body) for t in texts(part)]
