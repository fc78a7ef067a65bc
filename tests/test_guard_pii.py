"""Personal data through the guard: upstream (the local server's record) never receives a planted value;
the caller receives the restored text, for plain, streamed, async, tool-call and Responses answers."""

from __future__ import annotations

import asyncio
import json

import pytest
from openai import AsyncOpenAI, OpenAI

from prodguard.errors import ConfigError
from prodguard.guard import GuardUnavailable, Policy, conversation, protect
from prodguard.guard.testing import FakeOpenAI, ToolCallReply
from tests.guard_roundtrip import assert_responses_round_trip

NAME = "Maria Gonzalez"
EMAIL = "maria.gonzalez@example.org"
PHONE = "+44 20 7946 0958"
CARD = "4111 1111 1111 1111"
PROMPT = f"Hello, I am {NAME}. Email me at {EMAIL} or call {PHONE}; card {CARD}."
PLANTED = (NAME, EMAIL, PHONE, CARD, "Gonzalez", "7946 0958")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.from_mapping({"moderation": {"check_output": True}})


def assert_clean_upstream(server: FakeOpenAI) -> None:
    seen = server.all_text()
    for value in PLANTED:
        assert value not in seen, f"{value!r} reached upstream"


def test_plain_chat_is_pseudonymized_upstream_and_restored(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}], max_tokens=99)
    assert_clean_upstream(server)
    sent = server.last("/v1/chat/completions").body["messages"][0]["content"]
    assert "<PERSON_1>" in sent and "<EMAIL_ADDRESS_" in sent and "<PHONE_NUMBER_" in sent
    assert answer.choices[0].message.content == PROMPT


def test_streamed_answer_restores_placeholders_split_across_chunks(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    server.queue_reply(text=["Dear <PER", "SON_1>, we wrote to <EMAIL_", "ADDRESS_1>. Bye"])
    stream = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": PROMPT}], max_tokens=99, stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == f"Dear {NAME}, we wrote to {EMAIL}. Bye"
    assert_clean_upstream(server)


def test_tool_call_arguments_are_restored(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    server.queue_reply(tool_calls=[ToolCallReply("send_mail", json.dumps({"to": "<EMAIL_ADDRESS_1>"}))])
    tools = [{"type": "function", "function": {"name": "send_mail", "parameters": {"type": "object"}}}]
    answer = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": PROMPT}], tools=tools, max_tokens=99
    )
    arguments = json.loads(answer.choices[0].message.tool_calls[0].function.arguments)
    assert arguments == {"to": EMAIL}
    assert_clean_upstream(server)


def test_responses_output_items_are_restored(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    assert_responses_round_trip(client, PROMPT, max_output_tokens=99)
    assert_clean_upstream(server)


def test_async_client(server: FakeOpenAI, policy: Policy) -> None:
    async def run() -> tuple[str, str]:
        client = protect(AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
        plain = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
        stream = await client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return plain.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(run())
    assert plain == PROMPT and streamed == PROMPT
    assert_clean_upstream(server)


def test_conversation_keeps_placeholders_stable_across_turns(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    with conversation(client):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"I am {NAME}."}])
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": f"Write to {EMAIL} as {NAME}."}]
        )
    first, second = (b["messages"][0]["content"] for b in server.bodies("/v1/chat/completions"))
    assert "<PERSON_1>" in first and "<PERSON_1>" in second and "<PERSON_2>" not in second
    assert_clean_upstream(server)


def test_embeddings_inputs_are_pseudonymized(server: FakeOpenAI, policy: Policy) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    client.embeddings.create(model="text-embedding-3-small", input=[PROMPT])
    assert_clean_upstream(server)


def test_unavailable_analyzer_fails_closed_by_default(server: FakeOpenAI) -> None:
    policy = Policy.from_mapping({"pii": {"model": "no_such_spacy_model_installed"}})
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    with pytest.raises(GuardUnavailable):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": PROMPT}])
    assert server.count("/v1/chat/completions") == 0


def test_unavailable_analyzer_fail_open_sends_with_warning(server: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    policy = Policy.from_mapping({"pii": {"model": "no_such_spacy_model_installed", "fail": "open"}})
    client = protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "hi"
    assert any("pii is unavailable" in r.message for r in caplog.records)


@pytest.mark.parametrize("pii", [{"no_such_option": 1}, {"entities": ["PERSON", "SHOE_SIZE"]}])
def test_invalid_pii_settings_are_an_error_of_the_policy(server: FakeOpenAI, pii: dict) -> None:
    with pytest.raises(ConfigError):
        protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), Policy.from_mapping({"pii": pii}))
    assert server.count() == 0
