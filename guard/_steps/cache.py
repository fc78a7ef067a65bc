"""An exact-match response cache for deterministic requests, stored in the state backend.

A request is cacheable when it is not streamed and is deterministic: an embedding, a generation with
``temperature = 0``, or any generation when the policy says ``mode = "always"`` or the caller opts in
with ``caching(True)`` (``caching(False)`` opts out). The key is a SHA-256 of the route and the body
*as sent*: after sanitizing, secret redaction and PII pseudonymization, with the end-user id and
``stream`` options left out, so the cache never holds a secret or a person's data that the request
carried, and two users asking the same redacted question share an entry.

The value is the answer in upstream form (secrets scrubbed, placeholders not restored: each call
restores them from its own vault). It is written when the call finished without error, so a response
that output moderation flagged, an API error or a content-filtered answer is never cached.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import logging
from collections.abc import Iterator

from prodguard.guard._call import CacheState, Call, Json
from prodguard.guard._io import Flow
from prodguard.guard._policy.limits import CacheSettings
from prodguard.guard._state.backend import StateBackend, StateUnavailable, open_backend
from prodguard.guard._steps.base import StepBase

log = logging.getLogger("prodguard.guard")

CACHING: contextvars.ContextVar[bool | None] = contextvars.ContextVar("prodguard_caching", default=None)
# Fields that change who asks or how the answer travels, not what it says.
_NOT_IN_KEY = frozenset({"stream", "stream_options", "user", "safety_identifier"})


@contextlib.contextmanager
def caching(enabled: bool = True) -> Iterator[None]:
    """Opt the calls in this scope into the response cache (or, with False, out of it)."""
    token = CACHING.set(enabled)
    try:
        yield
    finally:
        CACHING.reset(token)


class CacheStep(StepBase):
    name = "cache"

    def __init__(self, settings: CacheSettings, backend_url: str, prefix: str) -> None:
        self.settings = settings
        self._url = backend_url
        self._prefix = prefix
        self._backend: StateBackend | None = None
        self._warned = False

    def key_for(self, call: Call) -> str | None:
        body = call.body
        if call.stream or call.route.body != "json" or not isinstance(body, dict) or not call.model:
            return None
        wanted = CACHING.get()
        if wanted is False:
            return None
        deterministic = call.route.kind == "embeddings" or body.get("temperature") == 0
        if not (deterministic or wanted or self.settings.mode == "always"):
            return None
        normalized = {k: v for k, v in body.items() if k not in _NOT_IN_KEY}
        text = json.dumps([call.route.name, normalized], sort_keys=True, ensure_ascii=False)
        return f"{{{self._prefix}}}:c:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()

    def request(self, call: Call) -> Flow[None]:
        key = self.key_for(call)
        if key is not None:
            call.cache = CacheState(key)
            try:
                call.cache.hit = self._open().cache_get(key)
            except StateUnavailable as exc:
                self._warn(exc)
            if call.cache.hit is not None:
                call.decisions.append("cache-hit")
        return
        yield

    def finish(self, call: Call, error: BaseException | None) -> None:
        state = call.cache
        if error is not None or state is None or state.hit is not None or not _storable(call.answer):
            return
        data = json.dumps(call.answer, ensure_ascii=False, separators=(",", ":")).encode()
        if len(data) > self.settings.max_entry_bytes:
            return
        try:
            self._open().cache_put(state.key, data, self.settings.ttl_s)
        except StateUnavailable as exc:
            self._warn(exc)

    def _open(self) -> StateBackend:
        if self._backend is None:
            self._backend = open_backend(self._url)
        return self._backend

    def _warn(self, exc: StateUnavailable) -> None:
        if not self._warned:
            self._warned = True
            log.warning("prodguard: the response cache is unavailable (%s); calls go upstream", exc)


def _storable(answer: Json) -> bool:
    """Complete answers only: no content-filtered choice, no failed or incomplete Responses result."""
    if not isinstance(answer, dict):
        return False
    for choice in answer.get("choices") or []:
        if isinstance(choice, dict) and choice.get("finish_reason") == "content_filter":
            return False
    return answer.get("status") in (None, "completed")
