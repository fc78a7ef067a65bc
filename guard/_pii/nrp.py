"""When spaCy's NRP label (nationality, religion, political group) is about people, and when it is not.

The small model makes three mistakes that are undone here:

- It labels software and product names as groups ("Pydantic", "PyPy", "Debian"). Nationalities,
  religions and political groups are capitalised English words (WordNet, the model's lexicon, lists
  "Norwegian", "Sikh", "Republican"), so a span with any other word, or with the plural of a verb
  ("Requests"), is dropped (``is_group_word``).
- It labels "German" in "translate this into German" as a nationality. Redacting it would leave
  "translate this into <NRP_1>", a prompt no model can answer, and a language says nothing about the
  person asking. So an NRP span is dropped when a language cue stands before it ("into", "speak",
  "translate", "fluent in", "reply in") or after it ("-speaking", "subtitles", "grammar"), including the
  later members of a list ("speaks Spanish and French") (``is_language_mention``).
- It never sees lower-case groups ("i am italian", "we are proud latvians"): the NER gate only looks at
  capitalised words. After such an identity statement a lower-case noun is offered to the model once
  more, capitalised ("I am Italian."), and counts when the model then calls it a group
  (``identity_candidates``); "I am happy" or "I'm fine" do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Words right before the span that make it a language: "into German", "in French, please".
_BEFORE_DIRECT = re.compile(r"(?i:\b(?:into|in|from|to|speaks?|spoke|speaking|learn(?:s|ed|ing)?|native|fluent)[ \t]+)$")
# A language verb a few words earlier, the span closing a list: "speak Czech, Polish and Slovak".
_BEFORE_LIST = re.compile(
    r"(?i:\b(?:translat\w*|speak\w*|spoke|learn\w*|fluent|native|language\w*|writ\w*|repl\w*|answer\w*|respond\w*)"
    r"\b[^.!?\n]{0,40}(?:,|\band\b|\bor\b)[ \t]*)$"
)
# After the span (and after the rest of a list: "Chinese and Japanese writing"): "-speaking", "language",
# "subtitles", "grammar", ...
_AFTER = re.compile(
    r"^(?:[ \t]*(?:,|and|or)[ \t]+[A-Z][a-z]+)*(?:-speaking|[ \t]+(?i:speakers?|speaking|language|languages|"
    r"translation|translator|version|subtitles|dub\w*|writing|script|characters|grammar|words?|vocabulary|"
    r"alphabet|dialects?|accent|lessons?|class(?:es)?|course|dictionary|keyboard|text|lyrics)\b)"
)
# After a bare preposition, a following word makes the span an adjective again ("in Italian restaurants").
_PREPOSITION = re.compile(r"(?i:\b(?:in|from|to)[ \t]+)$")
_FOLLOWED_BY_WORD = re.compile(r"^[ \t]+(?!(?:please|only|instead|too|also|and|or|with|for|so|if|as|but)\b)[a-z]{3,}")


def is_language_mention(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` (an NRP span) names a language here, not people's origin or belief."""
    before, after = text[max(0, start - 80) : start], text[end : end + 30]
    if _AFTER.match(after):
        return True
    if _BEFORE_DIRECT.search(before):
        # "in French, please" yes; "in Italian restaurants" no (a noun follows: the adjective is about it).
        return not (_PREPOSITION.search(before) and _FOLLOWED_BY_WORD.match(after))
    return _BEFORE_LIST.search(before) is not None


def is_group_word(value: str, is_word: Callable[[str], bool], is_verb: Callable[[str], bool]) -> bool:
    """Every word of ``value`` is a capitalised English word ("Norwegian", not "scan"), and none is the
    plural of a verb ("Requests")."""
    for word in value.split():
        lower = word.lower()
        if not word[:1].isupper() or not is_word(lower) or (lower.endswith("s") and is_verb(lower[:-1])):
            return False
    return True


# "I am", "we're proud", "she is a devout": a statement of who someone is, before a lower-case word.
_IDENTITY = re.compile(
    r"\b(?:[Ii][ \t]+am|[Ii]['’]m|[Ww]e[ \t]+are|[Ww]e['’]re|[Tt]hey[ \t]+are|[Hh]e[ \t]+is|[Ss]he[ \t]+is|"
    r"[Hh]e['’]s|[Ss]he['’]s)[ \t]+(?:(?:a|an|also|half|proud|originally|devout|practising|practicing)[ \t]+)*"
    r"(?P<word>[a-z]{3,})\b"
)


def identity_candidates(text: str, is_noun: Callable[[str], bool]) -> list[tuple[int, int, int]]:
    """(statement start, word start, word end) for each lower-case noun after an identity statement."""
    return [
        (match.start(), match.start("word"), match.end("word"))
        for match in _IDENTITY.finditer(text)
        if is_noun(match.group("word"))
    ]
