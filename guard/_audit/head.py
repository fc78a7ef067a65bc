"""The last acknowledged record of an audit log, kept in ``<dir>/.head`` where cutting a segment back
cannot reach it.

A crash can only lose a record that was never acknowledged; a segment cut back by many records (and
"repaired" by the next append) must not pass for one. After each acknowledged append the writer stores
the record's sequence number and chain link here, authenticated with the log's header MAC key. The next
writer that finds fewer records on disk never re-issues their sequence numbers and records exactly
which ones are gone; ``verify`` fails whenever the log ends before the stored head. Deleting ``.head``
loses this protection only (``verify --expect-head`` with a copy kept elsewhere still catches it).
"""

from __future__ import annotations

import hmac
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prodguard.guard._audit.format import LINK_SIZE, KeyCipher

HEAD_NAME = ".head"
# Fixed size, written in one pwrite at offset 0: a shorter line never leaves an older one's tail behind.
HEAD_SIZE = 256
_MAGIC = "pgal-head-1"


@dataclass(frozen=True)
class StoredHead:
    """What ``.head`` says: the log it belongs to, the acknowledged head, and who vouches for it."""

    log_id: bytes
    seq: int
    link: bytes
    key_id: str
    mac: bytes = b""

    def body(self) -> bytes:
        return f"{_MAGIC}\0{self.log_id.hex()}\0{self.seq}\0{self.link.hex()}\0{self.key_id}".encode()

    def pack(self, cipher: KeyCipher) -> bytes:
        line = f"{_MAGIC} {self.log_id.hex()} {self.seq} {self.link.hex()} {self.key_id} "
        line += cipher.mac(self.body()).hex()
        return line.encode().ljust(HEAD_SIZE - 1, b" ") + b"\n"

    @staticmethod
    def parse(data: bytes) -> StoredHead | None:
        """The head in ``data``, or ``None`` when it is not one (empty, foreign or mangled)."""
        fields = data.decode("ascii", "replace").split()
        if len(fields) != 6 or fields[0] != _MAGIC or not fields[2].isdigit():
            return None
        try:
            log_id, link, mac = bytes.fromhex(fields[1]), bytes.fromhex(fields[3]), bytes.fromhex(fields[5])
        except ValueError:
            return None
        if len(link) != LINK_SIZE:
            return None
        return StoredHead(log_id, int(fields[2]), link, fields[4], mac)

    def authentic(self, cipher_for: Callable[[str], KeyCipher | None]) -> bool:
        cipher = cipher_for(self.key_id)
        if cipher is None:
            return False
        return hmac.compare_digest(cipher.mac(self.body()), self.mac)


def open_head(directory: Path) -> int:
    """A descriptor on ``.head`` for reading and writing (created when missing, never through a link)."""
    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    return os.open(directory / HEAD_NAME, flags, 0o600)


def read_head_fd(fd: int) -> StoredHead | None:
    return StoredHead.parse(os.pread(fd, HEAD_SIZE, 0))


def read_head(directory: Path) -> tuple[StoredHead | None, str | None]:
    """(head, problem): no file is (None, None); a file that is not a head gives a problem message."""
    path = directory / HEAD_NAME
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"cannot read {HEAD_NAME}: {exc.strerror or exc}"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None, f"{HEAD_NAME} is not a regular file"
        data = os.pread(fd, HEAD_SIZE + 1, 0)
    finally:
        os.close(fd)
    if not data:
        return None, None  # created, never written: no record acknowledged yet
    head = StoredHead.parse(data)
    if head is None:
        return None, f"{HEAD_NAME} is not a head record (altered?)"
    return head, None


def write_head(fd: int, cipher: KeyCipher, head: StoredHead) -> None:
    """Store ``head`` unless the file already holds a later one of the same log (caller holds the lock)."""
    current = read_head_fd(fd)
    if current is not None and current.log_id == head.log_id and current.seq >= head.seq:
        return
    os.pwrite(fd, head.pack(cipher), 0)
