"""What an adversarial review got through the guard (issue 11), as regression tests through the real
SDK against FakeOpenAI: request shapes and fields, encoded places (query strings), malformed
moderation answers, output fields, leases from the final body, moderated streams charged."""

from __future__ import annotations

import base64
import collections
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from prodguard.guard import (
    BudgetExceeded,
    GuardUnavailable,
    InputRejected,
    ModerationFlagged,
    Policy,
    protect,
)
from prodguard.guard._state.backend import open_backend
from prodguard.guard.testing import FakeOpenAI
from tests.fakes import openai_project_key

SECRET = openai_project_key(911)
EMAIL = "astrid.lindqvist@example.net"
PLANTED = f"mail {EMAIL} key {SECRET}"
NO_MODERATION = {"pii": {"ner": False}, "moderation": {"enabled": False}}


def guarded(server: FakeOpenAI, mapping: dict[str, Any] | None = None) -> OpenAI:
    return protect(OpenAI(base_url=server.base_url, api_key="sk-local", max_retries=0), Policy.from_mapping(mapping or NO_MODERATION))


def assert_clean(server: FakeOpenAI) -> None:
    sent = server.all_text(headers=True)
    assert SECRET not in sent and EMAIL not in sent


@pytest.mark.parametrize(
    "messages",
    [
        (m for m in [{"role": "user", "content": PLANTED}]),
        collections.deque([{"role": "user", "content": PLANTED}]),
        ({"role": "user", "content": ({"type": "text", "text": PLANTED},)},),
        [{"role": "user", "name": EMAIL, "content": "hi"}],
        [{"role": "assistant", "function_call": {"name": "f", "arguments": PLANTED}}, {"role": "user", "content": "go"}],
        [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": f"https://img.example/a.png?token={SECRET}"}}]}],
    ],
    ids=["generator", "deque", "tuple-parts", "message-name", "legacy-function-call", "image-url-query"],
)
def test_request_shapes_the_sdk_accepts(server: FakeOpenAI, messages: Any) -> None:
    guarded(server).chat.completions.create(model="m", messages=messages)
    assert server.count("/v1/chat/completions") == 1
    assert_clean(server)


@pytest.mark.parametrize(
    "extra",
    [
        {"tools": [{"type": "function", "function": {"name": "f", "description": PLANTED, "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": PLANTED}}}}}]},
        {"metadata": {"note": PLANTED}},
        {"prediction": {"type": "content", "content": PLANTED}},
        {"response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {"description": PLANTED}}}},
        {"extra_body": {"messages": [{"role": "user", "content": PLANTED}]}},
    ],
    ids=["tool-descriptions", "metadata", "prediction", "schema-description", "extra-body-replaces-messages"],
)
def test_fields_never_mapped_before(server: FakeOpenAI, extra: dict[str, Any]) -> None:
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], **extra)
    assert_clean(server)


def test_text_under_a_binary_key_is_analysed_and_real_base64_is_sent_unchanged(server: FakeOpenAI) -> None:
    # ``file_data`` and friends are skipped by PII analysis only when they hold base64: typed text there
    # (a mistake, or a field reused for notes) is personal data like any other.
    payload = base64.b64encode(b"%PDF-1.7 binary-ish bytes \x00\x01").decode()
    guarded(server).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"attachment": {"file_data": PLANTED}, "original": {"file_data": payload}},
    )
    assert_clean(server)
    assert payload in server.all_text()


def test_embeddings_with_a_token_array_and_from_a_generator(server: FakeOpenAI) -> None:
    client = guarded(server)
    client.embeddings.create(model="text-embedding-3-small", input=[PLANTED, "plain"])
    client.embeddings.create(model="text-embedding-3-small", input=(t for t in [PLANTED]))
    assert_clean(server)


def test_responses_items_and_prompt_variables(server: FakeOpenAI) -> None:
    client = guarded(server)
    client.responses.create(
        model="m",
        input=[
            {"type": "function_call_output", "call_id": "c1", "output": [{"type": "input_text", "text": PLANTED}]},
            {"type": "custom_tool_call", "call_id": "c2", "name": "t", "input": PLANTED},
        ],
        prompt={"id": "pmpt_1", "variables": {"who": PLANTED}},
        reasoning={"effort": "low", "summary": "auto"},
    )
    assert_clean(server)


def test_a_secret_in_the_query_string_is_refused(server: FakeOpenAI) -> None:
    with pytest.raises(InputRejected):
        guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], extra_query={"k": SECRET})
    assert server.count() == 0


def test_truncation_happens_after_the_secret_scan(server: FakeOpenAI) -> None:
    client = guarded(server, {**NO_MODERATION, "sanitize": {"max_chars": 80, "on_overflow": "truncate"}})
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x" * 40 + " " + SECRET}])
    sent = server.last("/v1/chat/completions").body["messages"][0]["content"]
    assert SECRET[:20] not in sent and len(sent) <= 80


@pytest.mark.parametrize(
    "answer",
    [{"id": "modr", "model": "m", "results": []}, {"id": "modr", "model": "m", "results": [{"flagged": False}]}],
    ids=["no-results", "no-categories"],
)
def test_malformed_moderation_answer_fails_closed_and_is_not_cached(server: FakeOpenAI, answer: dict[str, Any]) -> None:
    client = guarded(server, {"pii": {"enabled": False}})
    server.fail(200, path="/v1/moderations", body=answer)
    with pytest.raises(GuardUnavailable):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "same text"}])
    assert server.count("/v1/chat/completions") == 0
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "same text"}])
    # Asked again (the malformed answer was not cached); the echoed output is the same text, cached now.
    assert server.count("/v1/moderations") == 2


def test_output_fields_are_scrubbed(server: FakeOpenAI) -> None:
    server.queue_reply(
        body={
            "id": "c1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": None, "refusal": f"no: {SECRET}", "audio": {"id": "a", "data": "", "expires_at": 1, "transcript": f"say {SECRET}"}}}],
        }
    )
    answer = guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    message = answer.choices[0].message
    assert SECRET not in (message.refusal or "") and SECRET not in (message.audio.transcript if message.audio else "")


def test_extra_body_cannot_raise_the_lease_behind_the_guard(server: FakeOpenAI) -> None:
    budgets = [{"scope": "global", "period": "day", "max_tokens": 2000}]
    client = guarded(server, {**NO_MODERATION, "backend": "memory://lease-final", "budgets": budgets})
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=50)
    with pytest.raises(BudgetExceeded):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=50, extra_body={"max_tokens": 5000})
    assert server.count("/v1/chat/completions") == 1


def test_a_stream_stopped_by_output_moderation_is_charged(server: FakeOpenAI, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    client = guarded(server, {"pii": {"enabled": False}, "backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": 10}]})
    server.queue_reply(text=["all fine. ", "then FLAGME ", "and more. "])
    with pytest.raises(ModerationFlagged):
        for _ in client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True):
            pass
    counter = open_backend(url).counters("{prodguard}")[0]
    assert counter.spent[0] == 1 and counter.reserved == (0, 0, 0)


def test_sdk_errors_pass_through(server: FakeOpenAI) -> None:
    server.fail(400, path="/v1/chat/completions")
    with pytest.raises(openai.BadRequestError):
        guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


def test_a_full_audit_disk_refuses_before_sending(server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64
    import os
    import shutil

    monkeypatch.setenv("PRODGUARD_LOG_KEYS", "k1:" + base64.b64encode(os.urandom(32)).decode())
    client = guarded(server, {**NO_MODERATION, "audit": {"enabled": True, "directory": str(tmp_path / "audit")}})
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    # The disk fills up (a test cannot fill a real one): the next request is refused before sending.
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 0))  # type: ignore[attr-defined]
    with pytest.raises(GuardUnavailable) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert "audit" in str(refused.value) and server.count("/v1/chat/completions") == 1


def test_a_stream_never_read_releases_its_lease_when_collected(server: FakeOpenAI, tmp_path: Path) -> None:
    import gc

    url = f"sqlite:///{tmp_path / 'state.db'}"
    client = guarded(server, {**NO_MODERATION, "backend": url, "budgets": [{"scope": "global", "period": "day", "max_requests": 10}]})
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
    assert open_backend(url).counters("{prodguard}")[0].reserved[0] == 1
    del stream
    gc.collect()
    assert open_backend(url).counters("{prodguard}")[0].reserved == (0, 0, 0)


def test_azure_relies_on_its_content_filters_or_refuses(server: FakeOpenAI) -> None:
    from openai import AzureOpenAI

    def azure(mapping: dict[str, Any]) -> AzureOpenAI:
        client = AzureOpenAI(azure_endpoint=server.url, api_key="0123456789abcdef0123456789abcdef", api_version="2024-10-21", max_retries=0)
        return protect(client, Policy.from_mapping(mapping))

    azure({"pii": {"enabled": False}}).chat.completions.create(model="dep", messages=[{"role": "user", "content": f"hi {SECRET}"}])
    assert server.count("moderations") == 0 and server.count("chat/completions") == 1
    assert_clean(server)
    with pytest.raises(GuardUnavailable):
        azure({"pii": {"enabled": False}, "moderation": {"azure": "refuse"}}).chat.completions.create(
            model="dep", messages=[{"role": "user", "content": "hi"}]
        )
    assert server.count("chat/completions") == 1


def test_install_guards_every_route_of_clients_built_later(server: FakeOpenAI) -> None:
    from prodguard.guard import GuardError, install, uninstall

    install(Policy.from_mapping(NO_MODERATION))
    try:
        client = OpenAI(base_url=server.base_url, api_key="sk-local", max_retries=0)  # built after install
        with client.responses.stream(model="m", input=PLANTED) as stream:
            stream.until_done()
        client.chat.completions.with_raw_response.create(model="m", messages=[{"role": "user", "content": PLANTED}]).parse()
        with pytest.raises(GuardError):
            client.files.create(file=("a.jsonl", b"{}"), purpose="batch")
    finally:
        uninstall()
    assert server.count() == 2
    assert_clean(server)


def _long_jwt(size: int = 40 * 1024) -> str:
    """A signed JWT of ``size`` characters (Azure AD and Okta tokens with many group claims run long)."""
    import base64
    import json
    import random

    rng = random.Random(4040)

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    groups = ["".join(rng.choice("abcdef0123456789") for _ in range(32)) for _ in range(size // 44)]
    header = part({"alg": "RS256", "typ": "JWT"})
    signature = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for _ in range(342))
    return f"{header}.{part({'sub': 'svc-ingest', 'groups': groups})}.{signature}"


def _no_piece_of(token: str, text: str) -> bool:
    """No 64-character stretch of ``token`` (beyond its public header) appears in ``text``."""
    return not any(token[i : i + 64] in text for i in range(40, len(token) - 64, 32))


def test_a_40_kib_bearer_token_is_redacted_whole_in_a_prompt(server: FakeOpenAI) -> None:
    # The bearer rule's match reaches its 1 KiB window's edge; it is extended to the token's end (the
    # scanner's 16 KiB step, then four times more each time), not cut after 17 KiB.
    token = _long_jwt()
    assert len(token) > 40 * 1024
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": f"call with Bearer {token} now"}])
    sent = server.all_text(headers=True)
    assert _no_piece_of(token, sent) and "now" in sent



def test_a_40_kib_jwt_is_redacted_whole_in_a_prompt(server: FakeOpenAI) -> None:
    # No bearer prefix: the JWT rule itself must match a token whose payload alone is 40 times its window.
    token = _long_jwt()
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": f"token {token} now"}])
    sent = server.all_text(headers=True)
    assert _no_piece_of(token, sent) and "[REDACTED:jwt] now" in sent


@pytest.mark.parametrize(("before", "piece"), [("your token: ", 7), ("Authorization: Bearer ", 1000)])
def test_a_40_kib_jwt_is_redacted_whole_in_a_stream(server: FakeOpenAI, before: str, piece: int) -> None:
    token = _long_jwt()
    pieces = [before, *(token[i : i + piece] for i in range(0, len(token), piece)), " keep it safe."]
    server.queue_reply(text=pieces)
    stream = guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert _no_piece_of(token, text) and "[REDACTED:" in text and text.endswith(" keep it safe.")


def _encodings(value: str) -> dict[str, str]:
    """The key encoded as it may be pasted into a prompt (each value is one token of the prompt)."""
    import base64
    from urllib.parse import quote

    raw = value.encode()
    return {
        "base64": base64.b64encode(raw).decode(),
        "base64-assignment": base64.b64encode(b"OPENAI_API_KEY=" + raw).decode(),
        # "??? " makes its encoding use "_", which plain base64 does not accept.
        "base64url": base64.urlsafe_b64encode(b"??? " + raw).decode().rstrip("="),
        "hex": raw.hex(),
        "hex-upper": raw.hex().upper(),
        "percent-all": "".join(f"%{b:02X}" for b in raw),
        "percent-url": "https://x.example/cb?k=" + quote(f"OPENAI_API_KEY={value}", safe=""),
    }


@pytest.mark.parametrize("encoding", list(_encodings(SECRET)))
def test_encoded_keys_in_a_prompt_are_scrubbed(server: FakeOpenAI, encoding: str) -> None:
    encoded = _encodings(SECRET)[encoding]
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": f"here: {encoded} thanks"}])
    sent = server.all_text(headers=True)
    assert server.count("/v1/chat/completions") == 1
    assert SECRET not in sent and encoded not in sent and "thanks" in sent
    assert "[REDACTED:openai-project-key]" in sent


def test_every_encoding_of_many_keys_is_scrubbed(server: FakeOpenAI) -> None:
    # Twenty keys: their base64url forms use "-" and "_" at varying places, hex and % forms vary too.
    keys = [openai_project_key(n) for n in range(20)]
    prompt = " ".join(encoded for key in keys for encoded in _encodings(key).values())
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
    sent = server.all_text(headers=True)
    for key in keys:
        assert key not in sent and not any(encoded in sent for encoded in _encodings(key).values())


def test_encoded_harmless_text_is_left_alone(server: FakeOpenAI) -> None:
    import base64

    harmless = f"see {base64.b64encode(b'hello there, this is fine').decode()} and {b'plain words here'.hex()} and a%20b%20c%20d%20e"
    guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": harmless}])
    assert harmless in server.all_text()


@pytest.mark.parametrize("encoding", ["base64", "hex", "percent-all"])
def test_encoded_keys_in_a_streamed_answer_are_scrubbed(server: FakeOpenAI, encoding: str) -> None:
    encoded = _encodings(SECRET)[encoding]
    server.queue_reply(text=["the value is ", *(encoded[i : i + 37] for i in range(0, len(encoded), 37)), " ok"])
    stream = guarded(server).chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}], stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "the value is [REDACTED:openai-project-key] ok"


def test_text_under_a_binary_key_is_analyzed_as_text(server: FakeOpenAI) -> None:
    # "data" holds base64 payloads in the SDK's types; a sentence put there through extra_body is text.
    import base64

    payload = base64.b64encode(b"%PDF-1.7 binary document body " * 4).decode()
    guarded(server).responses.create(
        model="m", input="hi", extra_body={"action": {"data": f" {EMAIL} "}, "attachment": {"data": payload}}
    )
    sent = server.all_text(headers=True)
    assert EMAIL not in sent and payload in sent
