"""The writer's view of the active (newest) segment: attaching to it, catching up with what other
writers appended, recovering a torn tail or records cut away behind the stored head, and installing the
next segment when rolling over.

``SegmentWriter`` (``writer``) is an ``ActiveSegment`` that also appends and makes appends durable; the
methods here call back into it for that (``_write``, ``_sync``, ``_publish_head``). Every method runs
with the writer's thread mutex and the directory's file lock held.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag

from prodguard.guard._audit.errors import AuditLogError, TamperDetected
from prodguard.guard._audit.format import (
    CORRUPT,
    HEADER_SIZE,
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
from prodguard.guard._audit.head import open_head, read_head_fd
from prodguard.guard._audit.segments import fsync_directory, header_error, list_segments


class ActiveSegment:
    """Segment state: the open descriptor, the header and cipher, where the next frame goes, the next
    sequence number and chain link."""

    directory: Path
    _cipher_for: Callable[[str], KeyCipher]
    _newest: KeyCipher
    _durable_meta: bool
    _fd: int
    _head_fd: int
    _dirty: bool

    def _clock(self) -> int:
        raise NotImplementedError

    def _write(self, kind: int, payload: bytes, now: int) -> int:
        raise NotImplementedError

    def _sync(self) -> None:
        raise NotImplementedError

    def _publish_head(self) -> None:
        raise NotImplementedError

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
            self._write(Kind.RECOVERY, json.dumps(recovered).encode(), self._clock())
            self._sync()
            self._publish_head()

    def _attach(self) -> None:
        for stale in self.directory.glob(".segment-*.new-*"):  # creations cut short by a crash
            stale.unlink(missing_ok=True)
        segments = list_segments(self.directory)
        if not segments:
            log_id = os.urandom(16)
            now = self._clock()
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
