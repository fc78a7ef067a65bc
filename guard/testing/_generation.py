"""What ``FakeOpenAI`` answers to generation requests: chat completions and the Responses API, plain
and streamed (SSE events), echoing the prompt or calling a function tool.

Pure functions, no I/O, like the rest of ``_answers``: payloads in the shapes the ``openai`` SDK's models
declare, so a client with ``_strict_response_validation=True`` accepts them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prodguard.guard.testing._answers import (
    Answer,
    BadRequest,
    Echo,
    Event,
    Plain,
    Script,
    Stream,
    ToolCallReply,
    dumps,
    estimate_tokens,
    text_of,
)

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
