"""What ``FakeOpenAI`` keeps: the requests it received, the keys it accepts, the faults programmed for
the next requests and the moderation scores it reports; and how a path names an endpoint.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from prodguard.guard.testing import _answers
from prodguard.guard.testing._answers import Plain

# Azure puts the deployment in the path; a base URL may or may not carry /v1.
_ROUTE_PREFIX = re.compile(r"^(?:/openai)?(?:/deployments/[^/]+)?(?:/v1)?(?=/|$)")


def route_of(path: str) -> str:
    """The endpoint a path addresses: ``/v1/chat/completions``, ``chat/completions`` and
    ``/openai/deployments/gpt/chat/completions?api-version=1`` all give ``/chat/completions``."""
    bare = "/" + urlsplit(path).path.strip("/")
    return _ROUTE_PREFIX.sub("", bare) or "/"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # as sent, without the query string
    route: str  # the endpoint, e.g. "/chat/completions" (see ``route_of``)
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased; repeated headers joined with ", "
    body: Any  # parsed JSON, or None when the body was empty or not JSON
    raw_body: bytes
    time: float  # time.monotonic() on arrival: subtract two records to measure a retry's wait
    status: int  # the status the server answered with; 0 when it dropped the connection instead

    @property
    def stream(self) -> bool:
        """Whether the request asked for a streamed (SSE) answer."""
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def attempt(self) -> int:
        """The SDK's retry counter for this request (``x-stainless-retry-count``; 0 on the first try)."""
        try:
            return int(self.headers.get("x-stainless-retry-count", "0"))
        except ValueError:
            return 0


@dataclass(frozen=True)
class Key:
    """An API key the server accepts (``register_key``)."""

    organization: str
    projects: tuple[str, ...]
    header: str  # what the openai-organization response header says (the id, or the org's name)
    revoked: bool = False


@dataclass
class Fault:
    """A fault programmed for the next requests (``fail``, ``slow``, ``drop_connection``)."""

    route: str | None  # None: any endpoint
    remaining: int | None  # None: until cleared
    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    drop_after_events: int | None = None


def strings_of(value: Any) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_of(item)


def route_or_none(path: str | None) -> str | None:
    return None if path is None else route_of(path)


class KeyRegistry:
    """The API keys the server accepts; none registered: any key is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Key] = {}

    def register(self, key: str, organization: str, projects: Sequence[str], header: str | None) -> None:
        with self._lock:
            self._keys[key] = Key(organization, tuple(projects), header or organization)

    def revoke(self, key: str) -> None:
        with self._lock:
            known = self._keys.get(key) or Key("", (), "")
            self._keys[key] = Key(known.organization, known.projects, known.header, revoked=True)

    def authenticate(self, headers: Mapping[str, str]) -> tuple[Plain | None, Key | None]:
        """(a refusal, or None) and the registered key of the request; (None, None) while no key is
        registered (any key is accepted)."""
        with self._lock:
            if not self._keys:
                return None, None
            scheme, _, token = headers.get("authorization", "").partition(" ")
            key = self._keys.get(token.strip()) if scheme.lower() == "bearer" else None
        if key is None or key.revoked:
            return _answers.error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key"), None
        requested = headers.get("openai-organization")
        if requested and requested != key.organization:
            return (
                _answers.error(
                    401,
                    "OpenAI-Organization header should match organization for API key",
                    "invalid_request_error",
                    "mismatched_organization",
                ),
                None,
            )
        return None, key


class ModerationScores:
    """The category scores the moderation endpoint reports: a baseline for every input, and scores for
    inputs holding a trigger word."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._baseline: dict[str, float] = {}
        self._triggers: dict[str, dict[str, float]] = {}

    def set(self, scores: Mapping[str, float], word: str | None) -> None:
        normalized = {_answers.moderation_category(name): float(score) for name, score in scores.items()}
        with self._lock:
            if word is None:
                self._baseline = normalized
            else:
                self._triggers[word] = normalized

    def clear(self) -> None:
        with self._lock:
            self._baseline = {}
            self._triggers = {}

    def snapshot(self) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        with self._lock:
            return dict(self._baseline), {w: dict(s) for w, s in self._triggers.items()}
