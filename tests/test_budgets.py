"""Budgets through the real SDK against the local server, with real SQLite files and a real redis-server:
reserve before sending, settle with the actual usage, release on error, soft limits notify once, hard
limits refuse before sending, and no overspend when many processes (and "hosts") race for one budget.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from pathlib import Path

import openai
import pytest
from redis import Redis as RedisClient

from prodguard.errors import ConfigError
from prodguard.guard import BudgetExceeded, GuardUnavailable, Policy, SoftLimitReached, protect, tags
from prodguard.guard._budget import parse_counter_key
from prodguard.guard._client import guard_of
from prodguard.guard._state.backend import Admission, CounterAsk, open_backend
from prodguard.guard._state.sqlite import SQLiteBackend
from prodguard.guard.testing import FakeOpenAI
from tests.limits_support import (
    QUIET,
    TEST_PRICES,
    budget_worker,
    chat,
    guarded,
    policy,
    raw_client,
    route_worker,
    run_workers,
)
from tests.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("fresh_backends")


def counters(url: str) -> dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(spent, reserved) per counter key, read through a fresh backend."""
    return {c.key: (c.spent, c.reserved) for c in open_backend(url).counters("{prodguard}")}


def only_counter(url: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    found = counters(url)
    assert len(found) == 1, found
    return next(iter(found.values()))


def test_hard_request_limit_refuses_before_sending(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backend": "memory://hard", "budgets": [{"scope": "global", "period": "day", "max_requests": 3}]})
    for _ in range(3):
        chat(client)
    with pytest.raises(BudgetExceeded) as refused:
        chat(client)
    assert server.count("/chat/completions") == 3
    error = refused.value
    assert (error.budget, error.scope, error.metric, error.limit, error.used) == ("global/day", "global", "requests", 3, 3)
    assert "not sent" in str(error)


def test_cost_is_settled_from_actual_usage_and_soft_limit_notifies_once(
    server: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    events: list[SoftLimitReached] = []
    chosen = policy(
        backend=url,
        budgets=[{"scope": "project", "period": "month", "max_cost_usd": 1.0, "soft_cost_usd": 0.0002, "name": "spend"}],
        accounting={"prices": TEST_PRICES},
    )
    client = protect(raw_client(server.base_url, project="proj_budgettest"), chosen, on_soft_limit=events.append)
    expected = 0
    with caplog.at_level(logging.WARNING, logger="prodguard.guard"):
        for i in range(4):
            answer = chat(client, "word " * (10 * (i + 1)))
            usage = answer.usage
            # USD per million tokens x 1000 = nano-USD per token.
            expected += math.ceil((usage.prompt_tokens * 2.0 + usage.completion_tokens * 8.0) * 1000 - 1e-6)
    (spent, reserved) = only_counter(url)
    assert spent[2] == expected and spent[0] == 4
    assert reserved == (0, 0, 0)
    key = next(iter(counters(url)))
    assert parse_counter_key(key)[:3] == ("project", "proj_budgettest", "month")  # type: ignore[index]
    assert len(events) == 1
    event = events[0]
    assert (event.budget, event.metric, event.subject, event.limit) == ("spend", "cost_usd", "proj_budgettest", 0.0002)
    assert event.spent >= 0.0002
    assert sum("soft budget spend reached" in r.getMessage() for r in caplog.records) == 1


def test_api_error_releases_the_reservation(server: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    client = guarded(server.base_url, {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": 1}]})
    server.fail(500)
    with pytest.raises(openai.InternalServerError):
        chat(client)
    spent, reserved = only_counter(url)
    assert spent == (0, 0, 0) and reserved == (0, 0, 0)
    chat(client)  # the failed call did not use the only request of the budget
    with pytest.raises(BudgetExceeded):
        chat(client)


def test_reservation_is_held_while_the_call_is_in_flight(server: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    client = guarded(server.base_url, {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_tokens": 100_000}]})
    seen: list[tuple[int, int, int]] = []
    server.reply = lambda text: (seen.append(only_counter(url)[1]), text)[1]
    answer = chat(client, "héllo wörld", max_tokens=50)
    # While upstream answered, the lease held the prompt upper bound (one token per UTF-8 byte) plus the cap.
    assert seen and seen[0][0] == 1 and seen[0][1] >= len("héllo wörld".encode()) + 50
    assert only_counter(url) == ((1, answer.usage.total_tokens, 0), (0, 0, 0))


def test_stream_settles_at_its_end(server: FakeOpenAI) -> None:
    url = "memory://stream"
    client = guarded(server.base_url, {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_tokens": 100_000}]})
    chunks = list(chat(client, "stream me please", stream=True, stream_options={"include_usage": True}))
    usage = chunks[-1].usage
    assert only_counter(url) == ((1, usage.total_tokens, 0), (0, 0, 0))
    # Without usage in the stream, the guard cannot know the cost: it charges the whole reservation.
    list(chat(client, "stream me please", stream=True, max_tokens=40))
    spent, reserved = only_counter(url)
    assert spent[1] >= usage.total_tokens + len("stream me please") + 40 and reserved == (0, 0, 0)


def test_stream_refused_upstream_before_starting_costs_nothing(server: FakeOpenAI) -> None:
    url = "memory://stream-refused"
    client = guarded(server.base_url, {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": 5}]})
    server.fail(400)
    with pytest.raises(openai.BadRequestError):
        chat(client, stream=True)
    assert only_counter(url) == ((0, 0, 0), (0, 0, 0))


def test_async_client_shares_the_same_budget_steps(server: FakeOpenAI) -> None:
    chosen = policy(backend="memory://async", budgets=[{"scope": "global", "period": "day", "max_requests": 2}])
    client = protect(openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test-local", max_retries=0), chosen)

    async def main() -> list[object]:
        messages = [{"role": "user", "content": "hi"}]
        calls = [client.chat.completions.create(model="gpt-test", messages=messages, max_tokens=8) for _ in range(4)]
        return await asyncio.gather(*calls, return_exceptions=True)

    results = asyncio.run(main())
    assert sum(isinstance(r, BudgetExceeded) for r in results) == 2
    assert server.count("/chat/completions") == 2


def test_scopes_count_per_end_user_tag_and_model(server: FakeOpenAI) -> None:
    budgets = [
        {"scope": "end_user", "period": "day", "max_requests": 1},
        {"scope": "tag:team", "period": "day", "max_requests": 2},
    ]
    client = guarded(server.base_url, {"backend": "memory://scopes", "budgets": budgets})
    with tags(team="search"):
        chat(client, end_user="alice")
        with pytest.raises(BudgetExceeded) as refused:
            chat(client, end_user="alice")
        assert refused.value.scope == "end_user" and "alice" not in str(refused.value)  # hashed id only
        chat(client, end_user="bob")
        with pytest.raises(BudgetExceeded) as refused:
            chat(client, end_user="carol")
        assert refused.value.scope == "tag:team" and refused.value.subject == "search"
    with tags(team="ads"):
        chat(client, end_user="carol")


def test_default_output_cap_is_reserved_and_optionally_sent(server: FakeOpenAI) -> None:
    settings = {"default_max_output_tokens": 300, "send_default_cap": True}
    budgets = [{"scope": "model", "period": "day", "max_tokens": 310}]
    client = guarded(server.base_url, {"backend": "memory://cap", "budgets": budgets, "accounting": settings})
    with pytest.raises(BudgetExceeded) as refused:  # "hello there" + 300 tokens of output may exceed 310
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello there"}])
    assert refused.value.subject == "gpt-test"
    settings = {"default_max_output_tokens": 100, "send_default_cap": True}
    client = guarded(server.base_url, {"backend": "memory://cap2", "budgets": budgets, "accounting": settings})
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello there"}])
    assert server.last("/chat/completions").body["max_completion_tokens"] == 100


def test_unknown_price_with_a_cost_budget_fails_closed(server: FakeOpenAI) -> None:
    client = guarded(server.base_url, {"backend": "memory://price", "budgets": [{"scope": "global", "period": "day", "max_cost_usd": 5}]})
    with pytest.raises(GuardUnavailable, match="no price is known for model 'gpt-test'"):
        chat(client)
    assert server.count() == 0


def test_lease_of_a_dead_process_expires(tmp_path: Path) -> None:
    backend = SQLiteBackend(f"sqlite:///{tmp_path / 'state.db'}")
    ask = CounterAsk("{prodguard}:b:global:all:day:test", (1, 10, 0), (1, None, None), time.time() + 3600)
    assert backend.admit(Admission("crashed", (ask,), lease_s=0.3)).ok  # never settled
    assert backend.admit(Admission("next", (ask,), lease_s=0.3)).exceeded == (0, 0, 1)
    time.sleep(0.35)
    assert backend.admit(Admission("next", (ask,), lease_s=0.3)).ok


def _backend_url(kind: str, tmp_path: Path, redis: RedisServer) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    redis.flush()
    return redis.url


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_eight_processes_never_overspend_a_hard_budget(kind: str, server: FakeOpenAI, tmp_path: Path, redis: RedisServer) -> None:
    url = _backend_url(kind, tmp_path, redis)
    allowed = 37
    mapping = {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": allowed}]}
    results = run_workers(budget_worker, [(server.base_url, mapping, 50)] * 8)
    sent = sum(r[0] for r in results)
    assert sent == allowed and sum(r[1] for r in results) == 8 * 50 - allowed
    assert server.count("/chat/completions") == allowed
    spent, reserved = only_counter(url)
    assert spent[0] == allowed and reserved == (0, 0, 0)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_every_route_shares_the_budget_under_concurrency(kind: str, server: FakeOpenAI, tmp_path: Path, redis: RedisServer) -> None:
    """Plain, streamed, cancelled, helper-streamed, raw and embedding calls from 8 processes (each its own
    backend connection): exactly K are admitted, and no lease is left behind."""
    url = _backend_url(kind, tmp_path, redis)
    allowed = 21
    mapping = {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": allowed}]}
    results = run_workers(route_worker, [(server.base_url, mapping, 8)] * 8, timeout=120)
    assert sum(r[0] for r in results) == allowed and sum(r[1] for r in results) == 8 * 8 - allowed
    assert len([r for r in server.requests if r.route != "/moderations"]) == allowed
    spent, reserved = only_counter(url)
    assert spent[0] == allowed and reserved == (0, 0, 0)


def test_failed_and_cancelled_streams_close_their_lease(server: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    client = guarded(server.base_url, {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": 10}]})
    server.drop_connection(after_events=2)
    with pytest.raises(openai.APIConnectionError):
        list(chat(client, "one two three four", stream=True))
    stream = chat(client, "one two three four", stream=True)
    next(iter(stream))
    stream.close()
    spent, reserved = only_counter(url)
    assert reserved == (0, 0, 0) and spent[0] == 2  # both had started upstream: charged, never left leased


def test_token_budget_is_never_overspent_under_concurrency(server: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    limit = 600
    mapping = {"backend": url, "budgets": [{"scope": "global", "period": "day", "max_tokens": limit}]}
    results = run_workers(budget_worker, [(server.base_url, mapping, 25)] * 4)
    spent, reserved = only_counter(url)
    assert 0 < spent[1] <= limit and reserved == (0, 0, 0)
    assert sum(r[1] for r in results) > 0 and sum(r[0] for r in results) == spent[0]


def test_two_redis_hosts_share_one_budget(server: FakeOpenAI, redis: RedisServer) -> None:
    redis.flush()
    mapping = {"backend": redis.url, "budgets": [{"scope": "project", "period": "month", "max_requests": 25}]}
    results = run_workers(budget_worker, [(server.base_url, mapping, 30)] * 2)  # two processes, two backends
    assert sum(r[0] for r in results) == 25 and server.count("/chat/completions") == 25


def test_redis_going_down_fails_closed_then_recovers(server: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    outage = RedisServer(tmp_path).start()
    try:
        budgets = [{"scope": "global", "period": "day", "max_requests": 100}]
        closed = guarded(server.base_url, {"backend": outage.url, "budgets": budgets})
        chat(closed)
        outage.stop()
        with pytest.raises(GuardUnavailable) as refused:
            chat(closed)
        message = str(refused.value)
        assert f"Redis at 127.0.0.1:{outage.port}" in message and "accounting.fail = closed" in message
        assert server.count("/chat/completions") == 1
        opened = guarded(server.base_url, {"backend": outage.url, "budgets": budgets, "accounting": {"fail": "open"}})
        with caplog.at_level(logging.WARNING, logger="prodguard.guard"):
            chat(opened)
        assert server.count("/chat/completions") == 2 and "sending uncounted" in caplog.text
        outage.start()  # same port, empty data: the scripts are loaded again on first use
        chat(closed)
        assert only_counter(outage.url)[0][0] == 1
    finally:
        outage.stop()


def test_no_budgets_means_no_backend_and_no_state_file(server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    client = guarded(server.base_url, QUIET)
    chat(client)
    steps = [step.name for step in guard_of(client).steps]  # type: ignore[union-attr]
    assert "budget" not in steps and "cache" not in steps
    assert not (tmp_path / ".prodguard").exists()


def test_policy_errors_name_the_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "prodguard.toml"
    config.write_text(
        '[guard]\nbackend = "memory"\n\n[[guard.budgets]]\nscope = "project"\nperiod = "week"\nmax_requests = 5\n'
    )
    with pytest.raises(ConfigError, match=r"prodguard\.toml:6: period must be one of: day, month"):
        Policy.load(config)
    config.write_text('[guard]\nlimits = [{scope = "global", rpm = 0}]\n')
    with pytest.raises(ConfigError, match=r"prodguard\.toml:2: rpm must be a positive integer"):
        Policy.load(config)
    config.write_text('[guard]\nbackend = "postgres://db"\n')
    with pytest.raises(ConfigError, match=r":2: backend must be"):
        Policy.load(config)
    config.write_text('[guard.accounting]\nfail = "sometimes"\n')
    with pytest.raises(ConfigError, match=r":2: fail must be one of: open, closed"):
        Policy.load(config)


def test_usage_cli_shows_spend_and_remaining(server: FakeOpenAI, tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "prodguard.toml").write_text(
        '[guard]\nbackend = "sqlite:///state.db"\n'
        'budgets = [{scope = "project", period = "day", max_requests = 10, soft_requests = 5}]\n'
        "pii = {enabled = false}\nmoderation = {enabled = false}\n"
    )
    chosen = Policy.load(tmp_path / "prodguard.toml")
    client = protect(raw_client(server.base_url, project="proj_clitest"), chosen)
    for _ in range(3):
        chat(client)
    result = run_cli("usage", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "proj_clitest" in line).split()
    assert row[3:] == ["requests", "3", "0", "10", "7"]
    result = run_cli("usage", "--format", "json", cwd=tmp_path)
    assert '"remaining": 7' in result.output



def test_budget_periods_follow_the_redis_clock(server: FakeOpenAI, redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A host whose clock runs a day ahead still spends the same daily budget (Redis ``TIME`` decides)."""
    redis.flush()
    mapping = {"backend": redis.url, "budgets": [{"scope": "global", "period": "day", "max_requests": 2}]}
    chat(guarded(server.base_url, mapping))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 86_400)  # this host is a day ahead
    ahead = guarded(server.base_url, mapping)
    chat(ahead)
    with pytest.raises(BudgetExceeded):
        chat(ahead)
    keys = [key for key in (k.decode() for k in RedisClient.from_url(redis.url).keys("*")) if ":b:" in key]
    assert len({key.rsplit(":", 1)[1] for key in keys if not key.endswith(":leases")}) == 1  # one period id
