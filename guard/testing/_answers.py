"""What ``FakeOpenAI`` answers: request bodies in, response bodies or SSE event lists out.

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
import time
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
# Tools


def _function_tools(raw: Any, *, nested: bool) -> list[dict[str, Any]]:
    """Function tools as ``{"name", "parameters"}``; chat nests them under ``function``, Responses not."""
    found: list[dict[str, Any]] = []
    for tool in raw if isinstance(raw, list) else []:
        if not isinstance(tool, dict) or tool.get("type") != "function":
            continue
        spec = tool.get("function") if nested else tool
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            found.append({"name": spec["name"], "parameters": spec.get("parameters")})
    return found


def _echo_call(tools: list[dict[str, Any]], tool_choice: Any, text: str) -> ToolCallReply | None:
    """The tool call that echoes ``text``: to the chosen (else first) tool, in its first required (else
    first declared) parameter; None when there are no tools or ``tool_choice`` is ``"none"``."""
    if not tools or tool_choice == "none":
        return None
    tool = tools[0]
    if isinstance(tool_choice, dict):
        wanted = tool_choice.get("name") or (tool_choice.get("function") or {}).get("name")
        tool = next((t for t in tools if t["name"] == wanted), tool)
    argument = "input"
    parameters = tool["parameters"]
    if isinstance(parameters, dict):
        required, properties = parameters.get("required"), parameters.get("properties")
        if isinstance(required, list) and required and isinstance(required[0], str):
            argument = required[0]
        elif isinstance(properties, dict) and properties:
            argument = str(next(iter(properties)))
    return ToolCallReply(tool["name"], dumps({argument: text}))


Plan = tuple[list[str], list[ToolCallReply]]  # the answer's text pieces and tool calls


def _plan(
    script: Script | None, echo: Echo, generated: Callable[[], tuple[str, ToolCallReply | None]]
) -> Plan:
    """A script's reply, else the generated one: ``generated`` gives the text to echo and the tool call
    to make instead, if any."""
    if script is not None:
        chunks = list(script.chunks) if script.chunks is not None else echo.chunk(script.text or "")
        return chunks, list(script.tool_calls)
    text, call = generated()
    return ([], [call]) if call is not None else (echo.chunk(echo.transform(text)), [])


# ---------------------------------------------------------------------------------------------------
# Chat completions


def chat(body: dict[str, Any], script: Script | None, echo: Echo) -> Answer:
    """``POST /chat/completions``: echo the last user message, or a tool's result, or call a tool."""
    messages = body.get("messages")
    if not isinstance(body.get("model"), str):
        raise BadRequest("you must provide a model parameter", "model")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("'messages' must be a non-empty array of message objects", "messages")

    def generated() -> tuple[str, ToolCallReply | None]:
        last = messages[-1]
        if last.get("role") == "tool":  # a tool result came back: answer with it
            return text_of(last.get("content")), None
        user = next((m for m in reversed(messages) if m.get("role") == "user"), last)
        text = text_of(user.get("content"))
        return text, _echo_call(
            _function_tools(body.get("tools"), nested=True), body.get("tool_choice"), text
        )

    chunks, calls = _plan(script, echo, generated)
    call_ids = [echo.new_id("call_fake") for _ in calls]
    prompt = "\n".join(text_of(m.get("content")) for m in messages)
    usage = _chat_usage(
        estimate_tokens(prompt), estimate_tokens("".join(chunks) + "".join(c.text for c in calls))
    )
    finish = "tool_calls" if calls else "stop"
    base = {
        "id": echo.new_id("chatcmpl-fake"),
        "created": int(time.time()),
        "model": body["model"],
        "service_tier": "default",
        "system_fingerprint": "fp_fakeopenai",
    }
    if body.get("stream") is not True:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(chunks) if chunks or not calls else None,
            "refusal": None,
            "annotations": [],
        }
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.text}}
                for cid, c in zip(call_ids, calls, strict=True)
            ]
        choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
        return Plain(200, {**base, "object": "chat.completion", "choices": [choice], "usage": usage})

    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    head = {**base, "object": "chat.completion.chunk"}
    if include_usage:
        head["usage"] = None  # the API sends null usage on every chunk but the last

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> Event:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return None, dumps({**head, "choices": [choice]})

    events = [chunk({"role": "assistant", "content": None if calls else "", "refusal": None})]
    events += [chunk({"content": piece}) for piece in chunks]
    for index, (cid, call) in enumerate(zip(call_ids, calls, strict=True)):
        opening = {
            "index": index,
            "id": cid,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}))
        events += [
            chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
            for piece in echo.pieces(call)
        ]
    events.append(chunk({}, finish))
    if include_usage:
        events.append((None, dumps({**head, "choices": [], "usage": usage})))
    events.append((None, "[DONE]"))
    return Stream(events)


def _chat_usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


# ---------------------------------------------------------------------------------------------------
# Responses


def responses(body: dict[str, Any], script: Script | None, echo: Echo) -> Answer:
    """``POST /responses``: echo the input (or a function call's output), or call a function tool."""
    if not isinstance(body.get("model"), str):
        raise BadRequest("Missing required parameter: 'model'.", "model")
    raw_input = body.get("input")
    items = [{"role": "user", "content": raw_input}] if isinstance(raw_input, str) else raw_input
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest("Invalid type for 'input': expected a string or an array of input items.", "input")

    def generated() -> tuple[str, ToolCallReply | None]:
        for item in reversed(items):
            if item.get("type") == "function_call_output":
                return text_of(item.get("output")), None
            if item.get("role") == "user":
                text = text_of(item.get("content"))
                tools = _function_tools(body.get("tools"), nested=False)
                return text, _echo_call(tools, body.get("tool_choice"), text)
        return "", None

    chunks, calls = _plan(script, echo, generated)
    message_id = echo.new_id("msg_fake") if chunks or not calls else None
    output = [] if message_id is None else [_output_message(message_id, "".join(chunks), "completed")]
    call_items = [
        {
            "id": echo.new_id("fc_fake"),
            "type": "function_call",
            "status": "completed",
            "call_id": echo.new_id("call_fake"),
            "name": call.name,
            "arguments": call.text,
        }
        for call in calls
    ]
    output += call_items
    prompt = "\n".join(
        [text_of(body.get("instructions"))] + [text_of(i.get("content", i.get("output"))) for i in items]
    )
    completion = "".join(chunks) + "".join(c.text for c in calls)
    created = int(time.time())
    response: dict[str, Any] = {
        "id": echo.new_id("resp_fake"),
        "object": "response",
        "created_at": created,
        "status": "completed",
        "completed_at": created,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": body.get("safety_identifier"),
        "store": body.get("store", True),
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": [_echo_tool(t) for t in body.get("tools") or [] if isinstance(t, dict)],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {
            "input_tokens": estimate_tokens(prompt),
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": estimate_tokens(completion),
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": estimate_tokens(prompt) + estimate_tokens(completion),
        },
        "metadata": body.get("metadata") or {},
    }
    if body.get("stream") is not True:
        return Plain(200, response)
    return Stream(_response_events(response, chunks, calls, message_id, call_items, echo))


def _response_events(
    response: dict[str, Any],
    chunks: list[str],
    calls: list[ToolCallReply],
    message_id: str | None,
    call_items: list[dict[str, Any]],
    echo: Echo,
) -> list[Event]:
    """The event sequence the SDK's stream accumulator accepts, ending in ``response.completed``."""
    events: list[Event] = []

    def emit(kind: str, **fields: Any) -> None:
        events.append((kind, dumps({"type": kind, "sequence_number": len(events), **fields})))

    pending = {**response, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
    emit("response.created", response=pending)
    emit("response.in_progress", response=pending)
    index = 0
    if message_id is not None:
        text = "".join(chunks)
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        where = {"item_id": message_id, "output_index": index, "content_index": 0}
        emit(
            "response.output_item.added",
            output_index=index,
            item=_output_message(message_id, "", "in_progress"),
        )
        emit("response.content_part.added", **where, part=part)
        for piece in chunks:
            emit("response.output_text.delta", **where, delta=piece, logprobs=[])
        emit("response.output_text.done", **where, text=text, logprobs=[])
        emit("response.content_part.done", **where, part={**part, "text": text})
        emit(
            "response.output_item.done",
            output_index=index,
            item=_output_message(message_id, text, "completed"),
        )
        index += 1
    for call, item in zip(calls, call_items, strict=True):
        where = {"item_id": item["id"], "output_index": index}
        emit(
            "response.output_item.added",
            output_index=index,
            item={**item, "arguments": "", "status": "in_progress"},
        )
        for piece in echo.pieces(call):
            emit("response.function_call_arguments.delta", **where, delta=piece)
        emit("response.function_call_arguments.done", **where, name=call.name, arguments=call.text)
        emit("response.output_item.done", output_index=index, item=item)
        index += 1
    emit("response.completed", response=response)
    return events


def _output_message(item_id: str, text: str, status: str) -> dict[str, Any]:
    parts = (
        []
        if status == "in_progress"
        else [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]
    )
    return {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": parts}


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    # A response echoes the request's tools with the fields the API fills in.
    if tool.get("type") == "function":
        return {"description": None, "parameters": {}, "strict": True, **tool}
    return tool


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
