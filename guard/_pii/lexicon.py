"""An English lexicon for telling names from words, read from the spaCy model's lemmatizer tables
(WordNet base forms). ``_pii.nlp`` corrects the small model's labels with it; ``_pii.names`` keeps
ordinary words out of name matches."""

from __future__ import annotations

from pathlib import Path

from spacy.lookups import Lookups
from spacy.strings import StringStore


class Lexicon:
    """English base words (WordNet's, as shipped in the model's lemmatizer tables) by part of speech.

    Tells "Human Resources" (English words) from "Gemma Bacosi" (a name) and "Compare" (a verb) from
    "Anna". Empty when the model ships no lemmatizer tables; the heuristics that need it then stay off.
    """

    def __init__(
        self,
        words: frozenset[str] = frozenset(),
        verbs: frozenset[str] = frozenset(),
        nouns: frozenset[str] = frozenset(),
        modifiers: frozenset[str] = frozenset(),
    ) -> None:
        self.words = words
        self.verbs = verbs
        self.nouns = nouns
        self.modifiers = modifiers  # adjectives and adverbs

    def __bool__(self) -> bool:
        return bool(self.words)

    @classmethod
    def from_model(cls, model_path: Path) -> Lexicon:
        folder = model_path / "lemmatizer" / "lookups"
        if not (folder / "lookups.bin").is_file():
            return cls()
        index = Lookups().from_disk(folder).get_table("lemma_index", None)
        if index is None:
            return cls()
        names = StringStore(["noun", "verb", "adj", "adv"])
        parts = {pos: frozenset(index.get(names[pos]) or ()) for pos in ("noun", "verb", "adj", "adv")}
        return cls(
            frozenset().union(*parts.values()), parts["verb"], parts["noun"], parts["adj"] | parts["adv"]
        )

    def is_word(self, lower: str) -> bool:
        return lower in self.words or self.is_plural_noun(lower)

    def is_verb(self, lower: str) -> bool:
        return lower in self.verbs

    def is_modifier(self, lower: str) -> bool:
        """An adjective or adverb ("german", "frank", "rosy")."""
        return lower in self.modifiers

    def is_noun(self, lower: str) -> bool:
        """A noun or the plural of one ("italian", "latvians")."""
        return lower in self.nouns or self.is_plural_noun(lower)

    def is_noun_only(self, lower: str) -> bool:
        """A noun and no other part of speech ("belgium", "customer"; not "order", "report")."""
        return lower in self.nouns and lower not in self.verbs and lower not in self.modifiers

    def is_plural_noun(self, lower: str) -> bool:
        """ "teams", "boxes", "stories" (but not "nunes", "jones": surnames are not plurals of "nun", "jone")."""
        if lower in self.words or not lower.endswith("s"):
            return False
        if lower.endswith("ies"):
            return lower[:-3] + "y" in self.nouns
        if lower.endswith("es") and lower[:-2].endswith(("s", "x", "z", "ch", "sh")):
            return lower[:-2] in self.nouns
        return lower[:-1] in self.nouns
