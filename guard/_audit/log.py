"""``AuditLog``: an encrypted, tamper-evident, append-only log of guarded calls.

Records are JSON objects encrypted with AES-256-GCM in length-framed segment files; each record's
associated data binds its sequence number, segment and the chain hash of the record before it (see
``format`` for the byte layout, ``writer`` for locking and durability, ``segments`` for the directory's
files, ``walk`` and ``report`` for verification, and docs/audit-log.md for the user guide).
"""

from __future__ import annotations

import collections
import json
import logging
import os
import secrets
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from prodguard.guard._audit.errors import AuditKeyError, AuditLogError, TamperDetected
from prodguard.guard._audit.format import (
    MAX_CIPHERTEXT,
    FormatError,
    KeyCipher,
    Kind,
    SegmentHeader,
    authenticate_header,
    parse_header,
    seal_frame,
)
from prodguard.guard._audit.head import HEAD_NAME, read_head
from prodguard.guard._audit.keys import Keyring
from prodguard.guard._audit.report import KEY_PROBLEMS, Head, Problem, RawRecord, VerifyReport
from prodguard.guard._audit.segments import (
    FileLock,
    fsync_directory,
    header_error,
    list_segments,
    read_segment,
    snapshot,
)
from prodguard.guard._audit.walk import Walker
from prodguard.guard._audit.writer import SegmentWriter, WriterOptions

__all__ = ["AuditLog", "Entry", "Head", "PurgeResult", "RotateResult", "TornTailWarning", "VerifyReport"]

FSYNC_POLICIES = ("always", "interval", "never")
# Purge never removes records younger than this.
MIN_PURGE_AGE = timedelta(days=1)
# One encoder for every record (json.dumps with options builds a new one per call).
_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_log = logging.getLogger("prodguard.audit")


class TornTailWarning(UserWarning):
    """Reading found an incomplete last record (a crash during a write). Earlier records are intact."""


class Entry(NamedTuple):
    """One decrypted record with where it lives. ``kind`` is ``data`` or a checkpoint kind."""

    segment: str
    position: int  # index of the record inside its segment, from 0
    seq: int
    time: datetime
    kind: str
    record: dict[str, Any]


@dataclass(frozen=True)
class PurgeResult:
    segments: tuple[str, ...]
    records: int
    through_seq: int | None


@dataclass(frozen=True)
class RotateResult:
    key_id: str
    segments: tuple[str, ...]
    records: int


class AuditLog:
    """An audit log in ``directory``. ``keys`` is a :class:`Keyring` or ``id:base64,…`` text (newest first);
    by default ``PRODGUARD_LOG_KEYS`` (or the file named by ``PRODGUARD_LOG_KEY_FILE``).

    ``fsync``: ``always`` (default: a record is on disk when ``append`` returns), ``interval`` (flushed
    every ``fsync_interval_ms`` by a background thread; a power loss may lose that window, a process
    crash loses nothing) or ``never`` (the OS decides). Safe to share between threads; several
    processes on one host may append to the same directory at the same time.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        keys: Keyring | str | None = None,
        *,
        fsync: str = "always",
        fsync_interval_ms: int = 100,
        segment_max_bytes: int = 64 * 1024 * 1024,
        segment_max_age: timedelta = timedelta(days=1),
        clock: Callable[[], int] | None = None,
    ) -> None:
        if fsync not in FSYNC_POLICIES:
            raise AuditLogError(f"fsync policy must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        if fsync_interval_ms <= 0 or segment_max_bytes <= 0 or segment_max_age <= timedelta(0):
            raise AuditLogError("fsync_interval_ms, segment_max_bytes and segment_max_age must be positive")
        if isinstance(keys, Keyring):
            self.keyring = keys
        elif isinstance(keys, str):
            self.keyring = Keyring.parse(keys, "keys")
        else:
            self.keyring = Keyring.from_env()
        self.directory = Path(directory)
        self._options = WriterOptions(
            fsync=fsync,
            fsync_interval_ms=fsync_interval_ms,
            segment_max_bytes=segment_max_bytes,
            segment_max_age_ns=int(segment_max_age.total_seconds() * 10**9),
            **({"clock": clock} if clock is not None else {}),
        )
        self._ciphers: dict[str, KeyCipher] = {}
        self._writer: SegmentWriter | None = None
        self._writer_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.directory)!r}, keys={list(self.keyring.ids)!r})"

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- writing

    def append(self, record: Mapping[str, Any]) -> int:
        """Encrypt and append one record (a JSON-serializable mapping); returns its sequence number.
        With ``fsync="always"`` the record is on disk when this returns."""
        if type(record) is not dict and not isinstance(record, Mapping):
            raise AuditLogError(f"an audit record must be a mapping, not {type(record).__name__}")
        try:
            payload = _JSON.encode(record if type(record) is dict else dict(record)).encode()
        except (TypeError, ValueError) as exc:
            # The message names the type only (json's own message may quote a value).
            raise AuditLogError(f"audit record is not JSON-serializable ({type(exc).__name__})") from None
        if len(payload) > MAX_CIPHERTEXT - 64:
            raise AuditLogError(f"audit record too large ({len(payload)} bytes; limit {MAX_CIPHERTEXT - 64})")
        try:
            return (self._writer or self._get_writer()).append(Kind.DATA, payload)
        except OSError as exc:
            raise AuditLogError(f"cannot write the audit log in {self.directory}: {exc.strerror}") from None

    def flush(self) -> None:
        """Force records appended so far to disk (useful with ``fsync="interval"`` or ``"never"``)."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush (unless the policy is ``never``) and release files. The log can be used again after."""
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _get_writer(self) -> SegmentWriter:
        with self._writer_lock:  # two threads' first appends must not create two writers
            if self._writer is None:
                self._writer = SegmentWriter(
                    self.directory, self._cipher_or_raise, self.keyring.newest.id, self._options
                )
        return self._writer

    def _cipher_or_raise(self, key_id: str) -> KeyCipher:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            key = self.keyring.get(key_id)
            if key is None:
                raise FormatError(
                    "unknown-key",
                    f"encrypted with key {key_id!r}, which is not loaded ({', '.join(self.keyring.ids)})",
                )
            cipher = self._ciphers[key_id] = KeyCipher(key)
        return cipher

    # ------------------------------------------------------------------------------------- reading

    def entries(self, *, since: datetime | None = None, system: bool = False) -> Iterator[Entry]:
        """Decrypted records in order, with their place; checkpoints too when ``system``. Raises
        :class:`TamperDetected` at the first record that fails a check and :class:`AuditKeyError` for a
        missing or wrong key; an incomplete last record (crash) gives a :class:`TornTailWarning`."""
        since_ns = int(since.timestamp() * 10**9) if since is not None else None
        for raw in self._walk(Walker(self.keyring, _raise_problem)):
            if (raw.kind == Kind.DATA or system) and (since_ns is None or raw.ts_ns >= since_ns):
                yield _entry(raw)

    def records(self, *, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """The decrypted records, oldest first (see :meth:`entries` for errors)."""
        for entry in self.entries(since=since):
            yield entry.record

    def verify(self, *, expect_head: Head | str | None = None) -> VerifyReport:
        """Check every segment and record; never raises for what it finds, it reports it. With
        ``expect_head`` (``SEQ:LINK`` saved from an earlier report), also detect records cut off the end."""
        if isinstance(expect_head, str):
            try:
                expect_head = Head.parse(expect_head)
            except ValueError as exc:
                raise AuditLogError(f"expected head: {exc}") from None
        problems: list[Problem] = []
        source, head_problem = "given", None
        if expect_head is None:
            expect_head, head_problem = self._stored_head()
            source = "stored"
        walker = Walker(self.keyring, problems.append, expect_head, head_source=source)
        collections.deque(self._walk(walker), maxlen=0)  # consume at C speed; the walker keeps score
        if head_problem is not None:
            code, message = head_problem
            if code == "head-key":
                # No header authenticates either: the key is the problem, not the log.
                code = "wrong-key" if walker.authenticated_segments == 0 else "head"
            problems.append(Problem(HEAD_NAME, None, None, None, code, message))
        return walker.report(problems)

    def _stored_head(self) -> tuple[Head | None, tuple[str, str] | None]:
        """The head the writers stored in ``.head`` (see ``_audit_head``) if it authenticates, or the
        problem with it: (code, message)."""
        stored, why = read_head(self.directory)
        if why is not None:
            return None, ("head", why)
        if stored is None:
            return None, None
        ciphers: dict[str, KeyCipher | None] = {}

        def cipher_for(key_id: str) -> KeyCipher | None:
            if key_id not in ciphers:
                key = self.keyring.get(key_id)
                ciphers[key_id] = KeyCipher(key) if key is not None else None
            return ciphers[key_id]

        if cipher_for(stored.key_id) is None:
            return None, ("unknown-key", f"the stored head is signed with key {stored.key_id!r}, which is not loaded")
        if not stored.authentic(cipher_for):
            return None, ("head-key", "the stored head fails authentication (altered, or another key)")
        return Head(stored.seq, stored.link.hex()), None

    def _walk(self, walker: Walker) -> Iterator[RawRecord]:
        if not self.directory.is_dir():
            raise AuditLogError(f"no audit log at {self.directory}")
        found = snapshot(self.directory)
        for number, (segment_id, path, size, inode) in enumerate(found):
            if size < 0:
                walker.segment_unusable(path.name, "not a regular file (a symbolic link, FIFO or directory)")
                continue
            buf = read_segment(path, size, inode)
            if buf is None:
                walker.segment_missing(path.name)
                continue
            yield from walker.segment(segment_id, path.name, buf, last=number == len(found) - 1)
        walker.finish()

    # --------------------------------------------------------------------------------- maintenance

    def purge(self, older_than: timedelta) -> PurgeResult:
        """Delete whole segments whose every record is older than ``older_than``, after appending a
        checkpoint (authenticated like any record) so that ``verify`` accepts the shortened log."""
        if older_than < MIN_PURGE_AGE:
            # Anyone holding the key could otherwise erase the whole history at once, the record of
            # what they just did included.
            raise AuditLogError(
                f"purge: records younger than {MIN_PURGE_AGE.days} day are always kept (asked for {older_than})"
            )
        writer = self._get_writer()
        cutoff = self._options.clock() - int(older_than.total_seconds() * 10**9)
        with writer.exclusive():
            _segment_id, _key, last_ts, has_records = writer.active
            if has_records and last_ts is not None and last_ts < cutoff:
                writer.roll()  # the active segment is old as a whole: seal it so it can go too
                just_sealed = writer.active[0] - 1
            else:
                just_sealed = None
            segments = list_segments(self.directory)
            headers = [self._header(path) for _sid, path in segments]
            victims = 0
            for number in range(len(segments) - 1):
                # Every record of a segment predates the creation of the next one.
                if headers[number + 1].created_ns < cutoff or segments[number][0] == just_sealed:
                    victims = number + 1
                else:
                    break
            if not victims:
                return PurgeResult((), 0, None)
            boundary = headers[victims]
            removed = tuple(path.name for _sid, path in segments[:victims])
            writer.write_system(
                Kind.PURGE,
                {
                    "event": "purge",
                    "through_seq": boundary.first_seq - 1,
                    "through_link": boundary.prev_link.hex(),
                    "segments": list(removed),
                    "cutoff": datetime.fromtimestamp(cutoff / 10**9, UTC).isoformat(timespec="seconds"),
                },
            )
            for _sid, path in segments[:victims]:
                path.unlink()
            fsync_directory(self.directory)
        return PurgeResult(removed, boundary.first_seq - headers[0].first_seq, boundary.first_seq - 1)

    def rotate(self) -> RotateResult:
        """Re-encrypt every sealed segment not under the newest key, one atomic file replacement each
        (write new, fsync, rename, fsync directory). The chain is unchanged; old keys can then go."""
        writer = self._get_writer()
        newest = self._cipher_or_raise(self.keyring.newest.id)
        with writer.exclusive():
            if writer.active[1] != newest.key_id:
                writer.roll()
            active_id = writer.active[0]
        rotated: list[str] = []
        records = 0
        with FileLock(self.directory / ".rotate.lock"):
            for stale in self.directory.glob(".segment-*.rotating-*"):
                stale.unlink()
            walker = Walker(self.keyring, _raise_problem)
            for segment_id, path, size, inode in snapshot(self.directory):
                if segment_id >= active_id:
                    break
                buf = read_segment(path, size, inode)
                if buf is None:
                    walker.segment_missing(path.name)
                    continue
                raws = list(walker.segment(segment_id, path.name, buf, last=False))
                header = parse_header(buf)
                if header.key_id == newest.key_id:
                    continue
                if self._replace_segment(writer, path, inode, _reencrypt(header, raws, newest)):
                    rotated.append(path.name)
                    records += len(raws)
            with writer.exclusive():
                if rotated:
                    writer.write_system(
                        Kind.ROTATE, {"event": "rotate", "key_id": newest.key_id, "segments": rotated}
                    )
        return RotateResult(newest.key_id, tuple(rotated), records)

    def _replace_segment(self, writer: SegmentWriter, path: Path, inode: int, data: bytes) -> bool:
        tmp = path.with_name(f".{path.name}.rotating-{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o400)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        with writer.exclusive():  # purge may have removed the segment meanwhile: never resurrect it
            try:
                same = os.stat(path).st_ino == inode
            except FileNotFoundError:
                same = False
            if same:
                os.replace(tmp, path)
                fsync_directory(self.directory)
            else:
                tmp.unlink()
        return same

    def _header(self, path: Path) -> SegmentHeader:
        with open(path, "rb") as handle:
            data = handle.read(256)
        try:
            header = parse_header(data)
            authenticate_header(data, header, self._cipher_or_raise(header.key_id))
        except FormatError as exc:
            raise header_error(path.name, exc) from None
        return header


def _reencrypt(header: SegmentHeader, raws: list[RawRecord], cipher: KeyCipher) -> bytes:
    new_header = SegmentHeader.new(
        cipher, header.log_id, header.segment_id, header.first_seq, header.created_ns, header.prev_link
    )
    parts = [new_header.pack(cipher)]
    binding = new_header.binding
    for raw in raws:
        # Same kind, seq, time, prev link and plaintext: the chain links are unchanged by construction.
        frame, _link = seal_frame(
            cipher, binding, raw.kind, raw.seq, raw.ts_ns, raw.bound[17:49], os.urandom(12), raw.plaintext
        )
        parts.append(frame)
    return b"".join(parts)


def _entry(raw: RawRecord) -> Entry:
    payload = raw.payload()
    kind = Kind(raw.kind).name.lower() if raw.kind in Kind._value2member_map_ else str(raw.kind)
    stamp = datetime.fromtimestamp(raw.ts_ns / 10**9, UTC)
    return Entry(
        raw.segment, raw.position, raw.seq, stamp, kind, payload if isinstance(payload, dict) else {}
    )


def _raise_problem(problem: Problem) -> None:
    """Readers stop at a problem, except an incomplete last record, which is a warning: the records
    before it are intact and it is what a crash leaves behind."""
    if problem.code in KEY_PROBLEMS:
        raise AuditKeyError(str(problem))
    if problem.code == "torn-tail":
        warnings.warn(TornTailWarning(str(problem)), stacklevel=3)
        _log.warning("audit log: %s", problem)
        return
    raise TamperDetected(f"{problem} (run `prodguard logs verify` for a full report)", problem)
