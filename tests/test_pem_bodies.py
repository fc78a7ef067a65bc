"""Private-key blocks are judged by what the armour says they are: an OpenPGP packet is a key only under
PGP armour, and a key written as concatenated string literals in code is one key."""

from __future__ import annotations

import base64
import random
import textwrap

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine


def _rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()


def _armoured(label: str, data: bytes) -> str:
    body = "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 64))
    return f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"


def _ids(engine: Engine, text: str, path: str = "key.txt") -> list[str]:
    return [f.rule_id for f in engine.scan(Blob(path, text.encode()))]


def test_pgp_packet_counts_only_under_pgp_armour(engine: Engine) -> None:
    rng = random.Random(5)
    packet = bytes([0x95]) + bytes(rng.randrange(256) for _ in range(400))  # a secret-key packet's tag
    assert _ids(engine, _armoured("PGP PRIVATE KEY BLOCK", packet)) == ["PG173"]
    # The same bytes under RSA armour are neither DER nor PGP as labelled: random text, not a key.
    assert _ids(engine, _armoured("RSA PRIVATE KEY", packet)) == []


def test_concatenated_string_literals_are_one_key(engine: Engine) -> None:
    lines = _rsa_pem().strip().splitlines()
    java = "String key =\n" + " +\n".join(f'    "{line}\\n"' for line in lines) + ";\n"
    findings = engine.scan(Blob("Keys.java", java.encode()))
    assert [f.rule_id for f in findings] == ["PG173"]
    assert (findings[0].line, findings[0].end_line) == (2, len(lines) + 1)
    php = "$key = '" + "' .\n    '".join(lines) + "';\n"
    assert _ids(engine, php, "keys.php") == ["PG173"]


def test_a_plain_pem_key_is_still_found(engine: Engine) -> None:
    assert _ids(engine, _rsa_pem(), "id_rsa") == ["PG173"]
