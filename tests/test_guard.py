"""The guard through the real ``openai`` SDK against the local OpenAI-compatible server: what reaches
upstream (the server's record) and what the caller gets back, sync and async, streamed and not.

PII is covered in test_guard_pii.py; here the PII step is off so that each test isolates one step.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from openai import AsyncOpenAI, OpenAI

from prodguard.guard import (
    EnvironmentMismatch,
    GuardUnavailable,
    InputRejected,
    ModerationFlagged,
    Policy,
    end_user,
    install,
    protect,
    uninstall,
)
from prodguard.guard.testing.server import FakeOpenAI
from prodguard.rules.environments import Environment, EnvironmentPolicy, key_fingerprint
from tests.fakes import openai_org_id, openai_project_key

SECRET = openai_project_key(501)
NO_PII = {"pii": {"enabled": False}}


def client_for(server: FakeOpenAI, **kwargs: object) -> OpenAI:
    options = {"api_key": "sk-test-local", "max_retries": 0, **kwargs}
    return OpenAI(base_url=server.base_url, **options)  # type: ignore[arg-type]


def guarded(server: FakeOpenAI, policy: dict | None = None, **kwargs: object) -> OpenAI:
    return protect(client_for(server, **kwargs), Policy.from_mapping(policy or NO_PII))


def chat(client: OpenAI, text: str, **kwargs: object):
    return client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": text}], max_tokens=64, **kwargs
    )


def test_secret_never_reaches_upstream_and_answer_shows_placeholder(server: FakeOpenAI) -> None:
    client = guarded(server)
    answer = chat(client, f"deploy with {SECRET} please")
    assert SECRET not in server.all_text(headers=True)
    assert "[REDACTED:openai-project-key]" in server.last("/v1/chat/completions").body["messages"][0]["content"]
    assert SECRET not in (answer.choices[0].message.content or "")


def test_secret_refused_by_policy_before_sending(server: FakeOpenAI) -> None:
    client = guarded(server, {**NO_PII, "secrets": {"action": "refuse"}})
    with pytest.raises(InputRejected) as error:
        chat(client, f"key: {SECRET}")
    assert SECRET not in str(error.value) and "PG102" in str(error.value)
    assert server.count("/v1/chat/completions") == 0


def test_sanitize_strips_invisible_and_bidi_characters(server: FakeOpenAI) -> None:
    client = guarded(server)
    chat(client, "pay\u202e\u200b\u2066 ｆｕｌｌ\U000e0041width\x07")
    sent = server.last("/v1/chat/completions").body["messages"][0]["content"]
    assert sent == "pay full" + "width"


def test_input_length_cap(server: FakeOpenAI) -> None:
    client = guarded(server, {**NO_PII, "sanitize": {"max_chars": 100}})
    with pytest.raises(InputRejected):
        chat(client, "x" * 101)
    assert server.count("/v1/chat/completions") == 0


def test_input_moderation_flag_raises_with_categories_not_text(server: FakeOpenAI) -> None:
    client = guarded(server)
    with pytest.raises(ModerationFlagged) as error:
        chat(client, "please FLAGME now")
    assert error.value.where == "input" and "violence" in error.value.categories
    assert "FLAGME" not in str(error.value)
    assert server.count("/v1/chat/completions") == 0


def test_output_moderation_flag_on_plain_response(server: FakeOpenAI) -> None:
    client = guarded(server)
    server.queue_reply(text="here is FLAGME content")
    with pytest.raises(ModerationFlagged) as error:
        chat(client, "hello")
    assert error.value.where == "output"


def test_output_moderation_stops_a_stream(server: FakeOpenAI) -> None:
    client = guarded(server)
    server.queue_reply(text=["Fine start. ", "then FLAGME ", "more text ", "and the end."])
    received: list[str] = []
    with pytest.raises(ModerationFlagged):
        for chunk in chat(client, "hello", stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                received.append(chunk.choices[0].delta.content)
    assert "and the end." not in "".join(received)


def test_moderation_results_are_cached_by_text(server: FakeOpenAI) -> None:
    client = guarded(server, {**NO_PII, "moderation": {"check_output": False}})
    chat(client, "same question")
    chat(client, "same question")
    assert server.count("/v1/moderations") == 1


def test_moderation_down_refuses_by_default(server: FakeOpenAI) -> None:
    server.moderation_down()
    client = guarded(server)
    with pytest.raises(GuardUnavailable):
        chat(client, "hello")
    assert server.count("/v1/chat/completions") == 0


def test_moderation_down_passes_with_warning_when_fail_open(server: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    server.moderation_down()
    client = guarded(server, {**NO_PII, "moderation": {"fail": "open"}})
    with caplog.at_level(logging.WARNING, logger="prodguard.guard"):
        answer = chat(client, "hello")
    assert answer.choices[0].message.content == "hello"
    assert any("moderation is unavailable" in r.message for r in caplog.records)


def test_per_category_thresholds(server: FakeOpenAI) -> None:
    server.set_moderation_scores({"harassment": 0.4}, word="RUDE")
    client = guarded(server, {**NO_PII, "moderation": {"thresholds": {"harassment": 0.3}}})
    with pytest.raises(ModerationFlagged) as error:
        chat(client, "RUDE words")
    assert error.value.categories == ("harassment",)


def test_end_user_id_is_a_salted_hash(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODGUARD_END_USER_SALT", "pepper")
    client = guarded(server)
    with end_user("alice@example.com"):
        chat(client, "hi")
    with end_user("bob"):
        chat(client, "hi again")
    sent = [b.get("safety_identifier") for b in server.bodies("/v1/chat/completions")]
    assert len(sent) == 2 and all(s and len(s) == 32 for s in sent) and sent[0] != sent[1]
    assert "alice" not in server.all_text()


def test_stream_restores_text_split_across_chunks(server: FakeOpenAI) -> None:
    client = guarded(server)
    server.queue_reply(text=["Hel", "lo wor", "ld. ", "Done"])
    text = "".join(c.choices[0].delta.content or "" for c in chat(client, "x", stream=True) if c.choices)
    assert text == "Hello world. Done"


def test_streamed_secret_split_across_chunks_is_redacted(server: FakeOpenAI) -> None:
    client = guarded(server)
    server.queue_reply(text=["the key is ", SECRET[:20], SECRET[20:90], SECRET[90:], " ok"])
    text = "".join(c.choices[0].delta.content or "" for c in chat(client, "x", stream=True) if c.choices)
    assert SECRET not in text and "[REDACTED:openai-project-key] ok" in text


def test_responses_api_plain_and_streamed(server: FakeOpenAI) -> None:
    client = guarded(server)
    response = client.responses.create(model="gpt-test", input=f"hello {SECRET}", max_output_tokens=20)
    assert "[REDACTED:openai-project-key]" in response.output_text
    assert SECRET not in server.all_text()
    events = list(client.responses.create(model="gpt-test", input="stream me. please", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "stream me. please"


def test_embeddings_are_scrubbed(server: FakeOpenAI) -> None:
    client = guarded(server)
    client.embeddings.create(model="text-embedding-3-small", input=[f"doc {SECRET}", "plain"])
    assert SECRET not in server.all_text()


def test_passthrough_and_with_options(server: FakeOpenAI) -> None:
    client = guarded(server)
    assert [m.id for m in client.models.list()]
    copy = client.with_options(timeout=5)
    chat(copy, f"again {SECRET}")
    assert SECRET not in server.all_text()


def test_async_client_plain_and_streamed(server: FakeOpenAI) -> None:
    async def run() -> tuple[str, str]:
        client = protect(
            AsyncOpenAI(base_url=server.base_url, api_key="sk-test-local", max_retries=0), Policy.from_mapping(NO_PII)
        )
        plain = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": f"a {SECRET}"}], max_tokens=10
        )
        stream = await client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": "b c. d"}], max_tokens=10, stream=True
        )
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        return plain.choices[0].message.content or "", "".join(parts)

    plain, streamed = asyncio.run(run())
    assert SECRET not in plain and streamed == "b c. d"
    assert SECRET not in server.all_text()


def test_async_moderation_flag(server: FakeOpenAI) -> None:
    async def run() -> None:
        client = protect(AsyncOpenAI(base_url=server.base_url, api_key="sk-x", max_retries=0), Policy.from_mapping(NO_PII))
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "FLAGME"}])

    with pytest.raises(ModerationFlagged):
        asyncio.run(run())


def test_tool_call_arguments_are_guarded(server: FakeOpenAI) -> None:
    client = guarded(server)
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}]
    answer = chat(client, f"use {SECRET}", tools=tools)
    arguments = answer.choices[0].message.tool_calls[0].function.arguments
    assert SECRET not in arguments and SECRET not in server.all_text()
    json.loads(arguments)  # still valid JSON after scrubbing


# -- environment ---------------------------------------------------------------------------------

PROD_ORG, STAGING_ORG = openai_org_id(601), openai_org_id(602)
PROD_KEY, STAGING_KEY = openai_project_key(603), openai_project_key(604)
ENVIRONMENTS = EnvironmentPolicy(
    (
        Environment("production", (PROD_ORG,), (), (key_fingerprint(PROD_KEY),), (), True),
        Environment("staging", (STAGING_ORG,), (), (key_fingerprint(STAGING_KEY),), (), False),
    )
)


def env_policy(running: str) -> Policy:
    return Policy.from_mapping({**NO_PII, "environment": running}, environments=ENVIRONMENTS)


def test_staging_process_refuses_production_key_before_sending(server: FakeOpenAI) -> None:
    client = protect(client_for(server, api_key=PROD_KEY, organization=STAGING_ORG), env_policy("staging"))
    with pytest.raises(EnvironmentMismatch) as error:
        chat(client, "hi")
    assert "production" in str(error.value) and PROD_KEY not in str(error.value)
    assert server.count() == 0


def test_staging_process_refuses_production_org(server: FakeOpenAI) -> None:
    client = protect(client_for(server, api_key=STAGING_KEY, organization=PROD_ORG), env_policy("staging"))
    with pytest.raises(EnvironmentMismatch):
        chat(client, "hi")
    assert server.count() == 0


def test_matching_environment_passes_and_sends_headers(server: FakeOpenAI) -> None:
    client = protect(client_for(server, api_key=STAGING_KEY, organization=STAGING_ORG), env_policy("staging"))
    chat(client, "hi")
    assert server.last("/v1/chat/completions").headers["openai-organization"] == STAGING_ORG


def test_running_environment_from_env_var(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODGUARD_ENV", "production")
    policy = Policy.from_mapping(NO_PII, environments=ENVIRONMENTS)
    with pytest.raises(EnvironmentMismatch):
        chat(protect(client_for(server, api_key=STAGING_KEY, organization=PROD_ORG), policy), "hi")


# -- install -------------------------------------------------------------------------------------


def test_install_protects_clients_built_inside_libraries(server: FakeOpenAI) -> None:
    from tests.thirdparty_style.summarizer import summarize

    install(Policy.from_mapping(NO_PII))
    try:
        answer = summarize(f"summarize {SECRET}", base_url=server.base_url)
    finally:
        uninstall()
    assert SECRET not in server.all_text() and "[REDACTED:openai-project-key]" in answer
    server.reset()
    summarize(f"after uninstall {SECRET[:30]}", base_url=server.base_url)
    assert server.count("/v1/moderations") == 0  # no guard any more


def test_protect_under_install_guards_once(server: FakeOpenAI) -> None:
    install(Policy.from_mapping(NO_PII))
    try:
        chat(guarded(server), "once")
    finally:
        uninstall()
    assert server.count("/v1/moderations") == 1


def test_azure_client_is_guarded(server: FakeOpenAI) -> None:
    from openai import AzureOpenAI

    azure = AzureOpenAI(
        azure_endpoint=server.url, api_key="0123456789abcdef0123456789abcdef", api_version="2024-10-21", max_retries=0
    )
    client = protect(azure, Policy.from_mapping(NO_PII))
    answer = client.chat.completions.create(
        model="my-deployment", messages=[{"role": "user", "content": f"azure {SECRET}"}], max_tokens=10
    )
    assert SECRET not in server.all_text() and "[REDACTED:openai-project-key]" in (answer.choices[0].message.content or "")
    assert "/openai/deployments/my-deployment/" in server.last("chat/completions").path
