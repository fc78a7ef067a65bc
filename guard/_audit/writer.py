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

The lock file and its counter live in ``changelock``, the background flush of ``fsync = "interval"`` in
``flusher``, the directory's files in ``segments``.

A segment is *sealed* when a newer one exists; the writer that rolls over also clears the old file's
write bits, so a sealed segment is recognisable on disk.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import secrets
import stat
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag

from prodguard.guard._audit.changelock import ChangeLock
from prodguard.guard._audit.errors import AuditLogError, TamperDetected
from prodguard.guard._audit.flusher import start_flusher
from prodguard.guard._audit.format import (
    CORRUPT,
    FRAME_CRC,
    FRAME_FIELDS,
    HEADER_SIZE,
    TAG_SIZE,
    FormatError,
    KeyCipher,
    Kind,
    SegmentHeader,
    authenticate_header,
    chain_link,
    genesis_link,
    open_frame,
    parse_header,
    read_frame_head,
    segment_name,
)
from prodguard.guard._audit.head import StoredHead, open_head, read_head_fd, write_head
from prodguard.guard._audit.segments import fdatasync, fsync_directory, header_error, list_segments

_RANDOM_PER_RECORD = 28  # 12-byte nonce + 16-byte secret prefix of the plaintext
_PUBLISH_EVERY_NS = 100 * 10**6


@dataclass(frozen=True)
class WriterOptions:
    fsync: str = "always"
    fsync_interval_ms: int = 100
    segment_max_bytes: int = 64 * 1024 * 1024
    segment_max_age_ns: int = 24 * 3600 * 10**9
    clock: Callable[[], int] = time.time_ns


class SegmentWriter:
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

    def _reset_state(self) -> None:
        self._path = Path()
        self._name = ""
        self._header: SegmentHeader | None = None
        self._cipher = self._newest
        self._binding = b""
        self._end = 0
        self._next_seq = 0
        self._prev = b""
        self._last_ts: int | None = None
        self._sealed = False
        self._recovered: dict[str, object] | None = None

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

    def _refresh(self) -> None:
        """Bring the in-memory view of the active segment up to date (caller holds the file lock)."""
        if self._fd < 0:
            self._attach()
        else:
            info = os.fstat(self._fd)
            if info.st_size != self._end or not info.st_mode & 0o200 or info.st_nlink == 0:
                if info.st_size > self._end and info.st_mode & 0o200 and info.st_nlink:
                    self._scan(os.pread(self._fd, info.st_size - self._end, self._end), self._end)
                else:  # sealed, replaced or shrunk: start again from the newest segment
                    self._detach()
                    self._attach()
        if self._recovered is not None:
            recovered, self._recovered = self._recovered, None
            self._write(Kind.RECOVERY, json.dumps(recovered).encode(), self.options.clock())
            self._sync()
            self._publish_head()

    def _attach(self) -> None:
        for stale in self.directory.glob(".segment-*.new-*"):  # creations cut short by a crash
            stale.unlink(missing_ok=True)
        segments = list_segments(self.directory)
        if not segments:
            log_id = os.urandom(16)
            now = self.options.clock()
            self._install(SegmentHeader.new(self._newest, log_id, 1, 1, now, genesis_link(log_id)))
            return
        path = segments[-1][1]
        nofollow = getattr(os, "O_NOFOLLOW", 0)  # a segment is a file of the log, never a link elsewhere
        try:
            try:
                fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC | nofollow)
            except PermissionError:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | nofollow)  # sealed: read it, then roll over
                self._sealed = True
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, "not a regular file")
        except OSError as exc:
            raise AuditLogError(
                f"cannot open {path} (the newest segment): {exc.strerror or exc}; not appending"
            ) from None
        try:
            buf = os.pread(fd, os.fstat(fd).st_size, 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._path, self._name = fd, path, path.name
        self._sealed = self._sealed or not os.fstat(fd).st_mode & 0o200
        try:
            header = parse_header(buf)
            cipher = self._cipher_for(header.key_id)
            authenticate_header(buf, header, cipher)
        except FormatError as exc:
            self._detach()
            raise header_error(path.name, exc) from None
        self._header, self._cipher, self._binding = header, cipher, header.binding
        self._end, self._next_seq, self._prev, self._last_ts = (
            HEADER_SIZE,
            header.first_seq,
            header.prev_link,
            None,
        )
        self._scan(buf[HEADER_SIZE:], HEADER_SIZE)
        self._check_head(header)

    def _check_head(self, header: SegmentHeader) -> None:
        """After reading the newest segment: if records the stored head vouches for are gone (the
        segment was cut back or deleted), never issue their sequence numbers again, and record exactly
        which were lost (``verify`` reports them as a problem)."""
        try:
            if self._head_fd < 0:
                self._head_fd = open_head(self.directory)
            head = read_head_fd(self._head_fd)
        except OSError:
            return  # verify reports an unreadable head
        if head is None or head.log_id != header.log_id or head.seq < self._next_seq:
            return
        if not head.authentic(self._cipher_or_none):
            return  # a forged or damaged head must not steer numbering; verify reports it
        last = self._next_seq - 1
        lost = {
            "lost_from_seq": self._next_seq,
            "lost_through_seq": head.seq,
            "lost_records": head.seq - last,
            "found_through_seq": last,
        }
        self._recovered = {
            **(self._recovered or {"segment": self._name, "offset": self._end, "torn_bytes": 0}),
            **lost,
        }
        self._next_seq = head.seq + 1

    def _cipher_or_none(self, key_id: str) -> KeyCipher | None:
        try:
            return self._cipher_for(key_id)
        except FormatError:
            return None

    def _scan(self, buf: bytes, base: int) -> None:
        """Advance past complete frames in ``buf`` (file bytes from ``base``); cut off a torn tail."""
        offset, last = 0, None
        head = read_frame_head(buf, 0) if buf else None
        while head is not None and not isinstance(head, str):
            last, offset = head, head.end
            head = read_frame_head(buf, offset) if offset < len(buf) else None
        if last is not None:
            try:
                plaintext = open_frame(buf, last, self._cipher, self._binding)
            except InvalidTag:
                self._detach()
                raise TamperDetected(
                    f"{self._name} byte {base + last.offset}: the last record fails authentication; "
                    "not appending after it (run `prodguard logs verify`)"
                ) from None
            self._next_seq, self._prev, self._last_ts = (
                last.seq + 1,
                chain_link(last.bound, plaintext),
                last.ts_ns,
            )
        self._end = base + offset
        if head == CORRUPT:
            name = self._name
            self._detach()
            raise TamperDetected(
                f"{name} byte {base + offset}: corrupt frame header; not appending after it "
                "(run `prodguard logs verify`)"
            )
        if isinstance(head, str):  # torn or zero-filled tail: a writer died mid-record
            torn = len(buf) - offset
            os.ftruncate(self._fd, self._end)
            self._sync()
            self._recovered = {"segment": self._name, "offset": self._end, "torn_bytes": torn}

    def _install(self, header: SegmentHeader) -> None:
        """Create the segment for ``header`` (fully written before it appears) and make it active."""
        cipher = self._newest
        name = segment_name(header.segment_id)
        path = self.directory / name
        if path.exists():
            raise AuditLogError(f"{path} already exists; another writer is not using the lock")
        tmp = self.directory / f".{name}.new-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, header.pack(cipher))
            if self._durable_meta:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if self._durable_meta:
            fsync_directory(self.directory)
        old = self._path if self._fd >= 0 else None
        self._detach()
        if old is not None:
            os.chmod(old, 0o400)  # sealed: tells other writers to move on (they fstat on every append)
        self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
        self._path, self._name, self._header, self._cipher = path, name, header, cipher
        self._binding = header.binding
        self._end, self._next_seq, self._prev, self._last_ts = (
            HEADER_SIZE,
            header.first_seq,
            header.prev_link,
            None,
        )

    def _roll(self, now: int) -> None:
        header = self._header
        assert header is not None
        self._install(
            SegmentHeader.new(
                self._newest, header.log_id, header.segment_id + 1, self._next_seq, now, self._prev
            )
        )

    def _detach(self) -> None:
        if self._fd >= 0:
            if self._dirty and self._durable_meta:
                self._sync()
            os.close(self._fd)
        self._fd = -1
        self._reset_state()

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
