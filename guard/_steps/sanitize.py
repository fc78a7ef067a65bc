"""The sanitize steps: Unicode clean-up before the secret scan, the length cap after it.

Invisible format characters (zero-width spaces, bidirectional overrides used in "Trojan Source"
attacks, Unicode tag characters used to smuggle hidden instructions) carry no meaning a user intended
to send and are a known prompt-injection vector, so they are removed rather than escaped. NFKC runs
first so that a full-width key is a key to the secret scan.

The length cap runs after the secret scan: ``on_overflow = "truncate"`` never sends part of a key,
and never cuts inside a redaction placeholder.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from prodguard.guard._body import map_texts
from prodguard.guard._call import Call
from prodguard.guard._errors import InputRejected
from prodguard.guard._io import Flow
from prodguard.guard._policy.policy import SanitizeSettings
from prodguard.guard._steps.base import StepBase

_KEEP_CONTROLS = frozenset("\n\t\r")
# A rough, tokenizer-free estimate: English text averages about four characters per token.
CHARS_PER_TOKEN = 4
_PLACEHOLDER_OPEN = "[REDACTED:"


def clean(text: str) -> str:
    """NFKC-normalized ``text`` without format (Cf) characters and without control characters other
    than newline, tab and carriage return."""
    if text.isascii() and text.isprintable():
        return text
    normalized = unicodedata.normalize("NFKC", text)
    if normalized.isascii() and normalized.isprintable():
        return normalized
    return "".join(ch for ch in normalized if ch in _KEEP_CONTROLS or unicodedata.category(ch) not in ("Cf", "Cc", "Cs"))


class CleanStep(StepBase):
    name = "sanitize"

    def request(self, call: Call) -> Flow[None]:
        body = map_texts(call.body, clean)
        if body is not call.body:
            call.body, call.changed = body, True
        return
        yield


@dataclass
class _Budget:
    settings: SanitizeSettings
    used: int = 0

    def take(self, text: str) -> str:
        remaining = min(self.settings.max_chars, self.settings.max_tokens * CHARS_PER_TOKEN) - self.used
        if len(text) <= remaining:
            self.used += len(text)
            return text
        if self.settings.on_overflow != "truncate":
            raise InputRejected(
                f"input is longer than the policy allows ({self.settings.max_chars} characters / "
                f"about {self.settings.max_tokens} tokens)"
            )
        cut = max(remaining, 0)
        opened = text.rfind(_PLACEHOLDER_OPEN, 0, cut)
        if opened >= 0 and text.find("]", opened) >= cut:
            cut = opened  # never send half a placeholder
        self.used += cut
        return text[:cut]


class LengthStep(StepBase):
    name = "length"

    def __init__(self, settings: SanitizeSettings) -> None:
        self.settings = settings

    def request(self, call: Call) -> Flow[None]:
        budget = _Budget(self.settings)
        body = map_texts(call.body, budget.take)
        if body is not call.body:
            call.body, call.changed = body, True
        return
        yield
