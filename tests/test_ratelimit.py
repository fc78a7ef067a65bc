"""Client-side rate limits through the real SDK against the local server: a burst never puts more than
the limit into a window (threads, processes, SQLite and Redis), waiting is bounded, tokens count, and
the async client waits without blocking its event loop. Short windows (``window_s``) keep tests fast;
the arithmetic is the same as for a minute.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import openai
import pytest

from prodguard.guard import RateLimited, protect
from prodguard.guard.testing import FakeOpenAI
from tests.limits_support import (
    budget_worker,
    chat,
    guarded,
    policy,
    run_workers,
)
from tests.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("fresh_backends")


def burst(client: object, count: int) -> list[BaseException | None]:
    """``count`` calls from as many threads, released together."""
    gate = threading.Barrier(count)
    outcomes: list[BaseException | None] = [None] * count

    def one(i: int) -> None:
        gate.wait()
        try:
            chat(client, f"burst {i}")
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max(sum(1 for t in ordered if start <= t < start + window) for start in ordered)


def test_rpm_limit_holds_under_a_burst(server: FakeOpenAI) -> None:
    # 150 per minute over 2 s windows: 5 per window.
    limits = [{"scope": "global", "rpm": 150, "window_s": 2, "on_exhausted": "raise"}]
    client = guarded(server.base_url, {"backend": "memory://burst", "limits": limits})
    outcomes = burst(client, 20)
    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert server.count("/chat/completions") == 5 and len(refused) == 15
    assert all(r.metric == "rpm" and r.retry_after is not None and 0 < r.retry_after <= 2 for r in refused)


def test_waiting_spreads_a_burst_over_windows(server: FakeOpenAI) -> None:
    limits = [{"scope": "global", "rpm": 240, "window_s": 0.5, "max_wait_s": 5}]  # 2 per 0.5 s
    client = guarded(server.base_url, {"backend": "memory://spread", "limits": limits})
    started = time.monotonic()
    assert burst(client, 8) == [None] * 8
    assert time.monotonic() - started >= 1.5  # 8 calls, 2 per half second: three full windows of waiting
    arrivals = [r.time for r in server.requests_to("/chat/completions")]
    assert most_in_any_window(arrivals, 0.4) <= 2  # 0.1 s of slack for the HTTP hop


def test_wait_is_bounded_by_max_wait(server: FakeOpenAI) -> None:
    limits = [{"scope": "project", "rpm": 1, "max_wait_s": 1}]
    client = guarded(server.base_url, {"backend": "memory://bounded", "limits": limits})
    chat(client)
    started = time.monotonic()
    with pytest.raises(RateLimited) as limited:
        chat(client)
    assert time.monotonic() - started < 0.5  # the wait would be ~60 s: it gives up at once
    assert limited.value.retry_after is not None and 55 < limited.value.retry_after <= 60
    assert "max_wait_s = 1" in str(limited.value)


def test_tokens_per_minute_count_prompt_and_output_cap(server: FakeOpenAI) -> None:
    limits = [{"scope": "model", "tpm": 100, "on_exhausted": "raise"}]
    client = guarded(server.base_url, {"backend": "memory://tpm", "limits": limits})
    chat(client, "x" * 40, max_tokens=50)  # ~10 prompt tokens + 50 of cap + message overhead
    with pytest.raises(RateLimited) as limited:
        chat(client, "x" * 40, max_tokens=50)
    assert limited.value.metric == "tpm" and limited.value.subject == "gpt-test"
    with pytest.raises(RateLimited, match="can never be admitted") as never:
        chat(client, "short", max_tokens=500)
    assert never.value.retry_after is None
    assert server.count("/chat/completions") == 1


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_rpm_is_shared_by_processes(kind: str, server: FakeOpenAI, tmp_path: Path, redis: RedisServer) -> None:
    if kind == "redis":
        redis.flush()
    url = redis.url if kind == "redis" else f"sqlite:///{tmp_path / 'state.db'}"
    mapping = {"backend": url, "limits": [{"scope": "global", "rpm": 12, "on_exhausted": "raise"}]}
    results = run_workers(budget_worker, [(server.base_url, mapping, 10)] * 4)
    assert sum(r[0] for r in results) == 12 and sum(r[2] for r in results) == 28
    assert server.count("/chat/completions") == 12


def test_async_client_waits_without_blocking_the_loop(server: FakeOpenAI) -> None:
    limits = [{"scope": "global", "rpm": 120, "window_s": 0.5, "max_wait_s": 3}]  # 1 per 0.5 s
    chosen = policy(backend="memory://async-wait", limits=limits)
    client = protect(openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test-local", max_retries=0), chosen)
    ticks = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.01)

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(ticker(stop))
        messages = [{"role": "user", "content": "hi"}]
        await asyncio.gather(*(client.chat.completions.create(model="gpt-test", messages=messages, max_tokens=8) for _ in range(3)))
        stop.set()
        await task

    started = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - started >= 1.0 and ticks >= 50  # the loop kept running while calls waited


def test_a_cache_hit_gives_its_window_room_back(server: FakeOpenAI) -> None:
    limits = [{"scope": "global", "rpm": 2, "on_exhausted": "raise"}]
    client = guarded(server.base_url, {"backend": "memory://refund", "limits": limits, "cache": {"enabled": True}})
    for _ in range(5):
        chat(client, "same question", temperature=0)
    chat(client, "another question", temperature=0)
    assert server.count("/chat/completions") == 2
