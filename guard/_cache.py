"""An exact-match response cache for deterministic requests, stored in the state backend.

A request is cacheable when it is not streamed and is deterministic: an embedding, a generation with
``temperature = 0``, or any generation when the policy says ``mode = "always"`` or the caller opts in
with ``caching(True)`` (``caching(False)`` opts out). The key is a SHA-256 of the endpoint and the
parameters *as sent*: after sanitizing, secret redaction and PII pseudonymization, with the
end-user id and transport options left out, so the cache never holds a secret or a person's data that
the request carried, and two users asking the same redacted question share an entry.

The value is the upstream response with secrets scrubbed, before PII placeholders are restored (each
call restores them from its own vault). It is written only after the response steps passed, so a
response that output moderation flagged, an API error, or a content-filtered answer is never cached.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prodguard.guard._budget import Ticket
from prodguard.guard._state.backend import StateBackend, StateUnavailable, open_backend
from prodguard.guard._text import CHAT, EMBEDDINGS, RESPONSES, map_response

if TYPE_CHECKING:
    from prodguard.guard._pipeline import Call
    from prodguard.guard._policy.policy import Policy

log = logging.getLogger("prodguard.guard")

CACHING: contextvars.ContextVar[bool | None] = contextvars.ContextVar("prodguard_caching", default=None)
# Parameters that change who asks or how the answer travels, not what it says.
_NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "safety_identifier", "extra_headers", "timeout"})


@contextlib.contextmanager
def caching(enabled: bool = True) -> Iterator[None]:
    """Opt the calls in this scope into the response cache (or, with False, out of it)."""
    token = CACHING.set(enabled)
    try:
        yield
    finally:
        CACHING.reset(token)


def _response_type(endpoint: str) -> Any:
    if endpoint == CHAT:
        from openai.types.chat import ChatCompletion

        return ChatCompletion
    if endpoint == RESPONSES:
        from openai.types.responses import Response

        return Response
    from openai.types import CreateEmbeddingResponse

    return CreateEmbeddingResponse


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_none=True)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


class ResponseCache:
    def __init__(self, policy: Policy, scrub: Callable[[str], str] | None) -> None:
        self.settings = policy.cache
        self._url = policy.backend
        self._prefix = policy.accounting.key_prefix
        self._scrub = scrub
        self._backend: StateBackend | None = None
        self._warned = False

    @classmethod
    def build(cls, policy: Policy, scrub: Callable[[str], str] | None) -> ResponseCache | None:
        return cls(policy, scrub) if policy.cache.enabled else None

    def key_for(self, call: Call, params: dict[str, Any]) -> str | None:
        if call.stream:
            return None
        wanted = CACHING.get()
        if wanted is False:
            return None
        deterministic = call.endpoint == EMBEDDINGS or params.get("temperature") == 0
        if not (deterministic or wanted or self.settings.mode == "always"):
            return None
        normalized = {k: v for k, v in params.items() if k not in _NOT_IN_KEY}
        text = json.dumps([call.endpoint, normalized], sort_keys=True, ensure_ascii=False, default=_jsonable)
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{{{self._prefix}}}:c:{digest}"

    def lookup(self, call: Call, params: dict[str, Any]) -> Any:
        """The cached response for this request, or None (and the key is remembered for ``store``)."""
        key = self.key_for(call, params)
        if key is None:
            return None
        ticket = call.ticket if isinstance(call.ticket, Ticket) else Ticket(rid="", model="")
        call.ticket = ticket
        ticket.cache_key = key
        try:
            raw = self._open().cache_get(key)
        except StateUnavailable as exc:
            self._warn(exc)
            return None
        if raw is None:
            return None
        try:
            response = _response_type(call.endpoint).model_validate_json(raw)
        except Exception:  # written by another version of the SDK: ignore it
            return None
        ticket.cache_hit = True
        call.decisions.append("cache-hit")
        return response

    def snapshot(self, call: Call, response: Any) -> None:
        """Keep the upstream response as received, before the response steps change it in place."""
        ticket = call.ticket
        if not isinstance(ticket, Ticket) or ticket.cache_key is None or ticket.cache_hit:
            return
        if not hasattr(response, "model_dump_json") or not _storable(response):
            return
        data = response.model_dump_json().encode()
        if len(data) <= self.settings.max_entry_bytes:
            ticket.cache_snapshot = data

    def store(self, call: Call) -> None:
        """The response passed every response step: remember it (secrets scrubbed)."""
        ticket = call.ticket
        if not isinstance(ticket, Ticket) or ticket.cache_snapshot is None or ticket.cache_key is None:
            return
        data, ticket.cache_snapshot = ticket.cache_snapshot, None
        if self._scrub is not None:
            response = _response_type(call.endpoint).model_validate_json(data)
            map_response(response, self._scrub)
            data = response.model_dump_json().encode()
        try:
            self._open().cache_put(ticket.cache_key, data, self.settings.ttl_s)
        except StateUnavailable as exc:
            self._warn(exc)

    def _open(self) -> StateBackend:
        if self._backend is None:
            try:
                self._backend = open_backend(self._url)
            except Exception as exc:
                raise StateUnavailable(f"state backend cannot be opened ({type(exc).__name__}: {exc})") from None
        return self._backend

    def _warn(self, exc: StateUnavailable) -> None:
        if not self._warned:
            self._warned = True
            log.warning("prodguard: the response cache is unavailable (%s); calls go upstream", exc)


def _storable(response: Any) -> bool:
    """Complete answers only: no content-filtered choice, no failed or incomplete Responses result."""
    for choice in getattr(response, "choices", None) or []:
        if getattr(choice, "finish_reason", None) == "content_filter":
            return False
    status = getattr(response, "status", None)
    return status in (None, "completed")
