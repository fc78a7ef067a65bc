"""Credentials in the shapes real repositories hold them, written as whole files: CI environment matrices,
container environment strings, recorded HTTP cassettes, JSON fixtures with token lists, payment-SDK
settings, Django settings, hashing tests, client-library docs. Each file also holds the look-alikes that
stand beside such credentials (variables, negotiate messages, public keys, data-record salts), which must
not be reported. Values are drawn at random per run."""

from __future__ import annotations

import base64
import random
import string

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from prodguard.rules.catalogue import load_catalogue
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine

ENGINE = Engine(load_catalogue(compile_builtin=True).pattern_rules)
CONSONANTS = "bcdfghjklmnpqrstvwxz"


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1307)


def _flagged(path: str, text: str) -> dict[int, set[str]]:
    """Rule ids reported per line."""
    lines: dict[int, set[str]] = {}
    for finding in ENGINE.scan(Blob(path, text.encode("utf-8"))):
        lines.setdefault(finding.line, set()).add(finding.rule_id)
    return lines


def _draw(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _hand_made_password(rng: random.Random) -> str:
    """Letters then digits, as people and simple generators make them (too little entropy for a key)."""
    return _draw(rng, CONSONANTS, rng.randint(4, 6)) + _draw(rng, string.digits, rng.randint(3, 6))


def test_ci_matrix_and_container_environment_strings(rng: random.Random) -> None:
    text = (
        "language: python\n"
        "env:\n"
        f"  - DB_USER=app DB_PASSWORD={_hand_made_password(rng)} DB_HOST=127.0.0.1 API_PORT=18080\n"
        "  - DB_USER=app DB_PASSWORD=$DB_PASSWORD DB_HOST=127.0.0.1\n"
        f'docker_env: ENV="ACCEPT_EULA=Y MSSQL_PID=Express SA_PASSWORD={_hand_made_password(rng)}"\n'
        'docker_env_dev: ENV="ACCEPT_EULA=Y SA_PASSWORD=${SA_PASSWORD}"\n'
    )
    assert _flagged(".travis.yml", text) == {3: {"PG148"}, 5: {"PG148"}}


def test_recorded_http_cassette(rng: random.Random) -> None:
    cookie = (
        "s%3A"
        + _draw(rng, string.ascii_letters + string.digits, 32)
        + "."
        + _draw(rng, string.ascii_letters + string.digits, 43)
    )
    response = bytes(rng.randrange(256) for _ in range(24))
    authenticate = base64.b64encode(
        b"NTLMSSP\x00\x03\x00\x00\x00"
        + bytes.fromhex("18001800400000001800180058000000")
        + bytes(36)
        + response * 2
    ).decode()
    negotiate = base64.b64encode(b"NTLMSSP\x00\x01\x00\x00\x00" + bytes(24)).decode()
    text = (
        "- request:\n"
        "    headers:\n"
        f"      Authorization: NTLM {negotiate}\n"
        "  response:\n"
        "    headers:\n"
        "      Set-Cookie:\n"
        f"      - shop-auth.sid={cookie}; Path=/; HttpOnly\n"
        "      - theme=dark; Path=/\n"
        "- request:\n"
        "    headers:\n"
        f"      Authorization: NTLM {authenticate}\n"
    )
    assert _flagged("spec/cassettes/login.yml", text) == {7: {"PG150"}, 11: {"PG154"}}


def test_token_lists_in_recorded_json(rng: random.Random) -> None:
    tokens = [_draw(rng, "0123456789abcdef", 32) for _ in range(2)]
    ids = [_draw(rng, "0123456789abcdef", 16) for _ in range(2)]
    text = (
        f'{{"response": [{{"id": 4417, "vin": "5YJSA1CN5CFP0", "tokens": ["{tokens[0]}", "{tokens[1]}"],\n'
        f' "token_ids": ["{ids[0]}", "{ids[1]}"], "state": "online"}}]}}\n'
    )
    assert _flagged("fixtures/vehicles.json", text) == {1: {"PG198"}}


def test_payment_settings_with_a_bare_base64_private_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    private = base64.b64encode(
        key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    ).decode()
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    text = (
        "<?php\nreturn [\n"
        "    'app_id' => '2016080500172713',\n"
        f"    'merchant_private_key' => '{private}',\n"
        f"    'alipay_public_key' => '{public}',\n"
        "];\n"
    )
    assert _flagged("config/alipay.php", text) == {4: {"PG152"}}


def test_django_settings_and_hashing_tests(rng: random.Random) -> None:
    django_key = _draw(rng, "abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)", 50).replace("'", "")
    salt = _draw(rng, "0123456789abcdef", 40)
    settings = (
        "import os\n"
        f"SECRET_KEY = 'django-insecure-{django_key}'\n"
        "SECRET_KEY_FALLBACKS = [os.environ.get('OLD_SECRET_KEY', '')]\n"
    )
    assert _flagged("mysite/settings.py", settings) == {2: {"PG153"}}
    hashing = (
        "def test_digest\n"
        f'  salt = "{salt}"\n'
        f'  record = {{"salt": "{salt}", "hash": "{_draw(rng, "0123456789abcdef", 64)}"}}\n'
        "end\n"
    )
    assert _flagged("test/crypto_provider_test.rb", hashing) == {2: {"PG151"}}


def test_client_library_docs_and_key_uris(rng: random.Random) -> None:
    token = _draw(rng, "0123456789ABCDEF", 64)
    seed = _draw(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 32)
    text = (
        "```go\n"
        f'client.R().SetAuthToken("{token}")\n'
        'client.R().SetAuthToken(os.Getenv("API_TOKEN"))\n'
        "```\n"
        f"Scan otpauth://totp/Acme:ops@acme.io?secret={seed}&issuer=Acme with the app, or\n"
        "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example from the wiki.\n"
    )
    assert _flagged("README.md", text) == {2: {"PG149"}, 5: {"PG155"}}


def _generated(rng: random.Random, n: int = 18) -> str:
    return _draw(rng, string.ascii_letters + string.digits, n)


def test_detect_secrets_baseline_and_user_fixtures_hold_digests(rng: random.Random) -> None:
    """A qualifier before the secret word (``hashed_secret``, ``sha256_password``) says digest as surely as
    one after it; a real key beside the baseline's digests is still reported."""
    hexdigits = "0123456789abcdef"
    baseline = (
        "{\n"
        '  "generated_at": "2026-01-05T10:00:00Z",\n'
        '  "plugins_used": [{"name": "KeywordDetector"}],\n'
        '  "results": {\n'
        '    "config/settings.py": [\n'
        "      {\n"
        '        "type": "Secret Keyword",\n'
        '        "filename": "config/settings.py",\n'
        f'        "hashed_secret": "{_draw(rng, hexdigits, 40)}",\n'
        '        "is_verified": false,\n'
        '        "line_number": 12\n'
        "      }\n"
        "    ]\n"
        "  }\n"
        "}\n"
    )
    assert _flagged(".secrets.baseline", baseline) == {}
    users = (
        "users:\n"
        "  - email: ops@acme.io\n"
        f"    hashedPassword: '{_generated(rng)}'\n"
        f"    password_sha256: '{_draw(rng, hexdigits, 64)}'\n"
        f"    md5_token: '{_draw(rng, hexdigits, 32)}'\n"
        f"    bcrypt_password: '{_generated(rng)}'\n"
        f"    password: '{_generated(rng)}'\n"
        f"    HASH_SECRET: '{_generated(rng)}'\n"
    )
    assert _flagged("data/users.yml", users) == {7: {"PG190"}, 8: {"PG190"}}


def test_translation_catalogues_hold_ui_text(rng: random.Random) -> None:
    """Label keys and natural-language words are UI text wherever they stand; a generated value under a
    plain secret name is reported in a catalogue too (no blanket path exclusion)."""
    angular = (
        "{\n"
        '  "LABEL_PASSWORD": "Jelszó",\n'
        '  "PLACEHOLDER_PASSWORD": "Jelszo",\n'
        '  "BTN_TOKEN": "Tokenkod",\n'
        f'  "tempPassword": "{_generated(rng, 16)}",\n'
        "}\n"
    )
    assert _flagged("frontend/src/assets/i18n/hu_HU.json", angular) == {5: {"PG190"}}
    rails = "hu:\n  devise:\n    password: \"Jelszó\"\n    labelPassword: 'Jelszava'\n"
    assert _flagged("config/locales/hu.yml", rails) == {}
