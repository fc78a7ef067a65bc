"""What ``FakeOpenAI`` answers: request bodies in, response bodies or SSE event lists out. The records
and helpers every endpoint shares, and the embeddings, moderations and models endpoints (generation, chat
and Responses, is in ``_generation``).

Pure functions, no I/O: each endpoint reads the request the way the API does (string or content-part
messages, nested chat tools versus flat Responses tools) and builds payloads in the shapes the ``openai``
SDK's models declare, so a client with ``_strict_response_validation=True`` accepts them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CHAT = "/chat/completions"
RESPONSES = "/responses"
EMBEDDINGS = "/embeddings"
MODERATIONS = "/moderations"
MODELS = "/models"

# omni-moderation's categories as they appear on the wire, and whether each also applies to images.
MODERATION_CATEGORIES: Mapping[str, bool] = {
    "harassment": False,
    "harassment/threatening": False,
    "hate": False,
    "hate/threatening": False,
    "illicit": False,
    "illicit/violent": False,
    "self-harm": True,
    "self-harm/instructions": True,
    "self-harm/intent": True,
    "sexual": True,
    "sexual/minors": False,
    "violence": True,
    "violence/graphic": True,
}
# A category is reported flagged when its score reaches this value (the guard applies its own thresholds).
MODERATION_FLAG_THRESHOLD = 0.5
_QUIET_SCORE = 1e-6
_WORD_PIECE = re.compile(r"\s*\S+")

Event = tuple[str | None, str]  # (SSE ``event:`` name or None, ``data:`` line)


@dataclass(frozen=True)
class ToolCallReply:
    """A function call in a scripted reply. ``arguments`` given as a sequence is streamed as exactly
    those pieces (and joined for a plain answer); a string is split like any streamed text."""

    name: str
    arguments: str | Sequence[str]

    @property
    def text(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else "".join(self.arguments)


@dataclass(frozen=True)
class Script:
    """One queued reply (see ``FakeOpenAI.queue_reply``)."""

    text: str | None = None
    chunks: tuple[str, ...] | None = None
    tool_calls: tuple[ToolCallReply, ...] = ()
    body: Any = None
    events: tuple[Any, ...] | None = None
    status: int = 200


@dataclass(frozen=True)
class Plain:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Stream:
    events: list[Event]
    drop_after: int | None = None  # cut the connection after this many events


@dataclass(frozen=True)
class Drop:
    """Close the connection without answering."""


Answer = Plain | Stream | Drop


class BadRequest(Exception):
    """The request is malformed; answered with a 400 in the API's error shape."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True)
class Echo:
    """How generated answers are made: ``transform`` turns the echoed text into the answer,
    ``chunk`` splits streamed text, ``new_id`` numbers objects (``chatcmpl-fake00000001``)."""

    transform: Callable[[str], str]
    chunk: Callable[[str], list[str]]
    new_id: Callable[[str], str]

    def pieces(self, call: ToolCallReply) -> list[str]:
        return self.chunk(call.arguments) if isinstance(call.arguments, str) else list(call.arguments)


def chunk_text(text: str, size: int | None) -> list[str]:
    """Pieces of ``size`` characters, or (``None``) words each carrying their leading whitespace, the way
    the API's tokens arrive; the pieces always join back to ``text``."""
    if size is not None:
        return [text[i : i + size] for i in range(0, len(text), size)]
    pieces: list[str] = _WORD_PIECE.findall(text)
    tail = text[len("".join(pieces)) :]  # trailing whitespace, which the pattern leaves out
    if tail:
        if pieces:
            pieces[-1] += tail
        else:
            pieces.append(tail)
    return pieces


def dumps(value: Any) -> str:
    # ensure_ascii=False keeps non-ASCII text readable on the wire, as the real API sends it.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of text parts (chat and Responses shapes)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        return "\n".join(t for t in texts if isinstance(t, str))
    return ""


def estimate_tokens(text: str) -> int:
    # About four characters per token for English: enough for usage and budget tests.
    return (len(text) + 3) // 4


def error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> Plain:
    return Plain(status, {"error": {"message": message, "type": kind, "param": param, "code": code}})


def fault_body(status: int) -> dict[str, Any]:
    """The API's error body for an injected failure."""
    if status == 429:
        message, kind, code = (
            "Rate limit reached for requests (fake server).",
            "requests",
            "rate_limit_exceeded",
        )
    elif status >= 500:
        message, kind, code = (
            "The server had an error processing your request (fake server).",
            "server_error",
            None,
        )
    else:
        message, kind, code = (
            f"Request failed with status {status} (fake server).",
            "invalid_request_error",
            None,
        )
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def raw_event(payload: Any, *, typed: bool) -> Event:
    """A scripted SSE event: JSON values are serialized, strings (``"[DONE]"``) sent as they are."""
    data = payload if isinstance(payload, str) else dumps(payload)
    name = payload.get("type") if typed and isinstance(payload, dict) else None
    return (name if isinstance(name, str) else None), data


# ---------------------------------------------------------------------------------------------------
# Embeddings, moderations, models


def embeddings(body: dict[str, Any], default_dimensions: int) -> Answer:
    """``POST /embeddings``: one deterministic unit vector per input, as floats or base64 float32s."""
    model, raw = body.get("model"), body.get("input")
    if not isinstance(model, str):
        raise BadRequest("you must provide a model parameter", "model")
    if isinstance(raw, str) or (isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw)):
        inputs: list[Any] = [raw]  # one string, or one input given as token ids
    elif isinstance(raw, list) and raw:
        inputs = raw
    else:
        raise BadRequest("'input' must be a non-empty string or array", "input")
    if any(i == "" or i == [] for i in inputs):
        raise BadRequest("'input' cannot contain an empty string", "input")
    dims = body.get("dimensions") or default_dimensions
    if not isinstance(dims, int) or dims < 1:
        raise BadRequest("'dimensions' must be a positive integer", "dimensions")
    as_base64 = body.get("encoding_format") == "base64"
    data, tokens = [], 0
    for index, item in enumerate(inputs):
        text = item if isinstance(item, str) else " ".join(str(t) for t in item)
        tokens += estimate_tokens(text) if isinstance(item, str) else len(item)
        packed = embedding(model, text, dims)
        vector: Any = (
            base64.b64encode(packed).decode("ascii")
            if as_base64
            else list(struct.unpack(f"<{dims}f", packed))
        )
        data.append({"object": "embedding", "index": index, "embedding": vector})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return Plain(200, {"object": "list", "data": data, "model": model, "usage": usage})


def embedding(model: str, text: str, dims: int) -> bytes:
    """A deterministic unit vector of little-endian float32s, derived from a hash of model and text."""
    digest = hashlib.shake_256(f"{model}\0{text}".encode()).digest(4 * dims)
    raw = [int.from_bytes(digest[i : i + 4], "little") / 2**31 - 1.0 for i in range(0, 4 * dims, 4)]
    norm = sum(v * v for v in raw) ** 0.5 or 1.0
    return struct.pack(f"<{dims}f", *(v / norm for v in raw))


def moderation_category(name: str) -> str:
    """The wire name of a category given as wire name (``self-harm/intent``) or SDK attribute
    (``self_harm_intent``)."""
    if name in MODERATION_CATEGORIES:
        return name
    for wire in MODERATION_CATEGORIES:
        if wire.replace("-", "_").replace("/", "_") == name:
            return wire
    raise ValueError(f"unknown moderation category {name!r}; known: {', '.join(MODERATION_CATEGORIES)}")


def moderations(
    body: dict[str, Any],
    baseline: Mapping[str, float],
    triggers: Mapping[str, Mapping[str, float]],
    echo: Echo,
) -> Answer:
    """``POST /moderations``: baseline scores for every input, raised by the trigger words it contains."""
    raw = body.get("input")
    if isinstance(raw, str):
        inputs: list[tuple[str, bool]] = [(raw, False)]
    elif isinstance(raw, list) and raw and all(isinstance(i, str) for i in raw):
        inputs = [(i, False) for i in raw]
    elif isinstance(raw, list) and raw and all(isinstance(i, dict) for i in raw):
        # One multi-modal input: its text and image parts are moderated together.
        inputs = [(text_of(raw), any(p.get("type") == "image_url" for p in raw))]
    else:
        raise BadRequest("'input' must be a string, an array of strings or of content parts", "input")
    results = []
    for text, image in inputs:
        scores = {name: baseline.get(name, _QUIET_SCORE) for name in MODERATION_CATEGORIES}
        for word, extra in triggers.items():
            if word and word in text:
                for name, score in extra.items():
                    scores[name] = max(scores[name], score)
        categories = {name: score >= MODERATION_FLAG_THRESHOLD for name, score in scores.items()}
        applied = {
            name: ["text", "image"] if image and both else ["text"]
            for name, both in MODERATION_CATEGORIES.items()
        }
        results.append(
            {
                "flagged": any(categories.values()),
                "categories": categories,
                "category_scores": scores,
                "category_applied_input_types": applied,
            }
        )
    model = body.get("model") or "omni-moderation-latest"
    return Plain(200, {"id": echo.new_id("modr-fake"), "model": model, "results": results})


def model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "openai"}
