"""A library that constructs its own client, as many LLM frameworks do; the application never sees it."""

from __future__ import annotations

from openai import OpenAI


def summarize(text: str, *, base_url: str) -> str:
    client = OpenAI(base_url=base_url, api_key="sk-test-local", max_retries=0)
    response = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": text}], max_tokens=50
    )
    return response.choices[0].message.content or ""
