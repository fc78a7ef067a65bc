"""The response cache through the real SDK against the local server, in SQLite and real Redis: what is
cached (deterministic or opted-in, non-streamed, passed every response step), what is never cached
(flagged, errored, streamed), its TTL, and that neither its keys nor its values hold a redacted secret.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import openai
import pytest

from prodguard.guard import ModerationFlagged, caching
from prodguard.guard._state.backend import close_backends, open_backend
from prodguard.guard.testing import FakeOpenAI
from tests.fakes import openai_project_key
from tests.limits_support import QUIET, chat, guarded, run_workers
from tests.redis_server import running_redis

CACHE = {"cache": {"enabled": True}}


pytestmark = pytest.mark.usefixtures("fresh_backends")


def sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


def test_deterministic_request_is_answered_from_the_cache(server: FakeOpenAI, tmp_path: Path) -> None:
    budgets = [{"scope": "global", "period": "day", "max_requests": 10}]
    client = guarded(server.base_url, {"backend": sqlite(tmp_path), "budgets": budgets, **CACHE})
    first = chat(client, "what is two plus two", temperature=0)
    second = chat(client, "what is two plus two", temperature=0)
    assert server.count("/chat/completions") == 1
    assert second.choices[0].message.content == first.choices[0].message.content and second.id == first.id
    spent = open_backend(sqlite(tmp_path)).counters("{prodguard}")[0].spent
    assert spent[0] == 1  # the hit cost nothing


def test_only_deterministic_or_opted_in_requests_are_cached(server: FakeOpenAI, tmp_path: Path) -> None:
    client = guarded(server.base_url, {"backend": sqlite(tmp_path), **CACHE})
    chat(client, "creative")
    chat(client, "creative")
    assert server.count("/chat/completions") == 2
    with caching(True):
        chat(client, "creative")
        chat(client, "creative")
    assert server.count("/chat/completions") == 3
    with caching(False):
        chat(client, "exact", temperature=0)
        chat(client, "exact", temperature=0)
    assert server.count("/chat/completions") == 5
    always = guarded(server.base_url, {"backend": "memory://always", "cache": {"enabled": True, "mode": "always"}})
    chat(always, "anything")
    chat(always, "anything")
    assert server.count("/chat/completions") == 6


def test_embeddings_are_deterministic_and_cached(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backend": "memory://embed", **CACHE})
    vectors = [client.embeddings.create(model="text-embedding-3-small", input=["a", "b"]) for _ in range(2)]
    assert vectors[0].data[1].embedding == vectors[1].data[1].embedding
    assert server.count("/embeddings") == 1


def test_flagged_errored_and_streamed_answers_are_not_cached(server: FakeOpenAI) -> None:
    moderated = {**QUIET, "moderation": {"enabled": True, "check_output": True}}
    client = guarded(server.base_url, {**moderated, "backend": "memory://never", **CACHE})
    server.queue_reply(text="this answer says FLAGME")
    with pytest.raises(ModerationFlagged):
        chat(client, "question", temperature=0)
    chat(client, "question", temperature=0)  # the flagged answer was not kept: upstream again
    assert server.count("/chat/completions") == 2
    server.fail(500, path="/chat/completions")
    with pytest.raises(openai.InternalServerError):
        chat(client, "other", temperature=0)
    chat(client, "other", temperature=0)
    chat(client, "other", temperature=0)
    assert server.count("/chat/completions") == 4
    for _ in range(2):
        list(chat(client, "streamed", temperature=0, stream=True))
    assert server.count("/chat/completions") == 6


def test_entries_expire(server: FakeOpenAI, tmp_path: Path) -> None:
    client = guarded(server.base_url, {"backend": sqlite(tmp_path), "cache": {"enabled": True, "ttl_s": 1.0}})
    chat(client, "short lived", temperature=0)
    chat(client, "short lived", temperature=0)
    time.sleep(1.05)
    chat(client, "short lived", temperature=0)
    assert server.count("/chat/completions") == 2


def test_cache_keys_and_values_never_hold_a_redacted_secret(server: FakeOpenAI, tmp_path: Path) -> None:
    first, second = openai_project_key(701), openai_project_key(702)
    mapping: dict[str, Any] = {**QUIET, "secrets": {"enabled": True}, "backend": sqlite(tmp_path), **CACHE}
    client = guarded(server.base_url, mapping)
    answer = chat(client, f"rotate {first} today", temperature=0)
    # Same question with another key: after redaction the requests are identical, so it is a hit.
    chat(client, f"rotate {second} today", temperature=0)
    assert server.count("/chat/completions") == 1
    assert "[REDACTED:" in (answer.choices[0].message.content or "")
    close_backends()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert first.encode() not in stored and second.encode() not in stored


def cache_worker(base_url: str, url: str, start: Any, results: Any) -> None:
    client = guarded(base_url, {"backend": url, **CACHE})
    start.wait(30)
    results.put(chat(client, "shared across hosts", temperature=0).choices[0].message.content)


def test_redis_cache_is_shared_between_hosts(server: FakeOpenAI) -> None:
    with running_redis() as redis:
        first = run_workers(cache_worker, [(server.base_url, redis.url)])
        second = run_workers(cache_worker, [(server.base_url, redis.url)])
    assert first == second == ["shared across hosts"]
    assert server.count("/chat/completions") == 1
