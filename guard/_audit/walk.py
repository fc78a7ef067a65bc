"""Reading an audit log in order and checking everything that can be checked: headers, frames,
authentication, sequence numbers, the chain inside and across segments, purge checkpoints.

One walker serves every reader: :meth:`AuditLog.verify` collects every problem, :meth:`AuditLog.records`
stops at the first one, ``rotate`` re-encrypts what it reads. Problems name the segment file, the record
index inside it (0-based), the byte offset and the sequence number; never record contents.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag

from prodguard.guard._audit.format import (
    CORRUPT,
    FRAME_CRC,
    FRAME_FIELDS,
    FRAME_HEAD_SIZE,
    HEADER_SIZE,
    MAX_CIPHERTEXT,
    TAG_SIZE,
    TORN,
    ZEROS,
    FormatError,
    KeyCipher,
    Kind,
    authenticate_header,
    genesis_link,
    parse_header,
    read_frame_head,
)
from prodguard.guard._audit.keys import Keyring
from prodguard.guard._audit.report import Head, Notice, Problem, RawRecord, VerifyReport


def _sequence_message(seq: int, expected: int) -> str:
    if seq > expected:
        gap = f"seq {expected}" if seq == expected + 1 else f"seqs {expected} to {seq - 1}"
        return f"has seq {seq} where {expected} was expected: {gap} missing or moved"
    return f"has seq {seq} after seq {expected - 1}: out of order or duplicated"


@dataclass
class Walker:
    """Walk segments in order. ``on_problem`` decides: collect (verify) or raise (readers)."""

    keyring: Keyring
    on_problem: Callable[[Problem], None]
    expect_head: Head | None = None
    # Where expect_head came from: "given" (by the caller) or "stored" (the log's own .head file).
    head_source: str = "given"
    segments: int = 0
    authenticated_segments: int = 0
    records: int = 0
    system_records: int = 0
    notices: list[Notice] = field(default_factory=list)
    _ciphers: dict[str, KeyCipher] = field(default_factory=dict)
    _log_id: bytes | None = None
    _previous_id: int | None = None
    _expected_seq: int | None = None
    _expected_prev: bytes | None = None
    _start: tuple[str, int, bytes] | None = None  # first segment: name, first seq, prev link
    _purges: dict[int, bytes] = field(default_factory=dict)  # through seq -> through link
    _last: tuple[int, bytes] | None = None  # seq and chain link of the last good record
    _anchor_seen: bool = False
    _last_segment: str = ""

    def cipher(self, key_id: str) -> KeyCipher | None:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            key = self.keyring.get(key_id)
            if key is None:
                return None
            cipher = self._ciphers[key_id] = KeyCipher(key)
        return cipher

    def segment_missing(self, name: str) -> None:
        """A segment listed when the walk started disappeared before it was read (purged meanwhile)."""
        self._problem(
            name, None, None, None, "vanished", "segment disappeared while reading (purged meanwhile?)"
        )
        self._expected_seq = self._expected_prev = None

    def segment_unusable(self, name: str, why: str) -> None:
        """A segment name that is not a readable regular file (a symbolic link, a directory, a FIFO)."""
        self._problem(name, None, None, None, "not-a-segment", f"{why}; not read")
        self._expected_seq = self._expected_prev = None

    def segment(self, segment_id: int, name: str, buf: bytes, *, last: bool) -> Iterator[RawRecord]:
        """Check one segment and yield its authenticated records."""
        self.segments += 1
        self._last_segment = name
        if self._previous_id is not None and segment_id != self._previous_id + 1:
            first, final = self._previous_id + 1, segment_id - 1
            missing = f"segment {first}" if first == final else f"segments {first} to {final}"
            self._problem(
                name, None, None, None, "missing-segment", f"{missing} before this one are missing (deleted?)"
            )
            self._expected_seq = self._expected_prev = None
        self._previous_id = segment_id
        try:
            header = parse_header(buf)
            cipher = self.cipher(header.key_id)
            if cipher is None:
                loaded = ", ".join(self.keyring.ids)
                raise FormatError(
                    "unknown-key",
                    f"encrypted with key {header.key_id!r}, which is not loaded (loaded: {loaded}); "
                    "add it to the keyring, or the header was altered",
                )
            authenticate_header(buf, header, cipher)
            self.authenticated_segments += 1
        except FormatError as exc:
            self._problem(name, None, None, None, exc.code, f"header: {exc}; its records were not checked")
            self._expected_seq = self._expected_prev = None
            return
        if header.segment_id != segment_id:
            self._problem(
                name, None, 0, None, "renamed", f"header says segment {header.segment_id}: file renamed"
            )
        if self._log_id is None:
            self._log_id = header.log_id
        elif header.log_id != self._log_id:
            self._problem(
                name, None, 0, None, "foreign-segment", "belongs to a different audit log (log id differs)"
            )
        if self._start is None and self._expected_seq is None and self.segments == 1:
            self._start = (name, header.first_seq, header.prev_link)
        elif self._expected_seq is not None and (
            header.first_seq != self._expected_seq or header.prev_link != self._expected_prev
        ):
            self._problem(
                name,
                None,
                0,
                None,
                "chain-broken",
                f"starts at seq {header.first_seq} but does not continue the previous segment, which ended "
                f"at seq {self._expected_seq - 1} (records or segments removed or replaced)",
            )
        yield from self._frames(name, buf, header.binding, cipher, header.first_seq, header.prev_link, last)

    def _frames(
        self, name: str, buf: bytes, binding: bytes, cipher: KeyCipher, seq0: int, prev0: bytes, last: bool
    ) -> Iterator[RawRecord]:
        # The hot loop of verification (>= 100,000 records/s): frame parsing is inlined and the common
        # case takes no detour; read_frame_head classifies a frame only when something is off.
        expected_seq: int | None = seq0
        expected_prev: bytes | None = prev0
        offset, index, size = HEADER_SIZE, 0, len(buf)
        view = memoryview(buf)
        unpack, crc_of, decrypt, sha256 = (
            FRAME_FIELDS.unpack_from,
            FRAME_CRC.unpack_from,
            cipher.aead.decrypt,
            hashlib.sha256,
        )
        head_size, crc_at = FRAME_HEAD_SIZE, FRAME_FIELDS.size
        expect = self.expect_head
        while offset < size:
            body = offset + head_size
            end = -1
            if body <= size:
                length, kind, seq, ts_ns, prev, nonce = unpack(buf, offset)
                end = body + length
                if not (
                    TAG_SIZE <= length <= MAX_CIPHERTEXT
                    and end <= size
                    and zlib.crc32(view[offset : offset + crc_at]) == crc_of(buf, offset + crc_at)[0]
                ):
                    end = -1
            if end < 0:
                why = read_frame_head(buf, offset)
                assert isinstance(why, str)
                if not self._bad_frame(name, buf, index, offset, why, last):
                    break
                offset = self._skip(buf, offset)
                if offset < 0:
                    break
                expected_seq = expected_prev = None
                index += 1
                continue
            bound = buf[offset + 4 : offset + 53]
            try:
                plaintext = decrypt(nonce, view[body:end], binding + bound)
            except InvalidTag:
                self._problem(
                    name,
                    index,
                    offset,
                    seq,
                    "auth-failed",
                    "authentication failed: nonce, ciphertext, tag or header fields were altered, "
                    "or the record was written with another key",
                )
                expected_seq, expected_prev = seq + 1, None
                offset, index = end, index + 1
                continue
            if expected_seq is not None and seq != expected_seq:
                self._problem(name, index, offset, seq, "sequence", _sequence_message(seq, expected_seq))
            elif expected_prev is not None and prev != expected_prev:
                self._problem(
                    name,
                    index,
                    offset,
                    seq,
                    "chain-broken",
                    "does not follow the record before it (chain hash mismatch: record replaced or reordered)",
                )
            digest = sha256(bound)
            digest.update(plaintext)
            link = digest.digest()
            expected_seq, expected_prev = seq + 1, link
            record = RawRecord(name, index, offset, kind, seq, ts_ns, bound, plaintext)
            if kind == Kind.DATA:
                self.records += 1
            else:
                self.system_records += 1
                self._system(record)
            self._last = (seq, link)
            if expect is not None and seq == expect.seq:
                self._anchor_seen = True
                if link.hex() != expect.link:
                    self._problem(name, index, offset, seq, "anchor", "differs from the expected head")
            yield record
            offset, index = end, index + 1
        self._expected_seq, self._expected_prev = expected_seq, expected_prev

    def _bad_frame(self, name: str, buf: bytes, index: int, offset: int, why: str, last: bool) -> bool:
        """Report an unreadable frame; returns whether reading may continue after it."""
        remaining = len(buf) - offset
        # Only the active (last) segment can be torn by a crash; a sealed one was complete when sealed.
        code, sealed = ("torn-tail", "") if last else ("truncated-segment", " of a sealed segment")
        if why == ZEROS:
            message = (
                f"{remaining} zero bytes at the end{sealed}: a write that never reached the disk (crash)"
            )
            self._problem(name, index, offset, None, code, message)
            return False
        if why == TORN:
            message = (
                f"incomplete record at the end{sealed} ({remaining} bytes): torn by a crash during a write, "
                "or the file was truncated"
            )
            self._problem(name, index, offset, None, code, message)
            return False
        assert why == CORRUPT
        self._problem(name, index, offset, None, "corrupt-frame", "frame header corrupt (checksum or length)")
        return True

    @staticmethod
    def _skip(buf: bytes, offset: int) -> int:
        """After a corrupt frame header, continue only if its length leads exactly to another good frame."""
        length = int.from_bytes(buf[offset : offset + 4], "big")
        nxt = offset + FRAME_HEAD_SIZE + length
        if nxt == len(buf) or (nxt < len(buf) and not isinstance(read_frame_head(buf, nxt), str)):
            return nxt
        return -1

    def _system(self, record: RawRecord) -> None:
        try:
            payload = record.payload()
            if record.kind == Kind.PURGE:
                self._purges[int(payload["through_seq"])] = bytes.fromhex(payload["through_link"])
                message = (
                    f"purge checkpoint: records up to seq {payload['through_seq']} removed on purpose "
                    f"({len(payload['segments'])} segments older than {payload['cutoff']})"
                )
            elif record.kind == Kind.RECOVERY:
                message = (
                    f"recovered after a crash: {payload['torn_bytes']} bytes of an incomplete record were cut "
                    f"from {payload['segment']} at byte {payload['offset']}"
                )
                if "lost_records" in payload:
                    # Records the stored head vouched for were gone when a writer re-opened the log: not
                    # what a crash does (it only loses what was never acknowledged).
                    self._problem(
                        record.segment,
                        record.position,
                        record.offset,
                        record.seq,
                        "records-lost",
                        f"{int(payload['lost_records'])} acknowledged records (seq {int(payload['lost_from_seq'])} "
                        f"to {int(payload['lost_through_seq'])}) were missing from {payload['segment']} when the "
                        f"log was next written (cut back or deleted); the writer found records up to seq "
                        f"{int(payload['found_through_seq'])} and resumed numbering after the lost ones",
                    )
                    return
            elif record.kind == Kind.ROTATE:
                message = f"{len(payload['segments'])} segments re-encrypted under key {payload['key_id']!r}"
            else:
                self._problem(
                    record.segment,
                    record.position,
                    record.offset,
                    record.seq,
                    "unknown-kind",
                    f"unknown record kind {record.kind}",
                )
                return
        except (ValueError, KeyError, TypeError):
            self._problem(
                record.segment,
                record.position,
                record.offset,
                record.seq,
                "bad-system-record",
                "system record has an unexpected payload",
            )
            return
        self.notices.append(Notice(record.segment, record.position, record.seq, message))

    def finish(self) -> None:
        """Checks that need the whole log: how it starts (purged on purpose?) and the expected head."""
        if self._start is not None and self._log_id is not None:
            name, first_seq, prev = self._start
            if (first_seq, prev) != (1, genesis_link(self._log_id)):
                if self._purges.get(first_seq - 1) == prev:
                    self.notices.append(
                        Notice(name, None, None, f"the log starts at seq {first_seq} (purged before)")
                    )
                else:
                    self._problem(
                        name,
                        None,
                        0,
                        None,
                        "missing-start",
                        f"the log starts at seq {first_seq}: earlier records are missing and no purge "
                        "checkpoint accounts for them (segments deleted?)",
                    )
        if self.expect_head is not None and not self._anchor_seen:
            last = self._last[0] if self._last else 0
            if last < self.expect_head.seq and self.head_source == "stored":
                self._problem(
                    self._last_segment or "(no segments)",
                    None,
                    None,
                    None,
                    "records-lost",
                    f"the log ends at seq {last}, but records up to seq {self.expect_head.seq} were "
                    f"acknowledged (.head): {self.expect_head.seq - last} records removed from the end",
                )
            elif last < self.expect_head.seq:
                self._problem(
                    self._last_segment or "(no segments)",
                    None,
                    None,
                    None,
                    "anchor",
                    f"the log ends at seq {last}, before the expected head seq {self.expect_head.seq} "
                    "(records removed from the end?)",
                )
            elif self.head_source == "stored":
                pass  # the stored head is behind a later purge or is stale; the chain checks the rest
            else:
                self.notices.append(
                    Notice("", None, None, "expected head was purged; it could not be checked")
                )

    def report(self, problems: list[Problem]) -> VerifyReport:
        return VerifyReport(
            self.segments,
            self.records,
            self.system_records,
            tuple(problems),
            tuple(self.notices),
            Head(self._last[0], self._last[1].hex()) if self._last else None,
            self.authenticated_segments,
        )

    def _problem(
        self, segment: str, record: int | None, offset: int | None, seq: int | None, code: str, message: str
    ) -> None:
        self.on_problem(Problem(segment, record, offset, seq, code, message))
