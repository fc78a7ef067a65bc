"""The on-disk format of the audit log, without I/O: segment headers, record frames, the chain hash.

Segment file ``segment-NNNNNNNN.pgal`` (all integers big-endian)::

    header (156 bytes)
      magic "PGAUDLOG" | version u16 = 1 | flags u16 = 0 | log id (16 random bytes)
      segment id u64 | first sequence number u64 | created (unix ns) u64
      chain link of the last record of the previous segment (32)
      key id (32, ASCII, NUL-padded) | key check value (8)
      HMAC-SHA256 of all of the above, with a header subkey of that key (32)
    frames, back to back
      length u32 (of ciphertext+tag) | kind u8 | seq u64 | time (unix ns) u64 | prev link (32)
      | nonce (12) | CRC-32 of the 65 bytes before it (4) | AES-256-GCM ciphertext + tag (length)

The plaintext of a frame is 16 secret random bytes followed by the record as compact UTF-8 JSON. The
associated data is ``log id | segment id | kind | seq | time | prev link``, so a record cannot be moved
to another log, segment or position, nor re-dated, without failing authentication. The chain link of a
record is ``SHA-256(kind | seq | time | prev link | plaintext)``: the next record carries it as ``prev
link``. The random prefix makes the link reveal nothing about the record, and because the link depends on
the plaintext (not the ciphertext), re-encrypting a segment under a new key keeps the chain intact. The
CRC only separates a torn or damaged frame header from an authentication failure; it is not security.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from prodguard.guard._audit.keys import KEY_ID_MAX, AuditKey

MAGIC = b"PGAUDLOG"
VERSION = 1
SEGMENT_PREFIX = "segment-"
SEGMENT_SUFFIX = ".pgal"
_HEADER_BODY = struct.Struct(">8sHH16sQQQ32s32s8s")
HEADER_SIZE = _HEADER_BODY.size + 32
_FRAME_HEAD = struct.Struct(">IBQQ32s12s")
_CRC = struct.Struct(">I")
FRAME_FIELDS, FRAME_CRC = _FRAME_HEAD, _CRC  # for the verifier's inlined hot loop
FRAME_HEAD_SIZE = _FRAME_HEAD.size + _CRC.size
NONCE_SIZE = 12
TAG_SIZE = 16
RANDOM_PREFIX_SIZE = 16
# A corrupt length must not make a reader allocate gigabytes; no real record comes near this.
MAX_CIPHERTEXT = 64 * 1024 * 1024
# Slice of the frame head that is authenticated as associated data and hashed into the chain link.
_BOUND = slice(4, 53)
LINK_SIZE = 32


class Kind(IntEnum):
    """What a frame holds. System records are written by the log itself and authenticated like data."""

    DATA = 1
    PURGE = 2  # checkpoint: segments before a point were removed on purpose
    RECOVERY = 3  # a torn tail left by a crash was cut off; how many bytes, where
    ROTATE = 4  # older segments were re-encrypted under a newer key


class FormatError(Exception):
    """Internal: a header that cannot be used. ``code`` classifies it for reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def segment_name(segment_id: int) -> str:
    return f"{SEGMENT_PREFIX}{segment_id:08d}{SEGMENT_SUFFIX}"


def parse_segment_name(name: str) -> int | None:
    if not (name.startswith(SEGMENT_PREFIX) and name.endswith(SEGMENT_SUFFIX)):
        return None
    digits = name[len(SEGMENT_PREFIX) : -len(SEGMENT_SUFFIX)]
    return int(digits) if digits.isdigit() and digits.isascii() else None


def genesis_link(log_id: bytes) -> bytes:
    """The ``prev link`` of the very first record of a log."""
    return hashlib.sha256(b"prodguard audit genesis" + log_id).digest()


class KeyCipher:
    """Everything derived from one key: the AEAD for records, the header MAC key, the key check value."""

    __slots__ = ("aead", "check", "key_id", "mac_key")

    def __init__(self, key: AuditKey) -> None:
        self.key_id = key.id
        self.aead = AESGCM(key.derive(b"records"))
        self.mac_key = key.derive(b"headers")
        self.check = key.check_value()

    def mac(self, body: bytes) -> bytes:
        return hmac.new(self.mac_key, body, hashlib.sha256).digest()


@dataclass(frozen=True)
class SegmentHeader:
    log_id: bytes
    segment_id: int
    first_seq: int
    created_ns: int
    prev_link: bytes
    key_id: str
    key_check: bytes
    mac: bytes = b""

    @property
    def binding(self) -> bytes:
        """The associated-data prefix shared by every record of this segment."""
        return self.log_id + self.segment_id.to_bytes(8, "big")

    def body(self) -> bytes:
        return _HEADER_BODY.pack(
            MAGIC,
            VERSION,
            0,
            self.log_id,
            self.segment_id,
            self.first_seq,
            self.created_ns,
            self.prev_link,
            self.key_id.encode("ascii").ljust(KEY_ID_MAX, b"\0"),
            self.key_check,
        )

    def pack(self, cipher: KeyCipher) -> bytes:
        body = self.body()
        return body + cipher.mac(body)

    @staticmethod
    def new(
        cipher: KeyCipher, log_id: bytes, segment_id: int, first_seq: int, created_ns: int, prev_link: bytes
    ) -> SegmentHeader:
        return SegmentHeader(
            log_id, segment_id, first_seq, created_ns, prev_link, cipher.key_id, cipher.check
        )


def parse_header(data: bytes) -> SegmentHeader:
    """Decode a header without authenticating it (see :func:`authenticate_header`)."""
    if len(data) < HEADER_SIZE:
        raise FormatError("truncated-header", f"header truncated ({len(data)} of {HEADER_SIZE} bytes)")
    magic, version, _flags, log_id, segment_id, first_seq, created, prev, raw_id, check = (
        _HEADER_BODY.unpack_from(data)
    )
    if magic != MAGIC:
        raise FormatError("bad-header", "not a prodguard audit segment (wrong magic bytes)")
    if version != VERSION:
        raise FormatError("bad-header", f"unsupported segment format version {version}")
    try:
        key_id = raw_id.rstrip(b"\0").decode("ascii")
    except UnicodeDecodeError:
        raise FormatError("bad-header", "key id in the header is not ASCII") from None
    mac = data[_HEADER_BODY.size : HEADER_SIZE]
    return SegmentHeader(log_id, segment_id, first_seq, created, prev, key_id, check, mac)


def authenticate_header(data: bytes, header: SegmentHeader, cipher: KeyCipher) -> None:
    if not hmac.compare_digest(header.key_check, cipher.check):
        raise FormatError(
            "wrong-key",
            f"written with a different key than the loaded key {header.key_id!r} "
            "(wrong key, or the header was altered)",
        )
    if not hmac.compare_digest(cipher.mac(data[: _HEADER_BODY.size]), header.mac):
        raise FormatError("bad-header", "header authentication failed (the header was altered)")


class FrameHead(NamedTuple):
    offset: int
    end: int
    kind: int
    seq: int
    ts_ns: int
    prev: bytes
    nonce: bytes
    bound: bytes  # the authenticated, hashed fields (kind, seq, time, prev link)


# Why a frame cannot be read at an offset.
TORN = "torn"  # fewer bytes than the frame says: a write cut short (crash) or a truncated file
ZEROS = "zeros"  # only NUL bytes to the end: space allocated, data never written (crash, no fsync)
CORRUPT = "corrupt"  # the frame header fails its checksum or holds an impossible length


def read_frame_head(buf: bytes, offset: int) -> FrameHead | str:
    size = len(buf)
    if size - offset < FRAME_HEAD_SIZE:
        return ZEROS if buf.count(0, offset) == size - offset else TORN
    head_end = offset + _FRAME_HEAD.size
    if zlib.crc32(buf[offset:head_end]) != _CRC.unpack_from(buf, head_end)[0]:
        return ZEROS if buf.count(0, offset) == size - offset else CORRUPT
    length, kind, seq, ts_ns, prev, nonce = _FRAME_HEAD.unpack_from(buf, offset)
    if length < TAG_SIZE or length > MAX_CIPHERTEXT:
        return CORRUPT
    end = head_end + _CRC.size + length
    if end > size:
        return TORN
    return FrameHead(offset, end, kind, seq, ts_ns, prev, nonce, buf[offset + 4 : offset + 53])


def open_frame(buf: bytes, head: FrameHead, cipher: KeyCipher, binding: bytes) -> bytes:
    """The plaintext of a frame; raises ``cryptography.exceptions.InvalidTag`` if anything was altered."""
    return cipher.aead.decrypt(
        head.nonce, buf[head.offset + FRAME_HEAD_SIZE : head.end], binding + head.bound
    )


def chain_link(bound: bytes, plaintext: bytes) -> bytes:
    digest = hashlib.sha256(bound)
    digest.update(plaintext)
    return digest.digest()


def seal_frame(
    cipher: KeyCipher,
    binding: bytes,
    kind: int,
    seq: int,
    ts_ns: int,
    prev: bytes,
    nonce: bytes,
    plaintext: bytes,
) -> tuple[bytes, bytes]:
    """A complete frame and its chain link. ``plaintext`` already starts with its random prefix."""
    head = _FRAME_HEAD.pack(len(plaintext) + TAG_SIZE, kind, seq, ts_ns, prev, nonce)
    bound = head[_BOUND]
    ciphertext = cipher.aead.encrypt(nonce, plaintext, binding + bound)
    link = hashlib.sha256(bound)
    link.update(plaintext)
    return b"".join((head, _CRC.pack(zlib.crc32(head)), ciphertext)), link.digest()
