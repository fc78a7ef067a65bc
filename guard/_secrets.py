"""Secret scrubbing with the scanner's own rules: the detector that finds a key in a file also stops it
from being sent in a prompt. Secrets are replaced by a typed placeholder such as
``[REDACTED:openai-project-key]``; the original is never kept."""

from __future__ import annotations

from dataclasses import dataclass, field

from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.model import Kind
from prodguard.scanner.engine import Engine

# Longest text held back while waiting for the end of a word in a stream.
MAX_HOLD = 4096


def placeholder(rule_name: str) -> str:
    return f"[REDACTED:{rule_name}]"


@dataclass(frozen=True)
class Scrubber:
    """Finds and replaces secrets in text with the catalogue's secret rules."""

    engine: Engine

    @classmethod
    def build(cls, catalogue: Catalogue | None = None) -> Scrubber:
        catalogue = catalogue or load_catalogue()
        return cls(Engine([r for r in catalogue.pattern_rules if r.kind is Kind.SECRET]))

    def scrub(self, text: str) -> tuple[str, list[str]]:
        """``text`` with secrets replaced, and the ids of the rules that matched."""
        data = text.encode("utf-8", "surrogatepass")
        spans = self.engine.spans(data)
        if not spans:
            return text, []
        out = bytearray()
        cursor = 0
        found = []
        for span in sorted(spans, key=lambda s: s.start):
            if span.start < cursor:
                continue
            out += data[cursor : span.start]
            out += placeholder(span.rule.name).encode("utf-8")
            cursor = span.end
            found.append(span.rule.id)
        out += data[cursor:]
        return out.decode("utf-8", "surrogatepass"), found


@dataclass
class StreamScrubber:
    """Scrubs streamed text: holds back the current, unfinished word (a key arrives in pieces) and scans
    each completed stretch, so a secret is never emitted in part."""

    scrubber: Scrubber
    found: list[str] = field(default_factory=list)
    _held: str = ""

    def feed(self, chunk: str) -> str:
        self._held += chunk
        cut = max(self._held.rfind(" "), self._held.rfind("\n"), self._held.rfind("\t"))
        if cut < 0 and len(self._held) < MAX_HOLD:
            return ""
        ready, self._held = (self._held[: cut + 1], self._held[cut + 1 :]) if cut >= 0 else (self._held, "")
        return self._emit(ready)

    def flush(self) -> str:
        ready, self._held = self._held, ""
        return self._emit(ready)

    def _emit(self, text: str) -> str:
        if not text:
            return ""
        cleaned, rules = self.scrubber.scrub(text)
        self.found.extend(rules)
        return cleaned
