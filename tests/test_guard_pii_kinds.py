"""Every entity kind the default policy redacts (names, contact details, national phone numbers, street
addresses, payment and bank numbers, dates of birth, driver licences, passports, national ids, ages,
postcodes, places, nationalities, companies and job titles, personal links), and full dates when the policy asks, goes
upstream as a placeholder and comes back restored: plain, streamed in small chunks, in tool-call
arguments and in Responses items, through the real SDK against the local server."""

from __future__ import annotations

import json

import pytest
from openai import OpenAI

from prodguard.guard import Policy, conversation, protect
from prodguard.guard.testing import FakeOpenAI, ToolCallReply
from tests.guard_roundtrip import assert_responses_round_trip

VALUES = {
    "PERSON": "Sigrún Pálsdóttir",
    "DATE_OF_BIRTH": "14 March 1986",
    "PHONE_NUMBER": "0671 402 18 93",
    "STREET_ADDRESS": "Kværnervej 12",
    "US_DRIVER_LICENSE": "K41-772-9051",
    "PASSPORT": "X7741902",
    "NATIONAL_ID": "48210933K",
    "AGE": "39",
    "ZIP_CODE": "2300",
    "NRP": "Norwegian",
    "COMPANY": "Kvamme Trading Ltd",
    "JOB_TITLE": "warehouse planner",
    "PERSONAL_URL": "https://sigrun-writes.example/about",
    "DATE": "2 February 2024",
    "LOCATION": "Akureyri",
    "EMAIL_ADDRESS": "sigrun.p@example.is",
    "CREDIT_CARD": "4111 1111 1111 1111",
    "IBAN_CODE": "DE89 3704 0044 0532 0130 00",
    "US_SSN": "536-22-8473",
    "IP_ADDRESS": "203.0.113.45",
}
PROMPT = (
    f"Hi, I'm {VALUES['PERSON']}, {VALUES['AGE']} years old, born on {VALUES['DATE_OF_BIRTH']}. "
    f"Mobile: {VALUES['PHONE_NUMBER']}. I live at {VALUES['STREET_ADDRESS']}, zip code {VALUES['ZIP_CODE']}. "
    f"Driver's license number {VALUES['US_DRIVER_LICENSE']}, passport no. {VALUES['PASSPORT']}, "
    f"DNI {VALUES['NATIONAL_ID']}. I am a {VALUES['NRP']} citizen working for {VALUES['COMPANY']} as a "
    f"{VALUES['JOB_TITLE']} since my interview on {VALUES['DATE']}. I grew up in {VALUES['LOCATION']}. "
    f"Mail {VALUES['EMAIL_ADDRESS']}, card {VALUES['CREDIT_CARD']}, IBAN {VALUES['IBAN_CODE']}, "
    f"SSN {VALUES['US_SSN']}, my laptop's IP {VALUES['IP_ADDRESS']}. My blog: {VALUES['PERSONAL_URL']}"
)
# Every kind the default policy redacts; DATE only when a policy adds it.
DEFAULT_KINDS = tuple(kind for kind in VALUES if kind != "DATE")
WITH_DATES = {
    "moderation": {"enabled": False},
    "pii": {
        "entities": [
            "PERSON", "PHONE_NUMBER", "STREET_ADDRESS", "US_DRIVER_LICENSE", "PASSPORT", "NATIONAL_ID",
            "DATE_OF_BIRTH", "AGE", "ZIP_CODE", "NRP", "COMPANY", "JOB_TITLE", "PERSONAL_URL", "DATE", "LOCATION",
            "EMAIL_ADDRESS", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS",
        ]
    },
}


@pytest.fixture(scope="module")
def client_and_policy() -> Policy:
    return Policy.from_mapping(WITH_DATES)


def guarded(server: FakeOpenAI, policy: Policy) -> OpenAI:
    return protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)


def assert_clean_upstream(server: FakeOpenAI) -> None:
    seen = server.all_text()
    for kind, value in VALUES.items():
        assert value not in seen, f"{kind} {value!r} reached upstream"


def sent_prompt(server: FakeOpenAI) -> str:
    content = server.last("/v1/chat/completions").body["messages"][0]["content"]
    assert isinstance(content, str)
    return content


def test_every_kind_leaves_as_a_placeholder_and_comes_back(
    server: FakeOpenAI, client_and_policy: Policy
) -> None:
    client = guarded(server, client_and_policy)
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    sent = sent_prompt(server)
    for kind in VALUES:
        assert f"<{kind}_1>" in sent, kind
    assert_clean_upstream(server)
    assert answer.choices[0].message.content == PROMPT


def test_streamed_placeholders_split_in_three_character_chunks(
    server: FakeOpenAI, client_and_policy: Policy
) -> None:
    client = guarded(server, client_and_policy)
    with conversation(client):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
        masked = sent_prompt(server)
        server.queue_reply(text=[masked[i : i + 3] for i in range(0, len(masked), 3)])
        stream = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == PROMPT
    assert_clean_upstream(server)


def test_tool_call_arguments_restore_every_kind(server: FakeOpenAI, client_and_policy: Policy) -> None:
    client = guarded(server, client_and_policy)
    with conversation(client):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
        arguments = {kind.lower(): f"<{kind}_1>" for kind in VALUES}
        server.queue_reply(tool_calls=[ToolCallReply("update_customer", json.dumps(arguments))])
        tools = [{"type": "function", "function": {"name": "update_customer", "parameters": {"type": "object"}}}]
        answer = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": PROMPT}], tools=tools
        )
    restored = json.loads(answer.choices[0].message.tool_calls[0].function.arguments)
    # A value is restored as the whole detected span, which may be longer than the planted value.
    for kind, value in VALUES.items():
        assert value in restored[kind.lower()], kind
    assert_clean_upstream(server)


def test_responses_items_restore_every_kind(server: FakeOpenAI, client_and_policy: Policy) -> None:
    assert_responses_round_trip(guarded(server, client_and_policy), PROMPT)
    assert_clean_upstream(server)


def test_default_policy_redacts_every_kind_but_ordinary_dates(server: FakeOpenAI) -> None:
    client = guarded(server, Policy.from_mapping({"moderation": {"enabled": False}}))
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    sent = sent_prompt(server)
    for kind in DEFAULT_KINDS:
        assert VALUES[kind] not in sent, kind
        assert f"<{kind}_1>" in sent, kind
    assert f"interview on {VALUES['DATE']}" in sent
    assert answer.choices[0].message.content == PROMPT
