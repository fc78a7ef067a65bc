"""Every content route of the installed SDK, sync and async, through the real SDK against FakeOpenAI:
a planted secret and a planted e-mail address never reach upstream, or the call is refused before
anything is sent. Plus the listing test: every SDK resource method is classified in
docs/guard-routes.md, so a method the SDK adds cannot go unnoticed."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel, ValidationError

from prodguard.guard import GuardError, Policy, protect
from prodguard.guard._sdk_routes import listing
from prodguard.guard.testing import FakeOpenAI
from tests.fakes import openai_project_key

REPO = Path(__file__).resolve().parent.parent
SECRET = openai_project_key(811)
EMAIL = "jonas.weber@example.org"
PROMPT = f"write to {EMAIL} with key {SECRET} please"
POLICY = {"pii": {"ner": False}}
MESSAGES = [{"role": "user", "content": PROMPT}]


class Answer(BaseModel):
    text: str


def _consume(result: Any) -> None:
    """Read whatever a route returns to the end (streams, raw responses, stream managers)."""
    if isinstance(result, (str, bytes, dict, BaseModel)):
        return
    if hasattr(result, "__enter__"):
        with result as inner:
            if inner is not result:
                _consume(inner)
            else:
                for _ in result:
                    pass
    elif hasattr(result, "parse") and hasattr(result, "http_response"):
        _consume(result.parse())
    elif hasattr(result, "__iter__"):
        for _ in result:
            pass


async def _aconsume(result: Any) -> None:
    if isinstance(result, (str, bytes, dict, BaseModel)):
        return
    if hasattr(result, "__aenter__"):
        async with result as inner:
            if inner is not result:
                await _aconsume(inner)
            else:
                async for _ in result:
                    pass
    elif hasattr(result, "parse") and hasattr(result, "http_response"):
        parsed = result.parse()
        await _aconsume(await parsed if asyncio.iscoroutine(parsed) else parsed)
    elif hasattr(result, "__aiter__"):
        async for _ in result:
            pass


# Each route: (name, call). ``c`` is the protected client (sync or async: the same call shape).
ROUTES: list[tuple[str, Callable[[Any], Any]]] = [
    ("chat.completions.create", lambda c: c.chat.completions.create(model="m", messages=MESSAGES, max_tokens=30)),
    ("chat.completions.create stream", lambda c: c.chat.completions.create(model="m", messages=MESSAGES, stream=True)),
    ("chat.completions.parse", lambda c: c.chat.completions.parse(model="m", messages=MESSAGES, response_format=Answer)),
    ("chat.completions.stream", lambda c: c.chat.completions.stream(model="m", messages=MESSAGES)),
    ("chat.completions.with_raw_response", lambda c: c.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)),
    ("chat.completions.with_streaming_response", lambda c: c.chat.completions.with_streaming_response.create(model="m", messages=MESSAGES)),
    ("chat.completions extra_body", lambda c: c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], extra_body={"messages": MESSAGES})),
    ("responses.create", lambda c: c.responses.create(model="m", input=PROMPT, instructions=PROMPT)),
    ("responses.create stream", lambda c: c.responses.create(model="m", input=PROMPT, stream=True)),
    ("responses.parse", lambda c: c.responses.parse(model="m", input=PROMPT, text_format=Answer)),
    ("responses.stream", lambda c: c.responses.stream(model="m", input=PROMPT)),
    ("responses.with_raw_response", lambda c: c.responses.with_raw_response.create(model="m", input=PROMPT)),
    ("embeddings.create", lambda c: c.embeddings.create(model="text-embedding-3-small", input=[PROMPT, "plain"])),
    ("completions.create", lambda c: c.completions.create(model="m", prompt=PROMPT)),
    ("conversations.create", lambda c: c.conversations.create(items=[{"type": "message", "role": "user", "content": PROMPT}])),
    ("conversations.items.create", lambda c: c.conversations.items.create("conv_1", items=[{"type": "message", "role": "user", "content": PROMPT}])),
    ("images.generate", lambda c: c.images.generate(model="gpt-image-1", prompt=PROMPT)),
    ("audio.speech.create", lambda c: c.audio.speech.create(model="tts-1", voice="alloy", input=PROMPT)),
    ("vector_stores.search", lambda c: c.vector_stores.search("vs_1", query=PROMPT)),
    ("conversations.update metadata", lambda c: c.conversations.update("conv_1", metadata={"note": PROMPT})),
]
UPLOADS: list[tuple[str, Callable[[Any], Any]]] = [
    ("files.create", lambda c: c.files.create(file=("b.jsonl", io.BytesIO(PROMPT.encode()), "application/jsonl"), purpose="batch")),
    ("audio.transcriptions.create", lambda c: c.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"RIFF"), prompt=PROMPT)),
    ("images.edit", lambda c: c.images.edit(image=("i.png", b"\x89PNG"), prompt=PROMPT)),
    ("uploads.parts.create", lambda c: c.uploads.parts.create("upload_1", data=PROMPT.encode())),
]


# The local server answers unknown routes with 404 and structured-output requests with plain text.
NOT_ANSWERED = (openai.NotFoundError, ValidationError)


def _assert_clean(server: FakeOpenAI) -> None:
    sent = server.all_text(headers=True)
    assert SECRET not in sent and EMAIL not in sent


def _sync(server: FakeOpenAI, policy: dict[str, Any] | None = None) -> OpenAI:
    return protect(OpenAI(base_url=server.base_url, api_key="sk-local", max_retries=0), Policy.from_mapping(policy or POLICY))


def _async(server: FakeOpenAI, policy: dict[str, Any] | None = None) -> AsyncOpenAI:
    return protect(AsyncOpenAI(base_url=server.base_url, api_key="sk-local", max_retries=0), Policy.from_mapping(policy or POLICY))


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[n for n, _ in ROUTES])
def test_sync_route_sends_nothing_planted(server: FakeOpenAI, name: str, route: Callable[[Any], Any]) -> None:
    # The local server does not implement every route; what it received is what counts.
    with contextlib.suppress(*NOT_ANSWERED):
        _consume(route(_sync(server)))
    assert server.count() > 0
    _assert_clean(server)


@pytest.mark.parametrize(("name", "route"), ROUTES, ids=[n for n, _ in ROUTES])
def test_async_route_sends_nothing_planted(server: FakeOpenAI, name: str, route: Callable[[Any], Any]) -> None:
    async def run() -> None:
        try:
            result = route(_async(server))
            if asyncio.iscoroutine(result):
                result = await result
            await _aconsume(result)
        except NOT_ANSWERED:
            pass

    asyncio.run(run())
    assert server.count() > 0
    _assert_clean(server)


@pytest.mark.parametrize(("name", "route"), UPLOADS, ids=[n for n, _ in UPLOADS])
def test_uploads_are_refused_before_sending(server: FakeOpenAI, name: str, route: Callable[[Any], Any]) -> None:
    with pytest.raises(GuardError) as refused:
        route(_sync(server))
    assert "unguarded" in str(refused.value) and "POST /" in str(refused.value)
    with pytest.raises(GuardError):
        asyncio.run(_await(route(_async(server))))
    assert server.count() == 0


async def _await(result: Any) -> Any:
    return await result


def test_unguarded_allow_sends_an_upload(server: FakeOpenAI) -> None:
    client = _sync(server, {**POLICY, "unguarded": "allow"})
    with pytest.raises(openai.NotFoundError):
        client.files.create(file=("b.jsonl", io.BytesIO(b"{}"), "application/jsonl"), purpose="batch")
    assert server.count("/v1/files") == 1


def test_realtime_websocket_is_refused(server: FakeOpenAI) -> None:
    # Every WebSocket connect of the SDK (realtime, live, translations) builds its URL here first.
    client = _sync(server)
    with pytest.raises(GuardError) as refused:
        client._websocket_query_params(client.base_url.join("realtime"), {"model": "gpt-realtime"})
    assert "unguarded" in str(refused.value)


def test_streamed_answer_is_scrubbed_in_every_stream_shape(server: FakeOpenAI) -> None:
    client = _sync(server)
    server.queue_reply(text=["the key is ", SECRET[:20], SECRET[20:], " ok"])
    with client.chat.completions.stream(model="m", messages=[{"role": "user", "content": "x"}]) as stream:
        final = stream.get_final_completion()
    assert SECRET not in (final.choices[0].message.content or "")
    assert "[REDACTED:openai-project-key] ok" in (final.choices[0].message.content or "")


def test_every_sdk_method_is_classified() -> None:
    """Fails when the installed SDK has a method docs/guard-routes.md does not list (regenerate it
    with ``python -m prodguard.guard._sdk_routes > docs/guard-routes.md`` after checking the new
    method's decision)."""
    assert listing() == (REPO / "docs" / "guard-routes.md").read_text("utf-8")
