"""The Presidio recognizers the guard runs, and the registry holding exactly the ones a policy selects.

Stock Presidio misses or misfires on chat text in known ways; each recognizer here fixes one:

- ``ProdguardPhoneRecognizer``: stock matching runs ``phonenumbers``' matcher once per region over the
  whole text (slow) and only for eight regions (international formats outside them are missed). Here one
  cheap regex finds digit runs, and each candidate is parsed once: "+CC"/"00CC" numbers for any country,
  national formats for the configured regions, and US-style groupings like (555) 123-4567 even when the
  number is not assigned.
- ``ProdguardCreditCardRecognizer`` (``_pii.cards``): stock patterns miss 12-13 digit Maestro, 15-digit JCB and 19-digit
  cards. Here any 12-19 digit run (contiguous or consistently grouped) counts when it passes Luhn *and*
  starts with a known issuer prefix for its length, so random Luhn-valid order numbers stay out.
- ``ProdguardEmailRecognizer`` (``_pii.email``): stock validation calls tldextract, which fetches the public-suffix list
  over the network on first use. Here the top-level domain is checked by shape.
- ``ProdguardStreetAddressRecognizer``, ``ProdguardPersonCueRecognizer`` and
  ``ProdguardPlaceCueRecognizer`` (in ``_pii.shapes``): house-number + street-type shapes, name cues and
  place cues, so addresses, PERSON and LOCATION are found without NER and NER misses are covered; and
  ``ProdguardPostcodeRecognizer`` and ``ProdguardFullDateRecognizer`` (UK postcodes, full dates).
- Labelled values (dates of birth, licences, ages, postcodes, personal links: ``_pii.context``) and
  company names, job titles (``_pii.organizations``, run by the analyzer after these recognizers).
- SSN: the stock recognizer, with scores that let a bare 9-digit number count when "SSN" or "social
  security" is nearby (stock caps it below any useful threshold).

Class names carry a ``Prodguard`` prefix on purpose: Presidio's YAML/default loader finds recognizer classes
by name among ``__subclasses__()``, so a subclass called ``EmailRecognizer`` would replace the stock one in
every other ``AnalyzerEngine`` of the process.

Every entity has a prefilter (``PREFILTERS``): a cheap test on the text that must pass before the
recognizers of that entity run (no "@" -> no email search; fewer than 7 digits -> no phone, card, SSN).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from phonenumbers import NumberParseException
from presidio_analyzer import (
    AnalysisExplanation,
    ContextAwareEnhancer,
    EntityRecognizer,
    LocalRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CryptoRecognizer,
    DateRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    MedicalLicenseRecognizer,
    NhsRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsBankRecognizer,
    UsItinRecognizer,
    UsPassportRecognizer,
    UsSsnRecognizer,
)

from prodguard.errors import ConfigError
from prodguard.guard._pii.cards import ProdguardCreditCardRecognizer
from prodguard.guard._pii.context import CONTEXT_ENTITIES, ContextRuleRecognizer
from prodguard.guard._pii.email import ProdguardEmailRecognizer
from prodguard.guard._pii.phone import ContextPhoneRecognizer
from prodguard.guard._pii.shapes import (
    PLACE_CUE_KEYWORDS,
    ProdguardFullDateRecognizer,
    ProdguardPersonCueRecognizer,
    ProdguardPlaceCueRecognizer,
    ProdguardPostcodeRecognizer,
    ProdguardStreetAddressRecognizer,
)
from prodguard.guard._pii.types import DEFAULT_ENTITIES, NER_ENTITIES, NER_RECOGNIZER_NAME, PiiSettings

# -- phone numbers --------------------------------------------------------------------------------------

# A digit run that may be a phone number: optional "+" or "00", optional "(area)", digits with the usual
# separators, optional extension. Deliberately loose; phonenumbers decides.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w@/.+#-])(?:(?:\+|00)[ \t]?)?(?:\(\d{1,5}\)[ \t]?)?\d[\d \t().\-]{4,22}\d"
    r"(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,6})?(?![\w@]|[.-]\d)"
)
_DIGIT_GROUPS = re.compile(r"\d+")
_IPV4_SHAPE = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# "2016-09-17 13:27" parses as a phone number in several regions; a date is never one.
_DATE_START = re.compile(r"(?:19|20)\d\d-\d\d-\d\d")
# How people write North American numbers: (415) 555-0132, 415-555-0132, 415.555.0132, 1-800-555-0132.
_NANP_SHAPE = re.compile(r"(?:\+?1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}")
_NANP_REGIONS = frozenset({"US", "CA"})
_PHONE_NAME = "ProdguardPhoneRecognizer"


class ProdguardPhoneRecognizer(LocalRecognizer):
    """Phone numbers: international ("+CC"/"00CC") for every country, national formats for ``regions``."""

    VALID_INTERNATIONAL = 0.85
    POSSIBLE_INTERNATIONAL = 0.6
    VALID_NATIONAL = 0.65
    NANP_SHAPED = 0.55
    BARE_DIGITS = 0.4  # a valid number written without separators counts only with a context word

    def __init__(self, regions: tuple[str, ...]) -> None:
        self.regions = regions
        self.in_context = ContextPhoneRecognizer(regions)
        super().__init__(
            supported_entities=["PHONE_NUMBER"],
            name=_PHONE_NAME,
            context=[
                "phone",
                "call",
                "mobile",
                "cell",
                "tel",
                "telephone",
                "number",
                "contact",
                "whatsapp",
                "text",
                "fax",
                "reach",
                "landline",
                "sms",
                "dial",
            ],
        )

    def load(self) -> None:
        """Nothing to load: phonenumbers' metadata is imported with the module."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for match in _PHONE_CANDIDATE.finditer(text):
            for start, end, score in self._judge(match.group(), match.start()):
                results.append(self._result(start, end, score))
        # National numbers of any region next to a phone word (one recognizer: Presidio's bookkeeping
        # per recognizer costs more than the pass itself).
        for result in self.in_context.analyze(text, entities, nlp_artifacts):
            # Presidio looks up thresholds by recognizer id: the results are this recognizer's.
            result.recognition_metadata[RecognizerResult.RECOGNIZER_IDENTIFIER_KEY] = self.id
            results.append(result)
        return results

    def _judge(self, candidate: str, offset: int) -> list[tuple[int, int, float]]:
        digits = sum(ch.isdigit() for ch in candidate)
        if not 7 <= digits <= 17 or _IPV4_SHAPE.fullmatch(candidate) or _DATE_START.match(candidate):
            return []
        end = offset + len(candidate)
        if candidate[0] == "+" or candidate.startswith("00"):
            score = self._international(candidate)
            return [(offset, end, score)] if score else []
        if digits > 13:  # no national number is this long (cards, IBAN digit groups)
            return []
        # People group national numbers in two to four blocks ("020 7946 0958", "1-800-555-0132"); a run
        # like "23 45 67 89 01" is a list of numbers that happens to parse.
        groups = _DIGIT_GROUPS.findall(candidate)
        if len(groups) > 4 or any(len(g) == 1 for g in groups[1:]):
            return []
        grouped = len(groups) > 1
        best = 0.0
        for region in self.regions:
            try:
                parsed = phonenumbers.parse(candidate, region)
            except NumberParseException:
                continue
            reason = phonenumbers.is_possible_number_with_reason(parsed)
            if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
                continue
            if phonenumbers.is_valid_number(parsed):
                best = max(best, self.VALID_NATIONAL if grouped else self.BARE_DIGITS)
            elif region in _NANP_REGIONS and _NANP_SHAPE.fullmatch(candidate):
                best = max(best, self.NANP_SHAPED)
        return [(offset, end, best)] if best else []

    def _international(self, candidate: str) -> float:
        number = "+" + candidate[2:] if candidate.startswith("00") else candidate
        try:
            parsed = phonenumbers.parse(number, None)
        except NumberParseException:
            return 0.0
        if phonenumbers.is_valid_number(parsed):
            return self.VALID_INTERNATIONAL
        if phonenumbers.is_possible_number(parsed):
            return self.POSSIBLE_INTERNATIONAL
        return 0.0

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=_PHONE_NAME, original_score=score, textual_explanation="phone number (phonenumbers)"
        )
        return RecognizerResult(
            entity_type="PHONE_NUMBER",
            start=start,
            end=end,
            score=score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: _PHONE_NAME,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


# -- SSN ------------------------------------------------------------------------------------------------


def ssn_recognizer() -> UsSsnRecognizer:
    """Stock SSN recognizer (keeps its area/group/serial invalidation) with usable scores."""
    patterns = [
        Pattern("SSN dashed", r"\b\d{3}-\d{2}-\d{4}\b", 0.6),
        Pattern("SSN spaced", r"\b\d{3} \d{2} \d{4}\b", 0.5),
        Pattern("SSN dotted", r"\b\d{3}\.\d{2}\.\d{4}\b", 0.4),
        Pattern("SSN bare", r"\b\d{9}\b", 0.3),
    ]
    return UsSsnRecognizer(patterns=patterns, context=["ssn", "social", "security", "ssns"])


# -- dates (only when a policy selects DATE_TIME) --------------------------------------------------------


def date_words_recognizer() -> PatternRecognizer:
    """Weekdays and years after a preposition ("on Saturday", "founded in 1990"), which stock DateRecognizer
    leaves to NER; NER runs only around capitalised words, so a bare year is never looked at."""
    return PatternRecognizer(
        supported_entity="DATE_TIME",
        name="ProdguardDateWordsRecognizer",
        patterns=[
            Pattern("weekday", r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)days?\b", 0.6),
            Pattern(
                "year after a preposition",
                r"(?<=\b(?:[Ii]n|[Ss]ince|[Dd]uring|of|[Ff]rom|[Uu]ntil|by|[Bb]efore|[Aa]fter|around|circa)[ \t])"
                r"(?:1[6-9]|20)\d\d\b(?![.,]?\d)",
                0.6,
            ),
        ],
        global_regex_flags=re.MULTILINE,
    )


# -- context words ---------------------------------------------------------------------------------------


class ProdguardIpRecognizer(IpRecognizer):
    """Presidio's IP recognizer with only some of its patterns, run only when ``shape`` occurs in the text.

    The stock recognizer runs its long IPv6 patterns over every text that holds an IPv4 address."""

    def __init__(self, pattern_names: frozenset[str], shape: re.Pattern[str], name: str) -> None:
        super().__init__(patterns=[p for p in IpRecognizer.PATTERNS if p.name in pattern_names], name=name)
        self.shape = shape

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        if self.shape.search(text) is None:
            return []
        results: list[RecognizerResult] = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return results


def ip_recognizers() -> list[EntityRecognizer]:
    return [
        ProdguardIpRecognizer(frozenset({"IPv4"}), re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d"), "IPv4Recognizer"),
        ProdguardIpRecognizer(
            frozenset({"IPv4_mapped", "IPv4_embedded", "IPv6", "IPv6_unspecified"}),
            re.compile(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:"),
            "IPv6Recognizer",
        ),
    ]


class TextContextEnhancer(ContextAwareEnhancer):
    """Presidio's context-word boost, read from the raw text instead of spaCy lemmas.

    Stock ``LemmaContextAwareEnhancer`` needs every text tokenized and lemmatized and deep-copies all
    results; here a result of a recognizer with context words gains ``context_similarity_factor`` when one
    of them occurs (as a substring, like stock) in the five words before it or the word after it.
    """

    _WORD = re.compile(r"[\w'-]+")

    def __init__(self) -> None:
        super().__init__(
            context_similarity_factor=0.35,
            min_score_with_context_similarity=0.4,
            context_prefix_count=5,
            context_suffix_count=1,
        )

    def enhance_using_context(
        self,
        text: str,
        raw_results: list[RecognizerResult],
        nlp_artifacts: NlpArtifacts | None,
        recognizers: list[EntityRecognizer],
        context: list[str] | None = None,
    ) -> list[RecognizerResult]:
        by_id = {recognizer.id: recognizer for recognizer in recognizers}
        extra = [word.lower() for word in context or ()]
        for result in raw_results:
            metadata = result.recognition_metadata or {}
            recognizer = by_id.get(metadata.get(RecognizerResult.RECOGNIZER_IDENTIFIER_KEY))
            if recognizer is None or not recognizer.context or result.score >= self.MAX_SCORE:
                continue
            if metadata.get(RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY):
                continue
            before = self._WORD.findall(text[max(0, result.start - 80) : result.start].lower())
            after = self._WORD.findall(text[result.end : result.end + 40].lower())
            nearby = before[-self.context_prefix_count :] + after[: self.context_suffix_count] + extra
            if any(word in near for word in recognizer.context for near in nearby):
                result.score = min(
                    max(
                        result.score + self.context_similarity_factor, self.min_score_with_context_similarity
                    ),
                    self.MAX_SCORE,
                )
                metadata[RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY] = True
        return raw_results


# -- registry -------------------------------------------------------------------------------------------

_SEVEN_DIGITS = re.compile(r"\d(?:\D{0,3}\d){6}")
_SIX_DIGITS = re.compile(r"\d(?:\D{0,3}\d){5}")
_ANY_DIGIT = re.compile(r"\d")
_IBAN_START = re.compile(r"[A-Za-z]{2}\d{2}")
_IP_SHAPE = re.compile(r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:|::")
_MAC_SHAPE = re.compile(r"[0-9A-Fa-f]{2}[:-][0-9A-Fa-f]{2}[:-]")


def _has(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda text: pattern.search(text) is not None


_SEVEN = _has(_SEVEN_DIGITS)
_DIGIT = _has(_ANY_DIGIT)

# Cheap tests run before an entity's recognizers: when one fails, the text cannot hold that entity.
PREFILTERS: dict[str, Callable[[str], bool]] = {
    "EMAIL_ADDRESS": lambda text: "@" in text,
    "PHONE_NUMBER": _has(_SIX_DIGITS),
    **dict.fromkeys(("CREDIT_CARD", "US_SSN", "US_ITIN", "US_BANK_NUMBER", "UK_NHS"), _SEVEN),
    "IBAN_CODE": _has(_IBAN_START),
    "IP_ADDRESS": _has(_IP_SHAPE),
    "MAC_ADDRESS": _has(_MAC_SHAPE),
    "URL": lambda text: "." in text,
    # Labelled values, addresses and licences all carry a digit.
    **dict.fromkeys(
        ("US_PASSPORT", "MEDICAL_LICENSE", "STREET_ADDRESS", *sorted(CONTEXT_ENTITIES)), _DIGIT
    ),
    "DATE": _DIGIT,
    "LOCATION": _has(PLACE_CUE_KEYWORDS),
    "PERSONAL_URL": lambda text: "http" in text or "www." in text,
    # For these the test gates the pattern recognizers only; NER runs in its own pass.
    "DATE_TIME": lambda text: _ANY_DIGIT.search(text) is not None or "day" in text,
}

# Pattern recognizers per entity: our own where stock Presidio falls short, stock where it is fine.
_PATTERN_RECOGNIZERS: dict[str, Callable[[PiiSettings], list[EntityRecognizer]]] = {
    "EMAIL_ADDRESS": lambda s: [ProdguardEmailRecognizer()],
    "PHONE_NUMBER": lambda s: [ProdguardPhoneRecognizer(s.phone_regions)],
    "CREDIT_CARD": lambda s: [ProdguardCreditCardRecognizer()],
    "US_SSN": lambda s: [ssn_recognizer()],
    "IBAN_CODE": lambda s: [IbanRecognizer()],
    "IP_ADDRESS": lambda s: ip_recognizers(),
    "STREET_ADDRESS": lambda s: [ProdguardStreetAddressRecognizer()],
    "PERSON": lambda s: [ProdguardPersonCueRecognizer()],
    "LOCATION": lambda s: [ProdguardPlaceCueRecognizer()],
    "DATE_TIME": lambda s: [DateRecognizer(), date_words_recognizer()],
    "CRYPTO": lambda s: [CryptoRecognizer()],
    "URL": lambda s: [UrlRecognizer()],
    "MAC_ADDRESS": lambda s: [MacAddressRecognizer()],
    "US_ITIN": lambda s: [UsItinRecognizer()],
    "US_PASSPORT": lambda s: [UsPassportRecognizer()],
    # Labelled values (one ContextRuleRecognizer for all of them, added by build_registries). Stock
    # UsLicenseRecognizer takes any 9-digit number and most words with a digit; ours needs the label.
    **{entity: lambda s: [] for entity in sorted(CONTEXT_ENTITIES)},
    "ZIP_CODE": lambda s: [ProdguardPostcodeRecognizer()],  # and the labelled rule
    "DATE": lambda s: [ProdguardFullDateRecognizer()],
    "US_BANK_NUMBER": lambda s: [UsBankRecognizer()],
    "UK_NHS": lambda s: [NhsRecognizer()],
    "MEDICAL_LICENSE": lambda s: [MedicalLicenseRecognizer()],
}
_NER_ONLY = NER_ENTITIES - _PATTERN_RECOGNIZERS.keys()


def build_registries(settings: PiiSettings) -> tuple[RecognizerRegistry, RecognizerRegistry | None]:
    """Registries with only the recognizers ``settings.entities`` need (no stock defaults loaded): the
    pattern recognizers, and the NER recognizer (None when NER is off or no NER entity is selected)."""
    if not settings.ner:
        needs_ner = sorted(set(settings.entities) & _NER_ONLY)
        # The default list names LOCATION (place names come from NER only): without NER the default means
        # "everything of it that patterns can find"; an explicit list asking for NER entities is an error.
        if needs_ner and settings.entities != DEFAULT_ENTITIES:
            raise ConfigError(f"pii.entities: {', '.join(needs_ner)} can only be found with pii.ner = true")
    for region in settings.phone_regions:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(f"pii.phone_regions: {region} is not a region phonenumbers knows")
    recognizers: list[EntityRecognizer] = []
    for entity in dict.fromkeys(settings.entities):
        make = _PATTERN_RECOGNIZERS.get(entity)
        if make is not None:
            recognizers.extend(make(settings))
    labelled = tuple(e for e in dict.fromkeys(settings.entities) if e in CONTEXT_ENTITIES)
    if labelled:
        recognizers.append(ContextRuleRecognizer(labelled))
    patterns = RecognizerRegistry(recognizers=recognizers, supported_languages=[settings.language])
    ner_entities = [e for e in dict.fromkeys(settings.entities) if e in NER_ENTITIES]
    if not (settings.ner and ner_entities):
        return patterns, None
    ner = SpacyRecognizer(supported_entities=ner_entities, name=NER_RECOGNIZER_NAME)
    return patterns, RecognizerRegistry(recognizers=[ner], supported_languages=[settings.language])


def pattern_entities(settings: PiiSettings) -> tuple[str, ...]:
    """The selected entities that have a pattern recognizer."""
    return tuple(e for e in dict.fromkeys(settings.entities) if e in _PATTERN_RECOGNIZERS)
