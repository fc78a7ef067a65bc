"""The PII analyzer and vault, with real Presidio and the real spaCy model (no mocks).

The NER analyzer is built once for the session (the model takes about a second to load); the pattern-only
analyzers are cheap and built where a test needs its own settings.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from prodguard.errors import ConfigError
from prodguard.guard._pii.analyzer import (
    PiiAnalyzer,
    PiiSettings,
    PiiUnavailable,
    PiiVault,
    PiiVaultError,
)

PERSON = "Anneliese Wojcik"
EMAIL = "a.wojcik@example.org"
PHONE_UK = "+44 20 7946 0958"
PHONE_US = "(555) 123-4567"
CARD = "4111 1111 1111 1111"
SSN = "219-09-9999"
IBAN = "DE89 3704 0044 0532 0130 00"
IP = "192.168.10.42"
ADDRESS = "221B Baker Street"
VALUES = (PERSON, EMAIL, PHONE_UK, PHONE_US, CARD, SSN, IBAN, IP, ADDRESS)
MESSAGE = (
    f"Hi, my name is {PERSON}. Email me at {EMAIL} or call {PHONE_UK} (US: {PHONE_US}). "
    f"Card {CARD}, SSN {SSN}, refund to {IBAN}. I logged in from {IP} and live at {ADDRESS}, London."
)


@pytest.fixture(scope="session")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer(PiiSettings())


@pytest.fixture(scope="session")
def patterns() -> PiiAnalyzer:
    return PiiAnalyzer(PiiSettings(ner=False))


def test_pseudonymize_removes_every_value_and_restore_brings_them_back(analyzer: PiiAnalyzer) -> None:
    vault = PiiVault(analyzer)
    masked = vault.pseudonymize(MESSAGE)
    for value in VALUES:
        assert value not in masked
    for placeholder in (
        "<PERSON_1>",
        "<EMAIL_ADDRESS_1>",
        "<PHONE_NUMBER_1>",
        "<PHONE_NUMBER_2>",
        "<CREDIT_CARD_1>",
        "<US_SSN_1>",
        "<IBAN_CODE_1>",
        "<IP_ADDRESS_1>",
        "<STREET_ADDRESS_1>",
    ):
        assert placeholder in masked
    assert vault.restore(masked) == MESSAGE


def test_same_value_gets_the_same_placeholder_in_every_text(analyzer: PiiAnalyzer) -> None:
    vault = PiiVault(analyzer)
    first = vault.pseudonymize(f"Please write to {EMAIL} about {PERSON}'s order.")
    second = vault.pseudonymize(f"Also cc {EMAIL}; Ms. Keller ({'k.keller@example.org'}) is new.")
    assert "<EMAIL_ADDRESS_1>" in first and "<EMAIL_ADDRESS_1>" in second
    assert "<EMAIL_ADDRESS_2>" in second  # a different value gets the next number
    assert vault.restore(second).startswith(f"Also cc {EMAIL};")


def test_a_known_value_is_replaced_even_where_detection_misses_it(analyzer: PiiAnalyzer) -> None:
    vault = PiiVault(analyzer)
    vault.pseudonymize(f"My name is {PERSON}.")
    # Lowercase surroundings and no cue: NER alone would not call this a name; the vault knows it is one.
    masked = vault.pseudonymize(f"ok so {PERSON} it is")
    assert PERSON not in masked and "<PERSON_1>" in masked


def test_placeholder_numbers_already_in_the_text_are_skipped(patterns: PiiAnalyzer) -> None:
    vault = PiiVault(patterns)
    masked = vault.pseudonymize(f"Template uses <EMAIL_ADDRESS_1>; the real one is {EMAIL}.")
    assert "<EMAIL_ADDRESS_2>" in masked
    assert vault.restore(masked) == f"Template uses <EMAIL_ADDRESS_1>; the real one is {EMAIL}."


def test_restore_leaves_unknown_placeholders_alone(patterns: PiiAnalyzer) -> None:
    vault = PiiVault(patterns)
    vault.pseudonymize(f"mail {EMAIL}")
    assert vault.restore("<EMAIL_ADDRESS_1> and <PERSON_7> and <b>") == f"{EMAIL} and <PERSON_7> and <b>"


def test_restore_inside_json_strings_keeps_the_json_valid(analyzer: PiiAnalyzer) -> None:
    vault = PiiVault(analyzer)
    masked = vault.pseudonymize("Dear Zoë O'Brien-Müller, please confirm.")
    assert "<PERSON_1>" in masked
    arguments = vault.restore('{"recipient": "<PERSON_1>", "note": "hi"}', json_string=True)
    assert json.loads(arguments)["recipient"] == "Zoë O'Brien-Müller"


def _chunks(text: str, *cuts: int) -> Iterator[str]:
    at = 0
    for cut in (*cuts, len(text)):
        yield text[at:cut]
        at = cut


def test_stream_restorer_handles_a_placeholder_split_at_every_point(analyzer: PiiAnalyzer) -> None:
    vault = PiiVault(analyzer)
    masked = vault.pseudonymize(MESSAGE)
    answer = (
        f"Sure <PERSON_1>! I'll call {masked[masked.index('<PHONE_NUMBER_1>') :][:16]} and <CREDIT_CARD_1>."
    )
    expected = vault.restore(answer)
    assert PERSON in expected and CARD in expected
    for cut in range(len(answer) + 1):
        restorer = vault.stream_restorer()
        out = "".join(restorer.feed(chunk) for chunk in _chunks(answer, cut)) + restorer.flush()
        assert out == expected, cut
    for cut in range(1, len(answer)):  # two cuts: one inside the first placeholder, one anywhere after
        restorer = vault.stream_restorer()
        out = "".join(restorer.feed(c) for c in _chunks(answer, min(cut, 8), cut)) + restorer.flush()
        assert out == expected, cut
    restorer = vault.stream_restorer()
    assert "".join(restorer.feed(ch) for ch in answer) + restorer.flush() == expected


def test_stream_restorer_holds_back_only_a_possible_placeholder(patterns: PiiAnalyzer) -> None:
    vault = PiiVault(patterns)
    vault.pseudonymize(f"mail {EMAIL}")
    restorer = vault.stream_restorer()
    assert restorer.feed("Write to <EMAIL_ADD") == "Write to "
    assert restorer.feed("RESS_1> today, 3 <") == f"{EMAIL} today, 3 "
    assert restorer.feed(" 4 is true") == "< 4 is true"  # "< " cannot start a placeholder
    assert restorer.feed("<PERSON_9") == ""
    assert restorer.flush() == "<PERSON_9"  # never completed: released as it came


def test_allow_list_values_are_kept() -> None:
    analyzer = PiiAnalyzer(PiiSettings(ner=False, allow_list=("support@example.com",)))
    masked = PiiVault(analyzer).pseudonymize(f"Write to support@example.com or {EMAIL}.")
    assert "support@example.com" in masked and EMAIL not in masked


def test_only_selected_entities_are_redacted() -> None:
    analyzer = PiiAnalyzer(PiiSettings(ner=False, entities=("EMAIL_ADDRESS",)))
    masked = PiiVault(analyzer).pseudonymize(f"Write to {EMAIL} or call {PHONE_UK}.")
    assert EMAIL not in masked and PHONE_UK in masked


def test_disabled_settings_find_nothing() -> None:
    analyzer = PiiAnalyzer(PiiSettings(ner=False, enabled=False))
    assert analyzer.analyze(MESSAGE) == []


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        ("Call me on +49 30 12345678 tomorrow.", "+49 30 12345678", "PHONE_NUMBER"),
        ("Office: +33 1 42 68 53 00.", "+33 1 42 68 53 00", "PHONE_NUMBER"),
        ("Tokyo desk +81 3-1234-5678, ask for me.", "+81 3-1234-5678", "PHONE_NUMBER"),
        ("My cell is +91 98765 43210.", "+91 98765 43210", "PHONE_NUMBER"),
        ("Text 555.123.4567 when you land.", "555.123.4567", "PHONE_NUMBER"),
        ("Amex 3782 822463 10005 please", "3782 822463 10005", "CREDIT_CARD"),
        ("JCB 213112345678904 was declined", "213112345678904", "CREDIT_CARD"),
        ("Maestro 501800000009 works", "501800000009", "CREDIT_CARD"),
        ("Visa 4000 0000 0000 0000 006 expired", "4000 0000 0000 0000 006", "CREDIT_CARD"),
        ("social security number 219099999", "219099999", "US_SSN"),
    ],
)
def test_formats_stock_presidio_misses(patterns: PiiAnalyzer, text: str, value: str, entity: str) -> None:
    start = text.index(value)
    assert [(s.start, s.end, s.entity_type) for s in patterns.analyze(text)] == [
        (start, start + len(value), entity)
    ]


def test_digits_are_not_relabelled_as_dates_and_us_phones_are_not_nhs_numbers(analyzer: PiiAnalyzer) -> None:
    text = f"Card {CARD}, SSN {SSN}, call 415 555 0132 on March 3."
    found = {text[s.start : s.end]: s.entity_type for s in analyzer.analyze(text)}
    assert found == {CARD: "CREDIT_CARD", SSN: "US_SSN", "415 555 0132": "PHONE_NUMBER"}


def test_lookalikes_are_left_alone(analyzer: PiiAnalyzer) -> None:
    text = (
        "Order #48213 for $1,299.00 ships 2024-03-05 at 14:30 with v2.14.3; tracking 1Z999AA10123456784, "
        "SKU 88-1201-77, error 0x80070005, port 8443."
    )
    assert analyzer.analyze(text) == []


def test_encrypted_vault_round_trip_and_wrong_key(analyzer: PiiAnalyzer) -> None:
    key, other = bytes(range(32)), bytes(range(1, 33))
    vault = PiiVault(analyzer)
    masked = vault.pseudonymize(MESSAGE)
    blob = vault.to_encrypted(key)
    for value in VALUES:
        assert value.encode() not in blob
    reopened = PiiVault.from_encrypted(analyzer, blob, key)
    assert reopened.restore(masked) == MESSAGE
    assert reopened.pseudonymize(f"again: {EMAIL}") == "again: <EMAIL_ADDRESS_1>"  # numbering continues
    assert "<PERSON_2>" in reopened.pseudonymize("My name is Oskar Lindqvist.")
    with pytest.raises(PiiVaultError, match="wrong key or tampered"):
        PiiVault.from_encrypted(analyzer, blob, other)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(PiiVaultError):
        PiiVault.from_encrypted(analyzer, tampered, key)
    with pytest.raises(PiiVaultError, match="32 bytes"):
        vault.to_encrypted(b"short")
    with pytest.raises(PiiVaultError, match="unknown format"):
        PiiVault.from_encrypted(analyzer, b"not a vault at all, really", key)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every attempt to resolve or connect fails, and is recorded."""
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_building_and_analyzing_never_touch_the_network(no_network: list[str]) -> None:
    analyzer = PiiAnalyzer(PiiSettings())  # a fresh build: model load, registry, warm-up
    spans = analyzer.analyze(
        f"{MESSAGE} Also: j.doe@mail.co.uk, http://example.com/x, ops@sub.example.museum"
    )
    assert {s.entity_type for s in spans} >= {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "STREET_ADDRESS"}
    assert no_network == []


def test_missing_model_is_unavailable_and_not_downloaded(no_network: list[str]) -> None:
    with pytest.raises(PiiUnavailable, match="not installed"):
        PiiAnalyzer(PiiSettings(model="en_core_web_missing_model"))
    assert no_network == []


def test_repeated_text_is_answered_from_the_cache(analyzer: PiiAnalyzer) -> None:
    history = [f"Turn {i}: my number is +44 20 7946 09{i:02d}, ask for {PERSON}." for i in range(5)]
    before = analyzer.cache_stats
    vault = PiiVault(analyzer)
    for turn in range(1, len(history) + 1):  # each turn resends the whole history
        for message in history[:turn]:
            vault.pseudonymize(message)
    after = analyzer.cache_stats
    assert after.analyses - before.analyses == len(history)
    assert after.hits - before.hits == sum(range(len(history)))


def test_analysis_does_not_grow_spacys_string_store(analyzer: PiiAnalyzer) -> None:
    strings = analyzer._nlp.nlp_model.vocab.strings  # type: ignore[union-attr]
    before = len(strings)
    for i in range(20):
        analyzer.analyze(f"Zyxqwerta Blorvik{i} wrote from qq{i}zz@example.com about Kvothe Arliden{i}.")
    assert len(strings) == before


def test_concurrent_use_matches_sequential(analyzer: PiiAnalyzer) -> None:
    texts = [f"{MESSAGE} (copy {i}, ref {i * 7919})" for i in range(8)]
    expected = [analyzer.analyze(t) for t in texts]
    # New texts (not cached) whose spans are those of the originals: every threaded call analyzes.
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(analyzer.analyze, [f"{t} Thanks!" for t in texts])) == expected


def test_stock_presidio_in_the_same_process_is_unaffected(patterns: PiiAnalyzer) -> None:
    # Presidio's default loader finds recognizer classes by name among __subclasses__(); ours must not
    # shadow the stock ones for other AnalyzerEngines in the process.
    from presidio_analyzer.recognizer_registry import RecognizerRegistryProvider

    registry = RecognizerRegistryProvider(registry_configuration={"supported_languages": ["en"]})
    modules = {type(r).__module__ for r in registry.create_recognizer_registry().recognizers}
    assert not any(m.startswith("prodguard") for m in modules)


def test_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="unknown entity FOO"):
        PiiSettings(entities=("PERSON", "FOO"))
    with pytest.raises(ConfigError, match="score_threshold"):
        PiiSettings(score_threshold=1.5)
    with pytest.raises(ConfigError, match="two-letter"):
        PiiSettings(phone_regions=("usa",))
    with pytest.raises(ConfigError, match=r"pii\.ner = true"):
        PiiAnalyzer(PiiSettings(ner=False, entities=("NRP",)))


def test_error_messages_never_quote_the_text() -> None:
    with pytest.raises(PiiVaultError) as caught:
        PiiVault.from_encrypted(PiiAnalyzer(PiiSettings(ner=False)), b"PGV1" + bytes(40), bytes(32))
    assert "PGV1" not in str(caught.value)
