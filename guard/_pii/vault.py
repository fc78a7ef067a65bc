"""The reversible half of the PII step: values out, placeholders in, and back again in the answer.

A ``PiiVault`` lives for one call or conversation. ``pseudonymize`` replaces every detected value with a
typed, numbered placeholder (``<PERSON_1>``, ``<EMAIL_ADDRESS_2>``); the same value always gets the same
placeholder, in every text given to the vault, and a value the vault already knows is replaced wherever it
appears again even if detection misses it there. ``restore`` maps placeholders back; a
``StreamRestorer`` does the same for text arriving in chunks, holding back only what could be the start of
a placeholder. ``to_encrypted``/``from_encrypted`` persist a vault with AES-256-GCM.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Protocol

from prodguard.guard._pii.types import PiiSpan, PiiVaultError


class PiiAnalyzer(Protocol):
    """What a vault needs from an analyzer (``prodguard.guard._pii.analyzer.PiiAnalyzer`` is one)."""

    def analyze(self, text: str) -> list[PiiSpan]: ...

PLACEHOLDER = re.compile(r"<([A-Z][A-Z_]*)_(\d{1,9})>")
# What a placeholder looks like before its closing ">" has arrived.
_PARTIAL = re.compile(r"<(?:[A-Z][A-Z_]*\d*)?")
_MAX_PLACEHOLDER = 48
_MAGIC = b"PGV1"
_NONCE = 12


class PiiVault:
    """Maps detected values to placeholders and back, for one call or conversation. Thread-safe."""

    def __init__(self, analyzer: PiiAnalyzer) -> None:
        self._analyzer = analyzer
        self._by_value: dict[str, str] = {}
        self._by_placeholder: dict[str, str] = {}
        self._counters: dict[str, int] = {}
        self._known: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._by_value)

    def placeholders(self) -> dict[str, str]:
        """A copy of the mapping, placeholder -> value (for tests and audits; handle as PII)."""
        with self._lock:
            return dict(self._by_placeholder)

    def pseudonymize(self, text: str) -> str:
        """``text`` with every PII value replaced by its placeholder."""
        spans = self._analyzer.analyze(text)
        with self._lock:
            spans = self._add_known(text, spans)
            if not spans:
                return text
            out: list[str] = []
            at = 0
            for span in spans:
                out.append(text[at : span.start])
                out.append(self._placeholder(text[span.start : span.end], span.entity_type, text))
                at = span.end
            out.append(text[at:])
            return "".join(out)

    def restore(self, text: str, *, json_string: bool = False) -> str:
        """``text`` with this vault's placeholders replaced by their values; unknown ones stay as they are.

        ``json_string=True`` escapes the values for the inside of a JSON string (tool-call arguments).
        """
        if "<" not in text or not self._by_placeholder:
            return text
        table = self._by_placeholder

        def value(match: re.Match[str]) -> str:
            found = table.get(match.group(0))
            if found is None:
                return match.group(0)
            return json.dumps(found, ensure_ascii=False)[1:-1] if json_string else found

        return PLACEHOLDER.sub(value, text)

    def stream_restorer(self, *, json_string: bool = False) -> StreamRestorer:
        """A restorer for one stream of chunks (one per choice / output item)."""
        return StreamRestorer(self, json_string=json_string)

    # -- persistence ---------------------------------------------------------------------------------

    def to_encrypted(self, key: bytes) -> bytes:
        """The vault's mapping, encrypted and authenticated with AES-256-GCM under a 32-byte ``key``."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _check_key(key)
        with self._lock:
            payload = json.dumps(
                {"placeholders": self._by_placeholder, "counters": self._counters}, ensure_ascii=False
            ).encode("utf-8")
        nonce = os.urandom(_NONCE)
        return _MAGIC + nonce + AESGCM(key).encrypt(nonce, payload, _MAGIC)

    @classmethod
    def from_encrypted(cls, analyzer: PiiAnalyzer, blob: bytes, key: bytes) -> PiiVault:
        """A vault restored from ``to_encrypted`` output; ``PiiVaultError`` on a wrong key or damaged blob."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        _check_key(key)
        if len(blob) < len(_MAGIC) + _NONCE + 16 or not blob.startswith(_MAGIC):
            raise PiiVaultError("not an encrypted prodguard PII vault (unknown format or truncated)")
        nonce, sealed = blob[len(_MAGIC) : len(_MAGIC) + _NONCE], blob[len(_MAGIC) + _NONCE :]
        try:
            payload = AESGCM(key).decrypt(nonce, sealed, _MAGIC)
        except InvalidTag:
            raise PiiVaultError("the PII vault could not be decrypted: wrong key or tampered data") from None
        try:
            data = json.loads(payload)
            placeholders = {str(p): str(v) for p, v in data["placeholders"].items()}
            counters = {str(t): int(n) for t, n in data["counters"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise PiiVaultError("the PII vault's contents are malformed") from None
        vault = cls(analyzer)
        vault._by_placeholder = placeholders
        vault._by_value = {v: p for p, v in placeholders.items()}
        vault._counters = counters
        return vault

    # -- internals (called with the lock held) ---------------------------------------------------------

    def _placeholder(self, value: str, entity_type: str, text: str) -> str:
        existing = self._by_value.get(value)
        if existing is not None:
            return existing
        n = self._counters.get(entity_type, 0)
        while True:
            n += 1
            placeholder = f"<{entity_type}_{n}>"
            # Skip a number the text itself already uses, so restoring cannot confuse the two.
            if placeholder not in text and placeholder not in self._by_placeholder:
                break
        self._counters[entity_type] = n
        self._by_value[value] = placeholder
        self._by_placeholder[placeholder] = value
        self._known = None
        return placeholder

    def _add_known(self, text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
        """Add spans for values the vault already holds that detection missed in this text."""
        if not self._by_value:
            return spans
        if self._known is None:
            alternatives = "|".join(re.escape(v) for v in sorted(self._by_value, key=len, reverse=True))
            self._known = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        extra = []
        for match in self._known.finditer(text):
            if any(match.start() < s.end and s.start < match.end() for s in spans):
                continue
            entity = PLACEHOLDER.fullmatch(self._by_value[match.group()])
            extra.append(PiiSpan(match.start(), match.end(), entity.group(1) if entity else "PII", 1.0))
        return sorted(spans + extra) if extra else spans


class StreamRestorer:
    """Restores placeholders in a stream of text chunks.

    ``feed`` returns everything that can safely be shown now, restored; it holds back only a trailing
    fragment that could still become a placeholder (``<PERS`` ...), at most a few dozen characters.
    ``flush`` returns whatever is held back at the end of the stream.
    """

    def __init__(self, vault: PiiVault, *, json_string: bool = False) -> None:
        self._vault = vault
        self._json = json_string
        self._pending = ""

    def feed(self, chunk: str, last: bool = False) -> str:
        buffer = self._pending + chunk
        if last:
            self._pending = ""
            return self._vault.restore(buffer, json_string=self._json)
        cut = buffer.rfind("<")
        if cut == -1 or len(buffer) - cut > _MAX_PLACEHOLDER or not _PARTIAL.fullmatch(buffer, cut):
            cut = len(buffer)
        self._pending = buffer[cut:]
        return self._vault.restore(buffer[:cut], json_string=self._json)

    def flush(self) -> str:
        rest, self._pending = self._pending, ""
        return self._vault.restore(rest, json_string=self._json)


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes | bytearray) or len(key) != 32:
        raise PiiVaultError("the vault key must be 32 bytes (AES-256)")
