"""Streamed responses: every delta goes through the same output steps as a complete response, with
bounded hold-back, and output moderation runs on the accumulated text at sentence ends.

Hold-back is what keeps streaming safe: a secret or a PII placeholder can arrive split across chunks
(``<PER`` + ``SON_1>``), so each text stream holds back at most the unfinished word. The processor is
sans-I/O like the other steps; ``GuardedStream`` and ``AsyncGuardedStream`` drive it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

from prodguard.guard._pipeline import Call, Guard, Step, adrive, drive
from prodguard.guard._secrets import StreamScrubber
from prodguard.guard._text import map_response

_SENTENCE_END = re.compile(r"[.!?\n]\s*$")


@dataclass
class _TextStream:
    """One text stream (a choice's content, a tool call's arguments, a Responses content part):
    scrub secrets, then restore placeholders, each holding back only what might still change."""

    scrub: StreamScrubber | None
    restore: Any

    def feed(self, text: str) -> str:
        if self.scrub is not None:
            text = self.scrub.feed(text)
        return str(self.restore.feed(text)) if self.restore is not None else text

    def flush(self) -> str:
        text = self.scrub.flush() if self.scrub is not None else ""
        if self.restore is None:
            return text
        return str(self.restore.feed(text)) + str(self.restore.flush())


@dataclass
class StreamProcessor:
    """Transforms chunks (Chat Completions) or events (Responses) of one call."""

    guard: Guard
    call: Call
    streams: dict[tuple[Any, ...], _TextStream] = field(default_factory=dict)
    raw_text: list[str] = field(default_factory=list)
    checked_chars: int = 0
    last_delta_event: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    usage: Any = None

    def _stream(self, key: tuple[Any, ...]) -> _TextStream:
        found = self.streams.get(key)
        if found is None:
            scrub = None
            if self.guard.scrubber is not None and self.guard.policy.secrets.scan_output:
                scrub = StreamScrubber(self.guard.scrubber)
            restore = self.call.vault.stream_restorer() if self.call.vault is not None else None
            found = self.streams[key] = _TextStream(scrub, restore)
        return found

    def _text(self, key: tuple[Any, ...], text: str) -> str:
        self.raw_text.append(text)
        return self._stream(key).feed(text)

    def process(self, item: Any) -> Step:
        """Yields moderation requests; returns the items to pass on (possibly more than one)."""
        out: list[Any] = []
        kind = getattr(item, "type", None)
        if kind is None and hasattr(item, "choices"):
            out = self._chat_chunk(item)
        elif isinstance(kind, str):
            out = self._responses_event(item)
        else:
            out = [item]
        yield from self._maybe_moderate(final=False)
        return out

    def finish(self) -> Step:
        """End of stream: last moderation, then whatever is still held back, as synthetic items."""
        yield from self._maybe_moderate(final=True)
        tail = []
        for key, stream in self.streams.items():
            rest = stream.flush()
            template = self.last_delta_event.get(key)
            if rest and template is not None:
                tail.append(_with_text(template, key, rest))
        return tail

    def _maybe_moderate(self, *, final: bool) -> Step:
        settings = self.guard.policy.moderation
        if not (settings.enabled and settings.check_output):
            return
        text = "".join(self.raw_text)
        new = len(text) - self.checked_chars
        if new <= 0:
            return
        if final or new >= settings.stream_interval_chars or _SENTENCE_END.search(text):
            self.checked_chars = len(text)
            yield from self.guard.moderate([text], "output", self.call)

    # -- Chat Completions chunks ---------------------------------------------------------------

    def _chat_chunk(self, chunk: Any) -> list[Any]:
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
        for choice in chunk.choices or []:
            delta = choice.delta
            key = ("content", choice.index)
            if delta is not None and isinstance(delta.content, str):
                self.last_delta_event[key] = chunk
                delta.content = self._text(key, delta.content)
            for call in (delta.tool_calls or []) if delta is not None else []:
                function = call.function
                if function is not None and isinstance(function.arguments, str):
                    call_key = ("tool", choice.index, call.index)
                    self.last_delta_event.setdefault(call_key, chunk)
                    function.arguments = self._text(call_key, function.arguments)
            if choice.finish_reason is not None and delta is not None and key in self.streams:
                # Text held back for this choice goes out with its last chunk; held-back tool-call
                # arguments follow in synthetic chunks at the end of the stream (see ``finish``).
                rest = self.streams[key].flush()
                if rest:
                    delta.content = (delta.content or "") + rest
        return [chunk]

    # -- Responses events ------------------------------------------------------------------------

    def _responses_event(self, event: Any) -> list[Any]:
        kind = event.type
        key: tuple[Any, ...]
        if kind == "response.output_text.delta":
            key = ("text", event.item_id, getattr(event, "content_index", 0))
            self.last_delta_event[key] = event
            event.delta = self._text(key, event.delta)
            return [event]
        if kind == "response.function_call_arguments.delta":
            key = ("args", event.item_id)
            self.last_delta_event[key] = event
            event.delta = self._text(key, event.delta)
            return [event]
        out: list[Any] = []
        if kind == "response.output_text.done":
            key = ("text", event.item_id, getattr(event, "content_index", 0))
            out += self._flush_into_delta(key)
            event.text = self.guard.output_text(self.call, event.text)
        elif kind == "response.function_call_arguments.done":
            key = ("args", event.item_id)
            out += self._flush_into_delta(key)
            event.arguments = self.guard.output_text(self.call, event.arguments)
        elif kind == "response.content_part.done" and isinstance(getattr(event.part, "text", None), str):
            event.part.text = self.guard.output_text(self.call, event.part.text)
        elif kind == "response.output_item.done":
            map_response({"output": [event.item]}, lambda t: self.guard.output_text(self.call, t))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            response = getattr(event, "response", None)
            if response is not None:
                map_response(response, lambda t: self.guard.output_text(self.call, t))
                self.usage = getattr(response, "usage", None)
        out.append(event)
        return out

    def _flush_into_delta(self, key: tuple[Any, ...]) -> list[Any]:
        stream = self.streams.pop(key, None)
        template = self.last_delta_event.pop(key, None)
        rest = stream.flush() if stream is not None else ""
        return [_with_text(template, key, rest)] if rest and template is not None else []


def _with_text(template: Any, key: tuple[Any, ...], text: str) -> Any:
    """A copy of a delta chunk/event carrying ``text`` (for text released at the end of a stream)."""
    if hasattr(template, "choices"):
        copy = template.model_copy(deep=True)
        for choice in copy.choices:
            choice.finish_reason = None
            if key[0] == "content" and choice.index == key[1]:
                choice.delta.content = text
                choice.delta.tool_calls = None
            elif key[0] == "tool" and choice.index == key[1]:
                choice.delta.content = None
                calls = [c for c in choice.delta.tool_calls or [] if c.index == key[2]]
                for c in calls:
                    if c.function is not None:
                        c.function.arguments = text
                choice.delta.tool_calls = calls
        copy.usage = None
        return copy
    return template.model_copy(update={"delta": text})


class _GuardedStreamBase:
    """What the sync and async stream wrappers share: the processor, the one audit record at the end,
    and attribute pass-through to the SDK's stream (``response``, ``close`` and the rest)."""

    def __init__(self, raw: Any, guard: Guard, call: Call, perform: Any) -> None:
        self._raw = raw
        self._guard = guard
        self._processor = StreamProcessor(guard, call)
        self._perform = perform
        self._done = False

    def _finish(self, error: BaseException | None = None) -> None:
        if not self._done:
            self._done = True
            self._guard.record(self._processor.call, usage=self._processor.usage, error=error)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class GuardedStream(_GuardedStreamBase):
    """Wraps the SDK's ``Stream``: same iteration and context-manager protocol, guarded items."""

    def __init__(self, raw: Any, guard: Guard, call: Call, perform: Any) -> None:
        super().__init__(raw, guard, call, perform)
        self._items = self._guarded()

    def _guarded(self) -> Iterator[Any]:
        try:
            for item in self._raw:
                yield from drive(self._processor.process(item), self._perform)
            yield from drive(self._processor.finish(), self._perform)
        except BaseException as exc:
            self._finish(error=exc)
            self.close()
            raise
        self._finish()

    def __iter__(self) -> Iterator[Any]:
        return self._items

    def __next__(self) -> Any:
        return next(self._items)

    def close(self) -> None:
        self._raw.close()
        self._finish()  # a stream closed early is still one call: it gets its audit record

    def __enter__(self) -> GuardedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncGuardedStream(_GuardedStreamBase):
    """Wraps the SDK's ``AsyncStream``."""

    def __init__(self, raw: Any, guard: Guard, call: Call, perform: Any) -> None:
        super().__init__(raw, guard, call, perform)
        self._items = self._guarded()

    async def _guarded(self) -> AsyncIterator[Any]:
        try:
            async for item in self._raw:
                for out in await adrive(self._processor.process(item), self._perform):
                    yield out
            for out in await adrive(self._processor.finish(), self._perform):
                yield out
        except BaseException as exc:
            self._finish(error=exc)
            await self.close()
            raise
        self._finish()

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._items

    async def __anext__(self) -> Any:
        return await self._items.__anext__()

    async def close(self) -> None:
        await self._raw.close()
        self._finish()

    async def __aenter__(self) -> AsyncGuardedStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
