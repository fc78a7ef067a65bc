"""Helpers shared by the budget, rate-limit, backoff and cache tests: policies with only the usage
steps on, guarded clients against ``FakeOpenAI``, and worker processes that hammer one shared backend.

Workers are real processes (``forkserver``, with the SDK preloaded so that each starts in milliseconds),
each with its own guard and its own backend connection, released together by one event so that their
admissions race for real.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openai import OpenAI

from prodguard.guard import BudgetExceeded, Policy, RateLimited, protect
from prodguard.guard import end_user as guard_end_user

# Only the usage steps: each test isolates budgets, limits, backoff or the cache.
QUIET: dict[str, Any] = {
    "pii": {"enabled": False},
    "moderation": {"enabled": False},
    "secrets": {"enabled": False},
}
# Prices for the test server's model names, in USD per million tokens.
TEST_PRICES = {"gpt-test": {"input": 2.0, "output": 8.0}}


def policy(**usage: Any) -> Policy:
    return Policy.from_mapping({**QUIET, **usage})


def raw_client(base_url: str, **options: Any) -> OpenAI:
    return OpenAI(base_url=base_url, api_key="sk-test-local", **{"max_retries": 0, **options})


def guarded(base_url: str, mapping: Mapping[str, Any] | Policy, **options: Any) -> OpenAI:
    chosen = mapping if isinstance(mapping, Policy) else policy(**mapping)
    return protect(raw_client(base_url, **options), chosen)


def chat(client: Any, text: str = "hello there", *, end_user: str | None = None, **kwargs: Any) -> Any:
    """One chat call; ``end_user`` runs it inside ``prodguard.guard.end_user``."""
    kwargs.setdefault("max_tokens", 16)
    with guard_end_user(end_user) if end_user is not None else contextlib.nullcontext():
        return client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": text}], **kwargs)


def _context() -> Any:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["openai", "prodguard.guard", "tests.limits_support"])
    return context


def run_workers(target: Callable[..., Any], arguments: Sequence[tuple[Any, ...]], timeout: float = 60) -> list[Any]:
    """Run ``target(*args, start, results)`` in one process per ``arguments`` item, released at once;
    returns what each put in ``results`` (in completion order). A worker that fails puts
    ``{"error": traceback}``, which fails the test."""
    context = _context()
    start = context.Event()
    results = context.Queue()
    processes = [context.Process(target=target, args=(*args, start, results)) for args in arguments]
    for process in processes:
        process.start()
    start.set()
    collected = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    failures = [item["error"] for item in collected if isinstance(item, dict) and "error" in item]
    assert not failures, failures[0]
    return collected


def budget_worker(base_url: str, mapping: dict[str, Any], calls: int, start: Any, results: Any) -> None:
    """Make ``calls`` guarded requests; report (sent, refused, rate_limited)."""
    try:
        client = guarded(base_url, mapping)
        start.wait(30)
        sent = refused = limited = 0
        for i in range(calls):
            try:
                chat(client, f"worker {os.getpid()} call {i}")
                sent += 1
            except BudgetExceeded:
                refused += 1
            except RateLimited:
                limited += 1
        results.put((sent, refused, limited))
    except BaseException:
        results.put({"error": traceback.format_exc()})



def _routes(client: Any, text: str) -> list[Callable[[], Any]]:
    """One request on each content route; streams are read to the end, one is closed after its first
    chunk (a cancelled stream)."""
    messages = [{"role": "user", "content": text}]

    def streamed() -> None:
        for _ in client.chat.completions.create(model="gpt-test", messages=messages, max_tokens=16, stream=True):
            pass

    def cancelled() -> None:
        stream = client.chat.completions.create(model="gpt-test", messages=messages, max_tokens=16, stream=True)
        next(iter(stream))
        stream.close()

    def helper_stream() -> None:
        with client.chat.completions.stream(model="gpt-test", messages=messages, max_tokens=16) as stream:
            stream.until_done()

    def responses_stream() -> None:
        with client.responses.stream(model="gpt-test", input=text, max_output_tokens=16) as stream:
            stream.until_done()

    return [
        lambda: chat(client, text),
        streamed,
        cancelled,
        helper_stream,
        lambda: client.responses.create(model="gpt-test", input=text, max_output_tokens=16),
        responses_stream,
        lambda: client.chat.completions.with_raw_response.create(model="gpt-test", messages=messages, max_tokens=16).parse(),
        lambda: client.embeddings.create(model="text-embedding-3-small", input=text),
    ]


def route_worker(base_url: str, mapping: dict[str, Any], calls: int, start: Any, results: Any) -> None:
    """Make ``calls`` guarded requests rotating over every content route; report (sent, refused)."""
    try:
        client = guarded(base_url, mapping)
        start.wait(30)
        sent = refused = 0
        for i in range(calls):
            routes = _routes(client, f"worker {os.getpid()} call {i}")
            try:
                routes[(os.getpid() + i) % len(routes)]()
                sent += 1
            except BudgetExceeded:
                refused += 1
        results.put((sent, refused))
    except BaseException:
        results.put({"error": traceback.format_exc()})
