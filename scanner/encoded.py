"""Encoded values in a blob: where they are, and how each encoding is decoded into text to scan again.

The scanner decodes base64 only where a format stores credentials that way (a Kubernetes Secret's
``data:``, a Docker ``config.json``'s ``auths.*.auth``, an HTTP ``Basic`` header): each value is decoded
once and scanned again (one level deep), so that an OpenAI key in a Secret is reported as one. The guard
decodes every encoded value of a prompt or answer (``encoded_values``): base64, base64url, hex and
%-encoding. Bounded either way: at most ``MAX_DECODED`` values of at most 4 KiB (per encoding), and a
value is scanned only when it decodes to printable UTF-8 text.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from urllib.parse import unquote_to_bytes

Decoder = Callable[[bytes], bytes | None]
MAX_DECODED = 256
_BASIC = re.compile(rb"[ \t]+(?=[A-Za-z0-9+/]{8})")
_BASE64_VALUE = re.compile(rb"(?<![A-Za-z0-9+/=_.-])[A-Za-z0-9+/]{12,4096}={0,2}(?![A-Za-z0-9+/=_.-])")


def base64_values(data: bytes) -> list[tuple[int, int]]:
    """Spans of every base64 value (12 characters to 4 KiB) in ``data``."""
    return [m.span() for m in _BASE64_VALUE.finditer(data)]


def basic_values(data: bytes) -> list[tuple[int, int]]:
    """Spans of the base64 values after ``Basic``/``basic`` (a bytes search: a case-insensitive regex over
    every file would cost more than the rest of the scan)."""
    spans: list[tuple[int, int]] = []
    position = data.find(b"asic ")
    while position > 0 and len(spans) < MAX_DECODED:
        word_start = position - 1
        if data[word_start] in b"Bb" and (word_start == 0 or not chr(data[word_start - 1]).isalnum()):
            gap = _BASIC.match(data, position + 4)
            value = _BASE64_VALUE.match(data, gap.end()) if gap else None
            if value:
                spans.append(value.span())
        position = data.find(b"asic ", position + 5)
    return spans


# What the guard decodes: every run of base64, base64url, hex and %-encoding
# characters of 12 or more, found in one pass and sorted by its characters (a hex run is tried as base64
# too; "-" or "_" make a run base64url). 4 KiB of encoded text at most per value, as in the scanner.
_ENCODED_RUN = re.compile(rb"[A-Za-z0-9+/_=%-]{12,}")
_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")
_MAX_ENCODED = 4096


def encoded_values(data: bytes) -> dict[Decoder, list[tuple[int, int]]]:
    """Spans of the encoded values in ``data``, by the decoder each is tried with."""
    found: dict[Decoder, list[tuple[int, int]]] = {
        base64_text: [], base64url_text: [], hex_text: [], percent_text: []
    }
    for match in _ENCODED_RUN.finditer(data):
        start, end = match.span()
        run = match[0]
        if b"%" in run:
            if end - start <= 3 * _MAX_ENCODED:
                found[percent_text].append((start, end))
            continue
        if end - start > 2 * _MAX_ENCODED:
            continue
        if len(run) % 2 == 0 and _HEX_DIGITS.issuperset(run):
            found[hex_text].append((start, end))
        if end - start > _MAX_ENCODED:
            continue
        body = run.rstrip(b"=")
        if b"=" in body:
            continue  # "name=value": an assignment, not an encoded value
        if b"-" in body or b"_" in body:
            if b"+" not in body and b"/" not in body:
                found[base64url_text].append((start, end))
        else:
            found[base64_text].append((start, end))
    return found


def base64url_text(value: bytes) -> bytes | None:
    body = value.rstrip(b"=")
    try:
        return _printable(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (binascii.Error, ValueError):
        return None


def hex_text(value: bytes) -> bytes | None:
    return _printable(bytes.fromhex(value.decode("ascii")))


def percent_text(value: bytes) -> bytes | None:
    return _printable(unquote_to_bytes(value))


def _printable(decoded: bytes) -> bytes | None:
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return decoded if all(c.isprintable() or c in "\r\n\t" for c in text) else None


def base64_text(value: bytes) -> bytes | None:
    """``value`` base64-decoded, when that gives printable UTF-8 text (else it is not an encoded secret)."""
    try:
        decoded = base64.b64decode(value + b"=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable(decoded)
