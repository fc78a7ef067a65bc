"""Shape recognizers for what NER finds badly or not at all without it: street addresses and names
announced by a cue.

- ``ProdguardStreetAddressRecognizer``: house number + street type, in the orders used in US/UK English
  ("221B Baker Street", "Flat 3, 12 High St, London SW1A 1AA"), German/Dutch ("Hauptstraße 5",
  "Liviastraat 17"), French ("12 rue de la Paix") and Spanish/Italian/Portuguese/Polish ("Calle Mayor 5",
  "Via Roma, 12"), with an optional city/postcode tail.
- ``ProdguardPersonCueRecognizer``: capitalised names right after a cue ("my name is", "Dear", "Thanks,",
  titles such as "Dr.").
- ``ProdguardFullDateRecognizer`` (``DATE``): dates with day, month and year, and timestamps.
- ``ProdguardPostcodeRecognizer`` (``ZIP_CODE``): UK postcodes, whose shape needs no label.

Both are case-sensitive on purpose: capitalisation is most of what tells "42 Baker Street" from
"42 baker street tickets".
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer
from spacy.lang.en.stop_words import STOP_WORDS

from prodguard.guard._pii.context import DAY as _DAY
from prodguard.guard._pii.context import MONTHS as _MONTHS
from prodguard.guard._pii.context import YEAR as _YEAR

_CASED = re.MULTILINE  # same flag value in the regex module Presidio compiles the patterns with


# -- street addresses -----------------------------------------------------------------------------------

# Street types as written in US/UK addresses (the USPS standard suffixes and their usual abbreviations,
# plus British ones such as Close, Mews, Parade).
_EN_STREET_TYPES = """
Alley Aly Annex Anx Arcade Arc Avenue Ave Av Bayou Beach Bch Bend Bnd Bluff Bluffs Blf Bottom Btm
Boulevard Blvd Branch Br Bridge Brg Brook Brooks Brk Burg Burgs Bypass Byp Camp Canyon Cyn Cape Cpe
Causeway Cswy Center Centers Centre Ctr Circle Circles Cir Cliff Cliffs Clf Close Club Common Commons
Corner Corners Cor Course Court Courts Ct Cove Coves Cv Creek Crk Crescent Cres Crest Crossing Xing
Crossroad Crossroads Curve Dale Dam Divide Drive Drives Dr Estate Estates Est Expressway Expy Extension
Extensions Ext Fall Falls Ferry Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort
Freeway Fwy Garden Gardens Gdns Gateway Gate Glen Glens Green Greens Grn Grove Groves Grv Harbor Harbors
Harbour Harbours Haven Heights Hts Highway Hwy Hill Hills Hollow Inlet Island Islands Isle Junction
Junctions Jct Key Keys Knoll Knolls Lake Lakes Land Landing Lane Ln Light Lights Loaf Lock Locks Lodge Loop
Mall Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount Mountain Mountains Neck Orchard
Oval Overpass Parade Park Parks Parkway Parkways Pkwy Pass Passage Path Pike Pine Pines Place Pl Plain
Plains Plaza Plz Point Points Port Ports Prairie Quay Radial Ramp Ranch Rapid Rapids Rest Ridge Ridges
Rise River Road Roads Rd Route Rte Row Rue Run Shoal Shoals Shore Shores Skyway Spring Springs Spur Spurs
Square Squares Sq Station Stravenue Stream Street Streets St Summit Terrace Ter Throughway Trace Track
Trafficway Trail Trl Trailer Tunnel Turnpike Tpke Underpass Union Unions Valley Valleys Viaduct View Views
Village Villages Ville Vista Walk Walks Wall Way Ways Well Wells Wharf Wynd Yard
"""
_EN_TYPES = "|".join(sorted(set(_EN_STREET_TYPES.split()), key=len, reverse=True))
_CAP_WORD = r"\p{Lu}[\p{L}'’.-]*"
_UNIT = r"(?:,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Flat|Floor|Fl|Room|Rm|Bldg|Building|No)\.?[ \t]*#?[\w-]{1,6})?"
# City, state/postcode tails: "Springfield, IL 62704", "North Holly S6 7LJ", "60220 Kitzingen", "1012 AB Amsterdam".
_TAIL = (
    r"(?:,[ \t]*(?:"
    rf"(?:{_CAP_WORD}[ \t]+){{0,3}}{_CAP_WORD},?[ \t]+(?:[A-Z]{{2}}[ \t]+)?\d{{5}}(?:-\d{{4}})?"
    rf"|(?:{_CAP_WORD}[ \t]+){{0,3}}{_CAP_WORD}[ \t]+[A-Z]{{1,2}}\d[A-Z\d]?[ \t]?\d[A-Z]{{2}}"
    rf"|(?:\d{{4,5}}|\d{{4}}[ \t]?[A-Z]{{2}}|\d{{2}}-\d{{3}})[ \t]+{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,2}}"
    r"))?"
)
_HOUSE_NUMBER = r"\d{1,6}[A-Za-z]?(?:-\d{1,4})?"
_NOT_A_YEAR = r"(?!(?:19|20)\d\d\b)"

_ADDRESS_PATTERNS = (
    # 221B Baker Street / 1777 Kramer Court Apt. 4 / Flat 3, 12 High St, London SW1A 1AA
    (
        "street (en)",
        # The lookahead lets the engine skip every position that cannot start an address, cheaply.
        rf"(?=[\dFAUS])(?:\b(?:Flat|Apartment|Apt|Unit|Suite|Studio)\.?[ \t]+\w{{1,5}},?[ \t]+)?\b{_HOUSE_NUMBER},?[ \t]+"
        rf"(?:(?:N|S|E|W|North|South|East|West)\.?[ \t]+)?(?:(?:{_CAP_WORD}|\d{{1,3}}(?:st|nd|rd|th))[ \t]+){{1,4}}"
        rf"(?:{_EN_TYPES})\b\.?{_UNIT}{_TAIL}",
    ),
    # Hauptstraße 5 / Paulo-Schleich-Straße 19 / Liviastraat 17 / Kurt-Zahn-Gasse 8/7
    (
        "street (de/nl)",
        r"\b\p{Lu}(?=[\p{L}'’.-]{2,48}[ \t]+\d)[\p{L}'’.-]*(?i:straße|strasse|str\.|weg|allee|platz|gasse|(?<![eoua])ring|damm|ufer|"
        r"steig|pfad|chaussee|markt|straat|laan|baan|plein|gracht|kade|singel|dreef|hof|steeg|dijk|boulevard)"
        rf"[ \t]+{_NOT_A_YEAR}\d{{1,5}}[a-z]?(?:[-/]\d{{1,4}})?\b{_TAIL}",
    ),
    # 12 rue de la Paix / 682, avenue de Toussaint
    (
        "street (fr)",
        rf"\b{_HOUSE_NUMBER}(?:[ \t]?(?:bis|ter))?,?[ \t]+(?i:rue|avenue|boulevard|bd|chemin|allée|impasse|"
        r"place|quai|route|cours|square|passage)[ \t]+(?:(?:de|du|des|la|le|les|l['’]|d['’])[ \t]*)*"
        rf"{_CAP_WORD}(?:[ \t]+(?:(?:de|du|des|la|le)[ \t]+)?{_CAP_WORD}){{0,3}}{_TAIL}",
    ),
    # Calle Mayor 5 / Via Roma, 12 / ulica Polna 3
    (
        "street (es/it/pt/pl)",
        r"\b(?:Calle|C/|Avenida|Avda\.|Paseo|Plaza|Camino|Carrer|Ronda|Via|Viale|Piazza|Piazzale|Corso|Largo|"
        r"Vicolo|Rua|Travessa|[Uu]lica|ul\.|[Aa]leja|al\.)[ \t]+"
        r"(?:(?:de|del|della|dei|degli|di|da|do|dos|das|la|las|los)[ \t]+)*"
        rf"{_CAP_WORD}(?:[ \t]+{_CAP_WORD}){{0,3}},?[ \t]+{_NOT_A_YEAR}\d{{1,5}}[A-Za-z]?\b{_UNIT}{_TAIL}",
    ),
)


class ProdguardStreetAddressRecognizer(PatternRecognizer):
    """Street addresses (house number + street type, in the orders used in en/de/nl/fr/es/it/pt/pl)."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="STREET_ADDRESS",
            name="ProdguardStreetAddressRecognizer",
            patterns=[Pattern(name, rx, 0.65) for name, rx in _ADDRESS_PATTERNS],
            context=["address", "street", "live", "ship", "deliver", "located"],
            global_regex_flags=_CASED,
        )


# -- names from cues ------------------------------------------------------------------------------------

_NAME_WORD = r"(?:\p{Lu}['’])?(?:\p{Lu}\p{Ll}+)+(?:[-'’]\p{Lu}?\p{Ll}+)*"
_PARTICLES = r"(?:van|von|de|der|den|da|di|del|della|la|le|du|dos|das|ten|ter|bin|al|el)"
_NAME = rf"{_NAME_WORD}(?:[ \t]+(?:{_PARTICLES}[ \t]+)*(?:\p{{Lu}}\.|{_NAME_WORD})){{0,3}}"
_CUES = (
    r"[Mm]y name is|[Nn]ame is|[Nn]ame:|I am|I'm|I’m|[Tt]his is|[Ii]t's|[Ii]t’s|[Dd]ear|[Hh]i|[Hh]ello|[Hh]ey|"
    r"[Tt]hanks|[Tt]hank you|[Rr]egards|[Cc]heers|[Ss]incerely|[Cc]ontact|[Cc]ustomer|[Cc]lient|[Pp]atient|"
    r"[Ee]mployee|[Aa]pplicant|[Cc]ardholder|[Hh]older|[Uu]ser|[Mm]r|[Mm]rs|[Mm]s|[Mm]iss|[Dd]r|[Pp]rof"
)
# Capitalised words that follow a cue without being a name ("Hi Team", "This is Urgent").
_NOT_NAMES = frozenset(
    {
        "team",
        "all",
        "everyone",
        "there",
        "sir",
        "madam",
        "customer",
        "support",
        "again",
        "guys",
        "folks",
        "friends",
        "sorry",
        "urgent",
        "important",
        "fine",
        "good",
        "great",
        "ok",
        "okay",
        "done",
        "ready",
        "sure",
        "happy",
        "glad",
        "new",
        "interested",
        "looking",
        "writing",
        "trying",
        "going",
        "available",
        "admin",
        "service",
        "sales",
        "hr",
        "it",
        "manager",
        "director",
        "user",
        "client",
        "patient",
        "employee",
        "world",
    }
)


class ProdguardPersonCueRecognizer(PatternRecognizer):
    """Capitalised names right after a cue: "my name is Ana Lima", "Dear Mr. Okafor", "Thanks, Priya"."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="PERSON",
            name="ProdguardPersonCueRecognizer",
            patterns=[Pattern("name after cue", rf"(?<=\b(?:{_CUES})\.?,?:?[ \t]+){_NAME}", 0.6)],
            global_regex_flags=_CASED,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        first = pattern_text.split()[0].lower()
        return first in _NOT_NAMES or first in STOP_WORDS


# -- full dates and postcodes ---------------------------------------------------------------------------

_TIME = r"(?:(?:[ \t]+|T|,[ \t]*)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,6})?)?(?:[ \t]?[AaPp]\.?[Mm]\.?)?)?"
_NUMERIC_DATE = (
    r"(?:(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|[12]\d|3[01])[/.-](?:19|20)\d\d"
    r"|(?:19|20)\d\d([/.-])(?:0?[1-9]|1[0-2])\1(?:0?[1-9]|[12]\d|3[01]))"
)
_WORD_DATE = (
    rf"(?:{_DAY}[ \t]+(?:of[ \t]+)?(?i:{_MONTHS})\.?,?[ \t]+{_YEAR}|(?i:{_MONTHS})\.?[ \t]+{_DAY},?[ \t]+{_YEAR})"
)


class ProdguardFullDateRecognizer(PatternRecognizer):
    """Calendar dates with day, month and year, and timestamps ("3/14/1988", "2021-06-30 08:15:02",
    "14 March 1988"): HIPAA's Safe Harbor removes every date element finer than the year. Bare years,
    weekdays and relative dates ("next Friday") are left alone."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="DATE",
            name="ProdguardFullDateRecognizer",
            patterns=[
                Pattern("numeric date", rf"(?<![\w.:/-]){_NUMERIC_DATE}{_TIME}(?![\w/]|[.:-]\d)", 0.6),
                Pattern("date in words", rf"(?<![\w.]){_WORD_DATE}{_TIME}\b", 0.6),
            ],
            global_regex_flags=_CASED,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        # "13/13/2020" is not a date: one of the first two numbers must be a month. (Not validate_result:
        # a valid result there is raised to the top score and would outrank a date of birth.)
        parts = re.split(r"[/.-]", pattern_text.split()[0].split("T")[0])
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) <= 2:
            return min(int(parts[0]), int(parts[1])) > 12
        return False


class ProdguardPostcodeRecognizer(PatternRecognizer):
    """UK postcodes ("SW1A 1AA", "PH36 9QH"): their letter-digit shape is specific enough without a label
    (numeric postcodes need one: see ``ZIP_CODE`` in ``_pii.context``)."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="ZIP_CODE",
            name="ProdguardPostcodeRecognizer",
            patterns=[Pattern("UK postcode", r"(?<![\w-])[A-Z]{1,2}\d[A-Z\d]?[ \t]\d[ABD-HJLNP-UW-Z]{2}\b", 0.6)],
            global_regex_flags=_CASED,
        )


# -- places after residence and travel cues ---------------------------------------------------------------

# Where someone lives, comes from or travels to. The small model calls many towns PRODUCT or nothing
# ("from Cyprus", "in STEINPARZ"); after these cues a capitalised run is a place. Left out because tools
# follow them too: "moved (back) to" (Jira), "I'm in" (Slack), "I come from" (Java), "is live in" (Production).
_PLACE_CUE = (
    r"(?i:\b(?:(?:(?<!\b(?:is|are|was|were|be|go|goes|went|gone)[ \t])live[sd]?|living|grew[ \t]+up|raised|based|"
    r"originally|stay(?:s|ed|ing)?|settled)[ \t]+(?:here[ \t]+|there[ \t]+)?(?:in|from|near)|"
    r"moved[ \t]+(?:here|there|away)[ \t]+from|(?:flew|flying|fly|travel(?:l?ing|l?ed|s)?|trip|holiday|"
    r"vacation|journey|relocat(?:e|ed|ing)|arrived|arriving|emigrated|immigrated)[ \t]+(?:to|in|at|from)|"
    r"home[ \t]?(?:city|town)(?:[ \t]+(?:of|is|was))?|hometown(?:[ \t]+(?:of|is|was))?):?)"
)
_PLACE_WORD = r"\p{Lu}[\p{L}'’-]*"
_PLACE = rf"{_PLACE_WORD}(?:[ \t]+(?:(?:de|la|le|am|an|upon|on|sur|del|di|da)[ \t]+)?{_PLACE_WORD}){{0,2}}"
PLACE_CUE_KEYWORDS = re.compile(
    r"liv|grew|raised|based|origin|stay|settled|from|moved|fl[eyi]|travel|trip|holiday|vacation|journey|relocat|"
    r"arriv|emigrat|immigrat|home",
    re.IGNORECASE,
)


class ProdguardPlaceCueRecognizer(PatternRecognizer):
    """A capitalised place name after "lives in", "grew up in", "originally from", "flew to", "home city":
    where a person lives or goes narrows them down, whatever the model makes of the name."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="LOCATION",
            name="ProdguardPlaceCueRecognizer",
            patterns=[Pattern("place after cue", rf"(?<={_PLACE_CUE}[ \t]+){_PLACE}(?![\p{{L}}\d])", 0.6)],
            global_regex_flags=_CASED,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        first = pattern_text.split()[0].lower()
        return first in STOP_WORDS or first in _NOT_NAMES
