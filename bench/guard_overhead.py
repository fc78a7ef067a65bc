"""Per-request overhead of ``protect()`` against the raw SDK, both talking to the local server, in one run.

    /tmp/venv/bin/python bench/guard_overhead.py [--requests 300] [--no-results]

Raw and guarded calls alternate (so drift in machine load hits both alike); the overhead is the
difference of their latency percentiles. Prompts are ~1 KB of chat text with personal data, all
distinct (no cache hits), moderation off (it is one more HTTP call, measured separately). Writes the
"guard" section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from openai import OpenAI

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtools import machine, table, update_section

from prodguard.guard import Policy, conversation, protect
from prodguard.guard.testing import FakeOpenAI

FIRST = ["Maria", "Jonas", "Aiko", "Priya", "Tomasz", "Fatima", "Liam", "Chen", "Sofia", "Kwame"]
LAST = ["Gonzalez", "Weber", "Tanaka", "Sharma", "Nowak", "Haddad", "Murphy", "Wei", "Rossi", "Mensah"]
FILLER = (
    "Thanks for getting back to me about the order. The parcel still has not arrived and the tracking page "
    "shows no update since Monday. Could you check with the courier and let me know what the options are? "
    "I would prefer a replacement over a refund if that is possible, and I am happy to wait a few more days. "
)


def prompt(rng: random.Random) -> str:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"{name.split()[0].lower()}.{rng.randint(10, 999)}@example.org"
    phone = f"+44 20 {rng.randint(7000, 7999)} {rng.randint(1000, 9999)}"
    text = f"Hello, this is {name}. " + FILLER + f"You can reach me at {email} or {phone}. Order {rng.randint(10**7, 10**8)}. "
    while len(text) < 1000:
        text += FILLER[: 1024 - len(text)]
    return text[:1024]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(call: Callable[[str], Any], prompts: list[str]) -> list[float]:
    times = []
    for text in prompts:
        started = time.perf_counter()
        call(text)
        times.append((time.perf_counter() - started) * 1000)
    return times


def chat(client: Any) -> Callable[[str], Any]:
    def call(text: str) -> Any:
        return client.chat.completions.create(
            model="gpt-bench", messages=[{"role": "user", "content": text}], max_tokens=300
        )

    return call


POLICIES = {
    "sanitize + secrets + environment": {"pii": {"enabled": False}, "moderation": {"enabled": False}},
    "+ pattern PII": {"pii": {"ner": False}, "moderation": {"enabled": False}},
    "+ NER PII": {"moderation": {"enabled": False}},
    "+ NER PII + moderation (input and output)": {},
}


def run(requests: int) -> tuple[str, dict[str, Any]]:
    rng = random.Random(20261124)
    rows = []
    numbers: dict[str, Any] = {}
    with FakeOpenAI() as server:
        raw = OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
        for label, mapping in POLICIES.items():
            guarded = protect(OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0), Policy.from_mapping(mapping))
            chat(guarded)(prompt(rng))  # warm-up: builds the analyzer, compiles patterns
            chat(raw)(prompt(rng))
            raw_times: list[float] = []
            guard_times: list[float] = []
            for _ in range(requests):  # alternate, so both see the same machine
                raw_times += measure(chat(raw), [prompt(rng)])
                guard_times += measure(chat(guarded), [prompt(rng)])
            p50 = percentile(guard_times, 0.5) - percentile(raw_times, 0.5)
            p95 = percentile(guard_times, 0.95) - percentile(raw_times, 0.95)
            numbers[label] = (p50, p95)
            rows.append(
                [
                    label,
                    f"{percentile(raw_times, 0.5):.2f}",
                    f"{percentile(guard_times, 0.5):.2f}",
                    f"**{p50:.2f}**",
                    f"{p95:.2f}",
                ]
            )
        conversation_rows, conversation_numbers = _conversation(server, rng)
        stream_rows = _streaming(server, rng)
    numbers["conversation"] = conversation_numbers
    body = "\n".join(
        [
            "## Runtime guard overhead",
            "",
            f"`python bench/guard_overhead.py --requests {requests}`; {machine()}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average at end {os.getloadavg()[0]:.2f}.",
            "Raw SDK and `protect()`ed SDK alternate against the local server; 1 KB prompts with a name, an "
            "e-mail address and a phone number, all distinct (no cache hits). Milliseconds.",
            "",
            table(["guard steps", "raw p50", "guarded p50", "added p50", "added p95"], rows),
            "",
            "Targets (guard v2 issue): <= 0.3 ms p50 added (sanitize + secrets + environment), <= 1.5 ms p50 "
            "added (pattern PII), <= 10 ms p95 added (NER). Moderation adds one HTTP round trip per direction (cached by text).",
            "",
            "**10-turn conversation resending its history** (NER PII, moderation off): per-turn added time "
            "against the added time of the new message alone.",
            "",
            table(["turn", "history messages", "added ms (turn)", "added ms (new message alone)"], conversation_rows),
            "",
            "**Streaming, time to first token** (server sends a chunk every 20 ms):",
            "",
            table(["client", "TTFT p50 ms", "TTFT p95 ms"], stream_rows),
        ]
    )
    return body, numbers


def _conversation(server: FakeOpenAI, rng: random.Random) -> tuple[list[list[str]], list[tuple[float, float]]]:
    raw = OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0)
    guarded = protect(
        OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0),
        Policy.from_mapping({"moderation": {"enabled": False}}),
    )
    rows: list[list[str]] = []
    numbers = []
    history: list[dict[str, str]] = []
    with conversation(guarded):
        for turn in range(1, 11):
            new = {"role": "user", "content": prompt(rng)}
            messages = [*history, new]

            def timed(client: Any, msgs: list[dict[str, str]]) -> float:
                started = time.perf_counter()
                client.chat.completions.create(model="gpt-bench", messages=msgs, max_tokens=300)
                return (time.perf_counter() - started) * 1000

            raw_turn = statistics.median(timed(raw, messages) for _ in range(3))
            guarded_turn = timed(guarded, messages)
            alone_new = {"role": "user", "content": prompt(rng)}
            raw_alone = statistics.median(timed(raw, [alone_new]) for _ in range(3))
            guarded_alone = timed(guarded, [alone_new])
            added_turn, added_alone = guarded_turn - raw_turn, guarded_alone - raw_alone
            numbers.append((added_turn, added_alone))
            rows.append([str(turn), str(len(history)), f"{added_turn:.2f}", f"{added_alone:.2f}"])
            history = [*messages, {"role": "assistant", "content": "Noted, we will look into it."}]
    return rows, numbers


def _streaming(server: FakeOpenAI, rng: random.Random) -> list[list[str]]:
    server.chunk_delay = 0.02
    rows = []
    try:
        clients = {
            "raw SDK": OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0),
            "protect() (NER PII, moderation off)": protect(
                OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0),
                Policy.from_mapping({"moderation": {"enabled": False}}),
            ),
        }
        for label, client in clients.items():
            ttft = []
            for _ in range(20):
                started = time.perf_counter()
                stream = client.chat.completions.create(
                    model="gpt-bench", messages=[{"role": "user", "content": prompt(rng)}], stream=True
                )
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        ttft.append((time.perf_counter() - started) * 1000)
                        break
                stream.close()
            rows.append([label, f"{percentile(ttft, 0.5):.1f}", f"{percentile(ttft, 0.95):.1f}"])
    finally:
        server.chunk_delay = 0.0
    return rows


def _echo_transport() -> Any:
    """An in-process upstream (``httpx2.MockTransport``): a chat completion echoing the last message,
    and moderation answers, without sockets or a server thread (far less noise on a busy machine)."""
    import json

    import httpx2

    def handle(request: Any) -> Any:
        body = json.loads(request.content or b"{}")
        if request.url.path.endswith("/moderations"):
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            results = [{"flagged": False, "categories": {"violence": False}, "category_scores": {"violence": 0.0}} for _ in texts]
            return httpx2.Response(200, json={"id": "modr", "model": "m", "results": results})
        text = body["messages"][-1]["content"]
        return httpx2.Response(
            200,
            json={
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": 250, "completion_tokens": 250, "total_tokens": 500},
            },
        )

    return httpx2.MockTransport(handle)


def run_in_process(requests: int) -> str:
    """The guard's own cost per request: raw and protected SDK against an in-process upstream."""
    import httpx2

    rng = random.Random(20261124)
    rows = []
    transport = _echo_transport()

    def client() -> OpenAI:
        return OpenAI(base_url="http://upstream.local/v1", api_key="sk-bench", max_retries=0, http_client=httpx2.Client(transport=transport))

    raw = client()
    for label, mapping in POLICIES.items():
        guarded = protect(client(), Policy.from_mapping(mapping))
        for _ in range(20):
            chat(guarded)(prompt(rng))
            chat(raw)(prompt(rng))
        raw_times: list[float] = []
        guard_times: list[float] = []
        for _ in range(requests):
            raw_times += measure(chat(raw), [prompt(rng)])
            guard_times += measure(chat(guarded), [prompt(rng)])
        p50 = percentile(guard_times, 0.5) - percentile(raw_times, 0.5)
        p95 = percentile(guard_times, 0.95) - percentile(raw_times, 0.95)
        rows.append([label, f"{percentile(raw_times, 0.5):.2f}", f"{percentile(guard_times, 0.5):.2f}", f"**{p50:.2f}**", f"{p95:.2f}"])
    return table(["guard steps", "raw p50", "guarded p50", "added p50", "added p95"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--no-results", action="store_true", help="print only; do not write RESULTS.md")
    parser.add_argument(
        "--in-process", action="store_true", help="only the per-request table, against an in-process upstream (no HTTP server)"
    )
    args = parser.parse_args()
    if args.in_process:
        print(run_in_process(args.requests))
        return
    body, _ = run(args.requests)
    print(body)
    if not args.no_results:
        update_section("guard", body)


if __name__ == "__main__":
    main()
