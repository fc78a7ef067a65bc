"""Checks on the name a candidate secret is assigned to, as the rule's match spells it.

The generic rules find a value by its name (``password``, ``api_key``, ``secret``). Their patterns reject
names whose *suffix* says the value is something else (``secret_hash``, ``password_label``); a qualifier
written *before* the secret word says the same, and is read here once for every rule that asks:

- a digest qualifier (``hashed_secret``, ``hashedPassword``, ``sha256_password``, ``md5_token``,
  ``bcrypt_password``, ``encrypted_password``) says the value is a digest or ciphertext of a secret, not the
  secret: detect-secrets baselines, user fixtures and ORM columns store them by the thousand. ``hash`` on
  its own before the secret word is not one: ``HASH_SECRET`` names the key a hash is keyed with.
- a UI-text qualifier leading the name (``LABEL_PASSWORD``, ``placeholderPassword``, ``BTN_TOKEN``) says
  the value is text shown to a user: translation catalogues hold one such entry per language.

Each check is a pure function of the text the rule matched before the secret (``hashed_secret": "``).
Rules ask for them by name (``validate.name_checks = ["not_digest_name"]``); the loader rejects unknown
names.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Words of a name: ``hashedPassword`` -> hashed, Password; ``SHA256_TOKEN`` -> SHA256, TOKEN; digits stay
# with the word they follow (``sha256``, ``md5``, ``argon2``).
_WORD = re.compile(r"[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*(?![a-z])|[0-9]+")
_IDENTIFIER = re.compile(r"[A-Za-z0-9_$.-]+")
_DIGEST_WORDS = frozenset(
    {
        "hashed", "hashes", "digest", "checksum", "fingerprint", "crypted", "encrypted", "bcrypt", "scrypt",
        "argon2", "pbkdf2", "md4", "md5", "sha", "sha1", "sha2", "sha3", "sha224", "sha256", "sha384",
        "sha512",
    }
)  # fmt: skip
_UI_TEXT_WORDS = frozenset(
    {"label", "lbl", "placeholder", "hint", "title", "caption", "tooltip", "btn", "button", "heading"}
)


def name_words(text: str) -> list[str]:
    """The lower-cased words of every identifier in ``text``, split on separators and case changes."""
    return [word.lower() for word in _WORD.findall(text)]


def names_a_digest(text: str) -> bool:
    """True when a word of the name says its value is a digest or ciphertext (before or after the
    secret word: ``hashed_secret``, ``password_sha256``)."""
    return any(word in _DIGEST_WORDS for word in name_words(text))


def names_ui_text(text: str) -> bool:
    """True when an identifier of the name leads with a UI-text word (``LABEL_PASSWORD``,
    ``i18n.placeholderPassword``): the value is a string shown to a user. Only a leading word counts:
    ``reset_title_token`` is no label."""
    for identifier in _IDENTIFIER.findall(text):
        for segment in identifier.split("."):
            words = name_words(segment)
            if words and words[0] in _UI_TEXT_WORDS:
                return True
    return False


NAME_CHECKS: dict[str, Callable[[str], bool]] = {
    "not_digest_name": lambda text: not names_a_digest(text),
    "not_ui_text_name": lambda text: not names_ui_text(text),
}


def names_pass(text: str, checks: tuple[str, ...]) -> bool:
    """True when the name text ``text`` passes every check named in ``checks``."""
    return all(NAME_CHECKS[check](text) for check in checks)
