"""Backoff through the real SDK against the local server returning 429/5xx with ``retry-after``: the
guard's retries replace the SDK's (never multiply them), honour the server's delays, stop within the
total time bound, and retry streams only before their first byte.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import httpx2
import openai
import pytest

from prodguard.guard import BudgetExceeded, RateLimited, install, protect, uninstall
from prodguard.guard._backoff import RetryPlan, classify, parse_retry_after
from prodguard.guard._policy.limits import BackoffSettings
from prodguard.guard.testing import FakeOpenAI
from tests.limits_support import chat, guarded, policy, raw_client

FAST = {"initial_delay_s": 0.01, "max_delay_s": 0.05}


def gaps(server: FakeOpenAI) -> list[float]:
    times = [r.time for r in server.requests_to("/chat/completions")]
    return [b - a for a, b in itertools.pairwise(times)]


def test_429_with_retry_after_is_retried_after_that_delay(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {}, max_retries=2)
    server.rate_limit(times=2, retry_after=0.3)
    answer = chat(client, "hello")
    assert answer.choices[0].message.content == "hello"
    records = server.requests_to("/chat/completions")
    assert [r.status for r in records] == [429, 429, 200]
    assert [r.attempt for r in records] == [0, 1, 2]  # x-stainless-retry-count, as the SDK numbers attempts
    assert all(0.3 <= gap < 0.6 for gap in gaps(server))


def test_retry_after_ms_wins_over_retry_after(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {}, max_retries=1)
    server.rate_limit(times=1, retry_after=5, retry_after_ms=150)
    chat(client)
    assert 0.15 <= gaps(server)[0] < 0.5


def test_the_sdk_retries_are_taken_over_not_multiplied(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": FAST}, max_retries=2)
    server.fail(500, times=None)
    with pytest.raises(openai.InternalServerError):
        chat(client)
    assert server.count("/chat/completions") == 3  # the client's 1 + 2, not (1 + 2) x (1 + 2)


def test_policy_max_retries_overrides_the_client(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": {**FAST, "max_retries": 4}}, max_retries=0)
    server.fail(503, times=4)
    chat(client)
    assert server.count("/chat/completions") == 5


def test_total_time_is_bounded(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": {"max_elapsed_s": 2}}, max_retries=5)
    server.rate_limit(times=1, retry_after=30)
    with pytest.raises(openai.RateLimitError):
        chat(client)  # waiting 30 s would break the 2 s bound: it gives up at once
    assert server.count("/chat/completions") == 1


def test_connection_errors_are_retried(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": FAST}, max_retries=1)
    server.drop_connection(times=1)
    chat(client)
    assert server.count("/chat/completions") == 2


def test_server_can_forbid_a_retry(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": FAST}, max_retries=3)
    server.fail(503, headers={"x-should-retry": "false"})
    with pytest.raises(openai.InternalServerError):
        chat(client)
    assert server.count("/chat/completions") == 1


def test_streams_are_retried_only_before_their_first_byte(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": FAST}, max_retries=2)
    server.rate_limit(times=1, retry_after=0.05)
    text = "".join(c.choices[0].delta.content or "" for c in chat(client, "one two three", stream=True) if c.choices)
    assert text == "one two three" and server.count("/chat/completions") == 2
    server.reset()
    server.drop_connection(after_events=2)
    with pytest.raises(openai.APIConnectionError):
        list(chat(client, "one two three", stream=True))
    assert server.count("/chat/completions") == 1


def test_disabled_backoff_leaves_the_sdk_retrying(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backoff": {"enabled": False}}, max_retries=1)
    server.rate_limit(times=1, retry_after=0.05)
    chat(client)
    assert [r.attempt for r in server.requests_to("/chat/completions")] == [0, 1]


def test_async_client_backs_off_too(server: FakeOpenAI) -> None:
    client = protect(openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test-local", max_retries=2), policy())
    server.rate_limit(times=2, retry_after_ms=100)

    async def main() -> str:
        answer = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hey"}])
        return answer.choices[0].message.content or ""

    assert asyncio.run(main()) == "hey" and server.count("/chat/completions") == 3


def _status_error(status: int, headers: dict[str, str]) -> openai.APIStatusError:
    request = httpx2.Request("POST", "https://api.openai.test/v1/chat/completions")
    response = httpx2.Response(status, headers=headers, request=request)
    return openai.APIStatusError("failed", response=response, body=None)


def test_full_jitter_stays_within_the_exponential_cap() -> None:
    settings = BackoffSettings(initial_delay_s=0.5, max_delay_s=4.0, max_elapsed_s=1000)
    for seed in range(50):
        plan = RetryPlan(settings, retries=6, rng=random.Random(seed))
        delays = [plan.next_delay(_status_error(500, {})) for _ in range(6)]
        caps = [min(4.0, 0.5 * 2**n) for n in range(6)]
        assert all(d is not None and 0 <= d <= cap for d, cap in zip(delays, caps, strict=True))
        assert plan.next_delay(_status_error(500, {})) is None  # retries used up


def test_what_is_retried() -> None:
    assert classify(_status_error(429, {"retry-after": "2"})) == (True, 2.0)
    assert classify(_status_error(400, {})) == (False, None)
    assert classify(_status_error(409, {})) == (True, None)
    assert classify(_status_error(400, {"x-should-retry": "true"})) == (True, None)
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a date in the past
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_each_retry_takes_its_own_rate_window_room(server: FakeOpenAI) -> None:
    limits = [{"scope": "global", "rpm": 2, "on_exhausted": "raise"}]
    client = guarded(server.base_url, {"backend": "memory://retry-room", "limits": limits, "backoff": FAST}, max_retries=3)
    server.rate_limit(times=3, retry_after=0.01)
    with pytest.raises(RateLimited):
        chat(client)  # first attempt and one retry fill the window; the second retry has no room
    assert server.count("/chat/completions") == 2


def test_installed_guard_takes_the_retries_over_too(server: FakeOpenAI) -> None:
    budgets = [{"scope": "global", "period": "day", "max_requests": 5}]
    install(policy(backend="memory://installed", budgets=budgets, backoff=FAST))
    try:
        client = raw_client(server.base_url, max_retries=2)  # built after install, like a library would
        server.fail(502, times=None)
        with pytest.raises(openai.InternalServerError):
            chat(client)
        assert server.count("/chat/completions") == 3
        server.clear_faults()
        for _ in range(5):
            chat(client)
        with pytest.raises(BudgetExceeded):
            chat(client)
    finally:
        uninstall()
