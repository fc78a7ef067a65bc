"""The files of an audit log directory: listing segments, a consistent snapshot of them under the
writers' shared lock, reading one segment without following links, and making directory changes durable.

Shared by the writer (``SegmentWriter``), the readers and the maintenance operations of ``AuditLog``.
"""

from __future__ import annotations

import fcntl
import os
import stat
from pathlib import Path

from prodguard.guard._audit.errors import AuditKeyError, AuditLogError, TamperDetected
from prodguard.guard._audit.format import FormatError, parse_segment_name

LOCK_NAME = ".lock"
# Data (and the size, when it grew) without the other metadata, where the system has it.
fdatasync = getattr(os, "fdatasync", os.fsync)


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """Segment files in order of their id (names other than ``segment-N.pgal`` are ignored)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    found = ((parse_segment_name(name), name) for name in names)
    return sorted((sid, directory / name) for sid, name in found if sid is not None)


def fsync_directory(directory: Path) -> None:
    """Make creations, renames and deletions in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def header_error(name: str, exc: FormatError) -> AuditLogError:
    if exc.code in ("unknown-key", "wrong-key"):
        return AuditKeyError(f"{name}: {exc}")
    return TamperDetected(f"{name} header: {exc} (run `prodguard logs verify`)")


class FileLock:
    """An exclusive ``flock`` on ``path`` (created 0600) for the duration of a ``with`` block."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd = -1

    def __enter__(self) -> None:
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self._fd)


def snapshot(directory: Path) -> list[tuple[int, Path, int, int]]:
    """Segments with their size and inode, listed under a shared lock so that no append is half done:
    readers then never mistake a concurrent append for a torn record."""
    lock_fd = -1
    try:
        lock_fd = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_CLOEXEC)
        fcntl.flock(lock_fd, fcntl.LOCK_SH)
    except OSError:
        pass  # no writer ever ran here, or a read-only copy of the log
    try:
        found = []
        for segment_id, path in list_segments(directory):
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            # A link (dangling, looping, or to /dev/zero), a FIFO or a directory under a segment's name
            # is reported, never followed or read (size -1 marks it).
            size = info.st_size if stat.S_ISREG(info.st_mode) else -1
            found.append((segment_id, path, size, info.st_ino))
        return found
    finally:
        if lock_fd >= 0:
            os.close(lock_fd)


def read_segment(path: Path, size: int, inode: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditLogError(f"cannot read {path}: {exc.strerror}") from None
    try:
        with open(fd, "rb", closefd=False) as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise AuditLogError(f"cannot read {path}: not a regular file")
            replaced = info.st_ino != inode
            # A segment replaced by rotation is complete (read to its size now); the active one is read up
            # to the snapshot.
            return handle.read(info.st_size if replaced else size)
    except OSError as exc:
        raise AuditLogError(f"cannot read {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
