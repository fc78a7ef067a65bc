"""Input sanitization: Unicode normalization, invisible and control characters, length caps.

Invisible format characters (zero-width spaces, bidirectional overrides used in "Trojan Source" attacks,
Unicode tag characters used to smuggle hidden instructions) carry no meaning a user intended to send and
are a known prompt-injection vector, so they are removed rather than escaped.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from prodguard.guard._errors import InputRejected
from prodguard.guard._policy.policy import SanitizeSettings

_KEEP_CONTROLS = frozenset("\n\t\r")
# A rough, tokenizer-free estimate: English text averages about four characters per token.
CHARS_PER_TOKEN = 4


def clean(text: str) -> str:
    """NFKC-normalized ``text`` without format (Cf) characters and without control characters other
    than newline, tab and carriage return."""
    normalized = unicodedata.normalize("NFKC", text)
    if normalized.isascii() and normalized.isprintable():
        return normalized
    return "".join(
        ch
        for ch in normalized
        if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in ("Cf", "Cc", "Cs")
    )


@dataclass
class LengthBudget:
    """Counts characters across all text slots of one request and enforces the caps."""

    settings: SanitizeSettings
    used_chars: int = 0

    def take(self, text: str) -> str:
        remaining = min(self.settings.max_chars, self.settings.max_tokens * CHARS_PER_TOKEN) - self.used_chars
        if len(text) <= remaining:
            self.used_chars += len(text)
            return text
        if self.settings.on_overflow == "truncate":
            kept = text[: max(remaining, 0)]
            self.used_chars += len(kept)
            return kept
        raise InputRejected(
            f"input is longer than the policy allows ({self.settings.max_chars} characters / "
            f"about {self.settings.max_tokens} tokens)"
        )
