"""``SQLiteBackend``: budget, rate-limit and cache state in one SQLite file shared by the processes of a host.

Why SQLite is the embedded default: it needs no server, and ``BEGIN IMMEDIATE`` gives every admission
the write lock for its whole check-then-reserve, so two processes can never both see the same room in a
budget. WAL mode lets readers (``prodguard usage``) run beside writers; ``synchronous = NORMAL`` keeps a
commit from waiting on fsync (a power cut can lose the last few transactions, never corrupt the file).

One connection per process, used under a lock: admissions are serialized by SQLite anyway, and a
connection must not cross ``fork``, so a child process opens its own.

Waiting for the write lock: SQLite's own busy handler sleeps at least a millisecond between tries
(1, 2, 5, 10 ms ...), a hundred times longer than an admission holds the lock, which capped 8
contending processes far below what the file can do. So the connection has no busy timeout and
``BEGIN IMMEDIATE`` is retried here with short, growing, jittered sleeps (50 us to 2 ms) up to
``timeout_s``.

Clocks: leases and rate windows are timed with the host's monotonic clock, which every process of the
host shares (Linux ``CLOCK_MONOTONIC``, macOS ``mach_absolute_time``, Windows ``QueryPerformanceCounter``)
and which a wall-clock jump (NTP step, an operator's ``date -s``, a VM resumed from a snapshot) does not
move: a jump of an hour used to expire every lease at once and admit a second budget's worth of calls.
The monotonic clock restarts at boot, so the file remembers the boot it was last used in (Linux's
``boot_id``) and the latest tick seen; a different boot, or a tick earlier than that, means the host
restarted: every process that held a lease or a window entry is gone, and they are dropped. Budget
periods and the cache's expiry stay on the wall clock (``now``), which is what "a day" means.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from prodguard.guard._files import private_dir
from prodguard.guard._state.backend import (
    Admission,
    Admitted,
    Amounts,
    CounterState,
    Crossing,
    Settlement,
    StateUnavailable,
    translated,
    wait_until_room,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY, requests INTEGER NOT NULL DEFAULT 0, tokens INTEGER NOT NULL DEFAULT 0,
    cost INTEGER NOT NULL DEFAULT 0, soft INTEGER NOT NULL DEFAULT 0, expires REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (
    key TEXT NOT NULL, rid TEXT NOT NULL, requests INTEGER NOT NULL, tokens INTEGER NOT NULL,
    cost INTEGER NOT NULL, expires REAL NOT NULL, PRIMARY KEY (key, rid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS windows (
    key TEXT PRIMARY KEY, total INTEGER NOT NULL, window_s REAL NOT NULL, last REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS window_log (
    key TEXT NOT NULL, rid TEXT NOT NULL, at REAL NOT NULL, amount INTEGER NOT NULL, PRIMARY KEY (key, rid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS window_log_age ON window_log (key, at);
CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 0), boot TEXT NOT NULL, tick REAL NOT NULL);
"""

_LIVE = (
    "SELECT c.requests, c.tokens, c.cost, "
    "(SELECT COALESCE(SUM(requests), 0) FROM leases WHERE key = ?1 AND expires > ?2), "
    "(SELECT COALESCE(SUM(tokens), 0) FROM leases WHERE key = ?1 AND expires > ?2), "
    "(SELECT COALESCE(SUM(cost), 0) FROM leases WHERE key = ?1 AND expires > ?2) "
    "FROM (SELECT 1) LEFT JOIN counters c ON c.key = ?1"
)
_PURGE_EVERY_S = 30.0
# Ticks may differ this much between processes and still be one boot (clock reads are not atomic with
# the transaction that records them).
_TICK_SLACK_S = 1.0


def boot_id() -> str:
    """This boot of the host (Linux), or "" where the system does not say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            return file.read().strip()
    except OSError:
        return ""


class SQLiteBackend:
    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        wall: Callable[[], float] = time.time,
        ticks: Callable[[], float] = time.monotonic,
        boot: str | None = None,
    ) -> None:
        self.url = url
        self.path = Path(url[len("sqlite:///") :])
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._next_purge = 0.0
        # Injectable for tests that jump the wall clock or restart the monotonic one.
        self._wall, self._ticks = wall, ticks
        self._boot = boot_id() if boot is None else boot
        self._where = f"SQLite state file {self.path}"
        self._clock_checked: sqlite3.Connection | None = None  # the connection whose boot was checked
        self._tick_written = 0.0

    def now(self) -> float:
        return self._wall()  # one host: its own clock, for budget periods

    def _tick(self, conn: sqlite3.Connection) -> float:
        """The monotonic clock, inside a write transaction; forgets leases and windows of an earlier boot.

        The boot is checked once per connection (a process cannot outlive a restart of its host); after
        that the file's latest tick is only moved forward, at most once a second."""
        tick = self._ticks()
        if conn is self._clock_checked:
            if tick - self._tick_written >= _TICK_SLACK_S:
                conn.execute("UPDATE clock SET tick = max(tick, ?) WHERE id = 0", (tick,))
                self._tick_written = tick
            return tick
        self._check_boot(conn, tick)
        self._clock_checked, self._tick_written = conn, tick
        return tick

    def _check_boot(self, conn: sqlite3.Connection, tick: float) -> None:
        row = conn.execute("SELECT boot, tick FROM clock").fetchone()
        # No row: a new file, or one written before leases used this clock (their wall-clock expiries
        # would look live for decades).
        if row is None or row[0] != self._boot or tick < row[1] - _TICK_SLACK_S:
            for table in ("leases", "window_log", "windows"):
                conn.execute(f"DELETE FROM {table}")
            row = None
        if row is None or tick > row[1]:
            conn.execute("INSERT OR REPLACE INTO clock VALUES (0, ?, ?)", (self._boot, tick))

    # -- connection --------------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            try:
                private_dir(self.path.parent)
                with contextlib.suppress(FileExistsError):  # created 0600; SQLite gives its WAL files the same mode
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                # SQLite's busy handler only while creating the file (processes may race to); see _begin.
                conn = sqlite3.connect(self.path, timeout=self._timeout_s, isolation_level=None, check_same_thread=False)
                # Switching to (or confirming) WAL can answer "locked" at once, without SQLite's busy
                # handler, while another process opens or checkpoints the file: retried like BEGIN.
                _execute_retrying(conn, "PRAGMA journal_mode = WAL", self._timeout_s)
                conn.execute("PRAGMA synchronous = NORMAL")
                with _transaction(conn, self._timeout_s):
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            conn.execute(statement)
                conn.execute("PRAGMA busy_timeout = 0")
            except (sqlite3.Error, OSError) as exc:
                raise StateUnavailable(f"{self._where} cannot be opened ({exc})") from None
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            with translated(self._where, (sqlite3.Error,)), _transaction(conn, self._timeout_s):
                yield conn

    # -- budgets and windows -------------------------------------------------------------------------

    def admit(self, admission: Admission) -> Admitted:
        with self._write() as conn:
            now = self._tick(conn)
            if now >= self._next_purge:
                self._purge(conn, self._wall(), now)
            for i, ask in enumerate(admission.counters):
                row = conn.execute(_LIVE, (ask.key, now)).fetchone()
                for m in range(3):
                    hard = ask.hard[m]
                    used = (row[m] or 0) + row[m + 3]
                    if hard is not None and ask.amounts[m] > 0 and used + ask.amounts[m] > hard:
                        return Admitted(False, exceeded=(i, m, used))
            waits = []
            for j, want in enumerate(admission.windows):
                total = self._trimmed_total(conn, want.key, now - want.window_s)
                if total + want.amount > want.capacity:
                    entries = conn.execute(
                        "SELECT at, amount FROM window_log WHERE key = ? ORDER BY at", (want.key,)
                    ).fetchall()
                    waits.append((j, wait_until_room(entries, total, want.amount, want.capacity, want.window_s, now)))
            if waits:
                return Admitted(False, waits=tuple(waits))
            for ask in admission.counters:
                conn.execute(
                    "INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?)",
                    (ask.key, admission.rid, *ask.amounts, now + admission.lease_s),
                )
                conn.execute(
                    "INSERT INTO counters (key, expires) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET expires = max(expires, excluded.expires)",
                    (ask.key, ask.expires_at),
                )
            for want in admission.windows:
                conn.execute(
                    "INSERT INTO window_log VALUES (?, ?, ?, ?)", (want.key, admission.rid, now, want.amount)
                )
                conn.execute(
                    "INSERT INTO windows VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET "
                    "total = total + ?2, window_s = ?3, last = ?4",
                    (want.key, want.amount, want.window_s, now),
                )
            return Admitted(True)

    def _trimmed_total(self, conn: sqlite3.Connection, key: str, cutoff: float) -> int:
        expired = conn.execute(
            "DELETE FROM window_log WHERE key = ? AND at <= ? RETURNING amount", (key, cutoff)
        ).fetchall()
        if expired:
            conn.execute("UPDATE windows SET total = total - ? WHERE key = ?", (sum(a for (a,) in expired), key))
        row = conn.execute("SELECT total FROM windows WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def settle(self, rid: str, settlements: Sequence[Settlement]) -> list[Crossing]:
        crossings = []
        with self._write() as conn:
            for i, item in enumerate(settlements):
                conn.execute("DELETE FROM leases WHERE key = ? AND rid = ?", (item.key, rid))
                row = conn.execute(
                    "INSERT INTO counters (key, requests, tokens, cost, expires) VALUES (?1, ?2, ?3, ?4, ?5) "
                    "ON CONFLICT (key) DO UPDATE SET requests = requests + ?2, tokens = tokens + ?3, "
                    "cost = cost + ?4, expires = max(expires, ?5) RETURNING requests, tokens, cost, soft",
                    (item.key, *item.actual, item.expires_at),
                ).fetchone()
                noted = new = int(row[3])
                for m in range(3):
                    soft = item.soft[m]
                    if soft is not None and row[m] >= soft and not noted & (1 << m):
                        new |= 1 << m
                        crossings.append(Crossing(i, m, int(row[m])))
                if new != noted:
                    conn.execute("UPDATE counters SET soft = ? WHERE key = ?", (new, item.key))
        return crossings

    def release(self, rid: str, counters: Sequence[tuple[str, Amounts]], windows: Sequence[tuple[str, int]]) -> None:
        with self._write() as conn:
            for key, _ in counters:
                conn.execute("DELETE FROM leases WHERE key = ? AND rid = ?", (key, rid))
            for key, _ in windows:
                gone = conn.execute(
                    "DELETE FROM window_log WHERE key = ? AND rid = ? RETURNING amount", (key, rid)
                ).fetchall()
                if gone:
                    conn.execute("UPDATE windows SET total = total - ? WHERE key = ?", (sum(a for (a,) in gone), key))

    def counters(self, prefix: str) -> list[CounterState]:
        wall, now = self._wall(), self._ticks()
        with self._lock:
            conn = self._connection()
            with translated(self._where, (sqlite3.Error,)):
                rows = conn.execute(
                    "SELECT key, requests, tokens, cost FROM counters WHERE key >= ? AND key < ? AND expires > ? "
                    "ORDER BY key",
                    (prefix, prefix + "\U0010ffff", wall),
                ).fetchall()
                out = []
                for key, requests, tokens, cost in rows:
                    live = conn.execute(_LIVE, (key, now)).fetchone()
                    out.append(CounterState(key, (requests, tokens, cost), (live[3], live[4], live[5])))
                return out

    # -- cache -------------------------------------------------------------------------------------

    def cache_get(self, key: str) -> bytes | None:
        with self._lock, translated(self._where, (sqlite3.Error,)):
            row = self._connection().execute(
                "SELECT value FROM cache WHERE key = ? AND expires > ?", (key, self._wall())
            ).fetchone()
        return bytes(row[0]) if row else None

    def cache_put(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, value, self._wall() + ttl_s))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _purge(self, conn: sqlite3.Connection, wall: float, now: float) -> None:
        """Forget what can no longer matter: expired leases, past periods, idle windows, stale cache.
        ``now`` is the monotonic clock (leases, windows), ``wall`` the wall clock (periods, cache)."""
        self._next_purge = now + _PURGE_EVERY_S
        conn.execute("DELETE FROM leases WHERE expires <= ?", (now,))
        conn.execute("DELETE FROM counters WHERE expires <= ?", (wall,))
        conn.execute("DELETE FROM window_log WHERE key IN (SELECT key FROM windows WHERE last + window_s < ?)", (now,))
        conn.execute("DELETE FROM windows WHERE last + window_s < ?", (now,))
        conn.execute("DELETE FROM cache WHERE expires <= ?", (wall,))


@contextmanager
def _transaction(conn: sqlite3.Connection, timeout_s: float) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: take the write lock before reading, so that a check and the reservation it
    allows are one atomic step."""
    _begin(conn, timeout_s)
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _begin(conn: sqlite3.Connection, timeout_s: float) -> None:
    _execute_retrying(conn, "BEGIN IMMEDIATE", timeout_s)


def _execute_retrying(conn: sqlite3.Connection, statement: str, timeout_s: float) -> None:
    """Run ``statement``, retrying while the file is locked by another process, up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    pause = 50e-6
    while True:
        try:
            conn.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() >= deadline:
                raise
        time.sleep(random.uniform(pause / 2, pause))
        pause = min(pause * 2, 2e-3)
