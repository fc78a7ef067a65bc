"""Overhead of budget and rate-limit checks per request, per state backend, and aggregate throughput.

What one guarded request costs the guard for budgets and limits: the admission before sending (lease
from two budgets, one of them on requests, tokens and cost; entry into an RPM and a TPM window) plus
the settlement after it, measured on the ``Accounting`` step itself, without HTTP. Then the same cycle
run flat out by 8 processes sharing one backend: aggregate checks per second.

Backends: memory (one process), SQLite (a file in a temporary directory, WAL) and a local
``redis-server`` started on a free port (the Debian package; ``apt-get install -y redis-server``).
Writes the "limits" section of bench/RESULTS.md unless ``--no-results``.

    /tmp/venv/bin/python bench/limits.py [--requests 3000] [--seconds 3] [--processes 8]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from benchtools import machine, table, today, update_section  # noqa: E402

from prodguard.guard import Policy  # noqa: E402
from prodguard.guard._budget import Accounting  # noqa: E402
from prodguard.guard._call import Call, ClientInfo  # noqa: E402
from prodguard.guard._drivers import run  # noqa: E402
from prodguard.guard._routes import Route  # noqa: E402
from prodguard.guard._state.backend import close_backends  # noqa: E402
from tests.redis_server import running_redis  # noqa: E402

QUIET = {"pii": {"enabled": False}, "moderation": {"enabled": False}, "secrets": {"enabled": False}}
USAGE = {
    "budgets": [
        {"scope": "project", "period": "day", "max_requests": 10**9, "max_tokens": 10**12, "max_cost_usd": 10**6},
        {"scope": "end_user", "period": "month", "max_requests": 10**9, "soft_requests": 10**9},
    ],
    "limits": [{"scope": "global", "rpm": 10**9, "tpm": 10**12}],
    "accounting": {"prices": {"gpt-bench": {"input": 0.4, "output": 1.6}}},
}
USAGE_TOKENS = {"prompt_tokens": 60, "completion_tokens": 40, "total_tokens": 100}
CLIENT = ClientInfo(organization=None, project="proj_bench", key_fingerprint=None)
CHAT = Route("POST /chat/completions", "json", "chat")


def _guard(backend: str | None) -> Accounting | None:
    mapping: dict[str, Any] = dict(QUIET)
    if backend is not None:
        mapping.update(USAGE, backend=backend)
    return Accounting.build(Policy.from_mapping(mapping))


def _call(user: int) -> Call:
    params = {
        "model": "gpt-bench",
        "messages": [{"role": "system", "content": "You answer briefly."}, {"role": "user", "content": "What is a budget?"}],
        "max_tokens": 64,
    }
    call = Call(CHAT, CLIENT, params)
    call.end_user_hash = f"user{user % 50}"
    return call


def cycle(accounting: Accounting | None, user: int) -> None:
    """One request's budget and rate work: admission, then settlement with the actual usage."""
    call = _call(user)
    if accounting is not None:
        run(accounting.admit(call), _no_io)
        accounting.finish(call, usage=USAGE_TOKENS)


def _no_io(request: Any) -> Any:
    raise RuntimeError(f"unexpected I/O {request!r}")


def latencies(backend: str | None, requests: int) -> list[float]:
    guard = _guard(backend)
    for i in range(200):  # warm up: connection, scripts, statement cache
        cycle(guard, i)
    out = []
    for i in range(requests):
        started = time.perf_counter()
        cycle(guard, i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _worker(backend: str, seconds: float, ready: Any, start: Any, results: Any) -> None:
    guard = _guard(backend)
    cycle(guard, 0)
    ready.put(True)
    start.wait()
    deadline = time.perf_counter() + seconds
    done = 0
    while time.perf_counter() < deadline:
        cycle(guard, done)
        done += 1
    results.put(done)


def throughput(backend: str, processes: int, seconds: float) -> float:
    context = multiprocessing.get_context("forkserver")
    ready, start, results = context.Queue(), context.Event(), context.Queue()
    workers = [context.Process(target=_worker, args=(backend, seconds, ready, start, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    for _ in workers:  # every worker imported, connected and warmed up: then all start together
        ready.get(timeout=120)
    start.set()
    total = sum(int(results.get(timeout=seconds + 60)) for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def percentile(values: list[float], q: int) -> float:
    return float(statistics.quantiles(values, n=100, method="inclusive")[q - 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args()
    rows = []
    load = " / ".join(f"{v:.1f}" for v in os.getloadavg())  # other work on the machine skews the numbers
    with tempfile.TemporaryDirectory() as tmp, running_redis() as redis:
        backends = [
            ("none (no budgets or limits configured)", None),
            ("memory", "memory://bench"),
            ("SQLite (WAL, local file)", f"sqlite:///{tmp}/state.db"),
            ("Redis (local redis-server)", redis.url),
        ]
        for name, url in backends:
            values = latencies(url, args.requests)
            aggregate = throughput(url, args.processes, args.seconds) if url and not url.startswith("memory") else None
            close_backends()
            p50, p95 = statistics.median(values), percentile(values, 95)
            shown = f"{aggregate:,.0f}" if aggregate is not None else "n/a (not shared)" if url else "-"
            rows.append([name, f"{p50:.3f}", f"{p95:.3f}", shown])
            print(f"{name:42s} p50 {p50:.3f} ms  p95 {p95:.3f} ms  {args.processes} processes: {shown} checks/s", flush=True)
    body = "\n".join(
        [
            "## Budgets and rate limits",
            "",
            f"`bench/limits.py` on {today()}: {machine()}; load average {load}.",
            "",
            "One check = everything the guard does for budgets and limits around one request: the admission",
            "before sending (leases from two budgets, one on requests, tokens and cost, plus an RPM and a TPM",
            "window) and the settlement with the actual usage after it. Latency of one check in one process",
            f"({args.requests} sequential checks after warm-up), and aggregate checks per second with",
            f"{args.processes} processes sharing the backend for {args.seconds:g} s. Targets: p50 <= 0.5 ms with",
            "SQLite, <= 1 ms with local Redis.",
            "",
            table(["backend", "p50 ms", "p95 ms", f"checks/s, {args.processes} processes"], rows),
        ]
    )
    if not args.no_results:
        update_section("limits", body)


if __name__ == "__main__":
    main()
