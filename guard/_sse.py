"""Server-sent events, re-framed: the guard reads the upstream event stream, passes each JSON event
through the answer steps (``_answer.AnswerPipe.event``) and writes the events the caller gets.

Sans-I/O: ``feed`` takes bytes as they arrive and returns the bytes to release; the drivers move them.
"""

from __future__ import annotations

import json
from typing import Any

from prodguard.guard._answer import AnswerPipe
from prodguard.guard._io import Flow


def _frame(prefix: list[bytes], obj: Any) -> bytes:
    if not prefix and isinstance(obj.get("type"), str):
        prefix = [b"event: " + obj["type"].encode()]  # synthetic Responses events name themselves too
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"".join(line + b"\n" for line in prefix) + b"data: " + data + b"\n\n"


class SseRewriter:
    def __init__(self, pipe: AnswerPipe) -> None:
        self.pipe = pipe
        self._buffer = b""
        self._ended = False

    def feed(self, data: bytes) -> Flow[bytes]:
        self._buffer += data.replace(b"\r\n", b"\n")
        out = []
        while True:
            end = self._buffer.find(b"\n\n")
            if end < 0:
                break
            block, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            out.append((yield from self._block(block)))
        return b"".join(out)

    def end(self) -> Flow[bytes]:
        """The upstream stream ended: the last block, and whatever the steps still hold."""
        out = b""
        if self._buffer.strip():
            block, self._buffer = self._buffer, b""
            out = yield from self._block(block.rstrip(b"\n"))
        if not self._ended:
            self._ended = True
            tail = yield from self.pipe.end()
            out += b"".join(_frame([], obj) for obj in tail)
        return out

    def _block(self, block: bytes) -> Flow[bytes]:
        prefix = [line for line in block.split(b"\n") if not line.startswith(b"data:")]
        data = b"\n".join(line[5:].lstrip(b" ") for line in block.split(b"\n") if line.startswith(b"data:"))
        if not data:
            return block + b"\n\n"
        if data.strip() == b"[DONE]":
            self._ended = True
            tail = yield from self.pipe.end()
            return b"".join(_frame([], obj) for obj in tail) + block + b"\n\n"
        try:
            obj = json.loads(data)
        except ValueError:
            return block + b"\n\n"
        if not isinstance(obj, dict):
            return block + b"\n\n"
        events = yield from self.pipe.event(obj)
        return b"".join(_frame(prefix, event) for event in events)
