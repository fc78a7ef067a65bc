"""Checks a candidate secret must pass once a rule's pattern matched.

Each check is a pure function of the candidate value. Named checks are listed in ``CHECKS``: a rule pack
asks for them by name (``validate.checks = ["jwt"]``), and the loader rejects unknown names.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import urllib.parse
import zlib
from collections import Counter
from collections.abc import Callable
from itertools import pairwise

from prodguard.rules.model import Validation


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


# Markers that make a value a placeholder wherever they stand in it.
_ANYWHERE = re.compile(
    r"x{4,}|X{4,}|\*{3,}|\.{3,}|…|[<>]|\$\{|\{\{|%\(|\$\(|redacted|placeholder|example|dummy|changeme"
    r"|change_me|replace_?me|insert_?your|fill_?me|your_?(?:api_?)?(?:key|token|secret)|abcd\d{4}|\d{4}abcd|abc123",
    re.IGNORECASE,
)
# Words that make a value a placeholder when they stand as a word of it (between separators or at an end),
# so that a random body that happens to contain ``test`` is not mistaken for one.
_WORDS = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:your|here|fake|test|testing|sample|mock|foo|bar|todo|secret|password|token|"
    r"apikey|api_key|key|mykey|invalid|not_?a_?real|null|undefined|xxx|abc|abcd)(?:$|[^A-Za-z0-9])",
    re.IGNORECASE,
)
_SAME_RUN = re.compile(r"(.)\1{5,}")
_SEQUENCES = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "9876543210", "zyxwvutsrqponmlkjihgfedcba")


_SEQUENCE_RUN = re.compile(
    "|".join(re.escape(seq[i : i + 6]) for seq in _SEQUENCES for i in range(len(seq) - 5)), re.IGNORECASE
)


def _has_sequence(value: str) -> bool:
    """Six or more consecutive digits or letters in order (``123456``, ``abcdef``, ``987654``)."""
    return bool(_SEQUENCE_RUN.search(value))


def is_placeholder(value: str) -> bool:
    """True for values that are templates, documentation stand-ins or obviously fake fixtures."""
    return bool(
        _ANYWHERE.search(value) or _WORDS.search(value) or _SAME_RUN.search(value) or _has_sequence(value)
    )


_UUID = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_DASHED_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HASH_LENGTHS = frozenset({32, 40, 56, 64, 96, 128})


def is_hash_like(value: str) -> bool:
    """UUIDs, git SHAs and hex digests: high entropy, but not credentials on their own."""
    return bool(_UUID.match(value)) or (len(value) in _HASH_LENGTHS and bool(_HEX.match(value)))


def _not_hash_like(value: str) -> bool:
    return not is_hash_like(value)


def _b64url_json(part: str) -> object:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt(value: str) -> bool:
    """A JWT whose header decodes to a JSON object naming an algorithm and whose payload is JSON."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header and isinstance(payload, dict)


_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def github_checksum(body: str) -> str:
    """The 6-character base62 CRC32 GitHub appends to the 30 random characters of its tokens."""
    return _base62(zlib.crc32(body.encode("ascii")), 6)


def _github_checksum(value: str) -> bool:
    """GitHub's 2021 token format: prefix ``gh?_``, 30 random base62 characters, 6 checksum characters."""
    if not value.isascii():
        return False
    _, _, body = value.partition("_")
    if len(body) != 36:
        return True  # older or other formats carry no checksum; the pattern decided
    return github_checksum(body[:30]) == body[30:]


def _mixed_charset(value: str) -> bool:
    """At least two of: lower case, upper case, digits. Words and identifiers rarely have digits and case."""
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return classes >= 2


def _not_identifier_like(value: str) -> bool:
    """Rejects dotted or path-like names and code expressions that assignment patterns pick up."""
    if (value.count(".") >= 2 and _is_dotted_name(value)) or value.startswith(("/", "./", "http", "arn:")):
        return False
    if (
        value.isalnum()
        and len(re.findall(r"[A-Z][a-z]{2,}", value)) >= 2
        and _character_classes(value) == 3
        and len(value) >= _RANDOM_PIECE_MIN
    ):
        # A camel-case name with a digit (``OAuth2Token``, ``Base64Encoder``): words, not random runs.
        return _is_random_piece(value)
    return not re.search(r"[()\[\]\s]", value)


# --- Checks for the common-secret and generic packs -------------------------------------------------

_SIGNATURE_MIN = 16  # HS256 signatures are 43 characters; anything much shorter is not a real signature


def _jwt_credential(value: str) -> bool:
    """A signed JWT that can authenticate: not ``alg: none``, not unsigned, not a key meant to be public
    (Supabase ``anon`` keys ship to browsers by design), not the jwt.io documentation token."""
    if not _jwt(value):
        return False
    header_part, payload_part, signature = value.split(".")
    header = _b64url_json(header_part)
    payload = _b64url_json(payload_part)
    assert isinstance(header, dict) and isinstance(payload, dict)  # _jwt checked both
    if str(header.get("alg", "")).lower() in ("", "none") or len(signature) < _SIGNATURE_MIN:
        return False
    if payload.get("role") == "anon":
        return False
    return not (payload.get("sub") == "1234567890" and payload.get("name") == "John Doe")


# PEM bodies as they appear in .pem files, JSON strings ("\n" escapes) and concatenated source strings.
_PEM_BEGIN = "-----BEGIN "
_PEM_DASHES = "-----"
_PEM_ESCAPES = re.compile(r"\\[rn]")
_PEM_NOISE = re.compile(r"[\s\"',]+")
_PEM_CONCATENATION = re.compile(r"[\"'`][ \t]*[+.][ \t]*(?=[\"'`]|$)", re.MULTILINE)
_PGP_CHECKSUM = re.compile(r"^=[A-Za-z0-9+/]{4}$")
# Long runs of one character are padding in a template, not key material; runs of ``A`` (zero bits) and
# ``/`` (one bits) do occur in real DER and OpenSSH encodings.
_FILLER_RUN = re.compile(r"([B-Za-z0-9+])\1{7,}")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"
_PGP_SECRET_KEY_PACKETS = frozenset({0x94, 0x95, 0x96, 0x97, 0xC5})  # tag 5, old and new packet formats
_MIN_KEY_BYTES = 48  # an Ed25519 PKCS#8 key, the smallest real private key, is 48 bytes


def _der_sequence_is_whole(data: bytes) -> bool:
    """A DER SEQUENCE whose encoded length is exactly the data: a complete key, not a truncated or
    made-up body (documentation abbreviates keys; real files hold all of them)."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    count = first & 0x7F
    if not 1 <= count <= 3:
        return False
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big") == len(data)


def pem_body_bytes(block: str) -> bytes | None:
    """The bytes of a PEM block's body (the ``-----BEGIN …-----`` line and ``Name: value`` headers are
    skipped), or None when it is not base64, too short for a key, or filler."""
    if block.startswith(_PEM_BEGIN):
        block = block[block.find(_PEM_DASHES, len(_PEM_BEGIN)) + len(_PEM_DASHES) :]
    # String literals joined in code (``"MIIE…\n" +``, PHP's ``' .``) are one body: drop the operators.
    block = _PEM_CONCATENATION.sub("", _PEM_ESCAPES.sub("\n", block))
    raw_lines = block.splitlines()
    lines = [_PEM_NOISE.sub("", line) for line in raw_lines if ":" not in line]
    lines = [line for line in lines if line]
    if lines and _PGP_CHECKSUM.match(lines[-1]):
        lines.pop()  # ASCII armor's CRC-24 line is not part of the packet data
    text = "".join(lines)
    if not re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", text) or _FILLER_RUN.search(text):
        return None
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data if len(data) >= _MIN_KEY_BYTES else None


def _openssh_cipher(data: bytes) -> str | None:
    """The cipher an OpenSSH private key is stored with (``none`` when unencrypted), None for others."""
    if not data.startswith(_OPENSSH_MAGIC):
        return None
    offset = len(_OPENSSH_MAGIC)
    size = int.from_bytes(data[offset : offset + 4], "big")
    return data[offset + 4 : offset + 4 + size].decode("ascii", "replace")


def _pem_label(value: str) -> str:
    """What the armour says the block is (``RSA PRIVATE KEY``, ``PGP PRIVATE KEY BLOCK``), or ''."""
    if not value.startswith(_PEM_BEGIN):
        return ""
    return value[len(_PEM_BEGIN) : value.find(_PEM_DASHES, len(_PEM_BEGIN))]


def _pem_key_body(value: str) -> bool:
    """Unencrypted key material of the kind the armour names: an OpenPGP secret-key packet under PGP
    armour; else a complete DER structure (PKCS#1, SEC1, PKCS#8) or an OpenSSH key stored with cipher
    ``none``. A body whose first byte merely looks like a PGP packet under RSA armour is not a key."""
    data = pem_body_bytes(value)
    if data is None:
        return False
    if "PGP" in _pem_label(value):
        return data[0] in _PGP_SECRET_KEY_PACKETS
    cipher = _openssh_cipher(data)
    if cipher is not None:
        return cipher == "none"
    return _der_sequence_is_whole(data)


def _pem_encrypted_key_body(value: str) -> bool:
    """Encrypted key material: an OpenSSH key naming a cipher, a complete DER structure (PKCS#8
    EncryptedPrivateKeyInfo), or block-cipher output under ``Proc-Type: 4,ENCRYPTED`` headers."""
    data = pem_body_bytes(value)
    if data is None:
        return False
    cipher = _openssh_cipher(data)
    if cipher is not None:
        return cipher != "none"
    return _der_sequence_is_whole(data) or len(data) % 8 == 0


# Values people use as stand-in or default passwords; a leaked one is a weak password, not a secret.
_WEAK_WORDS = (
    "password", "passwd", "passw0rd", "p@ssw0rd", "p@ssword", "qwerty", "letmein", "changeit",
    "welcome", "secret", "default", "example", "admin", "iloveyou", "monkey", "dragon", "pswd",
)  # fmt: skip
_WEAK_EXACT = frozenset(
    {
        "root", "toor", "guest", "test", "pass", "postgres", "mysql", "redis", "rabbitmq", "mongo",
        "mongodb", "user", "username", "demo", "dev", "local", "localhost", "pwd", "db", "database",
        "foobar", "hunter2", "mariadb", "sa", "oracle", "tiger", "scott", "none", "null", "true", "false",
    }
)  # fmt: skip


# Leetspeak spellings of stand-in passwords (``P@55w0rd!``, ``Pass@Word1``) read back as letters.
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "$": "s", "7": "t"})


def is_weak_password(value: str) -> bool:
    """Dictionary, default and stand-in passwords (also spelt in leetspeak or split by punctuation), and
    values made only of digits."""
    lowered = value.lower()
    if lowered in _WEAK_EXACT or value.isdigit() or any(word in lowered for word in _WEAK_WORDS):
        return True
    spellings = (re.sub(r"[^a-z]", "", lowered), re.sub(r"[^a-z]", "", lowered.translate(_LEET)))
    return any(word in letters for letters in spellings for word in _WEAK_WORDS if word.isalpha())


_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/]{12,}={0,2}$")


def _base64_text(value: str) -> str | None:
    """The printable ASCII text a base64 value encodes, if it encodes text at all."""
    if len(value) % 4 or not _BASE64_TEXT.match(value):
        return None
    try:
        text = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    return text if text.isprintable() else None


def _not_weak_password(value: str) -> bool:
    """Not a weak or stand-in password, also once base64-decoded (docs encode ``not my real password``)."""
    decoded = _base64_text(value)
    if decoded is not None and (is_placeholder(decoded) or is_weak_password(decoded)):
        return False
    return not is_weak_password(value)


# A password for a service on the developer's own machine is reported when it looks generated and is not
# short: dev stacks use ``postgres:postgres`` and ``root:secret`` on purpose.
_LOCAL_PASSWORD_MIN = 8
_LOCAL_HOSTS = ("localhost", "127.", "0.0.0.0", "::1", "[::1]", "host.docker.internal")


def _is_local_host(host: str) -> bool:
    """Loopback addresses and single-label names (docker-compose services such as ``db``)."""
    host = host.lower().split(":", 1)[0] if not host.startswith("[") else host.lower()
    return host.startswith(_LOCAL_HOSTS) or "." not in host


def _url_credentials(value: str) -> bool:
    """``user:password@host`` from a connection URL: the password must be a literal (not a template,
    a variable or a mask), not a stand-in or default, not the user name; on a local or compose host it
    must also look generated (dev databases use trivial passwords on purpose)."""
    user, sep, rest = value.partition(":")
    password, at, host = rest.rpartition("@")
    if not sep or not at or not password or not host:
        return False
    password = urllib.parse.unquote(password)
    if password[0] in "$%*&" or any(c in password for c in "{}()<>") or is_placeholder(password):
        return False
    if password == user or is_weak_password(password):
        return False
    if _is_local_host(host):
        return len(password) >= _LOCAL_PASSWORD_MIN and _credential_value(password)
    return len(password) >= 6


_CAMEL_OR_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_DOTTED_NAME = re.compile(r"^[A-Za-z_$][\w$]*(?:(?:\.|::|->)[A-Za-z_$][\w$]*)+$")
# A file name, or a source location in one (``lib/insecurity.ts:23``, as reports and reviews cite it).
_FILE_SUFFIX = re.compile(
    r"\.(?:pem|key|crt|cer|der|p12|pfx|json|ya?ml|toml|ini|cfg|conf|env|txt|csv|py|js|ts|sh|gpg|asc|jks)"
    r"(?::\d+){0,2}$",
    re.IGNORECASE,
)
_DIGEST_PREFIX = re.compile(r"^(?:sha(?:1|224|256|384|512)|md5|blake2b?|sha3-\d+)[-:]", re.IGNORECASE)
# Keys meant to be public (Stripe publishable keys ship to browsers); a secret name does not make them secret.
_PUBLIC_KEY_PREFIXES = ("pk_live_", "pk_test_")
# Host names and OAuth client ids (``….apps.googleusercontent.com``) end in a domain.
_HOST_NAME = re.compile(
    r"^[\w-]+(?:\.[\w-]+)+\.(?:com|net|org|io|dev|cloud|app|local|internal|ai)$", re.IGNORECASE
)
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
# Stored password hashes (crypt ``$id$…``, Django ``algorithm$iterations$salt$hash``) are not credentials.
_PASSWORD_HASH = re.compile(
    r"^(?:\$[\w-]+\$|(?:pbkdf2|argon2|bcrypt|scrypt|sha\d+|md5)[\w-]*\$)", re.IGNORECASE
)


def looks_like_words(value: str) -> bool:
    """Names and prose (``OPENAI_API_KEY``, ``my-secret-name``, ``getApiKey``): no digits, and words of
    four letters on average once split on case changes and separators. Random strings split into many
    short pieces."""
    if any(c.isdigit() for c in value):
        return False
    pieces = _CAMEL_OR_WORD.findall(value)
    if not pieces:
        return True
    return sum(len(p) for p in pieces) / len(pieces) >= 4


_RANDOM_PIECE_MIN = 10
_RANDOM_PIECE_WORD_LENGTH = 3  # camel-case names average longer words: X25519PrivateKey -> X, Private, Key


def _is_random_piece(piece: str) -> bool:
    """A piece of a dotted value that no one would name a module or attribute: long, with lower case,
    upper case and digits, and split by case changes into mostly one- and two-letter runs
    (``XkW0xiCGFhUTuMPe``; not ``X25519PrivateKey`` or ``LLM_GATEWAY_API_KEY``)."""
    if len(piece) < _RANDOM_PIECE_MIN or not (
        any(c.islower() for c in piece)
        and any(c.isupper() for c in piece)
        and any(c.isdigit() for c in piece)
    ):
        return False
    runs = [run for run in _CAMEL_OR_WORD.findall(piece) if not run.isdigit()]
    return not runs or sum(len(run) for run in runs) / len(runs) < _RANDOM_PIECE_WORD_LENGTH


def _is_dotted_name(value: str) -> bool:
    """An attribute chain or module path (``settings.API_KEY``, ``AWS::ApiGateway::ApiKey``); a password
    that happens to hold a dot between random characters is not one."""
    if not _DOTTED_NAME.match(value):
        return False
    return not any(_is_random_piece(piece) for piece in re.split(r"\.|::|->", value))


_PUNCTUATED_MIN = 10


def _punctuated_password(value: str) -> bool:
    """A generated password that happens to start with ``@``, ``*``, ``#`` or ``!``: long enough, with
    letters of both cases or digits beside the punctuation, and not a name after the sign."""
    return (
        len(value) >= _PUNCTUATED_MIN
        and _character_classes(value) >= 3
        and not looks_like_words(value[1:])
        and "/" not in value
    )


# Three or more name pieces joined by colons, two of them plain words: a domain-separation label or a URN.
_NAMESPACED_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,15}(?::[A-Za-z][A-Za-z0-9_-]{0,15}){2,}")
_CONCATENATED_NAME = re.compile(r"\+[A-Za-z_$][\w$.]*\+")


def _literal_value(value: str) -> bool:
    """Rejects what generic assignments pick up that is not a literal credential: code (calls,
    attribute chains, templates, environment lookups, format strings), paths, URLs, data URIs, file
    names, digests with an algorithm prefix (lockfile integrity), masks, and plain words or names."""
    if not value or value[0] in "$%&~:" or any(c in value for c in "{}()[]<>\\ \t"):
        return False
    if value[0] in "@*#!" and not _punctuated_password(value):
        return False  # a decorator, a mention, a glob, a colour, a YAML tag or a negation
    if _CONCATENATED_NAME.fullmatch(value):
        return False  # ``"+name+"``: the quotes close and reopen around code (``"a: "+name+", b"``)
    if _NAMESPACED_LABEL.fullmatch(value) and sum(p.isalpha() and len(p) >= 3 for p in value.split(":")) >= 2:
        return False  # ``joserfc:OKP:HKDF:Ed25519``, ``urn:ietf:params``: a label spelt in name pieces
    lowered = value.lower()
    if lowered.startswith(("data:", "http:", "https:", "file:", "/", "./", "../", "~/")) or "://" in value:
        return False
    if (
        _is_dotted_name(value)
        or _FILE_SUFFIX.search(value)
        or _DIGEST_PREFIX.match(value)
        or _HOST_NAME.match(value)
    ):
        return False
    if _PASSWORD_HASH.match(value) or _TIMESTAMP.match(value) or lowered.startswith(_PUBLIC_KEY_PREFIXES):
        return False
    if len(value) < _MIN_HEX_KEY and _HEX.match(value):  # truncated digests, short ids, colours
        return False
    if "/" in value and not re.search(r"[+=]", value) and looks_like_words(value.replace("/", "_")):
        return False  # a path or a secret-manager reference such as prod/openai/api-key
    if value.isalpha() and not value.isascii():
        return False  # a word of a natural language (``Jelszó``, ``Contraseña``): UI text, not generated
    if _is_camel_identifier(value):
        return False  # code: ``llmApiKeyEnvVarExists``, ``saveLastLoginIp``
    return not looks_like_words(value) or is_random_letters(value)


# The most frequent letter pairs of English text and of the words programmers put in passwords. A made-up
# stand-in (``secret``, ``hunter``, ``mypassword``) is mostly made of them; random letters rarely are (each
# pair has a 1 in 15 chance), which is what generated and obfuscated short passwords look like.
_COMMON_PAIRS = frozenset(
    [
        "th",
        "he",
        "in",
        "er",
        "an",
        "re",
        "on",
        "at",
        "en",
        "nd",
        "ti",
        "es",
        "or",
        "te",
        "of",
        "ed",
        "is",
        "it",
        "al",
        "ar",
        "st",
        "to",
        "nt",
        "ng",
        "se",
        "ha",
        "as",
        "ou",
        "io",
        "le",
        "ve",
        "co",
        "me",
        "de",
        "hi",
        "ri",
        "ro",
        "ic",
        "ne",
        "ea",
        "ra",
        "ce",
        "li",
        "ch",
        "ll",
        "be",
        "ma",
        "si",
        "om",
        "ur",
        "ca",
        "el",
        "ta",
        "la",
        "ns",
        "di",
        "fo",
        "ho",
        "pe",
        "ec",
        "pr",
        "no",
        "ct",
        "us",
        "ac",
        "ot",
        "il",
        "tr",
        "ly",
        "ss",
        "wo",
        "rd",
        "pa",
        "sw",
        "oo",
        "min",
        "ad",
        "mi",
        "ey",
        "ke",
        "ye",
    ]
)
_WORD_PAIR_SHARE = 0.45
_RANDOM_LETTERS_MIN = 6
_RANDOM_LETTERS_RUN = 4
_RANDOM_LETTERS_ENTROPY = 2.2


# Words of four letters or more that names and stand-in values are made of; a random run of letters
# seldom holds one (``nfirst``, ``userpass``, ``kmsPswd`` read as names, ``kqgfvyqr`` does not).
_COMMON_WORD_LIST = """about admin alpha auth back base beta blue body bool byte call case cert char check city
        class client code conf config copy core data date demo dict door down east echo edit else
        email empty event fake file find first flag foo fool form free from full game gate golf good
        green hash head hello help here home host hunter info item join json just keep kilo lady last
        left level line link list load local lock login long love mail main make mark mask master
        meta mike mock mode more name next node none note null open page pass path port post prev
        private prod pswd public query read real rest role root rule safe sample save scope secret
        self send server service session shell sign size some sort south start state stub super
        sync table task temp test text then this time token true type user value very view west
        word work world write yellow zero required optional hidden disabled enabled"""
_COMMON_WORDS = re.compile("|".join(_COMMON_WORD_LIST.split()))


def is_word_like(value: str) -> bool:
    """Whether the letters of ``value`` read like words: a common word in them, or a share of common
    English letter pairs."""
    if _COMMON_WORDS.search(value.lower()):
        return True
    runs = re.findall(r"[a-z]+", value.lower())
    pairs = [run[i : i + 2] for run in runs for i in range(len(run) - 1)]
    if not pairs:
        return True
    return sum(pair in _COMMON_PAIRS for pair in pairs) / len(pairs) >= _WORD_PAIR_SHARE


# Names written in camel case (``OCSPNonce``, ``OAuth2Token``, ``accessTokenValue``) and constants
# (``SYMMETRIC_DEFAULT``, ``RSA_2048``) are identifiers, however unusual their letters.
_CAMEL_NAME = re.compile(
    r"(?:[A-Z][a-z]{2,}.*){2}|^[A-Z]{2,}[a-z]{2,}$|^[A-Z]{2,}[A-Z][a-z]{2,}$|^[a-z]{2,}(?:[A-Z][a-z]{2,})+$"
)
_CONSTANT_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")


_LOWER_CAMEL = re.compile(r"^[a-z]{2,}(?:[A-Z][a-z]+){2,}$")
_CAMEL_PIECE = re.compile(r"[A-Z]?[a-z]+")


def _is_camel_identifier(value: str) -> bool:
    """A lower-camel-case name of three words or more, most of them word-like (``saveLastLoginIp``): the
    short words of such names (``Ip``, ``Id``, ``Api``) keep them under the four-letter average that
    ``looks_like_words`` asks of names. Generated letters split into pieces that read as no word."""
    if not _LOWER_CAMEL.match(value):
        return False
    pieces = _CAMEL_PIECE.findall(value)
    if sum(len(piece) for piece in pieces) / len(pieces) < 3:
        return False
    return 2 * sum(is_word_like(piece) for piece in pieces) >= len(pieces)


def is_random_letters(value: str) -> bool:
    """A short value of random letters (with digits or punctuation maybe): the shape of a generated
    password, which has too few characters to reach an entropy floor meant for keys."""
    if _CAMEL_NAME.search(value) or _CONSTANT_NAME.match(value):
        return False
    # A word standing as a piece of the value (``risk-xglzpvsk…``, ``task_…``) makes it a look-alike or a
    # name, not generated.
    pieces = re.findall(r"[A-Za-z]{3,}", value)
    if any(len(piece) <= 5 and is_word_like(piece) for piece in pieces[:-1] if len(pieces) > 1):
        return False
    letters = sum(c.isalpha() for c in value)
    # Letters in runs: documentation's made-up tokens alternate typed digits and letters (``k93jd8s9hd3k``).
    longest_run = max((len(run) for run in re.findall(r"[A-Za-z]+", value)), default=0)
    return (
        letters >= _RANDOM_LETTERS_MIN
        and longest_run >= _RANDOM_LETTERS_RUN
        and shannon_entropy(value) >= _RANDOM_LETTERS_ENTROPY
        and not is_word_like(value)
    )


_MIN_HEX_KEY = 16
# Under a name that says token or key, shorter hex values count too: test fixtures and smaller APIs use
# 12- and 14-digit tokens. The 3-bit entropy floor keeps out counting and repeated digits
# (``aabbccdd1122``) at a price: random hex reaches it about half the time at 12 digits, 85 % at 16 and
# nearly always at 32 (measured on 20,000 draws each).
_MIN_HEX_TOKEN = 12


def _id_shaped_value(value: str) -> bool:
    """A UUID or a hex string of 12 digits or more: an id or a digest in general, a key or a token under
    a name that says so (``api_key``, ``salt``, ``access_token``; many APIs issue UUID or hex tokens)."""
    if _DASHED_UUID.match(value):
        return True
    return bool(_HEX.match(value)) and len(value) >= _MIN_HEX_TOKEN and shannon_entropy(value) >= 3.0


def _credential_value(value: str) -> bool:
    """A value that looks generated, for a name that says it is a credential: high entropy with mixed
    character classes, or a short run of random letters. Id-shaped values (UUIDs, hex) are left to
    ``credential_or_id_value``."""
    if _DASHED_UUID.match(value) or _HEX.match(value):
        return False
    if _mixed_charset(value) and shannon_entropy(value) >= entropy_floor(value, _GENERATED_ENTROPY):
        return True
    return is_random_letters(value)


_GENERATED_ENTROPY = 3.3


_LETTERS_AND_DIGITS = re.compile(r"[A-Za-z0-9_-]{7,64}")
_PASSWORD_LETTERS_MIN = 3
_PASSWORD_DIGITS_MIN = 2


def _password_value(value: str) -> bool:
    """A value that looks generated, for a name that says *password*: what ``credential_value`` accepts,
    and also letters mixed with digits as people and simple generators make passwords (``xkegs320``,
    ``pbn_345800``: three letters and two digits at least), whose entropy is too low for the key floor.
    The letters must not read as words (``hello123``, ``user2019``) and the value must not be hex (a
    short digest or id)."""
    if _credential_value(value):
        return True
    if not _LETTERS_AND_DIGITS.fullmatch(value) or _HEX.match(value):
        return False
    letters = re.sub(r"[^A-Za-z]", "", value)
    digits = sum(c.isdigit() for c in value)
    if len(letters) < _PASSWORD_LETTERS_MIN or digits < _PASSWORD_DIGITS_MIN:
        return False
    return not is_word_like(letters)


def _basic_credentials(value: str) -> bool:
    """An HTTP Basic value whose base64 decodes to ``user:password`` with a real password: not a
    stand-in, a default, a template or the user name (nor the RFC's own ``Aladdin:open sesame``)."""
    try:
        text = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = text.partition(":")
    if not sep or not password.isprintable() or not user.isprintable() or len(password) < 4:
        return False
    if password == user or is_placeholder(password) or is_weak_password(password) or " " in password:
        return False
    return not password.startswith(("$", "%", "{"))


def _not_counting_bytes(value: str) -> bool:
    """Not a base64(url) encoding of counting or repeated bytes (``AQIDBAUG…`` is 1, 2, 3, …), which test
    vectors use as keys."""
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return True
    steps = {(b - a) % 256 for a, b in pairwise(data)}
    return len(data) < 4 or len(steps) > 1


def _aws_secret_shape(value: str) -> bool:
    """40 base64 characters as AWS issues them: upper and lower case and digits, and not a path
    (slashes between words) or a base64 digest's padding-free tail of a longer string."""
    if sum(c.isdigit() for c in value) < 2 or not any(c.isupper() for c in value):
        return False
    return not looks_like_words(value.replace("/", "_").replace("+", "_"))


_NTLM_SIGNATURE = b"NTLMSSP\x00"
_NTLM_AUTHENTICATE = 3
_NTLM_RESPONSE_MIN = 24  # an NTLMv1 response; NTLMv2 responses are longer


def _ntlm_authenticate(value: str) -> bool:
    """An NTLM AUTHENTICATE (type 3) message carrying a challenge response: what a client sends once it
    knows the password. Negotiate and challenge messages, and anonymous logins (no response), carry none."""
    try:
        data = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    if len(data) < 28 or not data.startswith(_NTLM_SIGNATURE):
        return False
    if int.from_bytes(data[8:12], "little") != _NTLM_AUTHENTICATE:
        return False
    length = int.from_bytes(data[20:22], "little")
    offset = int.from_bytes(data[24:28], "little")
    return length >= _NTLM_RESPONSE_MIN and offset + length <= len(data)


CHECKS: dict[str, Callable[[str], bool]] = {
    "aws_secret_shape": _aws_secret_shape,
    "not_counting_bytes": _not_counting_bytes,
    "ntlm_authenticate": _ntlm_authenticate,
    "basic_credentials": _basic_credentials,
    "credential_value": _credential_value,
    "password_value": _password_value,
    "credential_or_id_value": lambda value: _credential_value(value) or _id_shaped_value(value),
    "id_shaped_value": _id_shaped_value,
    "not_hash_like": _not_hash_like,
    "jwt": _jwt,
    "github_checksum": _github_checksum,
    "mixed_charset": _mixed_charset,
    "not_identifier_like": _not_identifier_like,
    "jwt_credential": _jwt_credential,
    "pem_key_body": _pem_key_body,
    "pem_encrypted_key_body": _pem_encrypted_key_body,
    "not_weak_password": _not_weak_password,
    "url_credentials": _url_credentials,
    "literal_value": _literal_value,
}


# A value shorter than ``_SHORT_VALUE`` characters need only reach this share of the highest entropy a value
# of its length can reach (log2 of its length), when that is below the rule's ``min_entropy``. A flat 3.3
# bits rejects half of all random 10-character passwords of letters, digits and symbols and a fifth of
# 12-character ones; 80% of the maximum rejects under 1% of them. Longer values (every provider format)
# are held to ``min_entropy`` unchanged, and so are short values with fewer than three character
# classes: lower-case-and-digit strings such as ``h480djs93hd8`` are what documentation types as a
# made-up token.
_SHORT_VALUE = 18
_SHORT_VALUE_ENTROPY_SHARE = 0.8
_SHORT_VALUE_CLASSES = 3


def _character_classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters ``value`` uses."""
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def entropy_floor(value: str, min_entropy: float) -> float:
    """The entropy ``value`` must reach: ``min_entropy``, lowered for values too short to reach it that mix
    three or more character classes, as generated passwords do."""
    if not value or len(value) >= _SHORT_VALUE or _character_classes(value) < _SHORT_VALUE_CLASSES:
        return min_entropy
    return min(min_entropy, _SHORT_VALUE_ENTROPY_SHARE * math.log2(len(value)))


def passes(value: str, validation: Validation) -> bool:
    """True when ``value`` passes every check ``validation`` asks for."""
    if len(value) < validation.min_length:
        return False
    if validation.markers and not any(marker in value for marker in validation.markers):
        return False
    if validation.placeholder and is_placeholder(value):
        return False
    if validation.min_entropy and shannon_entropy(value) < entropy_floor(value, validation.min_entropy):
        return False
    return all(CHECKS[name](value) for name in validation.checks)
