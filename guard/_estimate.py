"""What a call may cost at most, estimated from its final body, and what it did cost (its usage).

The prompt upper bound counts one token per UTF-8 byte of every string in the body (byte-level BPE
tokens are never shorter than a byte) plus per-message overhead, so for text requests a lease is a true
maximum and concurrent calls cannot overspend a hard limit. Image, audio and file parts are estimated
at ``accounting.tokens_per_media_part`` each; the settlement corrects with the real usage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from prodguard.guard._call import Json
from prodguard.guard._routes import Kind

_MEDIA_TYPES = frozenset({"image_url", "input_image", "input_audio", "input_file", "file", "image", "audio"})


@dataclass
class _Tally:
    bytes: int = 0
    chars: int = 0
    media: int = 0
    items: int = 0


def _walk(value: Any, tally: _Tally) -> None:
    if isinstance(value, str):
        tally.chars += len(value)
        tally.bytes += len(value) if value.isascii() else len(value.encode("utf-8", "surrogatepass"))
    elif isinstance(value, dict):
        if value.get("type") in _MEDIA_TYPES:
            tally.media += 1
            return
        for key, item in value.items():
            tally.bytes += len(key)
            tally.chars += len(key)
            _walk(item, tally)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _walk(item, tally)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        tally.bytes += len(str(value))
        tally.chars += len(str(value))
    elif hasattr(value, "model_dump"):
        _walk(value.model_dump(exclude_none=True), tally)


class Estimate(NamedTuple):
    prompt_max: int  # an upper bound for text (one token per byte)
    prompt_typical: int  # what the API's own rate limiter would count (about four characters a token)
    output_cap: int


def output_cap_of(kind: Kind, body: Json) -> int | None:
    """The most output tokens the request allows (all choices), None when it sets no cap."""
    if not isinstance(body, dict):
        return None
    if kind in ("chat", "completions"):
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        choices = body.get("n") or 1
        return int(cap) * int(choices) if isinstance(cap, int) and isinstance(choices, int) else None
    if kind == "responses":
        cap = body.get("max_output_tokens")
        return int(cap) if isinstance(cap, int) else None
    if kind == "embeddings":
        return 0  # embeddings produce no output tokens
    return None


def estimate(kind: Kind, body: Json, default_cap: int, media_tokens: int) -> Estimate:
    """From the final body, every field included: whatever ``extra_body`` added is counted."""
    tally = _Tally()
    _walk(body, tally)
    items = body.get("messages") if kind == "chat" and isinstance(body, dict) else body.get("input") if isinstance(body, dict) else None
    overhead = 0 if kind == "embeddings" else 3 + 4 * (len(items) if isinstance(items, (list, tuple)) else 1)
    media = tally.media * media_tokens
    cap = output_cap_of(kind, body)
    return Estimate(
        prompt_max=tally.bytes + overhead + media,
        prompt_typical=math.ceil(tally.chars / 4) + overhead + media,
        output_cap=default_cap if cap is None else cap,
    )


def usage_tokens(usage: Any) -> tuple[int, int, int] | None:
    """(input, output, cached input) tokens from a Chat Completions, Responses or Embeddings usage."""
    if usage is None:
        return None

    def get(obj: Any, key: str) -> Any:
        return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)

    prompt = get(usage, "prompt_tokens")
    if prompt is None:
        prompt = get(usage, "input_tokens")
    if not isinstance(prompt, int):
        return None
    output = get(usage, "completion_tokens")
    if output is None:
        output = get(usage, "output_tokens")
    details = get(usage, "prompt_tokens_details") or get(usage, "input_tokens_details")
    cached = get(details, "cached_tokens") if details is not None else 0
    return prompt, int(output or 0), int(cached or 0)


# -- plans ------------------------------------------------------------------------------------------
