"""``FakeOpenAI`` driven by the real ``openai`` SDK, sync and async, streaming and not.

Clients validate every payload against the SDK's own models (``_strict_response_validation=True``), so a
shape the SDK would not accept fails here rather than in the guard's tests. Retries are always set
explicitly; injected waits are tens of milliseconds so the whole file runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai
import pytest
from fakekeys import org_id, project_key
from openai import AsyncOpenAI, AzureOpenAI, OpenAI

from prodguard.guard.testing import FakeOpenAI, ToolCallReply, route_of

MODEL = "gpt-4o-mini"
API_KEY = project_key(random.Random(5150))
ORGANIZATION = org_id(random.Random(5151))
PROJECT = "proj_" + "".join(
    random.Random(5152).choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=24)
)
LOOKUP_TOOL: Any = {
    "type": "function",
    "function": {
        "name": "lookup_customer",
        "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    },
}
RESPONSES_TOOL: Any = {
    "type": "function",
    "name": "lookup_customer",
    "parameters": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]},
    "strict": True,
}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def client_for(server: FakeOpenAI, *, max_retries: int = 0, **options: Any) -> OpenAI:
    return OpenAI(
        base_url=server.base_url,
        api_key=API_KEY,
        max_retries=max_retries,
        _strict_response_validation=True,
        **options,
    )


def user(text: str) -> list[Any]:
    return [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]


# -- chat completions -----------------------------------------------------------------------------------


def test_chat_plain_echoes_the_last_user_message(server: FakeOpenAI) -> None:
    client = client_for(server)
    text = "Hello, I am Alice Smith from Lyon — café at 9?"
    completion = client.chat.completions.create(model=MODEL, messages=user(text))

    assert completion.choices[0].message.content == text
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == MODEL
    assert completion.usage is not None and completion.usage.total_tokens > 0
    record = server.last("/chat/completions")
    assert (record.method, record.path, record.route, record.status) == (
        "POST",
        "/v1/chat/completions",
        "/chat/completions",
        200,
    )
    assert record.body["messages"][1]["content"] == text
    assert server.bodies("chat/completions") == [record.body]


def test_chat_stream_arrives_in_pieces_with_usage_last(server: FakeOpenAI) -> None:
    client = client_for(server)
    text = "one two three four five"
    chunks = list(
        client.chat.completions.create(
            model=MODEL, messages=user(text), stream=True, stream_options={"include_usage": True}
        )
    )

    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert deltas == ["one", " two", " three", " four", " five"]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert server.last().stream


def test_chat_stream_without_usage_and_fixed_size_chunks() -> None:
    with FakeOpenAI(chunk_chars=3, reply=str.upper) as server:
        chunks = list(
            client_for(server).chat.completions.create(model=MODEL, messages=user("abcdefgh"), stream=True)
        )
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert deltas == ["ABC", "DEF", "GH"]
    assert all(c.usage is None for c in chunks)


def test_chat_tool_call_echoes_the_user_message_then_the_tool_result(server: FakeOpenAI) -> None:
    client = client_for(server)
    first = client.chat.completions.create(model=MODEL, messages=user("Bob Jones"), tools=[LOOKUP_TOOL])

    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "lookup_customer"
    assert json.loads(call.function.arguments) == {"name": "Bob Jones"}

    history: list[Any] = [
        *user("Bob Jones"),
        {"role": "assistant", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Bob Jones, account 42"},
    ]
    second = client.chat.completions.create(model=MODEL, messages=history, tools=[LOOKUP_TOOL])
    assert second.choices[0].message.content == "Bob Jones, account 42"
    assert server.bodies("/chat/completions")[1]["messages"][3]["content"] == "Bob Jones, account 42"

    none = client.chat.completions.create(
        model=MODEL, messages=user("hi"), tools=[LOOKUP_TOOL], tool_choice="none"
    )
    assert none.choices[0].message.content == "hi"


def test_chat_tool_call_streams_through_the_sdk_helper(server: FakeOpenAI) -> None:
    client = client_for(server)
    with client.chat.completions.stream(
        model=MODEL, messages=user("Carol Ann Lee"), tools=[LOOKUP_TOOL]
    ) as stream:
        argument_deltas = [
            e.arguments_delta for e in stream if e.type == "tool_calls.function.arguments.delta"
        ]
        final = stream.get_final_completion()
    assert len(argument_deltas) > 1  # the arguments really arrive in pieces
    calls = final.choices[0].message.tool_calls
    assert calls is not None and json.loads(calls[0].function.arguments) == {"name": "Carol Ann Lee"}


# -- responses ---------------------------------------------------------------------------------------


def test_responses_plain_echoes_the_input(server: FakeOpenAI) -> None:
    client = client_for(server)
    response = client.responses.create(
        model=MODEL, input="Ship it to 10 Downing Street", instructions="Be brief."
    )
    assert response.output_text == "Ship it to 10 Downing Street"
    assert response.status == "completed" and response.usage is not None

    items: Any = [{"role": "user", "content": [{"type": "input_text", "text": "from parts"}]}]
    assert client.responses.create(model=MODEL, input=items).output_text == "from parts"
    assert server.last("/responses").body["input"] == items


def test_responses_function_call_and_its_output(server: FakeOpenAI) -> None:
    client = client_for(server)
    response = client.responses.create(model=MODEL, input="Dana Scully", tools=[RESPONSES_TOOL])
    call = response.output[0]
    assert call.type == "function_call"
    assert call.name == "lookup_customer" and json.loads(call.arguments) == {"name": "Dana Scully"}

    follow_up: Any = [
        {"role": "user", "content": "Dana Scully"},
        {"type": "function_call_output", "call_id": call.call_id, "output": "found Dana Scully"},
    ]
    assert (
        client.responses.create(model=MODEL, input=follow_up, tools=[RESPONSES_TOOL]).output_text
        == "found Dana Scully"
    )


def test_responses_stream_emits_the_sdk_event_sequence(server: FakeOpenAI) -> None:
    client = client_for(server)
    events = list(client.responses.create(model=MODEL, input="alpha beta gamma", stream=True))

    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert deltas == ["alpha", " beta", " gamma"]
    completed = events[-1]
    assert completed.type == "response.completed" and completed.response.output_text == "alpha beta gamma"

    with client.responses.stream(model=MODEL, input="via helper", tools=[RESPONSES_TOOL]) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output[0].type == "function_call"
    assert json.loads(final.output[0].arguments) == {"name": "via helper"}


# -- embeddings, moderations, models -------------------------------------------------------------------


def test_embeddings_are_deterministic_unit_vectors(server: FakeOpenAI) -> None:
    strict = client_for(server)
    as_floats = strict.embeddings.create(
        model="text-embedding-3-small", input=["alpha", "beta"], encoding_format="float"
    )
    # The SDK asks for base64 by default and decodes it itself (outside strict validation).
    lenient = OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)
    as_base64 = lenient.embeddings.create(model="text-embedding-3-small", input=["alpha", "beta"])

    assert server.bodies("/embeddings")[1]["encoding_format"] == "base64"
    assert [d.embedding for d in as_floats.data] == [d.embedding for d in as_base64.data]
    first, second = (d.embedding for d in as_floats.data)
    assert len(first) == 8 and first != second
    assert abs(sum(v * v for v in first) - 1.0) < 1e-5
    wide = strict.embeddings.create(
        model="text-embedding-3-small", input="alpha", dimensions=32, encoding_format="float"
    )
    assert len(wide.data[0].embedding) == 32
    assert as_floats.usage.prompt_tokens > 0


def test_moderation_flags_the_trigger_word(server: FakeOpenAI) -> None:
    client = client_for(server)
    result = client.moderations.create(
        model="omni-moderation-latest", input=["all fine", "please FLAGME now"]
    )
    clean, flagged = result.results
    assert not clean.flagged and not clean.categories.violence
    assert flagged.flagged and flagged.categories.violence and flagged.category_scores.violence == 0.97
    assert flagged.category_applied_input_types.violence == ["text"]
    assert result.model == "omni-moderation-latest"

    server.set_moderation_scores({"harassment": 0.4})  # every input: scored, but under the flag threshold
    server.set_moderation_scores({"self_harm_intent": 0.8}, word="despair")
    calm, harsh = client.moderations.create(input=["hello", "such despair"]).results
    assert not calm.flagged and calm.category_scores.harassment == 0.4
    assert harsh.flagged and harsh.categories.self_harm_intent and not harsh.categories.harassment

    parts: Any = [
        {"type": "text", "text": "FLAGME"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}},
    ]
    (multimodal,) = client.moderations.create(input=parts).results
    assert multimodal.flagged and multimodal.category_applied_input_types.violence == ["text", "image"]

    server.clear_moderation_scores()
    assert not client.moderations.create(input="FLAGME").results[0].flagged
    with pytest.raises(ValueError, match="unknown moderation category"):
        server.set_moderation_scores({"rudeness": 1.0})


def test_models_list_and_retrieve(server: FakeOpenAI) -> None:
    client = client_for(server)
    assert MODEL in [m.id for m in client.models.list()]
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


# -- what the server recorded ------------------------------------------------------------------------


def test_headers_and_all_text_are_recorded(server: FakeOpenAI) -> None:
    client = client_for(server, organization=ORGANIZATION, project=PROJECT)
    client.chat.completions.create(
        model=MODEL,
        messages=user("my card is 4111 1111 1111 1111"),
        tools=[LOOKUP_TOOL],
        safety_identifier="u-hash-1",
    )

    headers = server.last().headers
    assert headers["authorization"] == f"Bearer {API_KEY}"
    assert headers["openai-organization"] == ORGANIZATION
    assert headers["openai-project"] == PROJECT
    assert headers["content-type"] == "application/json"
    text = server.all_text()
    assert "4111 1111 1111 1111" in text and "u-hash-1" in text and "lookup_customer" in text
    assert API_KEY not in text  # headers only with headers=True
    assert API_KEY in server.all_text(headers=True)


def test_records_are_thread_safe_under_concurrent_clients(server: FakeOpenAI) -> None:
    client = client_for(server)

    def ask(i: int) -> str:
        answer = client.chat.completions.create(model=MODEL, messages=user(f"message {i}"))
        return answer.choices[0].message.content or ""

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(24)))
    assert answers == [f"message {i}" for i in range(24)]
    assert sorted(b["messages"][1]["content"] for b in server.bodies()) == sorted(answers)
    server.reset()
    assert server.requests == [] and server.count() == 0
    with pytest.raises(LookupError):
        server.last()


def test_azure_client_reaches_the_same_routes(server: FakeOpenAI) -> None:
    azure = AzureOpenAI(
        azure_endpoint=server.url,
        api_version="2024-10-21",
        api_key=API_KEY,
        max_retries=0,
        _strict_response_validation=True,
    )
    completion = azure.chat.completions.create(model="prod-gpt", messages=user("via azure"))
    assert completion.choices[0].message.content == "via azure"
    record = server.last("/chat/completions")
    assert record.path == "/openai/deployments/prod-gpt/chat/completions"
    assert record.query == {"api-version": "2024-10-21"}
    assert record.headers["api-key"] == API_KEY


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/v1/chat/completions", "/chat/completions"),
        ("chat/completions", "/chat/completions"),
        ("/openai/deployments/gpt/embeddings?api-version=1", "/embeddings"),
        ("/openai/responses", "/responses"),
        ("/v1/models/gpt-4o", "/models/gpt-4o"),
        ("/v1", "/"),
    ],
)
def test_route_of(path: str, route: str) -> None:
    assert route_of(path) == route


def test_bad_requests_get_api_error_bodies(server: FakeOpenAI) -> None:
    def post(path: str, data: bytes) -> tuple[int, Any]:
        request = urllib.request.Request(
            server.url + path, data=data, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    status, body = post("/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert server.last().body is None and server.last().raw_body == b"{not json"
    status, body = post("/v1/chat/completions", json.dumps({"model": MODEL, "messages": []}).encode())
    assert status == 400 and body["error"]["param"] == "messages"
    status, body = post("/v1/no/such/endpoint", b"{}")
    assert status == 404 and body["error"]["code"] == "unknown_url"
    with pytest.raises(openai.BadRequestError):
        client_for(server).embeddings.create(
            model="text-embedding-3-small", input="", encoding_format="float"
        )


# -- faults: the SDK's own retries ---------------------------------------------------------------------


@pytest.mark.parametrize(("retry_after", "retry_after_ms"), [(None, 60), (0.06, None)])
def test_429_retry_after_is_honoured_by_the_sdk(
    server: FakeOpenAI, retry_after: float | None, retry_after_ms: float | None
) -> None:
    server.rate_limit(
        times=2, path="/chat/completions", retry_after=retry_after, retry_after_ms=retry_after_ms
    )
    completion = client_for(server, max_retries=3).chat.completions.create(
        model=MODEL, messages=user("patience")
    )

    assert completion.choices[0].message.content == "patience"
    attempts = server.requests_to("/chat/completions")
    assert [(r.status, r.attempt) for r in attempts] == [(429, 0), (429, 1), (200, 2)]
    gaps = [b.time - a.time for a, b in itertools.pairwise(attempts)]
    # The server asked for 60 ms; the SDK's own first backoff would be at least 375 ms.
    assert all(0.055 <= gap < 0.3 for gap in gaps), gaps


def test_429_beyond_max_retries_raises_rate_limit_error(server: FakeOpenAI) -> None:
    server.rate_limit(times=None, retry_after_ms=10)
    with pytest.raises(openai.RateLimitError) as caught:
        client_for(server, max_retries=2).chat.completions.create(model=MODEL, messages=user("x"))
    assert caught.value.code == "rate_limit_exceeded"
    assert server.count() == 3  # first try plus max_retries
    server.clear_faults()
    assert (
        client_for(server)
        .chat.completions.create(model=MODEL, messages=user("ok"))
        .choices[0]
        .message.content
        == "ok"
    )


def test_500_then_success_and_a_lasting_503(server: FakeOpenAI) -> None:
    server.fail(500, retry_after_ms=10)
    client = client_for(server, max_retries=1)
    assert client.responses.create(model=MODEL, input="again").output_text == "again"
    assert [r.status for r in server.requests] == [500, 200]

    server.fail(503, times=None, path="/embeddings")
    with pytest.raises(openai.InternalServerError) as caught:
        client.with_options(max_retries=0).embeddings.create(
            model="text-embedding-3-small", input="x", encoding_format="float"
        )
    assert caught.value.status_code == 503
    assert (
        client.chat.completions.create(model=MODEL, messages=user("other paths work"))
        .choices[0]
        .message.content
    )


def test_moderation_down_until_cleared(server: FakeOpenAI) -> None:
    server.moderation_down()
    client = client_for(server)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            client.moderations.create(input="hello")
    assert (
        client.chat.completions.create(model=MODEL, messages=user("still up")).choices[0].message.content
        == "still up"
    )
    server.clear_faults()
    assert not client.moderations.create(input="hello").results[0].flagged


def test_slow_response_trips_the_client_timeout(server: FakeOpenAI) -> None:
    server.slow(2.0, path="/chat/completions")
    client = client_for(server, timeout=0.15)
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=MODEL, messages=user("too slow"))
    assert time.monotonic() - started < 1.0
    # The delay was for one request only.
    assert (
        client.chat.completions.create(model=MODEL, messages=user("fast")).choices[0].message.content
        == "fast"
    )

    server.slow(0.1)
    started = time.monotonic()
    client_for(server, timeout=2.0).chat.completions.create(model=MODEL, messages=user("slow but fine"))
    assert time.monotonic() - started >= 0.1


def test_stream_events_are_flushed_one_by_one() -> None:
    with FakeOpenAI(chunk_delay=0.05) as server:
        stream = client_for(server).chat.completions.create(
            model=MODEL, messages=user("a b c d"), stream=True
        )
        arrivals = [time.monotonic() for chunk in stream if chunk.choices and chunk.choices[0].delta.content]
    assert len(arrivals) == 4
    assert arrivals[-1] - arrivals[0] >= 0.12  # spread out, not delivered in one burst at the end


def test_dropped_connections(server: FakeOpenAI) -> None:
    server.drop_connection()
    client = client_for(server, max_retries=1)
    assert (
        client.chat.completions.create(model=MODEL, messages=user("retried")).choices[0].message.content
        == "retried"
    )
    assert [r.status for r in server.requests] == [0, 200]

    server.drop_connection()
    with pytest.raises(openai.APIConnectionError):
        client_for(server).chat.completions.create(model=MODEL, messages=user("lost"))

    server.drop_connection(after_events=3)
    received: list[str] = []
    stream = client_for(server).chat.completions.create(
        model=MODEL, messages=user("one two three four"), stream=True
    )
    with pytest.raises(openai.APIConnectionError):
        for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "one two"  # the role chunk and two words, then the line went dead


# -- scripted replies --------------------------------------------------------------------------------


def test_scripted_chunks_split_a_placeholder_across_deltas(server: FakeOpenAI) -> None:
    client = client_for(server)
    server.queue_reply(text=["Hello <PER", "SON_1>, bye"])
    server.queue_reply(text=["Hello <PER", "SON_1>, bye"])
    stream = client.chat.completions.create(model=MODEL, messages=user("ignored"), stream=True)
    deltas = [c.choices[0].delta.content for c in stream if c.choices[0].delta.content]
    assert deltas == ["Hello <PER", "SON_1>, bye"]
    plain = client.chat.completions.create(model=MODEL, messages=user("ignored"))
    assert plain.choices[0].message.content == "Hello <PERSON_1>, bye"
    # The queue is used up: back to echoing.
    assert (
        client.chat.completions.create(model=MODEL, messages=user("echo")).choices[0].message.content
        == "echo"
    )

    server.queue_reply("/responses", text=["Dear <EMAIL_ADD", "RESS_1>"])
    events = list(client.responses.create(model=MODEL, input="ignored", stream=True))
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == [
        "Dear <EMAIL_ADD",
        "RESS_1>",
    ]


def test_scripted_tool_call_arguments_stream_as_given(server: FakeOpenAI) -> None:
    client = client_for(server)
    pieces = ['{"name": "<PERS', 'ON_2>"}']
    server.queue_reply(tool_calls=[ToolCallReply("lookup_customer", pieces)])
    stream = client.chat.completions.create(model=MODEL, messages=user("x"), tools=[LOOKUP_TOOL], stream=True)
    argument_deltas = [
        call.function.arguments
        for chunk in stream
        for call in chunk.choices[0].delta.tool_calls or []
        if call.function and call.function.arguments
    ]
    assert argument_deltas == pieces

    server.queue_reply("/responses", tool_calls=[ToolCallReply("lookup_customer", pieces)])
    events = list(client.responses.create(model=MODEL, input="x", tools=[RESPONSES_TOOL], stream=True))
    assert [e.delta for e in events if e.type == "response.function_call_arguments.delta"] == pieces
    done = next(e for e in events if e.type == "response.output_item.done")
    assert done.item.type == "function_call" and done.item.arguments == "".join(pieces)


def test_scripted_raw_events_and_error_bodies(server: FakeOpenAI) -> None:
    client = client_for(server)
    chunk = {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": MODEL,
        "choices": [{"index": 0, "delta": {"content": "raw"}, "finish_reason": None}],
    }
    server.queue_reply(
        events=[chunk, {"error": {"message": "upstream broke mid-stream", "type": "server_error"}}]
    )
    with pytest.raises(openai.APIError, match="upstream broke mid-stream"):
        for _ in client.chat.completions.create(model=MODEL, messages=user("x"), stream=True):
            pass

    server.queue_reply(
        status=400,
        body={
            "error": {
                "message": "context too long",
                "type": "invalid_request_error",
                "code": "context_length_exceeded",
            }
        },
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=user("x"))
    assert caught.value.code == "context_length_exceeded"

    with pytest.raises(ValueError, match="only apply"):
        server.queue_reply("/embeddings", text="nope")


def test_a_failed_attempt_does_not_use_up_a_scripted_reply(server: FakeOpenAI) -> None:
    server.rate_limit(retry_after_ms=5)
    server.queue_reply(text="scripted")
    content = (
        client_for(server, max_retries=1)
        .chat.completions.create(model=MODEL, messages=user("x"))
        .choices[0]
        .message.content
    )
    assert content == "scripted"


# -- async client ----------------------------------------------------------------------------------


def test_async_client_plain_stream_responses_and_retries(server: FakeOpenAI) -> None:
    async def scenario() -> None:
        async with AsyncOpenAI(
            base_url=server.base_url,
            api_key=API_KEY,
            organization=ORGANIZATION,
            max_retries=2,
            _strict_response_validation=True,
        ) as client:
            completion = await client.chat.completions.create(model=MODEL, messages=user("async hello"))
            assert completion.choices[0].message.content == "async hello"

            stream = await client.chat.completions.create(
                model=MODEL, messages=user("async stream works"), stream=True
            )
            deltas = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
            assert deltas == ["async", " stream", " works"]

            events = await client.responses.create(model=MODEL, input="async responses", stream=True)
            texts = [e.delta async for e in events if e.type == "response.output_text.delta"]
            assert "".join(texts) == "async responses"

            called = await client.responses.create(model=MODEL, input="Eve", tools=[RESPONSES_TOOL])
            assert called.output[0].type == "function_call"

            server.rate_limit(times=2, retry_after_ms=20)
            retried = await client.embeddings.create(
                model="text-embedding-3-small", input="vector", encoding_format="float"
            )
            assert len(retried.data[0].embedding) == 8

            flagged = await client.moderations.create(input="FLAGME")
            assert flagged.results[0].flagged

            # Concurrent requests from one event loop.
            answers = await asyncio.gather(
                *(client.chat.completions.create(model=MODEL, messages=user(f"n{i}")) for i in range(5))
            )
            assert [a.choices[0].message.content for a in answers] == [f"n{i}" for i in range(5)]

    asyncio.run(scenario())
    embeddings = server.requests_to("/embeddings")
    assert [r.attempt for r in embeddings] == [0, 1, 2]
    assert embeddings[-1].headers["x-stainless-async"].startswith("async")
    assert server.last().headers["openai-organization"] == ORGANIZATION
