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

# Stream hold-back bounds (characters): a word, a keyword's line, a PEM block, and what a forced
# release of a long word keeps (longer than any key the rules match, so no key straddles the cut).
MAX_HOLD = 4096
HOLD_LINE = 1024
HOLD_BLOCK = 16384
TAIL = 1024
# A word still open after a rule keyword (a JWT's "eyJ" whose signature has not arrived) is held whole
# up to this size: a match may still cover all of it, and its first part alone matches nothing.
MAX_OPEN_WORD = 1024 * 1024
CONTEXT = 2048  # released text kept as context for later pieces (rules look up to 10 lines around)
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

    def scrub(self, text: str, context: str = "") -> tuple[str, list[str]]:
        """``text`` with secrets replaced, and the ids of the rules that matched. ``context`` is the text
        that came before (released already): rules that need a context word near the match see it."""
        before = len(context.encode("utf-8", "surrogatepass"))
        data = (context + text).encode("utf-8", "surrogatepass")
        # Encoded values too (base64, hex, %-encoding): a key is as leaked in a prompt when it is encoded.
        spans = [s for s in self.engine.spans(data, encoded=True) if s.start >= before] if data else []
        if not spans:
            return text, []
        out = bytearray()
        cursor = before
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
    """Scrubs text arriving in pieces, never releasing part of a secret.

    It releases text up to the last whitespace, except what an open match could still cover: from the
    start of a line holding a rule keyword until that line ends (``Authorization: Bearer ...``,
    ``aws_secret_access_key = ...``, at most ``HOLD_LINE`` characters), and from a ``-----BEGIN`` until
    its ``-----END`` (at most ``HOLD_BLOCK``). A word longer than ``MAX_HOLD`` is released but for its
    last ``TAIL`` characters, never inside a secret found in it, and never after a rule keyword in it
    (up to ``MAX_OPEN_WORD``: a 40 KiB JWT is matched only once its signature has arrived). The delay is
    bounded by those sizes, in text, not time."""

    scrubber: Scrubber
    found: list[str] = field(default_factory=list)
    _held: str = ""
    # The end of what was released, as it arrived (not scrubbed): a rule whose match starts in released text
    # (PG185: the secret lines after a key id that was itself replaced) must see the original; only spans in
    # the new text are replaced. Kept in memory only, as the held text is.
    _context: str = ""

    # The held text is one word pinned at a rule keyword: until whitespace arrives (or the word reaches
    # MAX_OPEN_WORD) nothing can be released, and the word is not scanned again at every piece.
    _open: bool = False

    def feed(self, text: str, last: bool = False) -> str:
        buffer = self._held + text
        if self._open and not last and len(buffer) < MAX_OPEN_WORD and not any(c in text for c in " \n\t"):
            self._held = buffer
            return ""
        self._open = False
        cut = len(buffer) if last else self._safe_cut(buffer)
        ready, self._held = buffer[:cut], buffer[cut:]
        return self._emit(ready)

    def _safe_cut(self, buffer: str) -> int:
        cut = max(buffer.rfind(" "), buffer.rfind("\n"), buffer.rfind("\t")) + 1
        data = buffer.encode("utf-8", "surrogatepass")
        for start in self.scrubber.engine.keyword_starts(data):
            at = start if len(data) == len(buffer) else len(data[:start].decode("utf-8", "ignore"))
            if "\n" in buffer[at:]:
                continue  # that line is complete: whatever it holds is matched as a whole
            line = buffer.rfind("\n", 0, at) + 1
            if len(buffer) - line < HOLD_LINE:
                cut = min(cut, line)
            break
        begin = buffer.rfind("-----BEGIN")
        block_open = False
        if begin >= 0:
            end = buffer.find("-----END", begin)
            close = buffer.find("-----", end + 8) if end >= 0 else -1  # the END line's closing dashes
            block_open = close < 0 and len(buffer) - begin < HOLD_BLOCK
            if block_open or begin < cut < close + 5:
                cut = min(cut, begin)
        if not block_open and cut == 0 and len(buffer) >= MAX_HOLD:
            cut = len(buffer) - TAIL
            for span in self.scrubber.engine.spans(data):  # never cut inside a secret
                if span.start < cut < span.end:
                    cut = len(data[: span.start].decode("utf-8", "ignore"))
            starts = self.scrubber.engine.keyword_starts(data)
            if starts and len(buffer) < MAX_OPEN_WORD:  # nor inside a token that may still become one
                at = len(data[: starts[0]].decode("utf-8", "ignore"))
                if at <= cut:
                    cut, self._open = at, True
        return cut

    def _emit(self, text: str) -> str:
        if not text:
            return ""
        cleaned, rules = self.scrubber.scrub(text, self._context)
        self.found.extend(rules)
        self._context = (self._context + text)[-CONTEXT:]
        return cleaned


class SecretsStep(StepBase):
    name = "secrets"

    def __init__(self, settings: SecretsSettings, scrubber: Scrubber) -> None:
        self.settings = settings
        self.scrubber = scrubber

    def request(self, call: Call) -> Flow[None]:
        if call.query and self.scrubber.scrub(call.query)[1]:
            # A URL is logged by every proxy on the way: a secret there is refused, not redacted.
            raise InputRejected(f"the query string of {call.route.name} contains a secret; not sent")
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
