"""Assertions shared by the guard's PII tests: what a guarded client returns is the prompt restored."""

from __future__ import annotations

from typing import Any

from openai import OpenAI


def assert_responses_round_trip(client: OpenAI, prompt: str, **params: Any) -> None:
    """The Responses API echoes ``prompt`` (FakeOpenAI's default reply) restored in full: the plain answer,
    every streamed text delta joined, and the final ``response.completed`` event."""
    response = client.responses.create(model="m", input=prompt, **params)
    assert response.output_text == prompt
    events = list(client.responses.create(model="m", input=prompt, stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == prompt
    completed = next(e for e in events if e.type == "response.completed")
    assert completed.response.output_text == prompt
