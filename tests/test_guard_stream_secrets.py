"""Streamed answers are scrubbed exactly like complete ones: every secret rule's own examples, split
into two pieces at every position and fed one character at a time, come out as the complete text
scrubbed in one piece. Secrets whose match holds whitespace (``Authorization: Bearer``, PEM blocks,
assignments) included."""

from __future__ import annotations

import re

import pytest

from prodguard.guard._guard import scrubber_for
from prodguard.guard._policy.policy import RuleChoice
from prodguard.guard._steps.secrets import Scrubber, StreamScrubber
from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Kind

SCRUBBER: Scrubber = scrubber_for(RuleChoice())
EXAMPLES = [
    (rule.id, example)
    for rule in load_catalogue().pattern_rules
    if rule.kind is Kind.SECRET
    for example in rule.examples.match
]


def streamed(pieces: list[str]) -> str:
    scrubber = StreamScrubber(SCRUBBER)
    out = [scrubber.feed(piece) for piece in pieces]
    return _unlabelled("".join(out) + scrubber.feed("", True))


_LABEL = re.compile(r"\[REDACTED:[a-z0-9-]+\]")


def _unlabelled(text: str) -> str:
    """Placeholders without their rule name: a rule whose context comes *after* the secret (PG120's
    endpoint a few lines below the key) cannot name it in a stream that has released the key already; a
    broader rule replaces it instead. What must hold is that the same characters are hidden."""
    return _LABEL.sub("[REDACTED]", text)


@pytest.mark.parametrize(("rule_id", "example"), EXAMPLES, ids=[f"{r}-{i}" for i, (r, _) in enumerate(EXAMPLES)])
def test_every_split_of_every_example_is_scrubbed_like_the_whole(rule_id: str, example: str) -> None:
    text = f"Here it is:\n{example}\nthat is all."
    whole = _unlabelled(SCRUBBER.scrub(text)[0])
    assert whole != text, f"{rule_id}: the example is not found in one piece"
    for cut in range(1, len(text)):
        assert streamed([text[:cut], text[cut:]]) == whole, (rule_id, cut)
    assert streamed(list(text)) == whole


def test_a_key_after_a_long_word_is_not_released_in_part() -> None:
    key = next(example for rule_id, example in EXAMPLES if rule_id == "PG102")
    text = "x" * 5000 + " " + key.split("=")[-1].strip().strip('"') + " done"
    whole = _unlabelled(SCRUBBER.scrub(text)[0])
    assert streamed([text[i : i + 7] for i in range(0, len(text), 7)]) == whole
