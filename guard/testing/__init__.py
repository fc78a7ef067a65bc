"""Test support for applications using the guard: ``FakeOpenAI``, a local OpenAI-compatible server.

Standard library only (it needs neither the SDK nor the guard's extras; tests bring the SDK)::

    from openai import OpenAI
    from prodguard.guard.testing import FakeOpenAI

    with FakeOpenAI() as server:
        client = OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert server.last("/chat/completions").body["messages"][0]["content"] == "hi"
"""

from prodguard.guard.testing.server import (
    DEFAULT_MODELS,
    MODERATION_CATEGORIES,
    MODERATION_FLAG_THRESHOLD,
    FakeOpenAI,
    RecordedRequest,
    ToolCallReply,
    route_of,
)

__all__ = [
    "DEFAULT_MODELS",
    "MODERATION_CATEGORIES",
    "MODERATION_FLAG_THRESHOLD",
    "FakeOpenAI",
    "RecordedRequest",
    "ToolCallReply",
    "route_of",
]
