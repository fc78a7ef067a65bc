"""``<dir>/.lock``: the writers' exclusive ``flock`` and the change counter that lets a writer skip
re-reading the log when nobody else touched it.

The first 8 bytes of the file are a u64 counter, memory-mapped by every writer and bumped under the lock
before any change. A writer that finds it where it left it knows nobody else appended, rolled or
rotated since it last held the lock, and goes straight to its one ``write``; otherwise it catches up
(``SegmentWriter._refresh``). The lock is advisory and local: a log directory must not be shared
between hosts (NFS).
"""

from __future__ import annotations

import fcntl
import mmap
import os
from collections.abc import Callable
from pathlib import Path

from prodguard.guard._audit.errors import AuditLogError
from prodguard.guard._audit.segments import LOCK_NAME

_COUNTER_SIZE = 8


class ChangeLock:
    """The lock file of one log directory, opened lazily (a reader-only process never creates it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.fd = -1
        self._map: mmap.mmap | None = None
        self._counter: memoryview | None = None  # the u64 change counter at the start of .lock
        self._seen = -1

    @property
    def is_open(self) -> bool:
        return self.fd >= 0

    def open(self) -> None:
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.directory / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            if os.fstat(fd).st_size < _COUNTER_SIZE:
                os.ftruncate(fd, _COUNTER_SIZE)  # growing with zeros never clobbers another's counter
            self._map = mmap.mmap(fd, _COUNTER_SIZE)
        except OSError as exc:
            raise AuditLogError(f"cannot open the audit log in {self.directory}: {exc.strerror}") from None
        self.fd = fd
        self._counter = memoryview(self._map).cast("Q")
        self._seen = -1

    def acquire(self) -> None:
        """The exclusive lock (opening the file first if needed)."""
        if self.fd < 0:
            self.open()
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    def announce(self, refresh: Callable[[], None], force: bool) -> None:
        """Under the lock: bump the shared change counter, and call ``refresh`` if anyone else changed
        anything since this writer last held the lock (or ``force``). The bump comes first, so that a
        writer that dies half-way through its write still makes every other writer look again; the
        counter is noted as seen only once ``refresh`` succeeded."""
        counter = self._counter
        assert counter is not None
        changes = counter[0]
        counter[0] = changes + 1
        if changes != self._seen or force:
            refresh()
        self._seen = changes + 1

    def close(self) -> None:
        if self._counter is not None:
            self._counter.release()
            self._counter = None
        if self._map is not None:
            self._map.close()
            self._map = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
