"""The spaCy side of PII detection: a Presidio NLP engine that runs NER only where it can find something.

Why not Presidio's ``SpacyNlpEngine`` as configured by ``NlpEngineProvider``: it runs the model's whole
pipeline (tagger, parser, lemmatizer: three quarters of the time, none of it used for PII), and when the
model is not installed it calls ``spacy.cli.download`` — a network fetch at run time. This engine loads the
installed package with everything but ``ner`` excluded and fails with ``PiiUnavailable`` when the package
is missing.

The gate: PERSON and LOCATION names are capitalised, and the small English model essentially never labels
a lowercase word as one. So only windows of three words either side of a capitalised word are tokenized
and run through the ``ner`` pipe (batched) — skipping stop words, sentence-initial English words
("Summarize", "Thanks"; not proper nouns, which the lexicon lists as nouns only: "Belgium") and words
inside spans a pattern recognizer already found. Windows are cut at whitespace, where spaCy's tokenizer
splits anyway, so their tokens are the full text's tokens. On the bench set the labels are the same as a
full-text run, at about half the cost.

Then the small model's habits are corrected, using an English lexicon (WordNet base forms, shipped in the
model's lemmatizer tables; see ``Lexicon``): names it calls ORG/PRODUCT/WORK_OF_ART become PERSON when
they are shaped like a name and not made of English words ("Gemma Bacosi" yes, "Human Resources" no);
PERSON/LOCATION spans lose edge tokens that are not capitalised words ("Q3", "INC0042") and a leading
sentence-initial verb ("Compare Jira"). NRP spans are checked by ``_pii.nrp`` (software names and
languages are not groups; lower-case groups after "I am" are found).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc

from prodguard.guard._pii.lexicon import Lexicon
from prodguard.guard._pii.nrp import identity_candidates, is_group_word, is_language_mention
from prodguard.guard._pii.types import PiiUnavailable

# spaCy labels -> Presidio entity names; anything else (CARDINAL, MONEY, ...) is dropped.
LABELS = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
    "ORG": "ORGANIZATION",
}
NER_SCORE = 0.85
# The small model calls many non-English personal names ORG, PRODUCT or WORK_OF_ART ("Gemma Bacosi",
# "Momoko Sato"); ``_person_shaped`` decides when such a span is taken as a person, with a lower score
# than a direct PERSON label.
RELABELLED_SCORE = 0.6
_MISTAKEN_FOR_NAMES = frozenset({"ORG", "PRODUCT", "WORK_OF_ART", "NORP"})
_ORG_WORDS = frozenset(
    {
        "inc",
        "ltd",
        "llc",
        "llp",
        "plc",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "srl",
        "bv",
        "nv",
        "co",
        "corp",
        "corporation",
        "company",
        "companies",
        "group",
        "holdings",
        "partners",
        "bank",
        "university",
        "college",
        "school",
        "institute",
        "foundation",
        "association",
        "society",
        "council",
        "ministry",
        "department",
        "agency",
        "authority",
        "hospital",
        "clinic",
        "church",
        "museum",
        "library",
        "airlines",
        "airways",
        "railway",
        "insurance",
        "systems",
        "technologies",
        "technology",
        "labs",
        "laboratories",
        "solutions",
        "services",
        "software",
        "studios",
        "media",
        "network",
        "networks",
        "international",
        "global",
        "capital",
        "ventures",
        "fund",
        "trust",
        "club",
        "league",
        "federation",
        "union",
        "committee",
        "office",
    }
)
_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "der",
        "den",
        "da",
        "di",
        "del",
        "della",
        "la",
        "le",
        "du",
        "dos",
        "das",
        "ten",
        "ter",
        "bin",
        "al",
        "el",
    }
)
_ARTICLES = frozenset({"the", "a", "an", "our", "your", "their", "my", "this", "that"})
WINDOW = 3  # words each side of a capitalised word (6 and 3 give the same bench results; 2 loses some)
_NAMES = frozenset({"PERSON", "LOCATION"})
_CHUNK = re.compile(r"\S+")
_EDGE_PUNCT = "\"'“”‘’()[]{}<>,.;:!?*_"
_SENTENCE_END = frozenset('.!?:;"“')


@dataclass(frozen=True)
class NerEntity:
    """One NER result in the analyzed text's coordinates. Has the attributes Presidio's SpacyRecognizer
    reads from a spaCy ``Span`` (``start_char``, ``end_char``, ``label_``), so it can stand in for one."""

    start_char: int
    end_char: int
    label_: str
    score: float


class GatedSpacyNlpEngine(SpacyNlpEngine):
    """Runs the model's ``ner`` pipe on windows around capitalised words; see the module docstring.

    With ``ner=False`` nothing is tokenized and no model is needed.
    """

    engine_name = "prodguard_gated_spacy"

    def __init__(self, model: str, *, ner: bool, language: str = "en") -> None:
        super().__init__(models=[{"lang_code": language, "model_name": model}])
        self.model = model
        self.ner_enabled = ner
        self.language = language
        self.nlp_model: Language | None = None
        self.lexicon = Lexicon()

    def load(self) -> None:
        if not self.ner_enabled:
            self.nlp_model = spacy.blank(self.language)
        else:
            # spacy.load would also accept a path; only an installed package counts, and it is never fetched.
            if not spacy.util.is_package(self.model):
                raise PiiUnavailable(
                    f"spaCy model package {self.model!r} is not installed (pip install prodguard[guard]), "
                    "or set pii.ner = false for pattern recognizers only"
                )
            nlp = spacy.load(
                self.model,
                exclude=[
                    "tok2vec",
                    "tagger",
                    "parser",
                    "attribute_ruler",
                    "lemmatizer",
                    "senter",
                    "morphologizer",
                ],
            )
            if "ner" not in nlp.pipe_names or not isinstance(nlp.get_pipe("ner"), EntityRecognizer):
                raise PiiUnavailable(f"spaCy model {self.model!r} has no 'ner' component")
            self.nlp_model = nlp
            if nlp.path is not None:
                self.lexicon = Lexicon.from_model(Path(nlp.path))
        # Presidio's base class reads this mapping (declared there as None until loaded).
        self.nlp = {self.language: self.nlp_model}  # type: ignore[assignment]

    def is_loaded(self) -> bool:
        return self.nlp_model is not None

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return self.process(text, skip=[] if self.ner_enabled else None)

    def process_batch(  # type: ignore[override]
        self, texts: Iterable[str], language: str, batch_size: int = 1, n_process: int = 1, **kwargs: Any
    ) -> Iterator[tuple[str, NlpArtifacts]]:
        for text in texts:
            yield text, self.process_text(str(text), language)

    def process(self, text: str, *, skip: list[tuple[int, int]] | None = None) -> NlpArtifacts:
        """Empty artifacts when ``skip`` is None (the pattern pass: nothing is tokenized); otherwise NER
        entities, with no window centred on a word inside a ``skip`` span (already found by a pattern).

        Context words need no tokens: ``TextContextEnhancer`` reads them from the raw text. Call inside
        ``nlp_model.memory_zone()``: the strings spaCy interns while tokenizing (PII) are freed with it.
        """
        nlp = self.nlp_model
        if nlp is None:
            raise PiiUnavailable("the spaCy pipeline is not loaded")
        found = self._entities(nlp, text, skip) if skip is not None and self.ner_enabled else []
        return NlpArtifacts(
            entities=cast(Any, found),  # NerEntity stands in for spacy.tokens.Span (see its docstring)
            tokens=Doc(nlp.vocab, words=[]),
            tokens_indices=[],
            lemmas=[],
            nlp_engine=self,
            language=self.language,
            scores=[entity.score for entity in found],
        )

    def _windows(self, text: str, skip: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Character ranges to run NER on: WINDOW whitespace-separated words either side of each candidate."""
        chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(text)]
        windows: list[tuple[int, int]] = []  # in chunk indexes
        for i, (start, end) in enumerate(chunks):
            word = text[start:end].strip(_EDGE_PUNCT)
            # "Sarah", "McDonald", "O'Connor" yes; "SSN", "I", "The", "iPhone" no.
            if not word[:1].isupper() or not any(ch.islower() for ch in word) or word.lower() in STOP_WORDS:
                continue
            # A capital at the start of a sentence says nothing: "Summarize", "Thanks", "Order" are words.
            # Proper nouns in the lexicon ("Belgium", "Oslo") are nouns and nothing else; a capital on a verb,
            # adjective or plural opens a sentence ("Summarize", "Great", "Thanks").
            if self.lexicon.is_word(word.lower()) and _sentence_start(text, start) and not self.lexicon.is_noun_only(word.lower()):
                continue
            if skip and any(lo <= start < hi for lo, hi in skip):
                continue
            lo, hi = max(0, i - WINDOW), min(len(chunks), i + WINDOW + 1)
            if windows and lo <= windows[-1][1]:
                windows[-1] = (windows[-1][0], hi)
            else:
                windows.append((lo, hi))
        return [(chunks[lo][0], chunks[hi - 1][1]) for lo, hi in windows]

    def _entities(self, nlp: Language, text: str, skip: list[tuple[int, int]]) -> list[NerEntity]:
        windows = self._windows(text, skip)
        ner = nlp.get_pipe("ner")
        assert isinstance(ner, EntityRecognizer)  # checked in load()
        found: list[NerEntity] = self._lowercase_groups(nlp, ner, text) if self.lexicon else []
        if not windows:
            return found
        pieces = ner.pipe(nlp.make_doc(text[lo:hi]) for lo, hi in windows)
        for (base, _), piece in zip(windows, pieces, strict=True):
            for ent in piece.ents:
                start, end = ent.start, ent.end
                label = LABELS.get(ent.label_)
                score = NER_SCORE
                if ent.label_ in _MISTAKEN_FOR_NAMES and self._person_shaped(text, base, piece, start, end):
                    label, score = "PERSON", RELABELLED_SCORE
                if label is None:
                    continue
                if label == "NRP":
                    lo, hi = base + piece[start].idx, base + piece[end - 1].idx + len(piece[end - 1].text)
                    if is_language_mention(text, lo, hi) or (
                        self.lexicon and not is_group_word(text[lo:hi], self.lexicon.is_word, self.lexicon.is_verb)
                    ):
                        continue
                if label in _NAMES:
                    # The small model tags "Q3", "INC0042", "v1.2.0" and "PO 2025-8639" as people and places;
                    # a name has at least one capitalised word, and its edges are such words.
                    while start < end and not _name_like(piece[start].text):
                        start += 1
                    while end > start and not _name_like(piece[end - 1].text):
                        end -= 1
                    # "Compare Jira", "Order #1234": prompts open with a command, which is not a name.
                    if (
                        label == "PERSON"
                        and start < end
                        and self.lexicon.is_verb(piece[start].lower_)
                        and _sentence_start(text, base + piece[start].idx)
                    ):
                        start += 1
                    if start == end:
                        continue
                last = piece[end - 1]
                found.append(
                    NerEntity(base + piece[start].idx, base + last.idx + len(last.text), label, score)
                )
        return found

    def _lowercase_groups(self, nlp: Language, ner: EntityRecognizer, text: str) -> list[NerEntity]:
        """NRP for "i am italian": the statement up to the word, capitalised, run through NER once more."""
        candidates = identity_candidates(text, self.lexicon.is_noun)
        pieces = ner.pipe(
            nlp.make_doc(f"{text[lo:start]}{text[start].upper()}{text[start + 1 : end]}.") for lo, start, end in candidates
        )
        return [
            NerEntity(start, end, "NRP", RELABELLED_SCORE)
            for (lo, start, end), piece in zip(candidates, pieces, strict=True)
            if any(e.label_ == "NORP" and lo + e.start_char == start and lo + e.end_char == end for e in piece.ents)
        ]

    def _person_shaped(self, text: str, base: int, piece: Doc, start: int, end: int) -> bool:
        """Two to four capitalised words (particles and initials allowed), no organisation word, no article
        in front, at least one word that is not English ("Gemma Bacosi" yes, "Human Resources" no), and not
        ending in an English plural ("Microsoft Teams")."""
        if not self.lexicon:
            return False
        words = [token.text for token in piece[start:end]]
        if not 2 <= len(words) <= 4 or _previous_word(text, base + piece[start].idx) in _ARTICLES:
            return False
        if not (_name_like(words[0]) and _name_like(words[-1])):
            return False
        lowered = [w.lower() for w in words]
        for word, lower in zip(words, lowered, strict=True):
            if lower in _ORG_WORDS or (lower in STOP_WORDS and lower not in _PARTICLES):
                return False
            if not (_name_like(word) or lower in _PARTICLES or (len(word) == 2 and word[1] == ".")):
                return False
        if self.lexicon.is_plural_noun(lowered[-1]):
            return False
        return any(not self.lexicon.is_word(lower) for lower in lowered if len(lower) > 2)

    def is_stopword(self, word: str, language: str) -> bool:
        # A set lookup instead of vocab[word], which would add every unseen word (PII included) to the
        # shared vocabulary for the life of the process.
        return word.lower() in STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        return len(word) == 1 and word in _EDGE_PUNCT


def _name_like(word: str) -> bool:
    """Capitalised with lowercase letters and no digits: "Ana", "McDonald", "O'Neil" (not "GB", "Q3")."""
    return word[:1].isupper() and any(ch.islower() for ch in word) and not any(ch.isdigit() for ch in word)


def _sentence_start(text: str, at: int) -> bool:
    """No parser runs, so: the text's start, or after sentence punctuation, a quote or a line break."""
    i = at - 1
    while i >= 0 and text[i] in " \t\"'“‘(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END or "\n" in text[i:at] or text[i] == "\n"


def _previous_word(text: str, at: int) -> str:
    words = text[max(0, at - 40) : at].split()
    return words[-1].lower() if words else ""
