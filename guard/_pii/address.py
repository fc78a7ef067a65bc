"""Street addresses as people write them in many countries, grown from a street line to the whole address.

``ProdguardStreetAddressRecognizer`` (in ``_pii_shapes``) finds English, German/Dutch, French and Southern
European street lines by their street-type words. ``address_spans`` runs after it (and after NER) on the
analyzed text and adds what those shapes cannot know:

- streets written "Name Number" in every other language ("Strojírenská 1006", "Höfðastígur 86",
  "Πεντέλης 210"): taken when the street name ends in a street word of a Nordic, Baltic, Central or
  Eastern European language, or when an address cue precedes it ("lives at", "address:", "ship to") and
  at least one of its words is not an English word (so "at Gate 12" and "in Python 3" stay);
- US military and post-office-box addresses ("PSC 2221, Box 9693", "USNS Gomez", "APO AE 09012",
  "P.O. Box 63"), and apartment/suite units;
- the rest of the address around a street line: a building number in front of it, a unit, city, region,
  postcode and country after it on the same line, and the following short lines of an address block
  ("Apt. 4", "Svratka", "Czech Republic 45098").

Overlapping detections inside an address (NER often calls a street a person) become one STREET_ADDRESS.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

from prodguard.guard._pii.types import PiiSpan

ENTITY = "STREET_ADDRESS"

# Street words that end a street name ("Lumbyholmvej", "Ålfjordgata", "Suometsäntie", "Bécsi utca").
_STREET_ENDINGS = (
    "vej|gade|gata|gatan|gatu|vägen|väg|veien|vegen|vei|vegur|stien|stræde|allé|alléen|tie|katu|kuja|polku|"
    "raitti|utca|útja|út|ulica|ulice|ulitsa|cesta|braut|stígur|sokak|sokağı|caddesi|bulevar|trg|náměstí|"
    "třída|iela|gatvė|tänav|straße|strasse|gasse|weg|platz|straat|laan|steeg|plein|kade|veg|põik|tee|mnt|"
    "puiestee|prospekt|aleja|aleje|ulitsa|vulytsia|sokak"
)
_CAP = r"(?:\p{Lu}[\p{L}'’.-]*)"
_LINK = r"(?:de|da|do|dos|del|della|di|du|la|le|van|von|der|u|nad|pod|na|i)"
_STREET_NAME = rf"{_CAP}(?:[ \t]+(?:{_LINK}[ \t]+)?{_CAP}){{0,3}}(?:[ \t]+(?:{_STREET_ENDINGS}))?"
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4})?"
# "Name Number": the number must not continue as a decimal, time, range or percentage.
_NAME_NUMBER = regex.compile(
    rf"(?<![\w-])(?:(?P<bno>\d{{1,6}})[ \t]+)?(?P<name>{_STREET_NAME}),?[ \t]+(?P<no>{_NUMBER})"
    r"(?![\w%]|[.,:]\d)"
)
_ENDS_IN_STREET_WORD = regex.compile(rf"(?i:{_STREET_ENDINGS})\.?$|^(?i:{_STREET_ENDINGS})\b")
_CUE = regex.compile(
    r"(?i:address|live[sd]?|living|reside|located|location|sent[ \t]+to|send[ \t]+(?:it[ \t]+)?to|ship|deliver|"
    r"moved[ \t]+to|street|road|drops?[ \t]+(?:you[ \t]+)?off|enter|station|stop|meet|office|house|flat|"
    r"apartment|billing|mailing|postal)[^!?\n]{0,40}$"
)
_DIGIT = regex.compile(r"\d")
_YEAR = regex.compile(r"(?:1[89]|20)\d\d")
_ORG_WORDS = frozenset(
    [
        "inc",
        "inc.",
        "ltd",
        "ltd.",
        "llc",
        "corp",
        "corp.",
        "co",
        "co.",
        "gmbh",
        "plc",
        "sa",
        "ag",
        "nv",
        "bv",
        "srl",
        "spa",
    ]
)
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "januar",
        "februar",
        "märz",
        "mai",
        "juni",
        "juli",
        "oktober",
        "dezember",
        "janvier",
        "février",
        "mars",
        "avril",
        "juin",
        "juillet",
        "août",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
    ]
)

# Shapes that are addresses by themselves (USPS military and box addresses, units).
_MILITARY = regex.compile(
    r"\b(?:(?:PSC|CMR|Unit)[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{1,5}|(?:USNS|USNV|USS|USCGC)[ \t]+\p{Lu}[\p{L}'’-]+)"
    r"(?:[ \t,]*\n?[ \t]*(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5})?"
    r"|\b(?:APO|FPO|DPO)[ \t]+A[AEP][ \t]+\d{5}\b"
)
_PO_BOX = regex.compile(
    r"\b(?:P\.?[ \t]?O\.?[ \t]?Box|Post[ \t]+Office[ \t]+Box|Postfach|Apartado|Casella[ \t]+Postale|Boîte[ \t]+Postale)"
    r"[ \t]*#?\d{1,6}\b"
)
_UNIT = r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Fl|Floor|Room|Rm|Bldg|Building)\.?[ \t]*#?\d{1,5}[A-Za-z]?\b"
_UNIT_ALONE = regex.compile(r"\b(?:Apt\.?|Apartment|Suite)[ \t]*#?\d{1,5}[A-Za-z]?\b")

# What may follow a street line on the same line: unit, city words, region code, postcode, country.
_INLINE_TAIL = regex.compile(
    rf"(?:[ \t]*,?[ \t]*(?:{_UNIT}|{_CAP}|\p{{Lu}}{{2,}}|\d{{3,5}}(?:[ -]\d{{2,4}})?|[A-Z]{{1,2}}\d[A-Z\d]?[ \t]?\d[A-Z]{{2}}|"
    r"\((?:\p{L}+)\)))+"
    r"(?=[ \t]*(?:$|\n|[.;!?](?:\s|$)))"
)
# A following line of an address block, after an optional prefix the block's lines share ("> ", "  ").
_BLOCK_LINE = regex.compile(
    rf"\n(?:[ \t]*\n)?(?P<prefix>[^\w\n]{{0,4}})[ \t]*(?P<body>(?:{_UNIT}|"
    rf"(?:{_CAP}|\p{{Lu}}{{2,}})(?:[ \t,]+(?:{_LINK}|{_CAP}|\p{{Lu}}{{2,}}|\(\p{{L}}+\)|\d{{1,5}})){{0,5}}"
    rf"(?:[ \t,]+(?:\d{{3,6}}(?:[ -]\d{{2,4}})?|[A-Z]{{1,2}}\d[A-Z\d]?[ \t]?\d[A-Z]{{2}}))?|"
    rf"\d{{3,6}}(?:[ -]\d{{2,4}})?))[ \t]*(?=\n|$)"
)
_MAX_BLOCK_LINES = 5
_LEADING_NUMBER = regex.compile(r"(?:\d{1,6}[ \t]+){1,2}$")
_NOT_ADDRESS_LINE = regex.compile(r"(?i)^(?:phone|mobile|desk|fax|tel|e-?mail|website|name|date|www|http)|@")


def address_spans(text: str, spans: list[PiiSpan], is_word: Callable[[str], bool] | None) -> list[PiiSpan]:
    """``spans`` with street addresses added and grown to whole addresses (overlaps merged).

    ``is_word`` tells English words; without it (no lexicon) "Name Number" streets are not looked for."""
    if _DIGIT.search(text) is None:
        return spans
    anchors = [(s.start, s.end) for s in spans if s.entity_type == ENTITY]
    for pattern in (_MILITARY, _PO_BOX, _UNIT_ALONE):
        anchors += [m.span() for m in pattern.finditer(text, timeout=0.1)]
    if is_word is not None:
        anchors += _name_number_streets(text, is_word)
    if not anchors:
        return spans
    grown = []
    for start, end in _merge([_grow(text, start, end) for start, end in anchors]):
        inside = [s for s in spans if s.start < end and start < s.end]
        grown.append((min([start, *(s.start for s in inside)]), max([end, *(s.end for s in inside)])))
    blocks = _merge(grown)
    kept = [s for s in spans if not any(s.start < end and start < s.end for start, end in blocks)]
    return sorted(kept + [PiiSpan(start, end, ENTITY, 0.65) for start, end in blocks])


def _name_number_streets(text: str, is_word: Callable[[str], bool]) -> list[tuple[int, int]]:
    found = []
    for match in _NAME_NUMBER.finditer(text, timeout=0.1):
        name = match.group("name")
        words = [w.strip(".'’-") for w in name.split()]
        lowered = [w.lower() for w in words if w]
        if not lowered or lowered[0] in _MONTHS or any(w in _ORG_WORDS for w in lowered):
            continue
        foreign = any(len(w) > 2 and not is_word(w) for w in lowered)
        street_word = _ENDS_IN_STREET_WORD.search(name) is not None
        before = text[max(0, match.start() - 60) : match.start()]
        cue = _CUE.search(before) is not None
        # A year after a bare name is a date ("Berlin 2024"); after a street word or a building number
        # it is a house number.
        if _YEAR.fullmatch(match.group("no")) and not (street_word or match.group("bno")):
            continue
        # Evidence, strongest first: a foreign name ending in a street word; a building number after an
        # address cue; a foreign name with a building number, a cue, or address lines below it.
        building = match.group("bno") is not None
        if (
            (street_word and foreign)
            or (building and cue)
            or (foreign and (building or cue or _starts_block(text, match.start(), match.end())))
        ):
            found.append(match.span())
    return found


def _starts_block(text: str, start: int, end: int) -> bool:
    """A "Name Number" line of its own followed by an address line (unit, city + postcode)."""
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip(" \t>}?*-|"):
        return False
    nxt = _BLOCK_LINE.match(text, _line_end(text, end))
    return nxt is not None and _NOT_ADDRESS_LINE.search(nxt.group("body")) is None


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end == -1 else end


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    """Building number before; unit, city, postcode, country after; then the block's following lines."""
    lead = _LEADING_NUMBER.search(text, max(0, start - 16), start)
    if lead is not None and lead.end() == start:
        start = lead.start()
    tail = _INLINE_TAIL.match(text, end)
    if tail is not None:
        end = tail.end()
    for _ in range(_MAX_BLOCK_LINES):
        if text[end : end + 1] not in ("\n", "") and _line_end(text, end) != end:
            break
        nxt = _BLOCK_LINE.match(text, end)
        if nxt is None or _NOT_ADDRESS_LINE.search(nxt.group("body")):
            break
        end = nxt.end("body")
    return start, end


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
