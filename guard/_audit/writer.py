"""Appending to an audit log safely from many threads and processes.

Multi-writer decision: **one shared active segment, serialized by ``flock`` on ``<dir>/.lock``**.
Every append takes a thread mutex, then the exclusive file lock. The first 8 bytes of ``.lock`` are a
change counter, memory-mapped by every writer and bumped under the lock before any change; a writer
that finds it where it left it knows nobody else touched the log and goes straight to its one
``write`` on an ``O_APPEND`` descriptor. Otherwise it catches up: one ``fstat`` tells whether another
process appended (it reads only the new frames) or sealed/replaced the segment (it re-opens the
newest). ``fsync`` (policy ``always``) happens after the lock is released so processes do not wait on
each other's disk flushes. One chain, one order, one ``verify`` — rather than one file per process,
whose chains could each be deleted whole without a trace. The lock is advisory and local: a log
directory must not be shared between hosts (NFS).

Following the active segment (attach, catch up, recover, roll over) lives in ``active``; the lock file and
its counter in ``changelock``, the background flush of ``fsync = "interval"`` in
``flusher``, the directory's files in ``segments``.

A segment is *sealed* when a newer one exists; the writer that rolls over also clears the old file's
write bits, so a sealed segment is recognisable on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prodguard.guard._audit.active import ActiveSegment
from prodguard.guard._audit.changelock import ChangeLock
from prodguard.guard._audit.errors import AuditLogError
from prodguard.guard._audit.flusher import start_flusher
from prodguard.guard._audit.format import (
    FRAME_CRC,
    FRAME_FIELDS,
    TAG_SIZE,
    KeyCipher,
    Kind,
)
from prodguard.guard._audit.head import StoredHead, open_head, write_head
from prodguard.guard._audit.segments import fdatasync

_RANDOM_PER_RECORD = 28  # 12-byte nonce + 16-byte secret prefix of the plaintext
_PUBLISH_EVERY_NS = 100 * 10**6


@dataclass(frozen=True)
class WriterOptions:
    fsync: str = "always"
    fsync_interval_ms: int = 100
    segment_max_bytes: int = 64 * 1024 * 1024
    segment_max_age_ns: int = 24 * 3600 * 10**9
    clock: Callable[[], int] = time.time_ns


class SegmentWriter(ActiveSegment):
    """The append side of one :class:`AuditLog` in one process."""

    def __init__(
        self, directory: Path, ciphers: Callable[[str], KeyCipher], newest: str, options: WriterOptions
    ):
        self.directory = directory
        self.options = options
        self._cipher_for = ciphers
        self._newest = ciphers(newest)
        self._always = options.fsync == "always"
        self._durable_meta = options.fsync != "never"
        self.mutex = threading.Lock()
        self._lock = ChangeLock(self.directory)
        self._fd = -1
        self._head_fd = -1  # <dir>/.head: the last acknowledged record, out of reach of a segment cut
        self._published_at = 0
        self._reset_state()
        self._rand = b""
        self._rand_pos = 0
        self._dirty = False
        self._flush_error: str | None = None
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None
        _WRITERS.add(self)

    def _clock(self) -> int:
        return self.options.clock()

    # ----------------------------------------------------------------------------------------- append

    def append(self, kind: int, payload: bytes) -> int:
        with self.mutex:
            if self._flush_error is not None:
                error, self._flush_error = self._flush_error, None
                raise AuditLogError(f"flushing {self.directory} to disk failed in the background: {error}")
            self._lock.acquire()
            try:
                self._lock.announce(self._refresh, self._fd < 0)
                seq = self._write(kind, payload, self.options.clock())
                if not self._durable_meta and time.monotonic_ns() - self._published_at >= _PUBLISH_EVERY_NS:
                    # "never": nothing is durable anyway; the head follows at most 100 ms behind (and at
                    # close), so that it costs nothing per record.
                    self._publish_head()
                    self._published_at = time.monotonic_ns()
            finally:
                self._lock.release()
            if self._always:
                self._sync()
                self._publish_locked(self._acknowledged())
            elif self._durable_meta:
                self._dirty = True
                if self._flusher is None:
                    self._start_flusher()
            return seq

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Thread mutex and file lock held, active segment attached and current (for purge and rotate)."""
        with self.mutex:
            self._lock.acquire()
            try:
                self._lock.announce(self._refresh, self._fd < 0)
                yield
            finally:
                self._lock.release()

    def _acknowledged(self) -> StoredHead | None:
        """The head this writer has just made durable (its last record), to store in ``.head``."""
        header = self._header
        if header is None:
            return None
        return StoredHead(header.log_id, self._next_seq - 1, self._prev, self._newest.key_id)

    def _publish_locked(self, head: StoredHead | None) -> None:
        """Store ``head`` in ``.head`` under the file lock (the caller holds the thread mutex only)."""
        if head is None or not self._lock.is_open:
            return
        self._lock.acquire()
        try:
            self._store_head(head)
        finally:
            self._lock.release()

    def _publish_head(self) -> None:
        head = self._acknowledged()
        if head is not None:
            self._store_head(head)

    def _store_head(self, head: StoredHead) -> None:
        try:
            if self._head_fd < 0:
                self._head_fd = open_head(self.directory)
            write_head(self._head_fd, self._newest, head)
        except OSError as exc:
            raise AuditLogError(f"cannot record the head of {self.directory}: {exc.strerror}") from None

    def _write(self, kind: int, payload: bytes, now: int) -> int:
        # The hot path of every append: seal_frame's steps inlined (same layout, see _audit_format).
        header = self._header
        assert header is not None
        options = self.options
        if (
            self._sealed
            or self._end >= options.segment_max_bytes
            or now - header.created_ns >= options.segment_max_age_ns
            or self._cipher is not self._newest
        ):
            self._roll(now)
        pos = self._rand_pos
        if pos + _RANDOM_PER_RECORD > len(self._rand):
            # One getrandom call per ~146 records; the buffer is dropped in a forked child (nonce reuse).
            self._rand, pos = os.urandom(_RANDOM_PER_RECORD * 146), 0
        self._rand_pos = pos + _RANDOM_PER_RECORD
        rand = self._rand
        seq = self._next_seq
        nonce = rand[pos : pos + 12]
        plaintext = rand[pos + 12 : pos + _RANDOM_PER_RECORD] + payload
        head = FRAME_FIELDS.pack(len(plaintext) + TAG_SIZE, kind, seq, now, self._prev, nonce)
        bound = head[4:53]
        link = hashlib.sha256(bound)
        link.update(plaintext)
        frame = b"".join(
            (
                head,
                FRAME_CRC.pack(zlib.crc32(head)),
                self._cipher.aead.encrypt(nonce, plaintext, self._binding + bound),
            )
        )
        try:
            written = os.write(self._fd, frame)
            while written < len(frame):  # regular files rarely write short; never leave half a frame
                written += os.write(self._fd, frame[written:])
        except OSError as exc:
            self._detach()  # the next append re-reads the segment and cuts off any partial frame
            raise AuditLogError(f"cannot append to {self._path}: {exc.strerror}") from None
        self._end += len(frame)
        self._next_seq = seq + 1
        self._prev = link.digest()
        self._last_ts = now
        return seq

    # ------------------------------------------------------------------------------- segment state

    def _close_lock(self) -> None:
        self._lock.close()
        if self._head_fd >= 0:
            os.close(self._head_fd)
            self._head_fd = -1

    # ------------------------------------------------------------------------------------ durability

    def _sync(self) -> None:
        if self._fd < 0:
            return
        try:
            fdatasync(self._fd)
        except OSError as exc:
            raise AuditLogError(f"cannot flush {self._path} to disk: {exc.strerror}") from None
        self._dirty = False

    def flush(self) -> None:
        with self.mutex:
            self._sync()

    def _start_flusher(self) -> None:
        self._flusher = start_flusher(self, self._stop, self.options.fsync_interval_ms / 1000)

    # Flushable, for the flusher thread (each called with the mutex held).
    def take_dirty(self) -> tuple[int, StoredHead | None]:
        fd = os.dup(self._fd) if self._dirty and self._fd >= 0 else -1
        synced = self._acknowledged() if fd >= 0 else None
        self._dirty = False
        return fd, synced

    def publish_synced(self, head: StoredHead) -> None:
        self._publish_locked(head)

    def flush_failed(self, message: str) -> None:
        self._flush_error = message

    def close(self) -> None:
        self._stop.set()
        flusher, self._flusher = self._flusher, None
        if flusher is not None and flusher is not threading.current_thread():
            flusher.join()
        with self.mutex:
            if self._durable_meta and self._dirty:
                self._sync()
                self._publish_locked(self._acknowledged())
            elif not self._durable_meta and self._fd >= 0:
                self._publish_locked(self._acknowledged())
            self._detach()
            self._close_lock()

    def __del__(self) -> None:
        # A log that was never closed: release the descriptors (nothing to flush that the OS lacks).
        for fd in (self._fd, self._lock.fd, self._head_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._lock.fd = self._head_fd = -1

    # ------------------------------------------------------------------------------ maintenance hooks

    @property
    def active(self) -> tuple[int, str, int | None, bool]:
        """(segment id, cipher key id, time of the last record, has records) of the active segment."""
        header = self._header
        assert header is not None
        return header.segment_id, self._cipher.key_id, self._last_ts, self._next_seq > header.first_seq

    def roll(self) -> None:
        """Seal the active segment and start a new one with the newest key (caller holds ``exclusive``)."""
        self._roll(self.options.clock())

    def write_system(self, kind: Kind, payload: dict[str, object]) -> int:
        """Append a checkpoint and flush it whatever the policy (caller holds ``exclusive``)."""
        seq = self._write(kind, json.dumps(payload, separators=(",", ":")).encode(), self.options.clock())
        self._sync()
        self._publish_head()
        return seq

    def after_fork(self) -> None:
        """In a forked child: fresh locks and descriptors (flock is shared with the parent's open file
        descriptions), and never the parent's buffered randomness (that would reuse GCM nonces)."""
        self.mutex = threading.Lock()
        if self._fd >= 0:
            os.close(self._fd)
        self._fd = -1
        self._close_lock()
        self._reset_state()
        self._rand, self._rand_pos = b"", 0
        self._dirty = False
        self._stop = threading.Event()
        self._flusher = None


_WRITERS: weakref.WeakSet[SegmentWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for writer in list(_WRITERS):
        writer.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
