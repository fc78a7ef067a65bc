"""Fake credentials for tests: random bodies in each provider's real format, generated here, never real.

Every function takes a ``random.Random`` so that a test is reproducible (seeded) and property tests can
draw as many distinct keys as they need. Bodies that the placeholder filter would reject (a random run
that happens to spell ``-test-`` or ``xxxx``) are redrawn, so a generated key is always reportable.
"""

from __future__ import annotations

import random

from prodguard.rules.validators import is_placeholder, shannon_entropy

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"


def body(rng: random.Random, alphabet: str, length: int) -> str:
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if not is_placeholder(value) and (length < 16 or shannon_entropy(value) > 3.5):
            return value


def _openai(rng: random.Random, prefix: str, half: int) -> str:
    while True:
        key = f"{prefix}{body(rng, URLSAFE, half)}T3BlbkFJ{body(rng, URLSAFE, half)}"
        if not is_placeholder(key):
            return key


def project_key(rng: random.Random, half: int = 58) -> str:
    """``sk-proj-`` with a 58+58 (or 74+74) body around the ``T3BlbkFJ`` marker (PG102)."""
    return _openai(rng, "sk-proj-", half)


def service_account_key(rng: random.Random) -> str:
    """``sk-svcacct-`` key (PG103)."""
    return _openai(rng, "sk-svcacct-", 74)


def legacy_user_key(rng: random.Random) -> str:
    """The legacy ``sk-`` + 20 + ``T3BlbkFJ`` + 20 user key (PG101)."""
    return f"sk-{body(rng, ALNUM, 20)}T3BlbkFJ{body(rng, ALNUM, 20)}"


def org_id(rng: random.Random) -> str:
    """An OpenAI organization id (PG110, severity info)."""
    return "org-" + body(rng, ALNUM, 24)


def azure_key(rng: random.Random) -> str:
    """32 hexadecimal characters: an Azure OpenAI key when next to an endpoint (PG120)."""
    return body(rng, HEX, 32)
