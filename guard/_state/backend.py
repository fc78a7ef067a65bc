"""Shared state for budgets, rate limits and the response cache, behind one small interface.

Three backends implement ``StateBackend``: ``MemoryBackend`` (one process), ``SQLiteBackend`` (the
embedded default: one WAL-mode file shared by the processes of a host, ``_state_sqlite``) and
``RedisBackend`` (several hosts; every multi-key operation is one Lua script, ``_state_redis``).
``open_backend(url)`` picks one from the policy's ``backend`` string and keeps one per URL per process.

The model, the same in every backend:

- A **counter** per budget scope, subject and period holds what was *spent* (requests, tokens,
  nano-USD) and a set of **leases**: the amounts reserved by calls in flight, each with an expiry.
  ``admit`` checks ``spent + live leases + asked <= hard`` for every counter of a call and, only if all
  pass, adds the call's lease; ``settle`` drops the lease and adds the actual usage. Nothing is a
  running "reserved" total, so a process that dies mid-call cannot leave drift behind: its lease
  simply expires.
- A **window** per rate-limit scope is a sliding log of (time, amount) entries plus their running
  total; ``admit`` trims entries older than the window, and admits when ``total + asked <= capacity``,
  otherwise reports how long until enough entries age out.
- ``admit`` is all or nothing over the counters and windows of one call: either every lease and window
  entry is added or none is.

Clocks: budget periods follow ``now()`` (the host's wall clock, Redis's ``TIME`` for Redis, so that
every host agrees on when a day starts). Leases and rate windows only measure durations, so they follow
a clock that does not jump: the host's monotonic clock (memory, SQLite), the Redis server's clock
(Redis). A wall-clock jump of minutes or hours therefore neither expires a lease early (admitting more
calls than the budget allows) nor keeps one alive for longer.

Backends raise ``StateUnavailable`` when they cannot be reached (``translated``); callers translate it once.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from prodguard.errors import ProdguardError

METRICS = ("requests", "tokens", "cost")
Amounts = tuple[int, int, int]  # requests, tokens, nano-USD
Limits = tuple[int | None, int | None, int | None]  # None: no limit on that metric
ZERO: Amounts = (0, 0, 0)


class StateUnavailable(ProdguardError):
    """The backend could not be reached or failed; the message names the backend, never a key's content."""


@contextmanager
def translated(where: str, errors: tuple[type[BaseException], ...]) -> Iterator[None]:
    """The one place a backend's own errors (``sqlite3.Error``, ``redis.RedisError``, ``OSError``) become
    ``StateUnavailable``; ``where`` names the backend (never a Redis URL, which may carry a password)."""
    try:
        yield
    except errors as exc:
        raise StateUnavailable(f"{where} failed ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class CounterAsk:
    key: str
    amounts: Amounts
    hard: Limits
    expires_at: float  # wall-clock time after which the counter (its period) may be forgotten


@dataclass(frozen=True)
class WindowAsk:
    key: str
    amount: int
    capacity: int
    window_s: float


@dataclass(frozen=True)
class Admission:
    """Everything one call asks for; ``rid`` is unique per call (and per retry, for windows)."""

    rid: str
    counters: tuple[CounterAsk, ...] = ()
    windows: tuple[WindowAsk, ...] = ()
    lease_s: float = 600.0


@dataclass(frozen=True)
class Admitted:
    ok: bool
    # (counter index, metric index, amount already spent or leased) of the first hard limit hit.
    exceeded: tuple[int, int, int] | None = None
    # (window index, seconds until it has room) of each full window; math.inf when it never will.
    waits: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class Settlement:
    key: str
    reserved: Amounts  # what the call's lease holds (identifies it)
    actual: Amounts  # what to add to the spent totals
    soft: Limits  # soft limits to report crossings of
    expires_at: float


class Crossing(NamedTuple):
    """A soft limit crossed for the first time in its period by a settlement."""

    item: int  # which settlement
    metric: int  # index into METRICS
    spent: int


@dataclass(frozen=True)
class CounterState:
    key: str
    spent: Amounts
    reserved: Amounts


class StateBackend(Protocol):
    url: str

    def now(self) -> float:
        """The time budget periods are judged by: the backend's clock when several hosts share it."""
        ...

    def admit(self, admission: Admission) -> Admitted: ...

    def settle(self, rid: str, settlements: Sequence[Settlement]) -> list[Crossing]: ...

    def release(self, rid: str, counters: Sequence[tuple[str, Amounts]], windows: Sequence[tuple[str, int]]) -> None:
        """Drop the call's leases; with ``windows``, also take its entries back out of those windows."""
        ...

    def counters(self, prefix: str) -> list[CounterState]:
        """Every live counter whose key starts with ``prefix`` (for ``prodguard usage``)."""
        ...

    def cache_get(self, key: str) -> bytes | None: ...

    def cache_put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    def close(self) -> None: ...


def lease_member(rid: str, amounts: Amounts) -> str:
    """How a lease is named inside a counter (the Redis backend stores amounts in the member)."""
    return f"{rid}|{amounts[0]}|{amounts[1]}|{amounts[2]}"


def window_member(rid: str, amount: int) -> str:
    return f"{rid}|{amount}"


def wait_until_room(entries: Sequence[tuple[float, int]], total: int, amount: int, capacity: int, window_s: float, now: float) -> float:
    """Seconds until enough of ``entries`` (time, amount; oldest first) age out of the window for
    ``amount`` to fit; math.inf when it is larger than the window can ever hold."""
    if amount > capacity:
        return math.inf
    need = total + amount - capacity
    freed = 0
    for at, entry in entries:
        freed += entry
        if freed >= need:
            return max(at + window_s - now, 0.0)
    return window_s


# -- in-process backend -------------------------------------------------------------------------


@dataclass
class _Counter:
    spent: list[int] = field(default_factory=lambda: [0, 0, 0])
    soft_noted: int = 0
    expires_at: float = 0.0
    leases: dict[str, tuple[Amounts, float]] = field(default_factory=dict)

    def live(self, now: float) -> list[int]:
        for rid in [r for r, (_, until) in self.leases.items() if until <= now]:
            del self.leases[rid]
        total = [0, 0, 0]
        for amounts, _ in self.leases.values():
            for m in range(3):
                total[m] += amounts[m]
        return total


@dataclass
class _Window:
    entries: deque[tuple[float, str, int]] = field(default_factory=deque)
    total: int = 0
    window_s: float = 0.0

    def trim(self, now: float, window_s: float) -> None:
        self.window_s = window_s
        while self.entries and self.entries[0][0] <= now - window_s:
            self.total -= self.entries.popleft()[2]


class MemoryBackend:
    """State in this process only: for single-process applications and tests."""

    def __init__(self, url: str = "memory", *, cache_entries: int = 10_000) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._counters: dict[str, _Counter] = {}
        self._windows: dict[str, _Window] = {}
        self._cache: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._cache_entries = cache_entries
        self._next_purge = 0.0

    def now(self) -> float:
        return time.time()

    def admit(self, admission: Admission) -> Admitted:
        wall, now = time.time(), time.monotonic()
        with self._lock:
            if now >= self._next_purge:
                self._purge(wall, now)
            for i, ask in enumerate(admission.counters):
                counter = self._counter(ask.key, wall)
                live = counter.live(now)
                for m in range(3):
                    hard = ask.hard[m]
                    used = counter.spent[m] + live[m]
                    if hard is not None and ask.amounts[m] > 0 and used + ask.amounts[m] > hard:
                        return Admitted(False, exceeded=(i, m, used))
            waits = []
            for j, want in enumerate(admission.windows):
                window = self._windows.setdefault(want.key, _Window())
                window.trim(now, want.window_s)
                if window.total + want.amount > want.capacity:
                    entries = [(at, amount) for at, _, amount in window.entries]
                    waits.append((j, wait_until_room(entries, window.total, want.amount, want.capacity, want.window_s, now)))
            if waits:
                return Admitted(False, waits=tuple(waits))
            for ask in admission.counters:
                counter = self._counters[ask.key]
                counter.leases[admission.rid] = (ask.amounts, now + admission.lease_s)
                counter.expires_at = max(counter.expires_at, ask.expires_at)
            for want in admission.windows:
                window = self._windows[want.key]
                window.entries.append((now, admission.rid, want.amount))
                window.total += want.amount
            return Admitted(True)

    def settle(self, rid: str, settlements: Sequence[Settlement]) -> list[Crossing]:
        wall = time.time()
        crossings = []
        with self._lock:
            for i, item in enumerate(settlements):
                counter = self._counter(item.key, wall)
                counter.leases.pop(rid, None)
                counter.expires_at = max(counter.expires_at, item.expires_at)
                for m in range(3):
                    counter.spent[m] += item.actual[m]
                    soft = item.soft[m]
                    if soft is not None and counter.spent[m] >= soft and not counter.soft_noted & (1 << m):
                        counter.soft_noted |= 1 << m
                        crossings.append(Crossing(i, m, counter.spent[m]))
        return crossings

    def release(self, rid: str, counters: Sequence[tuple[str, Amounts]], windows: Sequence[tuple[str, int]]) -> None:
        with self._lock:
            for key, _ in counters:
                counter = self._counters.get(key)
                if counter is not None:
                    counter.leases.pop(rid, None)
            for key, _ in windows:
                window = self._windows.get(key)
                if window is None:
                    continue
                for entry in list(window.entries):
                    if entry[1] == rid:
                        window.entries.remove(entry)
                        window.total -= entry[2]

    def counters(self, prefix: str) -> list[CounterState]:
        wall, now = time.time(), time.monotonic()
        with self._lock:
            out = []
            for key, counter in self._counters.items():
                if key.startswith(prefix) and counter.expires_at > wall:
                    live = counter.live(now)
                    spent = counter.spent
                    out.append(CounterState(key, (spent[0], spent[1], spent[2]), (live[0], live[1], live[2])))
            return sorted(out, key=lambda c: c.key)

    def cache_get(self, key: str) -> bytes | None:
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._cache[key]
                return None
            self._cache.move_to_end(key)
            return found[0]

    def cache_put(self, key: str, value: bytes, ttl_s: float) -> None:
        with self._lock:
            self._cache[key] = (value, time.monotonic() + ttl_s)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)

    def close(self) -> None:
        pass

    def _purge(self, wall: float, now: float) -> None:
        """Forget past periods and idle windows, so a long-running process does not grow without end."""
        self._next_purge = now + 30.0
        for key, counter in list(self._counters.items()):
            counter.live(now)  # drops expired leases
            if counter.expires_at <= wall and not counter.leases:
                del self._counters[key]
        for key in [k for k, w in self._windows.items() if not w.entries or w.entries[-1][0] <= now - w.window_s]:
            del self._windows[key]

    def _counter(self, key: str, wall: float) -> _Counter:
        counter = self._counters.get(key)
        if counter is None or (counter.expires_at and counter.expires_at <= wall and not counter.leases):
            counter = self._counters[key] = _Counter()
        return counter


# -- selection ----------------------------------------------------------------------------------

_OPEN: dict[tuple[str, int], StateBackend] = {}
_OPEN_LOCK = threading.Lock()


def open_backend(url: str) -> StateBackend:
    """The backend for ``url``, opened once per process (a forked child opens its own connection)."""
    key = (url, os.getpid())
    with _OPEN_LOCK:
        found = _OPEN.get(key)
        if found is None:
            try:
                found = _OPEN[key] = _create(url)
            except StateUnavailable:
                raise
            except Exception as exc:  # the one place backend errors become ours (redis missing, bad URL, ...)
                raise StateUnavailable(f"state backend cannot be opened ({type(exc).__name__}: {exc})") from None
        return found


def close_backends() -> None:
    """Close every backend this process opened (tests, and applications that fork workers)."""
    with _OPEN_LOCK:
        for backend in _OPEN.values():
            backend.close()
        _OPEN.clear()


def _create(url: str) -> StateBackend:
    if url == "memory" or url.startswith("memory://"):
        return MemoryBackend(url)
    if url.startswith("sqlite:///"):
        from prodguard.guard._state.sqlite import SQLiteBackend

        return SQLiteBackend(url)
    if url.startswith(("redis://", "rediss://", "unix://")):
        from prodguard.guard._state.redis import RedisBackend

        return RedisBackend(url)
    raise ValueError(f"unknown state backend {url!r}")
