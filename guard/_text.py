"""Where the text is in OpenAI requests and responses.

``map_request`` returns a copy of a request's parameters with every user-visible text slot passed
through a function (messages, content parts, tool outputs and arguments, Responses ``input`` items and
``instructions``, embedding inputs); the caller's objects are never modified. ``map_response`` does the
same in place on a response object the SDK just built (nobody else holds it yet).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

TextFn = Callable[[str], str]

CHAT = "chat.completions"
RESPONSES = "responses"
EMBEDDINGS = "embeddings"


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _as_dict(obj: Any) -> Any:
    """Request parameters may be TypedDicts (plain dicts) or SDK models; work on plain data."""
    if hasattr(obj, "model_dump"):
        return obj.model_dump(exclude_none=True)
    return obj


def _map_parts(content: Any, fn: TextFn) -> Any:
    if isinstance(content, str):
        return fn(content)
    if isinstance(content, list):
        out = []
        for part in content:
            part = _as_dict(part)
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                part = {**part, "text": fn(part["text"])}
            out.append(part)
        return out
    return content


def _map_message(message: Any, fn: TextFn) -> Any:
    message = _as_dict(message)
    if not isinstance(message, dict):
        return message
    message = dict(message)
    if "content" in message:
        message["content"] = _map_parts(message["content"], fn)
    if isinstance(message.get("output"), str):  # Responses function_call_output
        message["output"] = fn(message["output"])
    if isinstance(message.get("arguments"), str):  # Responses function_call
        message["arguments"] = fn(message["arguments"])
    if isinstance(message.get("tool_calls"), list):
        calls = []
        for call in message["tool_calls"]:
            call = copy.deepcopy(_as_dict(call))
            function = call.get("function") if isinstance(call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                function["arguments"] = fn(function["arguments"])
            calls.append(call)
        message["tool_calls"] = calls
    return message


def map_request(endpoint: str, params: dict[str, Any], fn: TextFn) -> dict[str, Any]:
    """A copy of ``params`` with ``fn`` applied to every text slot of the request."""
    out = dict(params)
    if endpoint == CHAT and isinstance(params.get("messages"), (list, tuple)):
        out["messages"] = [_map_message(m, fn) for m in params["messages"]]
    elif endpoint == RESPONSES:
        value = params.get("input")
        if isinstance(value, str):
            out["input"] = fn(value)
        elif isinstance(value, (list, tuple)):
            out["input"] = [_map_message(item, fn) for item in value]
        if isinstance(params.get("instructions"), str):
            out["instructions"] = fn(params["instructions"])
    elif endpoint == EMBEDDINGS:
        value = params.get("input")
        if isinstance(value, str):
            out["input"] = fn(value)
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            out["input"] = [fn(v) for v in value]
    return out


def request_texts(endpoint: str, params: dict[str, Any]) -> list[str]:
    """Every text slot of a request, in order."""
    found: list[str] = []

    def collect(text: str) -> str:
        found.append(text)
        return text

    map_request(endpoint, params, collect)
    return found


def _response_slots(response: Any) -> Iterator[tuple[Any, str]]:
    """(object, attribute) of each text field in a ChatCompletion or Responses ``Response``."""
    for choice in _get(response, "choices") or []:
        message = _get(choice, "message")
        if message is None:
            continue
        if isinstance(_get(message, "content"), str):
            yield message, "content"
        for call in _get(message, "tool_calls") or []:
            function = _get(call, "function")
            if function is not None and isinstance(_get(function, "arguments"), str):
                yield function, "arguments"
    for item in _get(response, "output") or []:
        if isinstance(_get(item, "arguments"), str):
            yield item, "arguments"
        for part in _get(item, "content") or []:
            if isinstance(_get(part, "text"), str):
                yield part, "text"


def map_response(response: Any, fn: TextFn) -> Any:
    """Apply ``fn`` to every text field of a response object, in place; returns it."""
    for owner, attribute in list(_response_slots(response)):
        value = _get(owner, attribute)
        if isinstance(owner, dict):
            owner[attribute] = fn(value)
        else:
            setattr(owner, attribute, fn(value))
    return response


def response_texts(response: Any) -> list[str]:
    return [_get(owner, attribute) for owner, attribute in _response_slots(response)]
