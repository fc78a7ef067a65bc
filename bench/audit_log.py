"""Audit log throughput: encrypted appends next to plaintext JSON lines, on the same disk, in one run.

    python bench/audit_log.py [--dir DIR] [--records 100000] [--synced-records 2000] [--runs 3] [--no-results]

For each fsync policy (every record, every 100 ms, off) it appends 1 KB JSON records with
``AuditLog.append`` and writes the same records as plaintext JSON lines the way ``logging.FileHandler``
does (a lock, one write and flush per line, fsync on the same policy: per line, a background thread every
100 ms, or never). Both serialize the same dict per record with the same JSON encoder settings. The best of ``--runs`` counts. Then it
times ``verify()`` and ``records()`` over the largest log. Results go to the ``audit-log`` section of
bench/RESULTS.md unless ``--no-results``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchtools import BENCH, machine, table, today, update_section

from prodguard.guard._audit.keys import format_key, generate_key
from prodguard.guard._audit.log import AuditLog

INTERVAL_MS = 100
POLICIES = ("always", "interval", "never")
# The same serializer settings the audit log uses, built once, so both sides pay the same for JSON.
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
LABEL = {"always": "every record", "interval": f"every {INTERVAL_MS} ms", "never": "off"}


def make_record(n: int) -> dict[str, Any]:
    """A realistic audit record of about 1 KB of JSON (redacted texts, usage, decisions)."""
    record: dict[str, Any] = {
        "ts": "2026-05-09T10:00:00.000Z",
        "environment": "production",
        "organization": "org-Xq7bT2LmN9pRs4VwYz8Ac3De",
        "project": "proj_Hn5Jk8Lm2Pq4Rs6Tu9Vw1Xy",
        "model": "gpt-4o-mini",
        "endpoint": "chat.completions",
        "request": "Summarise the ticket from <PERSON_1> (<EMAIL_ADDRESS_1>) about invoice 4471 " * 3,
        "response": "The customer reports a duplicated charge; refund approved by <PERSON_2>. " * 3,
        "usage": {"prompt_tokens": 412, "completion_tokens": 96, "total_tokens": 508},
        "moderation": {"input": "ok", "output": "ok"},
        "decisions": ["pii-pseudonymized:2", "secrets-none"],
        "latency_ms": 812.4,
        "end_user": "3f9a0c1d7e2b4a65b8c9d0e1f2a3b4c5",
        "error": None,
        "n": n,
    }
    size = len(json.dumps(record, separators=(",", ":")))
    record["pad"] = "x" * max(0, 1024 - size - 9)
    return record


class PlainJsonLines:
    """The baseline: what a plaintext JSON-lines logger does with the same durability policy."""

    def __init__(self, path: Path, policy: str) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._lock = threading.Lock()
        self._policy = policy
        self._dirty = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if policy == "interval":
            self._thread = threading.Thread(target=self._flusher, daemon=True)
            self._thread.start()

    def append(self, record: dict[str, Any]) -> None:
        line = _JSON.encode(record) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()
            if self._policy == "always":
                os.fdatasync(self._file.fileno())
            else:
                self._dirty = True

    def _flusher(self) -> None:
        # Same scheme as the audit log's flusher: sync a duplicate descriptor outside the lock.
        while not self._stop.wait(INTERVAL_MS / 1000):
            with self._lock:
                fd = os.dup(self._file.fileno()) if self._dirty else -1
                self._dirty = False
            if fd >= 0:
                os.fdatasync(fd)
                os.close(fd)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._policy != "never":
                os.fdatasync(self._file.fileno())
            self._file.close()


def timed(
    append: Callable[[dict[str, Any]], None], close: Callable[[], None], records: list[dict[str, Any]]
) -> float:
    start = time.perf_counter()
    for record in records:
        append(record)
    close()
    return time.perf_counter() - start


def run_policy(
    base: Path, policy: str, records: list[dict[str, Any]], keys: str, runs: int
) -> dict[str, float]:
    best_enc = best_plain = float("inf")
    for run in range(runs):
        enc_dir = base / f"enc-{policy}-{run}"
        log = AuditLog(enc_dir, keys, fsync=policy, fsync_interval_ms=INTERVAL_MS)
        plain = PlainJsonLines(base / f"plain-{policy}-{run}.jsonl", policy)
        # Alternate which goes first: fsync latency on a shared disk drifts during a run.
        for which in ("enc", "plain") if run % 2 == 0 else ("plain", "enc"):
            if which == "enc":
                best_enc = min(best_enc, timed(log.append, log.close, records))
            else:
                best_plain = min(best_plain, timed(plain.append, plain.close, records))
        if run < runs - 1:
            shutil.rmtree(enc_dir)
    return {"enc": best_enc, "plain": best_plain}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dir", type=Path, default=BENCH / "out", help="where the logs are written (same disk)"
    )
    parser.add_argument("--records", type=int, default=100_000, help="records per run (batched and no fsync)")
    parser.add_argument(
        "--synced-records", type=int, default=2_000, help="records per run with fsync per record"
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-results", action="store_true", help="print, do not update bench/RESULTS.md")
    args = parser.parse_args()

    load = os.getloadavg()
    args.dir.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="audit-bench-", dir=args.dir))
    keys = format_key(generate_key("bench"))
    payload = len(json.dumps(make_record(0), separators=(",", ":")))
    rows, results = [], {}
    try:
        for policy in POLICIES:
            count = args.synced_records if policy == "always" else args.records
            records = [make_record(n) for n in range(count)]
            times = run_policy(base, policy, records, keys, args.runs)
            results[policy] = (count, times)
            enc_rate, plain_rate = count / times["enc"], count / times["plain"]
            rows.append(
                [
                    LABEL[policy],
                    f"{count:,}",
                    f"{enc_rate:,.0f}",
                    f"{enc_rate * payload / 1e6:.1f}",
                    f"{plain_rate:,.0f}",
                    f"{plain_rate * payload / 1e6:.1f}",
                    f"{enc_rate / plain_rate:.0%}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        largest = base / f"enc-never-{args.runs - 1}"
        log = AuditLog(largest, keys)
        start = time.perf_counter()
        report = log.verify()
        verify_time = time.perf_counter() - start
        assert report.ok and report.records == args.records, report.problems
        start = time.perf_counter()
        read = sum(1 for _ in log.records())
        read_time = time.perf_counter() - start
        on_disk = sum(p.stat().st_size for p in largest.glob("segment-*"))
        plain_size = (base / f"plain-never-{args.runs - 1}.jsonl").stat().st_size
    finally:
        shutil.rmtree(base, ignore_errors=True)

    verify_rate, read_rate = report.records / verify_time, read / read_time
    summary = (
        f"verify: {verify_rate:,.0f} records/s ({verify_rate * payload / 1e6:.0f} MB/s); "
        f"records() (decrypt + JSON parse): {read_rate:,.0f} records/s; "
        f"size on disk {on_disk / plain_size:.2f}x the plaintext lines"
    )
    print(summary)
    header = [
        "fsync",
        "records",
        "encrypted rec/s",
        "MB/s",
        "plaintext rec/s",
        "MB/s",
        "encrypted / plaintext",
    ]
    body = "\n".join(
        [
            "## Audit log",
            "",
            f"- Machine: {machine()}; disk: the filesystem of `{args.dir}`; load average "
            f"{load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (the machine was shared)",
            f"- Command: `python bench/audit_log.py --records {args.records} --synced-records "
            f"{args.synced_records} --runs {args.runs}`",
            f"- Date: {today()}",
            f"- Payload: {payload}-byte JSON records. Plaintext = the same dicts as JSON lines written like "
            "`logging.FileHandler` (lock, write + flush per line) with the same JSON encoder settings and the "
            "same fsync policy (its 100 ms flusher also syncs a duplicate descriptor outside the lock). "
            f"Best of {args.runs} runs, alternating which goes first; the final fsync/close is included. "
            "fsync-per-record rows are bound by the disk's flush latency, which varies a lot on this VM.",
            "",
            table(header, rows),
            "",
            f"- {summary}.",
            "- Targets: batched fsync >= 20,000 records/s and >= 50% of plaintext; verify >= 100,000 records/s.",
        ]
    )
    if not args.no_results:
        update_section("audit-log", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
