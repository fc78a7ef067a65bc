"""Company names and job titles that say who someone is or does business with.

The small spaCy model tags products, software and acronyms as organisations ("Slack", "CI", "the Fed"),
so its ORGANIZATION label is not redacted by default. Two narrower classes are (entity ``COMPANY``):

- a *registered* name: capitalised words ending in a legal form ("Larkspur Analytics Ltd",
  "Brenner & Sohn GmbH", "Quilmes Textil S.A.", "Hanbit Co., Ltd."). People write well-known brands
  without their legal form; with it, the name usually comes from a contract, an invoice or a support
  ticket: someone's customer, supplier or employer. Words that only suggest an organisation ("Group",
  "Holdings", "Labs", ...) count when the name also has a word that is not English or an acronym
  ("Veltrano Group" yes, "Working Group" no).
- an *employer*: the capitalised name after "I work at/for", "employed by", "my employer", "job at".
  Employer, job title and town together single most people out.

- the company line of a contact block: the line between a line that is a name and an address
  ("Jane Doe / Harbour Analytics / 12 Quay Street"), as in e-mail signatures and letterheads.

And the job title next to an employer (entity ``JOB_TITLE``): "I work for Acme Ltd as a payroll
clerk", "she works as a night nurse at Ridgeview Clinic". A title alone ("I'm a nurse") stays.
"""

from __future__ import annotations

from collections.abc import Callable

import regex
from spacy.lang.en.stop_words import STOP_WORDS

from prodguard.guard._pii.types import PiiSpan

COMPANY_SCORE = 0.7
# Spans a company name replaces when they overlap it: NER guesses on the same words.
_GUESSES = frozenset({"PERSON", "LOCATION", "NRP", "ORGANIZATION", "DATE_TIME"})

# A word of a name: starts with a capital or digit; "&", "+", "*", "/", "-" and inner dots allowed
# ("W&T", "E*Trade", "MOLD-TEK", "LYX.FTSE"); a final dot ends the word (sentence end or abbreviation).
_WORD = r"[\p{Lu}\d](?:[\p{L}\d&'’+*/-]|\.(?=[\p{L}\d]))*"
_FIRST = r"(?=[\p{Lu}\d&'’+*/.-]*\p{L})[\p{Lu}\d](?:[\p{L}\d&'’+*/-]|\.(?=[\p{L}\d]))*"
_JOIN = r"(?:of|and|&|de|du|des|der|den|van|von|für|und|y|e|the|la|le|di|da|del)"
_JOIN_WORD = regex.compile(_JOIN)
_RUN = rf"{_FIRST}(?:[ \t]+(?:{_JOIN}[ \t]+)*{_WORD}){{0,5}}"
# Legal forms (case as registered; upper-case variants for names written in capitals). Left out as too
# ambiguous: "SE" ("iPhone SE"), "LP" (a record), bare "CO" (Colorado: "Denver, CO").
_LEGAL = (
    r"(?:Inc|Incorporated|Ltd|Limited|LLC|L\.L\.C|LLP|L\.P|PLC|Plc|plc|GmbH|AG|KGaA|KG|S\.A|SA|SAS|SARL|S\.p\.A|SpA|"
    r"SPA|S\.r\.l|Srl|B\.V|BV|N\.V|NV|Oyj|Oy|AB|ASA|A/S|ApS|Pty|Pte|Sdn|Bhd|Tbk|Ltda|K\.K|Corp|Corporation|Co|"
    r"Company|INC|LTD|LIMITED|CORP|CORPORATION|CO(?=\.)|COMPANY|GMBH)\.?"
)
_WEAK = (
    r"(?:Group|Holdings?|Partners|Trust|Fund|Capital|Ventures|Labs|Systems|Technologies|Industries|Bancorp|"
    r"Therapeutics|Pharmaceuticals|Realty|Acquisition|Enterprises|Consulting|GROUP|HOLDINGS)"
)
_END = r"(?![\p{L}\d&])"
# Legal forms and suggestive words are found first (one cheap pass); only then is the name before them
# looked for, in a short window ending where they start.
_FORM = regex.compile(rf"(?<![\p{{L}}\d&])(?:(?P<legal>{_LEGAL}(?:[ \t]*,?[ \t]*{_LEGAL})*)|(?P<weak>{_WEAK})){_END}")
_NAME_BEFORE = regex.compile(rf"(?<![\p{{L}}\d&'’+*/.-])(?P<name>{_RUN})(?P<comma>,?)[ \t]+$")
_WINDOW = 120
_EMPLOYER = regex.compile(
    r"(?i:\b(?:work(?:s|ed|ing)?[ \t]+(?:for|at)|employed[ \t]+(?:by|at|with)|(?:job|position|internship)[ \t]+at|"
    r"(?:my|our|his|her|their)[ \t]+employer(?:[ \t]+is)?[ \t]*[,:]?))[ \t]+"
    rf"(?P<name>{_RUN})(?:,?[ \t]+{_LEGAL}(?:[ \t]*,?[ \t]*{_LEGAL})*)?{_END}"
)
_EMPLOYER_WORDS = ("work", "employ", "job at", "position at", "internship at")
# One to four words, up to punctuation or a word that goes on with the sentence; not an idiom ("as well",
# "as usual", "as part of").
_TITLE = (
    r"(?:an?[ \t]+|the[ \t]+)?(?!(?i:well|usual|always|before|such|much|many|long|soon|far|expected|planned|agreed|"
    r"needed|required|if|though|part|of|opposed|follows|a[ \t]+result|possible)\b)"
    r"(?P<title>\p{L}[\p{L}-]*(?:[ \t]+\p{L}[\p{L}-]*){0,3}?)"
)
_TITLE_AFTER = regex.compile(
    rf"[ \t]*,?[ \t]+as[ \t]+{_TITLE}(?=[ \t]*(?:[,.;:!?)\n]|$)|[ \t]+(?:but|and|since|until|for|in|at|from|when|"
    r"before|after|because|so|with|who|where)\b)"
)
_TITLE_BEFORE = regex.compile(
    rf"(?i:\bwork(?:s|ed|ing)?[ \t]+as)[ \t]+{_TITLE}[ \t]+(?:at|for|with)[ \t]+(?:(?:the|The)[ \t]+)?(?P<name>{_RUN})"
    rf"(?:,?[ \t]+{_LEGAL}(?:[ \t]*,?[ \t]*{_LEGAL})*)?{_END}"
)


def company_spans(
    text: str, spans: list[PiiSpan], is_word: Callable[[str], bool] | None, *, companies: bool, titles: bool
) -> list[PiiSpan]:
    """``spans`` plus COMPANY spans for registered names and employers and JOB_TITLE spans for titles
    next to an employer, as selected (see the module docstring).

    A new span absorbs overlapping NER guesses and stays out of pattern detections; ``is_word``
    (the English lexicon) judges the suggestive words, which are skipped without it."""
    found: list[tuple[int, int]] = []
    titled: list[tuple[int, int]] = []
    for form in _FORM.finditer(text, timeout=0.1) if companies else ():
        weak = form.group("weak") is not None
        lo = max(0, form.start() - _WINDOW)
        before = _NAME_BEFORE.search(text, lo, form.start(), timeout=0.1)
        if before is None or (weak and before.group("comma")):
            continue
        start = _trim(text, before.start("name"), before.end("name"))
        if start is None:
            continue
        words = text[start : before.end("name")].split()
        # "INCLUDING BUT NOT LIMITED": a name joins its words with "of", "and", "de", not "but", "not".
        if any(w.lower() in STOP_WORDS and not _JOIN_WORD.fullmatch(w.lower()) for w in words):
            continue
        if weak and (is_word is None or not any(_distinctive(w, is_word) for w in words)):
            continue
        found.append((start, form.end()))
    lowered = text.lower()
    if any(word in lowered for word in _EMPLOYER_WORDS):
        for match in _EMPLOYER.finditer(text, timeout=0.1):
            start = _trim(text, match.start("name"), match.end("name"))
            if start is None:
                continue
            found.append((start, match.end()))
            title = _TITLE_AFTER.match(text, match.end(), timeout=0.1)
            if title is not None:
                titled.append(title.span("title"))
        for match in _TITLE_BEFORE.finditer(text, timeout=0.1):
            titled.append(match.span("title"))
            start = _trim(text, match.start("name"), match.end("name"))
            if start is not None:
                found.append((start, match.end()))
    merged = _merge(spans, found, "COMPANY") if companies else spans
    return _merge(merged, titled, "JOB_TITLE") if titles else merged


def _trim(text: str, start: int, end: int) -> int | None:
    """Skip leading words that open the sentence rather than the name ("The", "Our", "At"); None when
    nothing but such words is left ("The Company shall ...")."""
    for word in regex.finditer(r"\S+", text[start:end]):
        if word.group().lower() not in STOP_WORDS:
            return start + word.start()
    return None


def _distinctive(word: str, is_word: Callable[[str], bool]) -> bool:
    """Not an English word, or an acronym: what makes "Veltrano Group" a name and "Working Group" not."""
    letters = "".join(ch for ch in word if ch.isalpha())
    if len(letters) >= 2 and letters.isupper():
        return True
    lower = letters.lower()
    if len(lower) <= 2 or is_word(lower):
        return False
    # Inflected forms are English too ("Working", "United"): the lexicon holds base forms only.
    for suffix, bases in (("ing", ("", "e")), ("ed", ("", "e")), ("ers", ("er",)), ("er", ("", "e"))):
        if lower.endswith(suffix) and any(is_word(lower[: -len(suffix)] + base) for base in bases):
            return False
    return True


def _merge(spans: list[PiiSpan], found: list[tuple[int, int]], entity: str) -> list[PiiSpan]:
    result = list(spans)
    for start, end in sorted(found):
        if start >= end:
            continue
        overlapping = [s for s in result if s.start < end and start < s.end]
        if any(s.entity_type not in _GUESSES and s.entity_type != entity for s in overlapping):
            continue  # a pattern detection (e-mail, address, a company name, ...) already covers part of it
        for span in overlapping:
            start, end = min(start, span.start), max(end, span.end)
            result.remove(span)
        result.append(PiiSpan(start, end, entity, COMPANY_SCORE))
    return sorted(result)


_LINE_EDGE = " \t>}?*-|"


def contact_block_companies(text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
    """``spans`` plus a COMPANY span for the line between a name line and an address that starts a line."""
    if "\n" not in text:
        return spans
    found: list[tuple[int, int]] = []
    for address in spans:
        if address.entity_type != "STREET_ADDRESS":
            continue
        line = _line_before(text, address.start)
        if line is None:
            continue
        above = _line_before(text, line[0])
        if above is None or not any(
            s.entity_type == "PERSON" and s.start <= above[0] and above[1] <= s.end for s in spans
        ):
            continue
        start, end = line
        if not any(ch.isdigit() or ch == "@" for ch in text[start:end]):
            found.append(line)
    if not found:
        return spans
    # A guess spanning the line break ("Jane Doe\nHarbour Analytics" as one PERSON) keeps its own line.
    result = []
    for span in spans:
        cut = next((f for f in found if span.start < f[1] and f[0] < span.end), None)
        if cut is None or span.entity_type not in _GUESSES:
            result.append(span)
            continue
        for lo, hi in ((span.start, cut[0]), (cut[1], span.end)):
            piece = text[lo:hi].strip(_LINE_EDGE + "\n")
            if piece:
                at = text.index(piece, lo)
                result.append(PiiSpan(at, at + len(piece), span.entity_type, span.score))
    return _merge(result, found, "COMPANY")


def _line_before(text: str, at: int) -> tuple[int, int] | None:
    """The stripped content of the line that ends right before the line starting at ``at`` (which must be
    the first thing on its line), or None."""
    line_start = text.rfind("\n", 0, at) + 1
    if line_start == 0 or text[line_start:at].strip(_LINE_EDGE):
        return None
    end = line_start - 1
    start = text.rfind("\n", 0, end) + 1
    while start < end and text[start] in _LINE_EDGE:
        start += 1
    while end > start and text[end - 1] in _LINE_EDGE:
        end -= 1
    return (start, end) if start < end else None
