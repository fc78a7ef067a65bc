"""Checks a candidate secret must pass once a rule's pattern matched.

Each check is a pure function of the candidate value. Named checks are listed in ``CHECKS``: a rule pack
asks for them by name (``validate.checks = ["jwt"]``), and the loader rejects unknown names.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable

from prodguard.rules.model import Validation


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


# Markers that make a value a placeholder wherever they stand in it.
_ANYWHERE = re.compile(
    r"x{4,}|X{4,}|\*{3,}|\.{3,}|…|[<>]|\$\{|\{\{|%\(|\$\(|redacted|placeholder|example|dummy|changeme"
    r"|change_me|replace_?me|insert_?your|fill_?me|your_?(?:api_?)?(?:key|token|secret)",
    re.IGNORECASE,
)
# Words that make a value a placeholder when they stand as a word of it (between separators or at an end),
# so that a random body that happens to contain ``test`` is not mistaken for one.
_WORDS = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:your|here|fake|test|testing|sample|mock|foo|bar|todo|secret|password|token|"
    r"apikey|api_key|key|mykey|invalid|not_?a_?real|null|undefined|xxx|abc|abcd)(?:$|[^A-Za-z0-9])",
    re.IGNORECASE,
)
_SAME_RUN = re.compile(r"(.)\1{5,}")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "9876543210", "zyxwvutsrqponmlkjihgfedcba")


def _has_sequence(value: str, length: int = 6) -> bool:
    lowered = value.lower()
    for seq in _SEQUENCES:
        for i in range(len(seq) - length + 1):
            if seq[i : i + length] in lowered:
                return True
    return False


def is_placeholder(value: str) -> bool:
    """True for values that are templates, documentation stand-ins or obviously fake fixtures."""
    return bool(
        _ANYWHERE.search(value) or _WORDS.search(value) or _SAME_RUN.search(value) or _has_sequence(value)
    )


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})


def is_hash_like(value: str) -> bool:
    """UUIDs, git SHAs and hex digests: high entropy, but not credentials on their own."""
    return bool(_UUID.match(value)) or (len(value) in _HASH_LENGTHS and bool(_HEX.match(value)))


def _not_hash_like(value: str) -> bool:
    return not is_hash_like(value)


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt(value: str) -> bool:
    """A JWT whose header decodes to a JSON object naming an algorithm and whose payload is JSON."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def github_checksum(body: str) -> str:
    """The 6-character base62 CRC32 GitHub appends to the 30 random characters of its tokens."""
    return _base62(zlib.crc32(body.encode("ascii")), 6)


def _github_checksum(value: str) -> bool:
    """GitHub's 2021 token format: prefix ``gh?_``, 30 random base62 characters, 6 checksum characters."""
    _, _, body = value.partition("_")
    if len(body) != 36:
        return True  # older or other formats carry no checksum; the pattern decided
    return github_checksum(body[:30]) == body[30:]


def _mixed_charset(value: str) -> bool:
    """At least two of: lower case, upper case, digits. Words and identifiers rarely have digits and case."""
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2


def _not_identifier_like(value: str) -> bool:
    """Rejects dotted or path-like names and code expressions that assignment patterns pick up."""
    if value.count(".") >= 2 or value.startswith(("/", "./", "http")):
        return False
    return not re.search(r"[()\[\]\s]", value)


CHECKS: dict[str, Callable[[str], bool]] = {
    "not_hash_like": _not_hash_like,
    "jwt": _jwt,
    "github_checksum": _github_checksum,
    "mixed_charset": _mixed_charset,
    "not_identifier_like": _not_identifier_like,
}


def passes(value: str, validation: Validation) -> bool:
    """True when ``value`` passes every check ``validation`` asks for."""
    if len(value) < validation.min_length:
        return False
    if validation.markers and not any(marker in value for marker in validation.markers):
        return False
    if validation.placeholder and is_placeholder(value):
        return False
    if validation.min_entropy and shannon_entropy(value) < validation.min_entropy:
        return False
    return all(CHECKS[name](value) for name in validation.checks)
