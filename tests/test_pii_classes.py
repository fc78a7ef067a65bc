"""The classes of personal data the guard keeps from upstream beyond stock patterns: national phone numbers
next to phone words, labelled identity numbers and dates of birth, every card network, whole street
addresses of many countries, names from name lists in any casing, and the default policy. Every sentence
here is written for these tests."""

from __future__ import annotations

import pytest

from prodguard.guard._pii.analyzer import (
    DEFAULT_ENTITIES,
    SUPPORTED_ENTITIES,
    PiiAnalyzer,
    PiiSettings,
    PiiVault,
)
from prodguard.guard._pii.cards import known_issuer, luhn_ok
from prodguard.guard._pii.context import RULES
from prodguard.guard._pii.types import DIRECT_IDENTIFIERS


@pytest.fixture(scope="module")
def everything() -> PiiAnalyzer:
    return PiiAnalyzer(PiiSettings(entities=tuple(sorted(SUPPORTED_ENTITIES - {"DATE_TIME", "US_BANK_NUMBER"}))))


@pytest.fixture(scope="module")
def everything_with_dates() -> PiiAnalyzer:
    return PiiAnalyzer(PiiSettings(entities=("PERSON", "DATE_TIME")))


@pytest.fixture(scope="module")
def default() -> PiiAnalyzer:
    return PiiAnalyzer(PiiSettings())


def found(analyzer: PiiAnalyzer, text: str) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity_type) for s in analyzer.analyze(text)]


def covered(analyzer: PiiAnalyzer, text: str, value: str, entity: str) -> bool:
    """A detection of ``entity`` covers ``value`` (it may reach further: "Reisepassnummer C4J7RT2K9")."""
    at = text.index(value)
    return any(
        s.start <= at and at + len(value) <= s.end and s.entity_type == entity for s in analyzer.analyze(text)
    )


def hidden(analyzer: PiiAnalyzer, text: str, value: str) -> bool:
    """``value`` no longer appears once the text is pseudonymized (what reaches upstream)."""
    return value not in PiiVault(analyzer).pseudonymize(text)


# -- context rules: every example of every rule, through the analyzer -------------------------------------

RULE_EXAMPLES = [(r.entity, text, value) for r in RULES for text, value in r.examples]
RULE_COUNTEREXAMPLES = [(r.entity, text) for r in RULES for text in r.counterexamples]


@pytest.mark.parametrize(("entity", "text", "value"), RULE_EXAMPLES)
def test_context_rule_examples_match(everything: PiiAnalyzer, entity: str, text: str, value: str) -> None:
    assert covered(everything, text, value, entity)


@pytest.mark.parametrize(("entity", "text"), RULE_COUNTEREXAMPLES)
def test_context_rule_counterexamples_do_not_match(everything: PiiAnalyzer, entity: str, text: str) -> None:
    assert entity not in {kind for _, kind in found(everything, text)}


# -- phone numbers without a country code -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Ring me on 0912 3345678 after six.", "0912 3345678"),
        ("Mobile: 0671 402 18 93", "0671 402 18 93"),
        ("call me at (31) 4482-9017 tomorrow", "(31) 4482-9017"),
        ("Tel. 022-418-375", "022-418-375"),
        ("You can phone me: 03.86.52.44.19", "03.86.52.44.19"),
        ("Meine Handynummer ist 0171 2390455.", "0171 2390455"),
        ("Mi teléfono es 612 48 93 07", "612 48 93 07"),
        ("Numero di telefono 347 218 9054", "347 218 9054"),
        ("puhelin 040 718 2234", "040 718 2234"),
        ("Phone:\n733 4182", "733 4182"),
        ("6184902273 mobile", "6184902273"),
        ("58 71 29 office", "58 71 29"),
        ("my number is 612 48 93 07", "612 48 93 07"),
        ("she called from 041-552-913 yesterday", "041-552-913"),
    ],
)
def test_national_phone_numbers_next_to_phone_words(default: PiiAnalyzer, text: str, number: str) -> None:
    assert covered(default, text, number, "PHONE_NUMBER")


@pytest.mark.parametrize(
    "text",
    [
        "Order 612 48 93 07 shipped on Monday.",  # no phone word
        "Please call us. Invoice 4417 2291 is attached.",  # the phone word is in another sentence
        "Call logged at 2024-03-18 14:02 by the system.",  # a date and a time
        "Call the server at 10.22.31.4 if the VPN drops.",  # an IPv4 address
        "Text me the code 482913.",  # a six-digit code
        "My order number is 612 48 93 07.",  # a number, but nobody's phone
        "The call lasted 1 2 3 4 5 6 seconds",  # one-digit groups
    ],
)
def test_digits_that_are_not_phone_numbers(default: PiiAnalyzer, text: str) -> None:
    assert "PHONE_NUMBER" not in {kind for _, kind in found(default, text)}


# -- cards: every network, any grouping ---------------------------------------------------------------------

def _with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@pytest.mark.parametrize(
    "prefix_length",
    [("3530", 16), ("3512", 16), ("6212", 16), ("6212", 19), ("3600", 14), ("3056", 14), ("5018", 12),
     ("6759", 13), ("2200", 16), ("2720", 16), ("6011", 16), ("4929", 19)],
)
@pytest.mark.parametrize("separator", ["", " ", "-"])
def test_every_card_network_with_any_separator(
    default: PiiAnalyzer, prefix_length: tuple[str, int], separator: str
) -> None:
    prefix, length = prefix_length
    digits = _with_check_digit(prefix + "4" * (length - len(prefix) - 1))
    assert known_issuer(digits) and luhn_ok(digits)
    written = separator.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    assert covered(default, f"Charge card {written} for the deposit.", written, "CREDIT_CARD")


def test_a_card_number_failing_luhn_is_not_a_card(default: PiiAnalyzer) -> None:
    digits = _with_check_digit("353011112222333")
    broken = digits[:-1] + str((int(digits[-1]) + 1) % 10)
    assert "CREDIT_CARD" not in {kind for _, kind in found(default, f"Reference {broken} in the ledger")}


# -- street addresses --------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "part"),
    [
        ("Send the keys to Kværnervej 12, 2300 København.", "Kværnervej 12"),
        ("Her address: Ostrovní 221, Praha", "Ostrovní 221"),
        ("we moved to Tõnismägi 9 last spring", "Tõnismägi 9"),
        ("He lives at 18 Rosmarinvägen 4", "18 Rosmarinvägen 4"),
        ("Ship it to PSC 4410, Box 2218\nAPO AE 09021", "APO AE 09021"),
        ("The cheque goes to P.O. Box 4471.", "P.O. Box 4471"),
        ("Maria Costa\n\n16 Largo do Chafariz 7\n Apt. 31\n Tavira\n Portugal 8800-331", "8800-331"),
        ("Maria Costa\n\n16 Largo do Chafariz 7\n Apt. 31\n Tavira\n Portugal 8800-331", "Apt. 31"),
        ("Deliver to 42 Quarry Lane, Suite 300, Dayton, OH 45402 please", "Suite 300"),
    ],
)
def test_street_addresses_of_many_countries_are_kept_whole(default: PiiAnalyzer, text: str, part: str) -> None:
    assert hidden(default, text, part)
    assert "STREET_ADDRESS" in {kind for _, kind in found(default, text)}


@pytest.mark.parametrize(
    "text",
    [
        "It runs on Python 3 and Windows 11.",
        "Boarding is at Gate 12, see Chapter 5.",
        "The Berlin 2024 summit moved online.",
        "We sold 40 units in March 2025.",
    ],
)
def test_numbered_things_that_are_not_addresses(default: PiiAnalyzer, text: str) -> None:
    assert "STREET_ADDRESS" not in {kind for _, kind in found(default, text)}


# -- names -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Gunnhildur replied within the hour.", "Gunnhildur"),
        ("They invited Bogdana, Ilkka and Sigrún.", "Ilkka"),
        ("The report was signed by Dragana Petrović.", "Dragana Petrović"),
        ("Ask Kovalenko about the refund.", "Kovalenko"),
        ("hi, this is agnieszka nowak from billing", "agnieszka nowak"),
        ("PLEASE CALL KATARZYNA WOJCIK BACK", "KATARZYNA WOJCIK"),
        ("Thomas approved the change.", "Thomas"),
    ],
)
def test_names_the_small_model_misses(default: PiiAnalyzer, text: str, name: str) -> None:
    assert hidden(default, text, name)


@pytest.mark.parametrize(
    "text",
    [
        "We meet on June 4 and again in August.",
        "Translate this to German, please.",
        "The Christmas Eve rota is ready.",
        "Will the grace period cover it?",
        "Please review the Amber alert settings.",
    ],
)
def test_ordinary_words_that_are_also_names_stay(default: PiiAnalyzer, text: str) -> None:
    assert "PERSON" not in {kind for _, kind in found(default, text)}


# -- policy ------------------------------------------------------------------------------------------------

def test_default_policy_redacts_direct_identifiers_and_quasi_identifiers_in_personal_forms() -> None:
    assert set(DIRECT_IDENTIFIERS) <= set(DEFAULT_ENTITIES)
    quasi = {"DATE_OF_BIRTH", "AGE", "ZIP_CODE", "LOCATION", "NRP", "COMPANY", "JOB_TITLE", "PERSONAL_URL"}
    assert quasi <= set(DEFAULT_ENTITIES)
    # Every date, every organisation the model guesses, every link: a policy adds them.
    assert not {"DATE", "DATE_TIME", "ORGANIZATION", "URL"} & set(DEFAULT_ENTITIES)


def test_ages_and_dates_of_birth_are_redacted_by_default_other_dates_when_the_policy_asks(
    default: PiiAnalyzer, everything: PiiAnalyzer
) -> None:
    text = "The patient, a 47-year-old carpenter, was born on 3 May 1978 and seen on 12 June 2023."
    assert found(default, text) == [("47", "AGE"), ("3 May 1978", "DATE_OF_BIRTH")]
    assert ("12 June 2023", "DATE") in found(everything, text)


# -- companies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please send the invoice to Larkspur Analytics Ltd before Friday.", "Larkspur Analytics Ltd"),
        ("Brenner & Sohn GmbH shipped the parts two weeks late.", "Brenner & Sohn GmbH"),
        ("The claim against Quilmes Textil S.A. was settled.", "Quilmes Textil S.A."),
        ("Our supplier HANBIT PRECISION CO., LTD. raised prices.", "HANBIT PRECISION CO., LTD."),
        ("Our Veltrano Group account was suspended yesterday.", "Veltrano Group"),
        ("I work at Oakridge Dental and my shifts keep changing.", "Oakridge Dental"),
        ("She has been employed by Northwind Traders since spring.", "Northwind Traders"),
    ],
)
def test_registered_company_names_and_employers(default: PiiAnalyzer, text: str, name: str) -> None:
    assert covered(default, text, name, "COMPANY")


@pytest.mark.parametrize(
    "text",
    [
        "The Working Group meets every second Monday.",
        "The Company shall notify the Buyer in writing within ten days.",
        "Our team uses Slack, Jira and GitHub Actions for CI.",
        "Summarize the Apple earnings call from last quarter.",
        "I work at night and sleep in the morning.",
        "We moved the office to Boulder, CO last spring.",
        "Should I buy the iPhone SE or wait?",
        "THE SOFTWARE IS PROVIDED AS IS, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY.",
    ],
)
def test_brands_and_generic_organisation_words_stay(default: PiiAnalyzer, text: str) -> None:
    assert not {kind for _, kind in found(default, text)} & {"COMPANY", "ORGANIZATION"}


def test_the_company_line_of_a_signature(default: PiiAnalyzer) -> None:
    text = "Best,\nMarta Kowalczyk\nNorthbeam Logistics\n14 Harbour Road\nLeith EH6 6LX\n"
    assert covered(default, text, "Northbeam Logistics", "COMPANY")
    assert covered(default, text, "Marta Kowalczyk", "PERSON")


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("I used to work for Harrow Mills Ltd as Senior payroll clerk, but quit.", "Senior payroll clerk"),
        ("She works as a night nurse at Ridgeview Clinic.", "night nurse"),
        ("I work at Brightwater Foods as a quality inspector and love it.", "quality inspector"),
    ],
)
def test_job_titles_next_to_an_employer(default: PiiAnalyzer, text: str, title: str) -> None:
    assert covered(default, text, title, "JOB_TITLE")


@pytest.mark.parametrize(
    "text",
    [
        "I'm a nurse and I work nights.",
        "I work at home as a freelancer.",
        "Use the logger as a context manager.",
        "I work for Brightwater Foods as well, on weekends.",
        "She worked at Coldharbour Press as usual until noon.",
    ],
)
def test_job_titles_without_an_employer_stay(default: PiiAnalyzer, text: str) -> None:
    assert "JOB_TITLE" not in {kind for _, kind in found(default, text)}


# -- nationalities, religions, political groups ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("As a Sikh nurse I was asked to remove my turban.", "Sikh"),
        ("My neighbours are Portuguese and very kind.", "Portuguese"),
        ("i am italian but i live abroad now", "italian"),
        ("She is a devout catholic, so Sundays are out.", "catholic"),
    ],
)
def test_origin_and_belief_are_redacted(default: PiiAnalyzer, text: str, value: str) -> None:
    assert hidden(default, text, value)


@pytest.mark.parametrize(
    "text",
    [
        "Translate this paragraph into German, please.",
        "She speaks Spanish and French fluently.",
        "Reply in Portuguese only.",
        "We need Japanese subtitles for the trailer.",
        "Compare Korean and Vietnamese grammar for a beginner.",
    ],
)
def test_languages_are_not_nationalities(default: PiiAnalyzer, text: str) -> None:
    assert "NRP" not in {kind for _, kind in found(default, text)}


@pytest.mark.parametrize("text", ["I am happy with the result.", "I'm fine, thanks.", "I'm single and looking for a flat."])
def test_lower_case_states_are_not_groups(default: PiiAnalyzer, text: str) -> None:
    assert "NRP" not in {kind for _, kind in found(default, text)}


@pytest.mark.parametrize(
    "text",
    [
        "Validate the payload with Pydantic before saving it.",
        "On Debian you install it with apt, on PyPy it runs slower.",
        "Requests is the library most people use for HTTP.",
    ],
)
def test_software_the_model_calls_a_group_is_not_one(default: PiiAnalyzer, text: str) -> None:
    assert "NRP" not in {kind for _, kind in found(default, text)}


# -- places ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("We moved here from Kirkwall two winters ago.", "Kirkwall"),
        ("My aunt still lives in VALLDEMOSSA with her goats.", "VALLDEMOSSA"),
        ("I'm originally from Tromsø, so the cold is fine.", "Tromsø"),
        ("She flew to Puerto Natales for the trek.", "Puerto Natales"),
        ("Portugal was wonderful last spring.", "Portugal"),
    ],
)
def test_places_where_people_live_or_travel(default: PiiAnalyzer, text: str, place: str) -> None:
    assert covered(default, text, place, "LOCATION")


@pytest.mark.parametrize(
    "text",
    [
        "We moved to Postgres after the outage.",
        "Our team moved back to Trello after a month.",
        "I come from Java, so Kotlin feels familiar.",
        "The new checkout is live in Production since noon.",
        "Customer says the parcel never arrived.",
        "Budget approval is pending from finance.",
        "Mercury is the closest planet to the sun.",
    ],
)
def test_tools_and_sentence_openers_are_not_places(default: PiiAnalyzer, text: str) -> None:
    assert "LOCATION" not in {kind for _, kind in found(default, text)}


# -- postcodes and links -----------------------------------------------------------------------------------


def test_uk_postcodes_need_no_label_but_road_names_are_not_postcodes(default: PiiAnalyzer) -> None:
    assert covered(default, "The flat is near EC1A 1BB, second floor.", "EC1A 1BB", "ZIP_CODE")
    assert "ZIP_CODE" not in {kind for _, kind in found(default, "Take the A1 north, then the M25.")}


def test_personal_links_are_redacted_documentation_links_stay(default: PiiAnalyzer) -> None:
    mine = "My portfolio: https://www.lena-kowalczyk.example/work"
    assert covered(default, mine, "https://www.lena-kowalczyk.example/work", "PERSONAL_URL")
    docs = "Read https://docs.python.org/3/library/re.html and explain lookbehind."
    assert found(default, docs) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [("The club was founded in 1987 by two teachers.", "1987"), ("Let's meet on Thursday at the café.", "Thursday")],
)
def test_dates_a_policy_selects_include_bare_years_and_weekdays(
    everything_with_dates: PiiAnalyzer, text: str, value: str
) -> None:
    assert covered(everything_with_dates, text, value, "DATE_TIME")


def test_version_numbers_and_amounts_are_not_years(everything_with_dates: PiiAnalyzer) -> None:
    text = "Upgrade from 2019.4 to the build of 2024, then pay by 1500.50 euros."
    assert [v for v, kind in found(everything_with_dates, text) if kind == "DATE_TIME"] == ["2024"]
