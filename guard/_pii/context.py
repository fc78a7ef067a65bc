"""Values that only their label makes personal: a date after "born", a number after "driver's licence".

A date alone is a date and a nine-character code is a code; written right after "date of birth" or
"passport no." they single a person out. Each ``ContextRule`` is a label (in several languages), a short
gap, and the value's shape; ``ContextRuleRecognizer`` reports the value only (the label stays readable).
Rules are data with examples that must and must not match, run by the test suite through the analyzer.

Entities (see ``DEFAULT_ENTITIES`` in ``_pii_types`` for which are redacted by default and why):
- ``DATE_OF_BIRTH``: a date after born / DOB / date of birth / birthday (and their French, German,
  Spanish, Italian, Portuguese, Dutch and Nordic forms).
- ``US_DRIVER_LICENSE``: a 5-20 character code with at least four digits after driver's license / driving
  licence / DL number (the stock recognizer matches any 9-digit number and most words with a digit).
- ``PASSPORT``: after passport number / no. / # (and Reisepass, passeport, pasaporte, passaporto).
- ``NATIONAL_ID``: after national id / ID number / identity card / personal number / DNI / NIE / NIF /
  BSN / PESEL / codice fiscale / Personalausweis / personnummer / henkilötunnus.
- ``AGE``: "34 years old", "34-year-old", "aged 34", "age: 34", "turned 34", "I'll turn 34.", "I'm 34.",
  "when she was 34", "at the age of 34" (not "under the age of 13": a rule about ages).
- ``ZIP_CODE``: a postcode after zip / zip code / postcode / postal code / PLZ / code postal / CAP.
- ``PERSONAL_URL``: a link to someone's own page or posts, or a share link: after "my website", "her
  blog", a "Website:" field, "shared … with you", "posted a photo".
"""

from __future__ import annotations

from dataclasses import dataclass

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

MONTHS = (
    r"(?:jan(?:uary|\.)?|feb(?:ruary|\.)?|mar(?:ch|\.)?|apr(?:il|\.)?|may|june?|july?|aug(?:ust|\.)?|"
    r"sep(?:t(?:ember)?|\.)?|oct(?:ober|\.)?|nov(?:ember|\.)?|dec(?:ember|\.)?|"
    r"januar|februar|märz|mai|juni|juli|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|"
    r"septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
    r"octubre|noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|dicembre)"
)
DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th|\.)?"
YEAR = r"(?:19|20)\d\d"
# 2/27/1993, 27.02.1993, 1993-02-27, 27 February 1993, February 27, 1993, 27th of Feb 1993
DATE_PATTERN = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:{YEAR}|\d\d)|{YEAR}[/.-]\d{{1,2}}[/.-]\d{{1,2}}"
    rf"|{DAY}[ \t]+(?:of[ \t]+)?(?i:{MONTHS}),?[ \t]+{YEAR}|(?i:{MONTHS})[ \t]+{DAY},?[ \t]+{YEAR})\b"
)


@dataclass(frozen=True)
class ContextRule:
    """``label`` (case-insensitive), then at most ``gap`` characters, then ``value`` (the reported span)."""

    entity: str
    label: str
    value: str
    score: float
    examples: tuple[tuple[str, str], ...]  # (text, the value that must be found)
    counterexamples: tuple[str, ...]  # texts where nothing of this entity may be found
    # Lower-case substrings, one of which every label contains: texts without any skip the regex.
    keywords: tuple[str, ...]
    gap: int = 24


RULES: tuple[ContextRule, ...] = (
    ContextRule(
        "DATE_OF_BIRTH",
        r"\b(?:born|d\.?o\.?b\.?|date[ \t]+of[ \t]+birth|birth[ \t]?date|birthday|geboren|geburtsdatum|"
        r"né|née|date[ \t]+de[ \t]+naissance|nacid[oa]|fecha[ \t]+de[ \t]+nacimiento|nat[oa][ \t]+il|"
        r"data[ \t]+di[ \t]+nascita|data[ \t]+de[ \t]+nascimento|geboortedatum|födelsedatum|fødselsdato|"
        r"fødd|født|född|syntynyt)\b",
        DATE_PATTERN,
        0.8,
        (
            ("Mara Ilić, born 3/14/1988, asked about her policy.", "3/14/1988"),
            ("DOB: 1979-11-02", "1979-11-02"),
            ("my birthday is March 3, 1991 so the discount applies", "March 3, 1991"),
            ("Geburtsdatum: 02.11.1979", "02.11.1979"),
            ("he was born on the 5th of June 2001", "5th of June 2001"),
            ("né le 14 juillet 1975 à Lyon", "14 juillet 1975"),
        ),
        ("The contract was signed on 3/14/1988.", "the invoice date is 2024-01-31"),
        keywords=("born", "dob", "d.o.b", "birth", "geboren", "geburts", "né", "naissance", "nacid", "nacimiento", "nato il", "nata il", "nascita", "nascimento", "geboorte", "födelse", "fødsel", "fødd", "født", "född", "syntyn"),
    ),
    ContextRule(
        "DATE_OF_BIRTH",
        r"\b(?:born(?:[ \t]+in)?|year[ \t]+of[ \t]+birth:?)",
        rf"{YEAR}\b",
        0.7,
        (("She was born in 1964.", "1964"), ("year of birth: 1950", "1950")),
        ("Born to run, released 1975, still great.", "founded in 1964"),
        keywords=("born", "birth"),
        gap=1,
    ),
    ContextRule(
        "US_DRIVER_LICENSE",
        r"\b(?:driver'?s?[ \t]+licen[cs]e|driving[ \t]+licen[cs]e|licen[cs]e[ \t]+(?:no\b|number|#)|"
        r"DL[ \t]*(?:no\b|number|#)|Führerschein(?:nummer)?|permis[ \t]+de[ \t]+conduire|licencia[ \t]+de[ \t]+conducir)",
        r"(?=[A-Za-z0-9*-]{0,20}\d(?:[A-Za-z*-]*\d){3})[A-Za-z0-9][A-Za-z0-9*-]{4,19}\b",
        0.75,
        (
            ("My driver's license number is K23-441-9081.", "K23-441-9081"),
            ("driving licence no. MORGA753116SM9IJ", "MORGA753116SM9IJ"),
            ("DL#: 50871234", "50871234"),
            ("license number qe30881742 expires next year", "qe30881742"),
        ),
        (
            "I renewed my driver's license in 2019.",
            "The software licence number of seats is 20.",
            "drivers license office opens at 9",
        ),
        keywords=("licen", "dl", "führerschein", "permis", "licencia"),
    ),
    ContextRule(
        "PASSPORT",
        r"\b(?:passport|reisepass|passeport|pasaporte|passaporto|paspoort|passnummer)(?:[ \t]*(?:no\b\.?|number|num\.?|#|nr\.?|nummer|numéro|número|numero))?",
        r"(?=[A-Za-z0-9]{0,9}\d(?:[A-Za-z]*\d){3})[A-Za-z]{0,2}[0-9][A-Za-z0-9]{4,9}\b",
        0.75,
        (
            ("Passport number: 912803456", "912803456"),
            ("passport no. C01X00T47 issued in Berlin", "C01X00T47"),
            ("Reisepassnummer C4J7RT2K9", "C4J7RT2K9"),
        ),
        ("My passport expires in 2027.", "Passport photos cost 12 dollars."),
        keywords=("passport", "reisepass", "passeport", "pasaporte", "passaporto", "paspoort", "passnummer"),
    ),
    ContextRule(
        "NATIONAL_ID",
        r"\b(?:national[ \t]+id(?:entity)?(?:[ \t]+(?:number|no\b\.?|card))?|"
        r"(?<!(?:order|ticket|invoice|tracking|transaction|customer|session|request|user|account)[ \t])"
        r"id[ \t]+(?:number|no\b\.?|card[ \t]+number)|identity[ \t]+card[ \t]+(?:number|no\b\.?)|"
        r"personal[ \t]+(?:id(?:entification)?[ \t]+)?number|personnummer|henkilötunnus|DNI|NIE|NIF|BSN|PESEL|"
        r"codice[ \t]+fiscale|Personalausweis(?:nummer)?|numéro[ \t]+de[ \t]+sécurité[ \t]+sociale|CPF|Aadhaar)",
        r"(?=[A-Za-z0-9./-]{0,20}\d(?:[A-Za-z./-]*\d){4})[A-Za-z0-9][A-Za-z0-9./-]{4,20}[A-Za-z0-9]\b",
        0.75,
        (
            ("DNI 12345678Z", "12345678Z"),
            ("personnummer 19800101-1234", "19800101-1234"),
            ("my national id number is AB1234567", "AB1234567"),
            ("codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S"),
        ),
        ("Enter your ID number below.", "the BSN field is optional", "order id number 55120934"),
        keywords=("national id", "id number", "id no", "id card", "identity", "personal", "personnummer", "henkilötunnus", "dni", "nie", "nif", "bsn", "pesel", "codice", "personalausweis", "sécurité", "cpf", "aadhaar"),
    ),
    ContextRule(
        "AGE",
        "",  # "years old" says it all: no label needed
        r"(?<![\d.,])(?:1[01]\d|[1-9]?\d)(?=[ \t-]*(?:years?|yrs?)[ \t-]*old\b|[ \t]*y/?o\b)",
        0.6,
        (
            ("Patient is a 58-year-old woman with a cough.", "58"),
            ("This 41 year old man reports pain", "41"),
            ("I'm 33 yo", "33"),
            ("Ana Ruiz, 61 years old, asked", "61"),
        ),
        ("This 2 step process is easy.", "a 3.5 rating", "a 10 year warranty"),
        # " yo " and its punctuated forms, not every "you".
        keywords=("year", "yr", "y/o", " yo ", " yo.", " yo,", " yo!", " yo?", " yo)", " yo\n"),
        gap=2,
    ),
    ContextRule(
        "AGE",
        r"\b(?:aged|age:?|turn(?:s|ed|ing)?|when[ \t]+(?:he|she|i|they|we)[ \t]+(?:was|were)|"
        r"i['’]?m|i[ \t]+am|(?:he|she)(?:['’]s|[ \t]+is))",
        r"(?<![\d.,])(?:1[01]\d|[1-9]?\d)(?=[ \t]*(?:[.,!?;]|$))",
        0.6,
        (
            ("My sister just turned 19", "19"),
            ("Written when she was 27.", "27"),
            ("aged 72, retired", "72"),
            ("Next month I'll turn 40!", "40"),
            ("Guess what, I'm 52.", "52"),
        ),
        ("He turned 3 pages.", "turning 90 degrees left", "I'm 5 minutes late", "she's 2 steps ahead"),
        keywords=("age", "turn", "when", "i'm", "i’m", " im ", "i am", "he's", "he’s", "he is"),
        gap=2,
    ),
    ContextRule(
        "AGE",
        # "under the age of 13" is a rule about ages, not someone's age.
        r"(?<!\b(?:under|over|above|below|from)[ \t])\bat[ \t]+the[ \t]+age[ \t]+of|(?<!\b(?:under|over|above|below|from)[ \t]the[ \t])\bage[ \t]+of",
        r"(?<![\d.,])(?:1[01]\d|[1-9]?\d)\b(?![.,]\d|[ \t]+(?:or|and)[ \t]+(?:over|older|under|younger|above|up))",
        0.6,
        (("My grandmother retired at the age of 61 and moved", "61"), ("Dad died at the age of 88.", "88")),
        ("Children under the age of 13 need consent.", "open to anyone at the age of 18 or older"),
        keywords=("age of",),
        gap=1,
    ),
    ContextRule(
        "PERSONAL_URL",
        # "my website", not "our website": a project's or a company's site is not about a person.
        r"\b(?:(?:my|his|her)[ \t]+(?:(?:personal|own|new)[ \t]+)?(?:web[ \t]?site|site|blog|"
        r"home[ \t]?page|page|profile|portfolio|channel|cv|resume|shop|store)\b|(?:web[ \t]?site|home[ \t]?page|"
        r"blog|profile|portfolio|web|url)[ \t]*:|shared[ \t]+(?:[\w-]+[ \t]+){0,3}with[ \t]+(?:you|me|us)\b|"
        r"(?:posted|uploaded|shared)[ \t]+(?:(?:a|an|my|the|some|new|this)[ \t]+)?(?:photos?|pictures?|pics?|videos?|"
        r"posts?|files?|links?|docs?|documents?)\b)",
        r"(?:https?://|www\.)[^\s<>\"'()]*[^\s<>\"'().,;:!?]",
        0.7,
        (
            ("Check out my blog: https://www.rowan-okafor.example/notes", "https://www.rowan-okafor.example/notes"),
            ("Website:\nhttp://tinyfern-studio.example/", "http://tinyfern-studio.example/"),
            ("I have shared the slides with you https://files.example/s/Xk29QpLm", "https://files.example/s/Xk29QpLm"),
            ("Just uploaded a photo www.pics.example/u/lenka88.", "www.pics.example/u/lenka88"),
        ),
        (
            "The docs at https://docs.python.org/3/library/re.html explain it.",
            "Is my website secure if it uses http://localhost:8080 in dev?",
            "To help, visit our website (https://project.example/contribute/).",
        ),
        keywords=("http", "www."),
        gap=8,
    ),
    ContextRule(
        "ZIP_CODE",
        r"\b(?:zip(?:[ \t]*code)?|post[ \t]?code|postal[ \t]+code|PLZ|code[ \t]+postal|CAP|código[ \t]+postal)\b",
        r"(?:\d{5}(?:-\d{4})?|\d{3}[ \t]?\d{2}|\d{4}(?:[ \t]?[A-Z]{2})?|\d{4}-\d{3}|\d{2}-\d{3}|"
        r"[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2})\b",
        0.7,
        (("ZIP: 60614", "60614"), ("my postcode is SW1A 1AA", "SW1A 1AA"), ("PLZ 80331 München", "80331")),
        ("Zip the files into one archive of 2 MB.",),
        keywords=("zip", "post", "plz", "code postal", "cap", "código postal"),
    ),
)


class ContextRuleRecognizer(LocalRecognizer):
    """Runs the ``RULES`` of the given entities: the value after its label, the label itself left alone.

    One recognizer for all of them: Presidio's per-recognizer bookkeeping costs more than these rules."""

    def __init__(self, entities: tuple[str, ...]) -> None:
        self.rules = tuple(r for r in RULES if r.entity in entities)
        self.patterns = tuple(
            # The label is case-insensitive, the value keeps its own flags; the gap may cross one line
            # break ("Passport number:\n912803456") but no digit.
            regex.compile(
                rf"(?i:{r.label})[^\n\d]{{0,{r.gap}}}?(?:\n[^\n\d]{{0,{r.gap}}}?)?(?<![^\W\d])(?P<value>{r.value})"
                if r.label
                else rf"(?P<value>{r.value})"  # the value carries its own context ("34 years old")
            )
            for r in self.rules
        )
        self.recognizer_name = "ContextRuleRecognizer"
        super().__init__(supported_entities=list(dict.fromkeys(entities)), name=self.recognizer_name)

    def load(self) -> None:
        """Nothing to load."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results = []
        lowered = text.lower() + "\n"  # a keyword may end the text ("I'm 33 yo")
        for rule, pattern in zip(self.rules, self.patterns, strict=True):
            if rule.entity not in entities or not any(word in lowered for word in rule.keywords):
                continue
            for match in pattern.finditer(text, timeout=0.1):
                start, end = match.span("value")
                results.append(self._result(rule, start, end))
        return results

    def _result(self, rule: ContextRule, start: int, end: int) -> RecognizerResult:
        explanation = AnalysisExplanation(
            recognizer=self.recognizer_name,
            original_score=rule.score,
            textual_explanation=f"{rule.entity} after its label",
        )
        return RecognizerResult(
            entity_type=rule.entity,
            start=start,
            end=end,
            score=rule.score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.recognizer_name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


CONTEXT_ENTITIES: frozenset[str] = frozenset(r.entity for r in RULES)
