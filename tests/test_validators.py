"""The value checks behind the generic rules: generated values pass, words, names, stand-ins and ids do
not — measured on random samples, not on a handful of strings — and a context's ``absent`` words veto a
match on the line."""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

import pytest

from prodguard.errors import ConfigError
from prodguard.rules.catalogue import load_pack
from prodguard.rules.names import names_a_digest, names_ui_text
from prodguard.rules.validators import CHECKS, is_random_letters, is_weak_password, is_word_like
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine

CREDENTIAL = CHECKS["credential_value"]
WITH_IDS = CHECKS["credential_or_id_value"]


def test_most_short_random_passwords_pass() -> None:
    rng = random.Random(7)
    lowercase = [
        "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(7, 12))) for _ in range(500)
    ]
    mixed = [
        "".join(rng.choice(string.ascii_letters + string.digits + "!%._-") for _ in range(rng.randint(8, 14)))
        for _ in range(500)
    ]
    assert sum(map(CREDENTIAL, lowercase)) / len(lowercase) > 0.7
    assert sum(map(CREDENTIAL, mixed)) / len(mixed) > 0.9


@pytest.mark.parametrize(
    "value",
    [
        "mypassword",
        "supersecret",
        "correcthorse",
        "nfirst",
        "userpass",
        "risk-xglzpvsknhpquaxifmlqmmamvh",
        "hunter",
    ],
)
def test_words_names_and_lookalikes_fail(value: str) -> None:
    assert is_word_like(value) or not is_random_letters(value)
    assert not CREDENTIAL(value)


@pytest.mark.parametrize("value", ["P@55w0rd!", "Pass@Word1", "kmsPswd", "Welcome1", "qwerty123"])
def test_leetspeak_and_punctuated_stand_ins_are_weak(value: str) -> None:
    assert is_weak_password(value)


def test_password_names_accept_letters_then_digits_but_not_words_or_hex() -> None:
    password = CHECKS["password_value"]
    rng = random.Random(11)
    made = [
        "".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(4, 6)))
        + "".join(rng.choice(string.digits) for _ in range(rng.randint(3, 7)))
        for _ in range(300)
    ]
    assert sum(map(password, made)) / len(made) > 0.9
    assert not any(map(CREDENTIAL, ["xkqd2841", "vtz90315"]))  # the key floor alone misses them
    for value in ["hello123", "user2019", "efcaca968673", "abc12", "sha256", "required"]:
        assert not password(value), value


def test_ids_pass_only_where_the_rule_accepts_them() -> None:
    uuid, sha1 = "b353b191-fd0b-ae5e-67bb-9d2759235937", "f29e11366e36ef3245ba9ea90ffe730c74d99bfd"
    assert not CREDENTIAL(uuid) and not CREDENTIAL(sha1)
    assert WITH_IDS(uuid) and WITH_IDS(sha1)
    assert not WITH_IDS("aabbccdd12")  # short hex: a colour or a short id


def test_basic_credentials_decode_to_a_real_password() -> None:
    basic = CHECKS["basic_credentials"]

    def enc(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    assert basic(enc("svc:q7vLk9ZxT2mP"))
    assert (
        not basic(enc("user:password")) and not basic(enc("admin:admin")) and not basic(enc("no-colon-here"))
    )
    assert not basic("not base64 at all!")


def test_absent_words_veto_a_match_on_the_line(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text(
        """[pack]
name = "t"
[[rules]]
id = "TST001"
name = "t"
title = "t"
kind = "secret"
severity = "high"
description = "d"
why = "w"
remediation = "r"
keywords = ["tkn="]
pattern = '''tkn=(?P<secret>[a-z0-9]{12})'''
context = { absent = ["example("], lines = 0 }
"""
    )
    engine = Engine(load_pack(pack))
    assert [f.rule_id for f in engine.scan(Blob("a.py", b"x = tkn=kq7x92mz4p1w"))] == ["TST001"]
    assert engine.scan(Blob("a.py", b"example(tkn=kq7x92mz4p1w)")) == []
    assert [f.rule_id for f in engine.scan(Blob("a.py", b"example()\nx = tkn=kq7x92mz4p1w"))] == ["TST001"]


def test_a_context_needs_words_or_absent_words(tmp_path: Path) -> None:
    pack = tmp_path / "pack.toml"
    pack.write_text(
        '[pack]\nname = "t"\n[[rules]]\nid = "TST002"\nname = "t"\ntitle = "t"\nkind = "secret"\n'
        'severity = "high"\ndescription = "d"\nwhy = "w"\nremediation = "r"\nkeywords = ["xyz"]\n'
        "pattern = '(?P<secret>xyz)'\ncontext = { lines = 2 }\n"
    )
    with pytest.raises(ConfigError, match="context needs at least one word"):
        load_pack(pack)


def test_name_checks_read_the_matched_name_and_unknown_ones_are_rejected(tmp_path: Path) -> None:
    head = (
        '[pack]\nname = "t"\n[[rules]]\nid = "TST003"\nname = "t"\ntitle = "t"\nkind = "secret"\n'
        'severity = "high"\ndescription = "d"\nwhy = "w"\nremediation = "r"\nkeywords = ["tkn"]\n'
        "pattern = '''(?<![\\w.])[\\w.]{0,20}tkn[ \\t]*=[ \\t]*(?P<secret>[a-z0-9]{12})'''\n"
    )
    pack = tmp_path / "pack.toml"
    pack.write_text(head + 'validate = { name_checks = ["not_digest_name", "not_ui_text_name"] }\n')
    engine = Engine(load_pack(pack))
    assert [f.rule_id for f in engine.scan(Blob("a.py", b"db_tkn = kq7x92mz4p1w"))] == ["TST003"]
    assert engine.scan(Blob("a.py", b"sha256_tkn = kq7x92mz4p1w")) == []
    assert engine.scan(Blob("a.py", b"i18n.label_tkn = kq7x92mz4p1w")) == []
    pack.write_text(head + 'validate = { name_checks = ["not_hashed"] }\n')
    with pytest.raises(ConfigError, match="unknown name check 'not_hashed'"):
        load_pack(pack)


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ('"hashed_secret": "', True),
        ("hashedPassword = '", True),
        ("SHA256_PASSWORD=", True),
        ("password_md5: '", True),
        ("encrypted_password = '", True),
        ("unhashed_password = '", False),  # plain text, said so
        ("HASH_SECRET = '", False),  # the key a hash is keyed with
        ("sharedSecret: '", False),
        ('getenv("API_TOKEN", "', False),
    ],
)
def test_digest_qualifiers_anywhere_in_the_name(name: str, digest: bool) -> None:
    assert names_a_digest(name) is digest


@pytest.mark.parametrize(
    ("name", "ui_text"),
    [
        ('"LABEL_PASSWORD": "', True),
        ("placeholderPassword: '", True),
        ("i18n.btn_token = '", True),
        ("export TITLE_SECRET=", True),
        ("reset_title_token = '", False),  # a UI word counts only where the name begins
        ("message_signing_key = '", False),
        ("const LABELLED_SECRET = '", False),
    ],
)
def test_ui_text_qualifiers_lead_the_name(name: str, ui_text: bool) -> None:
    assert names_ui_text(name) is ui_text
