"""The answer side of a call, plain or streamed, written once (sans-I/O).

Every text of the answer passes the steps' ``text`` filters (upstream form: secrets scrubbed), is
noted as what came back, then the ``restore`` filters (PII placeholders restored) before the caller
sees it. A plain answer is one piece per text; a stream feeds each text (a choice's content, a tool
call's arguments, a Responses output part) piece by piece, and each filter holds back only what might
still change. ``answer`` hooks (output moderation) see the generated text so far after every event.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from prodguard.guard._body import answer_texts, map_texts
from prodguard.guard._call import Call, Json
from prodguard.guard._io import Flow
from prodguard.guard._steps.base import Step, TextFilter

Key = tuple[Any, ...]


@dataclass
class _Slot:
    scan: list[TextFilter]
    restore: list[TextFilter]
    upstream: list[str] = field(default_factory=list)
    template: dict[str, Any] | None = None  # the last event that carried this text (for a synthetic tail)


class AnswerPipe:
    """The filters of one call's answer, one chain per text."""

    def __init__(self, steps: tuple[Step, ...], call: Call) -> None:
        self.steps = steps
        self.call = call
        self.slots: dict[Key, _Slot] = {}

    def _new_slot(self) -> _Slot:
        scan = [f for f in (s.text(self.call) for s in self.steps) if f is not None]
        restore = [f for f in (s.restore(self.call) for s in self.steps) if f is not None]
        return _Slot(scan, restore)

    def scan_whole(self, text: str) -> str:
        return self._whole_with("text", text)

    def restore_whole(self, text: str) -> str:
        return self._whole_with("restore", text)

    def _whole_with(self, hook: str, text: str) -> str:
        """``text`` as one complete piece through each step's ``text`` (or ``restore``) filter."""
        for step in self.steps:
            found = getattr(step, hook)(self.call)
            if found is not None:
                text = found.feed(text, True)
        return text

    def piece(self, key: Key, text: str, last: bool = False) -> str:
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = self._new_slot()
        for f in slot.scan:
            text = f.feed(text, last)
        slot.upstream.append(text)
        for f in slot.restore:
            text = f.feed(text, last)
        return text

    def progress(self, final: bool) -> Flow[None]:
        texts = ["".join(slot.upstream) for slot in self.slots.values()]
        if final:
            self.call.output = texts
        for step in self.steps:
            yield from step.answer(self.call, texts, final)

    # -- a complete answer ----------------------------------------------------------------------

    def plain(self, body: Json) -> Flow[Json]:
        """A complete JSON answer: returns what the caller gets."""
        upstream = map_texts(body, self.scan_whole, binary=True)
        call = self.call
        call.answer = upstream
        if isinstance(upstream, dict) and isinstance(upstream.get("usage"), dict):
            call.usage = upstream["usage"]
        call.output = answer_texts(call.route.kind, upstream)
        for step in self.steps:
            yield from step.answer(call, call.output, True)
        return map_texts(upstream, self.restore_whole)

    # -- streamed events ------------------------------------------------------------------------

    def event(self, obj: dict[str, Any]) -> Flow[list[dict[str, Any]]]:
        """One streamed event (a chat chunk or a Responses event): the events to pass on instead."""
        if isinstance(obj.get("choices"), list):
            out = self._chat_chunk(obj)
        elif isinstance(obj.get("type"), str):
            out = self._responses_event(obj)
        else:
            out = [map_texts(obj, self._whole)]
        yield from self.progress(False)
        return out

    def end(self) -> Flow[list[dict[str, Any]]]:
        """End of the stream: whatever is still held back, as synthetic events; the last checks."""
        tail = []
        for key, slot in list(self.slots.items()):
            rest = self.piece(key, "", True)
            if rest and slot.template is not None:
                tail.append(_synthetic(slot.template, key, rest))
            slot.template = None
        yield from self.progress(True)
        return tail

    def _whole(self, text: str) -> str:
        return self.restore_whole(self.scan_whole(text))

    def _chat_chunk(self, chunk: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(chunk.get("usage"), dict):
            self.call.usage = chunk["usage"]
        for choice in chunk["choices"]:
            if not isinstance(choice, dict) or not isinstance(choice.get("delta"), dict):
                continue
            index, delta = choice.get("index"), choice["delta"]
            for name in ("content", "refusal"):
                if isinstance(delta.get(name), str):
                    delta[name] = self._feed(("chat", index, name), delta[name], chunk)
            for tool in delta.get("tool_calls") or []:
                function = tool.get("function") if isinstance(tool, dict) else None
                if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                    function["arguments"] = self._feed(("chat", index, "tool", tool.get("index")), function["arguments"], chunk)
            audio = delta.get("audio")
            if isinstance(audio, dict) and isinstance(audio.get("transcript"), str):
                audio["transcript"] = self._feed(("chat", index, "audio"), audio["transcript"], chunk)
            if choice.get("finish_reason") is not None:
                self._close_choice(index, delta)
        return [chunk]

    def _close_choice(self, index: Any, delta: dict[str, Any]) -> None:
        """A choice finished: what its texts hold back goes out with its last chunk."""
        for key, slot in list(self.slots.items()):
            if key[:2] != ("chat", index) or slot.template is None:
                continue
            slot.template = None
            rest = self.piece(key, "", True)
            if not rest:
                continue
            if key[2] == "tool":
                delta.setdefault("tool_calls", [])
                delta["tool_calls"] = [*(delta["tool_calls"] or []), {"index": key[3], "function": {"arguments": rest}}]
            elif key[2] == "audio":
                delta["audio"] = {**(delta.get("audio") or {}), "transcript": rest}
            else:
                delta[key[2]] = (delta.get(key[2]) or "") + rest

    def _responses_event(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind: str = event["type"]
        if kind.endswith(".delta") and isinstance(event.get("delta"), str) and not kind.endswith("audio.delta"):
            event["delta"] = self._feed(_event_key(kind[: -len(".delta")], event), event["delta"], event)
            return [event]
        out = []
        if kind.endswith(".done"):
            key = _event_key(kind[: -len(".done")], event)
            slot = self.slots.get(key)
            if slot is not None and slot.template is not None:
                template, slot.template = slot.template, None
                rest = self.piece(key, "", True)
                if rest:
                    out.append(_synthetic(template, key, rest))
        if kind.endswith("audio.delta"):
            out.append(event)
            return out
        mapped = map_texts(event, self._whole)
        response = mapped.get("response") if isinstance(mapped, dict) else None
        if isinstance(response, dict):
            if isinstance(response.get("usage"), dict):
                self.call.usage = response["usage"]
            self.call.answer = response
        out.append(mapped)
        return out

    def _feed(self, key: Key, text: str, template: dict[str, Any]) -> str:
        out = self.piece(key, text)
        slot = self.slots[key]
        slot.template = template
        return out


def _event_key(kind: str, event: dict[str, Any]) -> Key:
    return ("resp", kind, event.get("item_id"), event.get("output_index"), event.get("content_index"), event.get("summary_index"))


def _synthetic(template: dict[str, Any], key: Key, text: str) -> dict[str, Any]:
    """A copy of a delta event carrying ``text`` (for text released after its last delta)."""
    if key[0] == "resp":
        return {**template, "delta": text}
    event = {k: v for k, v in template.items() if k != "choices"}
    event["usage"] = None
    delta: dict[str, Any]
    if key[2] == "tool":
        delta = {"tool_calls": [{"index": key[3], "function": {"arguments": text}}]}
    elif key[2] == "audio":
        delta = {"audio": {"transcript": text}}
    else:
        delta = {key[2]: text}
    event["choices"] = [{"index": key[1], "delta": delta, "finish_reason": None}]
    return copy.deepcopy(event)
