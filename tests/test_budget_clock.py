"""Budget leases against clock jumps (issue 11): SQLite leases are timed with the host's monotonic clock,
so a wall-clock step (NTP, ``date -s``, a VM resumed from a snapshot) neither expires them early, which
admitted 8 calls against a budget of 4, nor keeps them alive; a host restart drops them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prodguard.guard._state.backend import Admission, CounterAsk, Settlement
from prodguard.guard._state.sqlite import SQLiteBackend

KEY = "{prodguard}:b:global:all:day:test"


class Clocks:
    """A wall clock and a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.wall = time.time()
        self.ticks = 1000.0

    def backend(self, url: str, boot: str = "boot-1") -> SQLiteBackend:
        return SQLiteBackend(url, wall=lambda: self.wall, ticks=lambda: self.ticks, boot=boot)


def _ask(clocks: Clocks) -> CounterAsk:
    # Four requests a day; the period ends two days from now, so every jump below stays inside it.
    return CounterAsk(KEY, (1, 10, 0), (4, None, None), clocks.wall + 2 * 86400)


def _admitted(backends: list[SQLiteBackend], clocks: Clocks, tag: str, count: int) -> int:
    ask = _ask(clocks)
    return sum(backends[i % len(backends)].admit(Admission(f"{tag}{i}", (ask,), lease_s=600)).ok for i in range(count))


def test_a_wall_clock_jump_does_not_expire_leases(tmp_path: Path) -> None:
    clocks = Clocks()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    processes = [clocks.backend(url), clocks.backend(url)]  # two processes of one host
    assert _admitted(processes, clocks, "a", 4) == 4  # four calls in flight, never settled yet
    for jump in (3600.0, 601.0, -7200.0):  # an hour ahead, just past the lease, then back
        clocks.wall += jump
        assert _admitted(processes, clocks, f"j{jump}", 4) == 0
    clocks.ticks += 599.0
    assert _admitted(processes, clocks, "b", 4) == 0  # the leases are 599 s old: still live
    clocks.ticks += 2.0
    assert _admitted(processes, clocks, "c", 4) == 4  # 601 s: the lease of a dead process expires


def test_a_host_restart_drops_the_leases_of_its_dead_processes(tmp_path: Path) -> None:
    clocks = Clocks()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert _admitted([clocks.backend(url)], clocks, "a", 4) == 4
    clocks.ticks = 5.0  # the monotonic clock starts again after a reboot
    assert _admitted([clocks.backend(url, boot="boot-2")], clocks, "b", 4) == 4


def test_a_restart_is_seen_without_a_boot_id(tmp_path: Path) -> None:
    # Where the system gives no boot id, a monotonic clock earlier than the file has seen is a restart.
    clocks = Clocks()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    assert _admitted([clocks.backend(url, boot="")], clocks, "a", 4) == 4
    assert _admitted([clocks.backend(url, boot="")], clocks, "b", 1) == 0
    clocks.ticks = 5.0
    assert _admitted([clocks.backend(url, boot="")], clocks, "c", 4) == 4


def test_spent_budget_survives_a_restart(tmp_path: Path) -> None:
    # Only leases (calls in flight) are dropped at a restart; what was spent stays spent.
    clocks = Clocks()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    backend = clocks.backend(url)
    ask = _ask(clocks)
    for i in range(3):
        assert backend.admit(Admission(f"s{i}", (ask,), lease_s=600)).ok
        backend.settle(f"s{i}", [Settlement(KEY, (1, 10, 0), (1, 10, 0), (None, None, None), ask.expires_at)])
    clocks.ticks = 5.0
    assert _admitted([clocks.backend(url, boot="boot-2")], clocks, "r", 4) == 1


def test_memory_leases_survive_a_wall_clock_jump(monkeypatch: pytest.MonkeyPatch) -> None:
    from prodguard.guard._state import backend as module

    memory = module.MemoryBackend("memory://clock-jump")
    start = time.time()
    ask = CounterAsk(KEY, (1, 10, 0), (4, None, None), start + 2 * 86400)
    assert sum(memory.admit(Admission(f"a{i}", (ask,), lease_s=600)).ok for i in range(4)) == 4
    monkeypatch.setattr(module.time, "time", lambda: start + 3600)  # an hour ahead, same period
    assert not memory.admit(Admission("b", (ask,), lease_s=600)).ok
