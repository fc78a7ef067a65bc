"""Fake credentials for tests: the right shape and randomness for the rules, generated from a seed,
never real. Placeholders in test files would be filtered out, so tests need realistic fakes."""

from __future__ import annotations

import random
import string

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "-_"


def _body(rng: random.Random, length: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


def openai_project_key(seed: int) -> str:
    rng = random.Random(seed)
    return "sk-proj-" + _body(rng, 74, URLSAFE) + "T3BlbkFJ" + _body(rng, 74, URLSAFE)


def openai_legacy_key(seed: int) -> str:
    rng = random.Random(seed)
    return "sk-" + _body(rng, 20) + "T3BlbkFJ" + _body(rng, 20)


def openai_org_id(seed: int) -> str:
    return "org-" + _body(random.Random(seed), 24)
