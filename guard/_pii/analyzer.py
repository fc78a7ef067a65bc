"""PII detection and the reversible vault: the public face of the guard's PII step.

``PiiAnalyzer`` wraps a Presidio ``AnalyzerEngine`` configured for chat text (see ``_pii_recognizers``
and ``_pii_nlp`` for what differs from stock Presidio and why). It is expensive to build (the spaCy model
loads in about a second), so build one per process and settings; it is safe to share between threads.
Results are cached per text (bounded LRU keyed by a hash of the text), so a conversation that resends its
history pays only for the new message.

``PiiVault`` (in ``_pii_vault``) replaces what the analyzer finds with stable placeholders and restores
them in answers, including streamed ones.

Presidio and spaCy are imported when the first analyzer is built, not when this module is imported.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prodguard.errors import ConfigError
from prodguard.guard._pii.address import address_spans
from prodguard.guard._pii.names import NameFinder, NameLists
from prodguard.guard._pii.organizations import company_spans, contact_block_companies
from prodguard.guard._pii.types import (
    DEFAULT_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    NER_ENTITIES,
    NER_RECOGNIZER_NAME,
    SUPPORTED_ENTITIES,
    PiiError,
    PiiSettings,
    PiiSpan,
    PiiUnavailable,
    PiiVaultError,
)
from prodguard.guard._pii.vault import PiiVault, StreamRestorer

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult

    from prodguard.guard._pii.nlp import GatedSpacyNlpEngine

__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "SUPPORTED_ENTITIES",
    "CacheStats",
    "PiiAnalyzer",
    "PiiError",
    "PiiSettings",
    "PiiSpan",
    "PiiUnavailable",
    "PiiVault",
    "PiiVaultError",
    "StreamRestorer",
]

_NAME_WORD = re.compile(r"[^\W\d_][\w'’-]{2,}")
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "madam"})


@dataclass(frozen=True)
class CacheStats:
    """How often ``PiiAnalyzer.analyze`` answered from its cache; ``analyses`` counts real runs."""

    hits: int
    misses: int
    analyses: int


class PiiAnalyzer:
    """Finds PII in text. Build once per settings (slow: loads the model); ``analyze`` is thread-safe."""

    def __init__(self, settings: PiiSettings | None = None) -> None:
        self.settings = settings or PiiSettings()
        try:
            from presidio_analyzer import AnalyzerEngine

            from prodguard.guard._pii.nlp import GatedSpacyNlpEngine
            from prodguard.guard._pii.recognizers import (
                PREFILTERS,
                TextContextEnhancer,
                build_registries,
                pattern_entities,
            )
        except ImportError as exc:
            raise PiiUnavailable(
                "PII detection needs the guard extras (pip install 'prodguard[guard]'): "
                f"{exc.name or 'a dependency'} is missing"
            ) from exc
        patterns, ner = build_registries(self.settings)  # ConfigError for impossible selections
        try:
            self._nlp: GatedSpacyNlpEngine = GatedSpacyNlpEngine(
                self.settings.model, ner=self.settings.ner, language=self.settings.language
            )
            self._nlp.load()
            engines = [
                AnalyzerEngine(
                    registry=registry,
                    nlp_engine=self._nlp,
                    supported_languages=[self.settings.language],
                    default_score_threshold=self.settings.score_threshold,
                    context_aware_enhancer=TextContextEnhancer(),
                )
                for registry in (patterns, ner)
                if registry is not None
            ]
        except (PiiUnavailable, ConfigError):
            raise
        except Exception as exc:  # model files unreadable, incompatible versions, ...
            raise PiiUnavailable(f"the PII analyzer could not be built ({type(exc).__name__})") from exc
        # Two passes: pattern recognizers first, then NER only around capitalised words they left alone.
        self._pattern_engine: AnalyzerEngine = engines[0]
        self._ner_engine: AnalyzerEngine | None = engines[1] if len(engines) > 1 else None
        self._pattern_entities = pattern_entities(self.settings)
        self._ner_entities = tuple(e for e in dict.fromkeys(self.settings.entities) if e in NER_ENTITIES)
        self._prefilters = PREFILTERS
        lexicon = self._nlp.lexicon
        # Name lists need the lexicon to tell "Grace" the name from "grace"; without it (no model) they stay off.
        self._names: NameFinder | None = (
            NameFinder(NameLists.load(), lexicon) if lexicon and "PERSON" in self.settings.entities else None
        )
        self._allow = frozenset(self.settings.allow_list)
        self._lock = threading.Lock()  # spaCy pipelines are not documented as thread-safe
        self._cache: OrderedDict[bytes, tuple[PiiSpan, ...]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = self._misses = self._analyses = 0
        # Compile every pattern and load every recognizer now, so the first request is not the slow one
        # and a broken setup fails at build time.
        self._run("Warm-up: Jane Doe, jane@example.com, +44 20 7946 0958, 4111 1111 1111 1111, 10.0.0.1.")

    @property
    def cache_stats(self) -> CacheStats:
        with self._cache_lock:
            return CacheStats(self._hits, self._misses, self._analyses)

    def analyze(self, text: str) -> list[PiiSpan]:
        """Non-overlapping PII spans in ``text``, sorted by position."""
        if not text or not self.settings.enabled:
            return []
        size = self.settings.cache_size
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        if size:
            with self._cache_lock:
                cached = self._cache.get(key)
                if cached is not None:
                    self._cache.move_to_end(key)
                    self._hits += 1
                    return list(cached)
                self._misses += 1
        spans = self._run(text)
        if size:
            with self._cache_lock:
                self._cache[key] = spans
                while len(self._cache) > size:
                    self._cache.popitem(last=False)
        return list(spans)

    def _run(self, text: str) -> tuple[PiiSpan, ...]:
        passes = self._prefilters.get
        entities = [e for e in self._pattern_entities if passes(e, _always)(text)]
        run_ner = self._ner_engine is not None and bool(self._ner_entities)
        if not entities and not run_ner and not {"COMPANY", "JOB_TITLE"} & set(self.settings.entities):
            return ()
        nlp = self._nlp.nlp_model
        assert nlp is not None  # loaded in __init__
        language = self.settings.language
        with self._lock:
            self._analyses += 1
            try:
                # Strings spaCy interns while tokenizing (PII included) are freed when the zone closes.
                with nlp.memory_zone():
                    results = []
                    if entities:
                        results = self._pattern_engine.analyze(
                            text, language=language, entities=entities, nlp_artifacts=self._nlp.process(text)
                        )
                    if run_ner and self._ner_engine is not None:
                        artifacts = self._nlp.process(text, skip=[(r.start, r.end) for r in results])
                        results += self._ner_engine.analyze(
                            text,
                            language=language,
                            entities=list(self._ner_entities),
                            nlp_artifacts=artifacts,
                        )
            except Exception:
                # No exception chaining: the cause's message may quote the text being analyzed.
                raise PiiUnavailable("PII analysis failed inside the analyzer") from None
        spans = _resolve(results)
        lexicon = self._nlp.lexicon
        is_word = lexicon.is_word if lexicon else None
        if "STREET_ADDRESS" in self.settings.entities:
            spans = address_spans(text, spans, is_word)
        companies, titles = "COMPANY" in self.settings.entities, "JOB_TITLE" in self.settings.entities
        if companies or titles:
            spans = company_spans(text, spans, is_word, companies=companies, titles=titles)
        if "PERSON" in self.settings.entities:
            if self._names is not None:
                spans = self._names.spans(text, spans)
            spans = _propagate_names(text, spans)
        if companies:
            spans = contact_block_companies(text, spans)  # needs the names found above
        if self._allow:
            spans = [s for s in spans if text[s.start : s.end] not in self._allow]
        return tuple(spans)


def _always(text: str) -> bool:
    return True


def _resolve(results: list[RecognizerResult]) -> list[PiiSpan]:
    """Overlapping detections become one span covering all of them (nothing half-redacted); its type is
    the best detection's: a pattern (checksums, formats) beats an NER guess, then the higher score, then
    the longer span. This is also what stops spaCy's DATE_TIME from relabelling card and phone digits."""
    ordered = sorted(results, key=lambda r: (r.start, -r.end))
    clusters: list[list[RecognizerResult]] = []
    end = -1
    for result in ordered:
        if clusters and result.start < end:
            clusters[-1].append(result)
            end = max(end, result.end)
        else:
            clusters.append([result])
            end = result.end
    spans = []
    for cluster in clusters:
        best = max(
            cluster,
            key=lambda r: (
                (r.recognition_metadata or {}).get("recognizer_name") != NER_RECOGNIZER_NAME,
                r.score,
                r.end - r.start,
            ),
        )
        spans.append(
            PiiSpan(min(r.start for r in cluster), max(r.end for r in cluster), best.entity_type, best.score)
        )
    return spans


def _propagate_names(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """A name found once is a name everywhere in the text: "Anna Berg ... thanks, Anna" — the second
    "Anna" is found even when NER misses it. Whole words only, name parts of three letters or more."""
    names: set[str] = set()
    for span in spans:
        if span.entity_type == "PERSON":
            value = text[span.start : span.end]
            names.add(value)
            names.update(w for w in _NAME_WORD.findall(value) if w[0].isupper() and w.lower() not in _TITLES)
    if not names:
        return spans
    taken = [(s.start, s.end) for s in spans]
    extra: list[PiiSpan] = []
    for name in sorted(names, key=len, reverse=True):
        at = text.find(name)
        while at != -1:
            end = at + len(name)
            whole_word = (at == 0 or not text[at - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()
            )
            if whole_word and not any(at < e and s < end for s, e in taken):
                extra.append(PiiSpan(at, end, "PERSON", 0.6))
                taken.append((at, end))
            at = text.find(name, end)
    return sorted(spans + extra) if extra else spans
