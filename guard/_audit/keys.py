"""Audit log keys: parsing ``PRODGUARD_LOG_KEYS`` and key files, generating keys, deriving per-purpose
subkeys.

A keyring is an ordered list of ``id:base64`` entries, newest first. New segments are written with the
newest key; older keys stay in the ring so that segments written before a rotation remain readable
until ``prodguard logs rotate`` re-encrypts them. Key material never appears in a message or ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prodguard.guard._audit.errors import AuditKeyError

ENV_KEYS = "PRODGUARD_LOG_KEYS"
ENV_KEY_FILE = "PRODGUARD_LOG_KEY_FILE"
KEY_BYTES = 32  # AES-256
KEY_ID_MAX = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class AuditKey:
    """One key: its public id (stored in segment headers) and 32 secret bytes (never printed)."""

    id: str
    secret: bytes = field(repr=False)

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte subkey for one purpose (HKDF-SHA256), so the AEAD key and the header MAC key differ."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        return HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"prodguard audit v1 " + purpose
        ).derive(self.secret)

    def check_value(self) -> bytes:
        """8 bytes stored in each segment header that tell "wrong key" apart from "altered header"."""
        return hmac.new(self.derive(b"key check"), b"prodguard audit key check", hashlib.sha256).digest()[:8]


@dataclass(frozen=True)
class Keyring:
    """Keys newest first. ``source`` says where they came from, for error messages."""

    keys: tuple[AuditKey, ...]
    source: str = "keys"

    def __post_init__(self) -> None:
        if not self.keys:
            raise AuditKeyError(f"{self.source}: no audit log key")
        seen: set[str] = set()
        for key in self.keys:
            if key.id in seen:
                raise AuditKeyError(f"{self.source}: key id {key.id!r} appears twice")
            seen.add(key.id)

    @property
    def newest(self) -> AuditKey:
        return self.keys[0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.keys)

    def get(self, key_id: str) -> AuditKey | None:
        for key in self.keys:
            if key.id == key_id:
                return key
        return None

    def __iter__(self) -> Iterator[AuditKey]:
        return iter(self.keys)

    @classmethod
    def parse(cls, text: str, source: str = "keys") -> Keyring:
        """``id:base64`` entries separated by commas, spaces or newlines; ``#`` starts a comment line."""
        entries = [
            token
            for line in text.splitlines()
            if not line.lstrip().startswith("#")
            for token in _SEPARATORS.split(line.strip())
            if token
        ]
        return cls(tuple(_parse_entry(entry, n, source) for n, entry in enumerate(entries, 1)), source)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Keyring:
        """``PRODGUARD_LOG_KEYS``, else the file named by ``PRODGUARD_LOG_KEY_FILE``."""
        env = os.environ if environ is None else environ
        text = env.get(ENV_KEYS, "").strip()
        if text:
            return cls.parse(text, ENV_KEYS)
        path = env.get(ENV_KEY_FILE, "").strip()
        if path:
            return cls.from_file(path)
        raise AuditKeyError(
            f"no audit log key: set {ENV_KEYS} (id:base64, newest first) or {ENV_KEY_FILE}, "
            "or pass --key-file; create one with `prodguard logs keygen`"
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a key file, refusing one that group or others could read or write."""
        return cls.parse(read_key_file(Path(path)), f"key file {os.fspath(path)}")


def _parse_entry(entry: str, number: int, source: str) -> AuditKey:
    key_id, sep, encoded = entry.partition(":")
    if not sep:
        raise AuditKeyError(f"{source}: entry {number} is not id:base64")
    if not _KEY_ID.match(key_id):
        raise AuditKeyError(
            f"{source}: entry {number}: key id must be 1-{KEY_ID_MAX} characters of letters, digits, '.', '_', '-'"
        )
    try:
        # Accept the URL-safe alphabet and missing padding too: keys get pasted between tools.
        standard = encoded.replace("-", "+").replace("_", "/")
        secret = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AuditKeyError(f"{source}: key {key_id!r} is not valid base64") from None
    if len(secret) != KEY_BYTES:
        raise AuditKeyError(f"{source}: key {key_id!r} must be {KEY_BYTES} bytes, not {len(secret)}")
    return AuditKey(key_id, secret)


def read_key_file(path: Path) -> str:
    """The text of a key file whose mode is 0600 or narrower."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AuditKeyError(f"key file {path} does not exist") from None
    except OSError as exc:
        raise AuditKeyError(f"key file {path}: {exc.strerror}") from None
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise AuditKeyError(
            f"key file {path} has mode {mode:04o}: group or others can access it; run `chmod 600 {path}`"
        )
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"key file {path} cannot be read: {type(exc).__name__}") from None


def generate_key(key_id: str | None = None) -> AuditKey:
    """A new random key; the default id is the date plus a random suffix (``k20260509-3fa2``)."""
    key_id = key_id or f"k{time.strftime('%Y%m%d', time.gmtime())}-{secrets.token_hex(2)}"
    if not _KEY_ID.match(key_id):
        raise AuditKeyError(
            f"key id must be 1-{KEY_ID_MAX} characters of letters, digits, '.', '_', '-' (got {len(key_id)} characters)"
        )
    return AuditKey(key_id, secrets.token_bytes(KEY_BYTES))


def format_key(key: AuditKey) -> str:
    """``id:base64`` — the one place key material is turned into text (for keygen's output)."""
    return f"{key.id}:{base64.b64encode(key.secret).decode('ascii')}"


def add_key_to_file(path: Path, key: AuditKey) -> Keyring:
    """Put ``key`` first in the key file (creating it with mode 0600), atomically; returns the new ring."""
    existing: tuple[AuditKey, ...] = ()
    if path.exists():
        existing = Keyring.from_file(path).keys
    ring = Keyring((key, *existing), f"key file {path}")
    lines = ["# prodguard audit log keys, newest first. Keep this file private (mode 0600)."]
    lines += [format_key(k) for k in ring.keys]
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ring
