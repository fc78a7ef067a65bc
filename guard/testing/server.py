"""``FakeOpenAI``: a local OpenAI-compatible HTTP server for tests, examples and benchmarks.

The guard's promises are about bytes on the wire ("the secret never left the process"), so its tests
drive the real ``openai`` SDK over real HTTP against this server and then inspect what it recorded.
Standard library only: it starts in milliseconds and needs no network and no extra dependency.

What it serves (under ``/v1``; Azure-style ``/openai/deployments/<name>/...`` paths reach the same routes):

- ``POST /chat/completions``: JSON, or SSE chunks ending in ``data: [DONE]`` when ``stream`` is true.
  Answers echo the last user message (or, after a tool result, the tool's output); with ``tools`` it
  answers with a tool call whose arguments echo the user message. Usage is reported, in a final chunk
  for streams with ``stream_options.include_usage``.
- ``POST /responses``: a ``response`` object, or the SDK's event stream (``response.created`` …
  ``response.completed``); ``function_call`` output items when ``tools`` are given.
- ``POST /embeddings``: deterministic unit vectors (``float`` or ``base64`` encoding).
- ``POST /moderations``: flags inputs containing a trigger word (``FLAGME`` by default); tests control
  the per-category scores.
- ``GET /models`` and ``GET /models/<id>``; ``GET /organization/projects`` (admin keys).
- API keys, once any is registered (``register_key``): an unknown or revoked key gets 401
  ``invalid_api_key``, an ``OpenAI-Organization`` header naming another organization gets 401
  ``mismatched_organization``, and answers carry the key's ``openai-organization`` and
  ``openai-project`` headers. Without registered keys any key is accepted.

Tests program it: faults for the next N requests (status codes with ``retry-after``, delays, dropped
connections, an endpoint down for good), scripted replies (exact chunks, so that a placeholder can
straddle two SSE events), and a thread-safe record of every request it received.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from prodguard.guard.testing import _answers, _generation
from prodguard.guard.testing._answers import (
    CHAT,
    MODELS,
    MODERATION_CATEGORIES,
    MODERATION_FLAG_THRESHOLD,
    MODERATIONS,
    RESPONSES,
    Answer,
    BadRequest,
    Drop,
    Echo,
    Plain,
    Script,
    Stream,
    ToolCallReply,
)
from prodguard.guard.testing._http import HTTPServer
from prodguard.guard.testing._records import (
    Fault,
    Key,
    KeyRegistry,
    ModerationScores,
    RecordedRequest,
    route_of,
    route_or_none,
    strings_of,
)

__all__ = [
    "DEFAULT_MODELS",
    "MODERATION_CATEGORIES",
    "MODERATION_FLAG_THRESHOLD",
    "FakeOpenAI",
    "RecordedRequest",
    "ToolCallReply",
    "route_of",
]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4.1-mini", "text-embedding-3-small", "omni-moderation-latest")

class FakeOpenAI:
    """A local OpenAI-compatible server on 127.0.0.1 (a free port by default), served by a background
    thread. Use it as a context manager or call ``start()`` and ``close()``; every method is thread-safe.

    ``reply`` maps the echoed text to the answer (identity by default). ``chunk_chars`` streams text in
    pieces of that many characters (default: word by word, each piece with its leading space).
    ``chunk_delay`` waits that many seconds between SSE events. ``flag_word`` and ``flag_scores`` set the
    moderation trigger (see ``set_moderation_scores``). ``embedding_dimensions`` applies when a request
    gives no ``dimensions``. These keyword arguments are also plain attributes, changeable at any time.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        reply: Callable[[str], str] | None = None,
        chunk_chars: int | None = None,
        chunk_delay: float = 0.0,
        flag_word: str = "FLAGME",
        flag_scores: Mapping[str, float] | None = None,
        embedding_dimensions: int = 8,
        models: Sequence[str] = DEFAULT_MODELS,
    ) -> None:
        if chunk_chars is not None and chunk_chars < 1:
            raise ValueError("chunk_chars must be positive")
        self.reply = reply
        self.chunk_chars = chunk_chars
        self.chunk_delay = chunk_delay
        self.embedding_dimensions = embedding_dimensions
        self.models = tuple(models)
        self.stopping = threading.Event()  # set while closing: cuts delays and streams short
        self._address = (host, port)
        self._lock = threading.Lock()
        self._records: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._scripts: dict[str, deque[Script]] = {}
        self._scores = ModerationScores()
        self._serial = 0
        self._keys = KeyRegistry()
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.set_moderation_scores(flag_scores or {"violence": 0.97}, word=flag_word)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind and serve from a daemon thread; returns self."""
        if self._httpd is None:
            self.stopping.clear()
            self._httpd = HTTPServer(self._address, self)
            self._thread = threading.Thread(
                target=self._httpd.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="FakeOpenAI",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, cut open connections (and any delay in progress) and release the port."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FakeOpenAI is not running: call start() or use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the root: e.g. ``AzureOpenAI(azure_endpoint=server.url, ...)``."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``: ``OpenAI(base_url=server.base_url, ...)``."""
        return self.url + "/v1"

    # -- what it received ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of every request received so far, oldest first."""
        with self._lock:
            return list(self._records)

    def requests_to(self, path: str | None = None) -> list[RecordedRequest]:
        """The requests to one endpoint (any spelling ``route_of`` accepts), or all when ``path`` is None."""
        route = None if path is None else route_of(path)
        return [r for r in self.requests if route is None or r.route == route]

    def count(self, path: str | None = None) -> int:
        """How many requests reached the endpoint (any endpoint when ``path`` is None)."""
        return len(self.requests_to(path))

    def bodies(self, path: str | None = None) -> list[Any]:
        """The parsed JSON bodies of the requests to an endpoint, oldest first."""
        return [r.body for r in self.requests_to(path)]

    def last(self, path: str | None = None) -> RecordedRequest:
        """The latest request to an endpoint; LookupError when there was none."""
        found = self.requests_to(path)
        if not found:
            raise LookupError(f"FakeOpenAI received no request for {path or 'any endpoint'}")
        return found[-1]

    def all_text(self, *, headers: bool = False) -> str:
        """Every string that reached the server, one per line: paths, query values, every key and string
        value of the JSON bodies (the raw text of bodies that are not JSON) and, with ``headers=True``,
        header values (``authorization`` carries the client's own API key). For assertions such as
        ``assert secret not in server.all_text()``."""
        parts: list[str] = []
        for record in self.requests:
            parts.append(record.path)
            parts.extend(record.query.values())
            if record.body is not None:
                parts.extend(strings_of(record.body))
            else:
                parts.append(record.raw_body.decode("utf-8", "replace"))
            if headers:
                parts.extend(record.headers.values())
        return "\n".join(parts)

    def reset(self) -> None:
        """Forget recorded requests, pending faults and queued replies (settings stay)."""
        with self._lock:
            self._records.clear()
            self._faults.clear()
            self._scripts.clear()

    # -- faults -------------------------------------------------------------------------------------

    def register_key(
        self,
        key: str,
        *,
        organization: str,
        projects: Sequence[str] = (),
        organization_header: str | None = None,
    ) -> None:
        """Accept ``key`` as a key of ``organization`` (and ``projects``). From the first registration
        on, every request must carry a registered, unrevoked key. ``organization_header`` is what the
        ``openai-organization`` response header says (default: the organization id; the real API may
        send the organization's name)."""
        self._keys.register(key, organization, projects, organization_header)

    def revoke_key(self, key: str) -> None:
        """Answer 401 ``invalid_api_key`` to ``key`` from now on (registering it first if needed)."""
        self._keys.revoke(key)

    def fail(
        self,
        status: int = 500,
        *,
        times: int | None = 1,
        path: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        """The next ``times`` requests (to ``path``, or to any endpoint) get ``status`` with an API error
        body (or ``body``); ``times=None`` fails until ``clear_faults()``. ``retry_after`` (seconds or an
        HTTP date) and ``retry_after_ms`` set the headers the SDK's retry loop honours."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = str(retry_after)
        if retry_after_ms is not None:
            extra["retry-after-ms"] = str(retry_after_ms)
        self._add_fault(Fault(route_or_none(path), times, status=status, headers=extra, body=body))

    def rate_limit(
        self,
        *,
        times: int | None = 1,
        path: str | None = None,
        retry_after: float | str | None = None,
        retry_after_ms: float | None = None,
    ) -> None:
        """``fail(429, ...)``."""
        self.fail(429, times=times, path=path, retry_after=retry_after, retry_after_ms=retry_after_ms)

    def slow(self, seconds: float, *, times: int | None = 1, path: str | None = None) -> None:
        """The next ``times`` requests wait ``seconds`` before the server answers them as usual."""
        self._add_fault(Fault(route_or_none(path), times, delay=seconds))

    def drop_connection(
        self, *, times: int | None = 1, path: str | None = None, after_events: int | None = None
    ) -> None:
        """The next ``times`` requests lose their connection: before any byte of the answer or, with
        ``after_events``, after that many SSE events of a streamed answer (plain ones: before any byte)."""
        self._add_fault(Fault(route_or_none(path), times, drop=True, drop_after_events=after_events))

    def moderation_down(self, status: int = 503) -> None:
        """The moderation endpoint answers ``status`` until ``clear_faults()``."""
        self.fail(status, times=None, path=MODERATIONS)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- scripted replies ---------------------------------------------------------------------------

    def queue_reply(
        self,
        path: str = CHAT,
        *,
        text: str | Sequence[str] | None = None,
        tool_calls: Sequence[ToolCallReply] = (),
        body: Any = None,
        events: Sequence[Any] | None = None,
        status: int = 200,
    ) -> None:
        """Queue one exact answer for a later request to ``path`` (first in, first out; one per request;
        requests failed by a fault do not use one up).

        - ``text``: the answer (``reply`` is not applied). A string is streamed split like generated text;
          a sequence of strings is streamed as exactly those deltas (chat ``delta.content``, Responses
          ``response.output_text.delta``) and joined for a plain request.
        - ``tool_calls``: function calls to answer with (chat and Responses).
        - ``body``: the exact JSON answer to a plain request (or an error's, with ``status`` != 200).
        - ``events``: the exact SSE ``data`` payloads for a streaming request: JSON values, or strings sent
          verbatim (``"[DONE]"``); for Responses the ``event:`` line is the payload's ``type``.
        """
        route = route_of(path)
        if (text is not None or tool_calls) and route not in (CHAT, RESPONSES):
            raise ValueError(f"text and tool_calls replies only apply to {CHAT} and {RESPONSES}")
        script = Script(
            text=text if isinstance(text, str) else None,
            chunks=None if text is None or isinstance(text, str) else tuple(text),
            tool_calls=tuple(tool_calls),
            body=body,
            events=None if events is None else tuple(events),
            status=status,
        )
        with self._lock:
            self._scripts.setdefault(route, deque()).append(script)

    # -- moderation scores ----------------------------------------------------------------------------

    def set_moderation_scores(self, scores: Mapping[str, float], *, word: str | None = None) -> None:
        """Category scores the moderation endpoint reports: for every input (``word=None``), or for inputs
        containing ``word`` (case-sensitive; the highest score wins). Categories take wire names
        (``self-harm/intent``) or the SDK's attribute names (``self_harm_intent``); a score of at least
        ``MODERATION_FLAG_THRESHOLD`` flags its category and the result. Others score 1e-6."""
        self._scores.set(scores, word)

    def clear_moderation_scores(self) -> None:
        """No baseline scores and no trigger words: every input passes."""
        self._scores.clear()

    # -- answering (called from the server's threads) -----------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes, arrived: float
    ) -> tuple[float, Answer]:
        """Decide the answer to one request and record the request; returns (delay in seconds, answer)."""
        split = urlsplit(target)
        route = route_of(split.path)
        try:
            body: Any = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
        answer: Answer
        delay = 0.0
        fault = self._take_fault(route)
        if fault is not None and fault.delay:
            delay, fault = fault.delay, None  # a slow answer is otherwise a normal one
        if fault is None:
            refused, key = self._keys.authenticate(headers)
            answer = refused if refused is not None else self._route(method, route, body, key)
            if key is not None and isinstance(answer, Plain):
                extra = {"openai-organization": key.header}
                if key.projects:
                    extra["openai-project"] = key.projects[0]
                answer = Plain(answer.status, answer.body, {**answer.headers, **extra})
        elif fault.drop and fault.drop_after_events is not None:
            routed = self._route(method, route, body)
            answer = Stream(routed.events, fault.drop_after_events) if isinstance(routed, Stream) else Drop()
        elif fault.drop:
            answer = Drop()
        else:
            error = fault.body if fault.body is not None else _answers.fault_body(fault.status)
            answer = Plain(fault.status, error, fault.headers)
        record = RecordedRequest(
            method=method,
            path=split.path,
            route=route,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers=dict(headers),
            body=body,
            raw_body=raw,
            time=arrived,
            status=answer.status if isinstance(answer, Plain) else 200 if isinstance(answer, Stream) else 0,
        )
        with self._lock:
            self._records.append(record)
        return delay, answer

    def _route(self, method: str, route: str, body: Any, key: Key | None = None) -> Answer:
        if method == "GET" and route == "/organization/projects":
            projects = key.projects if key is not None else ()
            return Plain(200, {"object": "list", "data": [{"object": "organization.project", "id": p} for p in projects]})
        if method == "GET" and route == MODELS:
            return Plain(200, {"object": "list", "data": [_answers.model(m) for m in self.models]})
        if method == "GET" and route.startswith(MODELS + "/"):
            name = route[len(MODELS) + 1 :]
            if name in self.models:
                return Plain(200, _answers.model(name))
            return _answers.error(
                404, f"The model '{name}' does not exist", "invalid_request_error", "model_not_found"
            )
        if method != "POST" or route not in _ENDPOINTS:
            return _answers.error(
                404, f"Unknown request URL: {method} {route}", "invalid_request_error", "unknown_url"
            )
        if not isinstance(body, dict):
            return _answers.error(
                400, "We could not parse the JSON body of your request.", "invalid_request_error", None
            )
        script = self._take_script(route)
        stream = body.get("stream") is True
        if script is not None and stream and script.events is not None:
            return Stream([_answers.raw_event(e, typed=route == RESPONSES) for e in script.events])
        if script is not None and script.status != 200:
            error = script.body if script.body is not None else _answers.fault_body(script.status)
            return Plain(script.status, error)
        if script is not None and not stream and script.body is not None:
            return Plain(200, script.body)
        try:
            return _ENDPOINTS[route](self, body, script)
        except BadRequest as exc:
            return _answers.error(400, str(exc), "invalid_request_error", None, exc.param)

    def _echo(self) -> Echo:
        chunk_chars = self.chunk_chars
        reply = self.reply
        return Echo(
            transform=reply if reply is not None else str,
            chunk=lambda text: _answers.chunk_text(text, chunk_chars),
            new_id=self._next_id,
        )

    def _add_fault(self, fault: Fault) -> None:
        if fault.remaining is not None and fault.remaining < 1:
            raise ValueError("times must be at least 1, or None for every request")
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, route: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.route is None or fault.route == route:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _take_script(self, route: str) -> Script | None:
        with self._lock:
            queue = self._scripts.get(route)
            return queue.popleft() if queue else None

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._serial += 1
            return f"{prefix}{self._serial:08d}"


_ENDPOINTS: dict[str, Callable[[FakeOpenAI, dict[str, Any], Script | None], Answer]] = {
    CHAT: lambda fake, body, script: _generation.chat(body, script, fake._echo()),
    RESPONSES: lambda fake, body, script: _generation.responses(body, script, fake._echo()),
    _answers.EMBEDDINGS: lambda fake, body, script: _answers.embeddings(body, fake.embedding_dimensions),
    MODERATIONS: lambda fake, body, script: _answers.moderations(
        body, *fake._scores.snapshot(), fake._echo()
    ),
}
