"""Phone numbers written without a country code, found by the words around them.

People write their own number the way their country does: ``0355 9142588``, ``0660 689 33 05``,
``(45) 5374-6752``, ``031-276-790``, ``04.71.22.71.25``. Without "+CC" nothing in the digits says which
country's plan to check, so ``ProdguardPhoneRecognizer`` (international formats, and national formats of the
policy's ``phone_regions``) leaves them alone. ``ContextPhoneRecognizer`` takes such a shape only when a
phone word stands next to it ("call me on", "Phone:", "Tel.", "Handy", "téléphone", "móvil", "電話", or
"office"/"mobile"/"fax" right after it), and only when ``phonenumbers`` finds it valid for at least one
region plausible for the text: the policy's regions first, then the regions of the language the context
word belongs to, then a fixed list of regions across the world's numbering plans (``FALLBACK_REGIONS``).
The first valid region ends the search, so a number usually costs one or two parses.

What is refused even next to a phone word: dates (``2016-09-17``, ``17.09.2016``), times, IPv4 addresses,
runs of one-digit groups, digit runs without separators shorter than eight digits (codes, PINs), and
more than 15 digits (card and account numbers).
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import PhoneMetadata, PhoneNumber
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

# Phone words by language, each with the regions where that language's speakers write national numbers.
# Matched case-insensitively at the start of a word ("Telefonnummer", "phoned", "mobile:" all count).
CONTEXT_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "en": (
        (
            "phone",
            "call",
            "cell",
            "mobile",
            "tel",
            "telephone",
            "fax",
            "whatsapp",
            "sms",
            "text me",
            "texts",
            "reach me",
            "reach us",
            "reach you",
            "reach him",
            "reach her",
            "dial",
            "ring me",
            "landline",
            "hotline",
            "message",
            "messages",
            "answering",
            "desk",
            "office",
            "home",
            "work",
            "contact",
            # "number" alone is every order and invoice number; a person's number is someone's.
            "my number",
            "your number",
            "his number",
            "her number",
            "their number",
            "our number",
            "contact number",
            "viber",
            "telegram",
        ),
        ("US", "GB", "CA", "AU", "IE", "NZ", "IN", "ZA"),
    ),
    "de": (
        ("telefon", "tel.", "handy", "mobil", "rufnummer", "anrufen", "ruf mich", "erreichbar", "festnetz"),
        ("DE", "AT", "CH"),
    ),
    "fr": (
        ("téléphone", "telephone", "tél", "portable", "appeler", "appelez", "joindre", "numéro de"),
        ("FR", "BE", "CH", "LU", "CA"),
    ),
    "es": (
        ("teléfono", "telefono", "móvil", "movil", "celular", "llamar", "llámame", "llamame"),
        ("ES", "MX", "AR", "CO", "CL", "PE", "UY"),
    ),
    "it": (("telefono", "cellulare", "chiamare", "chiamami", "cell."), ("IT", "CH", "SM")),
    "pt": (("telefone", "celular", "telemóvel", "ligar", "liga-me"), ("PT", "BR")),
    "nl": (("telefoon", "mobiel", "bellen", "bel me", "gsm"), ("NL", "BE")),
    "nordic": (
        ("telefon", "mobil", "tlf", "ring", "puhelin", "soita", "sími", "farsími"),
        ("SE", "NO", "DK", "FI", "IS", "FO", "GL"),
    ),
    "pl/cs/sk/hu": (
        ("telefon", "komórka", "komorka", "numer tel", "zadzwoń", "číslo", "mobil", "mobilszám"),
        ("PL", "CZ", "SK", "HU"),
    ),
    "tr": (("telefon", "cep"), ("TR",)),
    "ru/uk": (("телефон", "тел", "моб", "звоните", "номер"), ("RU", "UA", "BY", "KZ")),
    "el": (("τηλέφωνο", "τηλ", "κινητό"), ("GR", "CY")),
    "ja/zh/ko": (("電話", "携帯", "电话", "手机", "전화", "휴대폰"), ("JP", "CN", "TW", "HK", "KR")),
    "ar/he": (("هاتف", "جوال", "טלפון"), ("AE", "SA", "EG", "MA", "IL")),
}

# One or two regions per numbering-plan family, most populous first; tried after the policy's and the
# context language's regions. German numbers have variable length, so DE accepts many shapes: it is last.
FALLBACK_REGIONS: tuple[str, ...] = (
    "US",
    "GB",
    "FR",
    "IT",
    "ES",
    "NL",
    "BE",
    "CH",
    "AT",
    "SE",
    "NO",
    "DK",
    "FI",
    "IS",
    "IE",
    "PT",
    "PL",
    "CZ",
    "SK",
    "HU",
    "RO",
    "BG",
    "GR",
    "CY",
    "HR",
    "SI",
    "RS",
    "EE",
    "LV",
    "LT",
    "TR",
    "RU",
    "UA",
    "BR",
    "MX",
    "AR",
    "CL",
    "CO",
    "UY",
    "IN",
    "CN",
    "JP",
    "KR",
    "AU",
    "NZ",
    "ZA",
    "NG",
    "EG",
    "IL",
    "AE",
    "PH",
    "ID",
    "GL",
    "FO",
    "LU",
    "DE",
)

_ALL_WORDS = sorted({w for words, _ in CONTEXT_WORDS.values() for w in words}, key=len, reverse=True)
_WORD_REGIONS: dict[str, tuple[str, ...]] = {}
for _words, _regions in CONTEXT_WORDS.values():
    for _w in _words:
        _WORD_REGIONS[_w] = _WORD_REGIONS.get(_w, ()) + _regions
_BEFORE = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in _ALL_WORDS) + r")", re.IGNORECASE)
# After the number, only a label closes it: "723 813 266 office", "0494 41 18 24-Office".
_AFTER = re.compile(
    r"[ \t]*[-–(/]?[ \t]*(office|mobile|cell|fax|home|work|phone|tel|desk|handy|mobil)\b", re.I
)

# National shapes: optional "(area)", digit groups joined by one separator kind, 6-15 digits in all.
_CANDIDATE = re.compile(
    r"(?<![\w@/.+#:-])(?:\(\d{1,5}\)[ \t]?)?\d{1,12}(?:(?:[ \t]|[-./])\d{1,8}){0,5}(?![\w@]|[.,:/-]\d)"
)
# Whole-candidate dates: "2016-09-17", "17.09.2016", "9/17/16" (but "04.94.38.88.56" is a French number).
_DATE = re.compile(r"(?:19|20)\d\d([-./])\d{1,2}\1\d{1,2}|\d{1,2}([-./])\d{1,2}\2(?:19|20)?\d\d")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_GROUPS = re.compile(r"\d+")
_INTERNATIONAL_BEFORE = re.compile(r"(?:\+|\b00)\d{1,4}[ \t.-]?(?:\(0\)[ \t]?)?$")
_SENTENCE_END = re.compile(r"[.!?][ \t]")
_NAME = "ContextPhoneRecognizer"
WINDOW_BEFORE = 40  # characters before the number searched for a phone word ("Phone:\n", "call me on")


class ContextPhoneRecognizer(LocalRecognizer):
    """National phone numbers next to a phone word, valid for a region plausible for the text."""

    SCORE = 0.7

    def __init__(self, regions: tuple[str, ...]) -> None:
        self.regions = regions
        super().__init__(supported_entities=["PHONE_NUMBER"], name=_NAME)

    def load(self) -> None:
        """Load the regions' numbering plans now (phonenumbers imports each lazily, ~2 ms apiece)."""
        for region in (
            *self.regions,
            *FALLBACK_REGIONS,
            *(r for _, rs in CONTEXT_WORDS.values() for r in rs),
        ):
            _plan(region)

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        for match in _CANDIDATE.finditer(text):
            candidate = match.group()
            if not plausible_shape(candidate):
                continue
            start, end = match.start(), match.end()
            if _INTERNATIONAL_BEFORE.search(text, max(0, start - 6), start):
                continue  # the rest of "+44 20 7946 0958": the international pass has it
            regions = self._context_regions(text, start, end)
            if regions is None:
                continue
            if valid_somewhere(candidate, (*self.regions, *regions, *FALLBACK_REGIONS)):
                results.append(self._result(start, end))
        return results

    def _context_regions(self, text: str, start: int, end: int) -> tuple[str, ...] | None:
        """The regions of the phone word near the number (empty for a label after it); None without one."""
        window = text[max(0, start - WINDOW_BEFORE) : start]
        found = list(_BEFORE.finditer(window))
        # The phone word must be in the number's sentence: "... call us. Order 1234 5678" is no phone, while
        # the dot of "Tel. 030 1234567" is the word's own.
        if found and _SENTENCE_END.search(window, found[-1].end() + 1) is None:
            return _WORD_REGIONS.get(found[-1].group().lower(), ())
        if _AFTER.match(text, end):
            return ()
        return None

    def _result(self, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=_NAME,
            original_score=self.SCORE,
            textual_explanation="national phone number next to a phone word",
        )
        return RecognizerResult(
            entity_type="PHONE_NUMBER",
            start=start,
            end=end,
            score=self.SCORE,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: _NAME,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def plausible_shape(candidate: str) -> bool:
    """6-15 digits, not a date or IPv4 address; grouped like a number people read out."""
    digits = sum(ch.isdigit() for ch in candidate)
    if not 6 <= digits <= 15 or _DATE.fullmatch(candidate) or _IPV4.fullmatch(candidate):
        return False
    groups = _GROUPS.findall(candidate)
    if len(groups) == 1:
        return digits >= 8  # a bare run: "8240084271" yes, a 6-digit code no
    # "1 2 3 4 5 6" is a list, not a number; one short leading group like "(1)" or "0" is fine.
    if sum(len(g) == 1 for g in groups[1:]) > 0:
        return False
    separators = {ch for ch in candidate if not ch.isdigit() and ch not in "()"}
    return len(separators - {" "}) <= 1


def valid_somewhere(candidate: str, regions: tuple[str, ...]) -> bool:
    """True when ``phonenumbers`` calls the national number valid in one of ``regions`` (in order).

    ``phonenumbers.parse`` per region costs ~100 µs (most of it extracting and normalising, the same for
    every region); here the digits are taken once, each region's national prefix is stripped with its own
    metadata and only the validity check runs per region."""
    digits = "".join(ch for ch in candidate if ch.isdigit())
    seen: set[str] = set()
    for region in regions:
        if region in seen:
            continue
        seen.add(region)
        plan = _plan(region)
        if plan is None:
            continue
        country_code, national_prefix = plan
        national = digits
        if national_prefix is not None:
            match = national_prefix.match(national)
            if match is not None and 0 < match.end() < len(national):
                national = national[match.end() :]
        number = PhoneNumber(country_code=country_code, national_number=int(national))
        zeros = len(national) - len(national.lstrip("0"))
        if zeros:
            number.italian_leading_zero = True
            number.number_of_leading_zeros = zeros
        if phonenumbers.is_valid_number_for_region(number, region):
            return True
    return False


@functools.cache
def _plan(region: str) -> tuple[int, re.Pattern[str] | None] | None:
    """The region's country code and national-prefix pattern (cached: metadata is immutable)."""
    metadata = PhoneMetadata.metadata_for_region(region)
    if metadata is None or metadata.country_code is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    return metadata.country_code, re.compile(prefix) if prefix else None
