"""The secrets step: scrub secrets from every text of the request (binary payloads included) and from
the answer, with the user's own catalogue (built-in and custom packs, ``rules.enable``/``disable``).

The repository scanner filters candidates for precision (placeholder words, entropy floors, "looks
like an identifier"); in a prompt, a value with a definitive provider structure is a secret whatever
it looks like, so rules that prove structure (a marker such as OpenAI's ``T3BlbkFJ``, a checksum, a
PEM body) drop those precision filters here. Secrets become ``[REDACTED:<rule-name>]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from prodguard.guard._body import map_texts
from prodguard.guard._call import Call
from prodguard.guard._errors import InputRejected
from prodguard.guard._io import Flow
from prodguard.guard._policy.policy import SecretsSettings
from prodguard.guard._steps.base import StepBase, TextFilter
from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Kind, Rule
from prodguard.scanner.engine import Engine

# Longest text held back while waiting for the end of a word in a stream.
MAX_HOLD = 4096
# Checks that prove a provider's structure (as opposed to precision heuristics), and literal markers a
# provider embeds in every key (OpenAI's base64 "OpenAI"), whose presence in a rule's pattern means the
# rule matches that structure.
STRUCTURE_CHECKS = frozenset({"github_checksum", "pem_key_body", "pem_encrypted_key_body"})
STRUCTURE_MARKERS = ("T3BlbkFJ",)


def placeholder(rule_name: str) -> str:
    return f"[REDACTED:{rule_name}]"


def by_structure(rule: Rule) -> Rule:
    """``rule`` for prompts: when it proves structure, without the scanner's precision filters."""
    validation = rule.validation
    proven = [c for c in validation.checks if c in STRUCTURE_CHECKS]
    if not (validation.markers or proven or any(marker in (rule.pattern or "") for marker in STRUCTURE_MARKERS)):
        return rule
    return replace(rule, validation=replace(validation, placeholder=False, min_entropy=0.0, checks=tuple(proven)))


@dataclass(frozen=True)
class Scrubber:
    """Finds and replaces secrets in text."""

    engine: Engine

    @classmethod
    def build(cls, catalogue: Catalogue) -> Scrubber:
        return cls(Engine([by_structure(r) for r in catalogue.pattern_rules if r.kind is Kind.SECRET]))

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
    """Scrubs text arriving in pieces: holds back the current, unfinished word (a key arrives in pieces)
    and scans each completed stretch, so a secret is never released in part."""

    scrubber: Scrubber
    found: list[str] = field(default_factory=list)
    _held: str = ""

    def feed(self, text: str, last: bool = False) -> str:
        self._held += text
        if last:
            ready, self._held = self._held, ""
            return self._emit(ready)
        cut = max(self._held.rfind(" "), self._held.rfind("\n"), self._held.rfind("\t"))
        if cut < 0 and len(self._held) < MAX_HOLD:
            return ""
        ready, self._held = (self._held[: cut + 1], self._held[cut + 1 :]) if cut >= 0 else (self._held, "")
        return self._emit(ready)

    def _emit(self, text: str) -> str:
        if not text:
            return ""
        cleaned, rules = self.scrubber.scrub(text)
        self.found.extend(rules)
        return cleaned


class SecretsStep(StepBase):
    name = "secrets"

    def __init__(self, settings: SecretsSettings, scrubber: Scrubber) -> None:
        self.settings = settings
        self.scrubber = scrubber

    def request(self, call: Call) -> Flow[None]:
        found: list[str] = []

        def scrub(text: str) -> str:
            cleaned, rules = self.scrubber.scrub(text)
            found.extend(rules)
            return cleaned

        body = map_texts(call.body, scrub, binary=True)
        if found:
            rules = ", ".join(sorted(set(found)))
            if self.settings.action == "refuse":
                raise InputRejected(f"the request to {call.route.name} contains a secret ({rules}); not sent")
            call.decisions.append("secrets-redacted:" + ",".join(sorted(set(found))))
            call.body, call.changed = body, True
        return
        yield

    def text(self, call: Call) -> TextFilter | None:
        if not self.settings.scan_output:
            return None
        return _Noting(StreamScrubber(self.scrubber), call)


@dataclass
class _Noting:
    """A stream scrubber that notes in the call's decisions which rules it redacted."""

    inner: StreamScrubber
    call: Call

    def feed(self, text: str, last: bool = False) -> str:
        return self._note(self.inner.feed(text, last))

    def _note(self, text: str) -> str:
        if self.inner.found:
            self.call.decisions.append("output-secrets-redacted:" + ",".join(sorted(set(self.inner.found))))
            self.inner.found.clear()
        return text
