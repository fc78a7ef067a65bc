"""The HTTP side of ``FakeOpenAI``: a threading ``http.server`` that reads requests, asks its dispatcher
what to answer, and writes JSON, SSE (one HTTP chunk per event) or a cut connection."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

from prodguard.guard.testing._answers import Answer, Drop, Plain, Stream, dumps


class Dispatcher(Protocol):
    """What the HTTP layer needs from the server object."""

    chunk_delay: float
    stopping: threading.Event

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes, arrived: float
    ) -> tuple[float, Answer]: ...


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads waiting on keep-alive connections so that they exit promptly."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or hang up mid-answer are part of the tests: no traceback for those.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the SDK's connection pool behaves as in production
    server_version = "FakeOpenAI/1.0"
    sys_version = ""
    disable_nagle_algorithm = True  # small SSE writes must leave at once

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the server's record, not a log

    def _serve(self) -> None:
        arrived = time.monotonic()
        dispatcher = cast(HTTPServer, self.server).dispatcher
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        delay, answer = dispatcher.handle(self.command, self.path, headers, self._read_body(), arrived)
        if delay and dispatcher.stopping.wait(delay):
            self._abort()
            return
        request_id = "req_" + hashlib.sha256(f"{arrived}{self.path}".encode()).hexdigest()[:24]
        try:
            if isinstance(answer, Drop):
                self._abort()
            elif isinstance(answer, Stream):
                self._send_stream(answer, request_id, dispatcher)
            else:
                self._send_plain(answer, request_id)
        except OSError:
            self.close_connection = True  # the client went away (its timeout fired, say)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _common_headers(self, request_id: str, answer_headers: Mapping[str, str] | None = None) -> None:
        self.send_header("x-request-id", request_id)
        self.send_header("openai-processing-ms", "1")
        self.send_header("openai-version", "2020-10-01")
        organization = self.headers.get("OpenAI-Organization")
        # An answer for a registered key names the key's own organization itself.
        answered = {name.lower() for name in (answer_headers or {})}
        if organization and "openai-organization" not in answered:
            self.send_header("openai-organization", organization)

    def _send_plain(self, answer: Plain, request_id: str) -> None:
        payload = dumps(answer.body).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self._common_headers(request_id, answer.headers)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_stream(self, answer: Stream, request_id: str, dispatcher: Dispatcher) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self._common_headers(request_id)
        self.end_headers()
        for index, (event, data) in enumerate(answer.events):
            if answer.drop_after is not None and index >= answer.drop_after:
                self._abort()
                return
            if index and dispatcher.chunk_delay and dispatcher.stopping.wait(dispatcher.chunk_delay):
                self._abort()
                return
            text = (f"event: {event}\n" if event else "") + f"data: {data}\n\n"
            payload = text.encode()
            # One HTTP chunk per SSE event, so that each event reaches the client when it is written.
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
        self.wfile.write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Cut the connection without finishing the answer (what a crashed upstream looks like)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
