"""Environment ownership through the real SDK: an organization, project or key another environment
declares is refused even when the running environment declares nothing for that field; headers given
per request or per client (``default_headers``, ``extra_headers``, ``with_options``) count too."""

from __future__ import annotations

import asyncio

import pytest
from openai import AsyncOpenAI, OpenAI

from prodguard.guard import EnvironmentMismatch, Policy, protect
from prodguard.guard.testing import FakeOpenAI
from prodguard.rules.environments import Environment, EnvironmentPolicy, key_fingerprint
from tests.fakes import openai_org_id, openai_project_key

PROD_ORG, PROD_KEY, PROD_PROJECT = openai_org_id(701), openai_project_key(702), "proj_Pr0dUct10nProj3ct0001"
STAGING_KEY = openai_project_key(703)
# Staging declares nothing at all: the README's own example shape.
ENVIRONMENTS = EnvironmentPolicy(
    (
        Environment("production", (PROD_ORG,), (PROD_PROJECT,), (key_fingerprint(PROD_KEY),), (), True),
        Environment("staging"),
    )
)
NO_PII = {"pii": {"enabled": False}, "moderation": {"enabled": False}}


def policy(running: str) -> Policy:
    return Policy.from_mapping({**NO_PII, "environment": running}, environments=ENVIRONMENTS)


def chat(client: OpenAI, **kwargs: object) -> object:
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], **kwargs)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("field", "options"),
    [
        ("API key", {"api_key": PROD_KEY}),
        ("organization", {"organization": PROD_ORG}),
        ("project", {"project": PROD_PROJECT}),
        ("organization", {"default_headers": {"OpenAI-Organization": PROD_ORG}}),
    ],
)
def test_silent_staging_refuses_what_production_owns(server: FakeOpenAI, field: str, options: dict[str, object]) -> None:
    client = protect(OpenAI(base_url=server.base_url, **{"api_key": STAGING_KEY, "max_retries": 0, **options}), policy("staging"))  # type: ignore[arg-type]
    with pytest.raises(EnvironmentMismatch) as refused:
        chat(client)
    message = str(refused.value)
    assert "'production'" in message and field in message
    assert PROD_KEY not in message and PROD_ORG not in message and PROD_PROJECT not in message
    assert server.count() == 0


def test_per_request_and_with_options_headers_are_checked(server: FakeOpenAI) -> None:
    client = protect(OpenAI(base_url=server.base_url, api_key=STAGING_KEY, max_retries=0), policy("staging"))
    chat(client)  # staging's own key: allowed
    with pytest.raises(EnvironmentMismatch):
        chat(client, extra_headers={"OpenAI-Project": PROD_PROJECT})
    with pytest.raises(EnvironmentMismatch):
        chat(client.with_options(default_headers={"Authorization": f"Bearer {PROD_KEY}"}))
    assert server.count("/v1/chat/completions") == 1


def test_production_refuses_what_it_does_not_declare_and_uses_its_own(server: FakeOpenAI) -> None:
    own = protect(
        OpenAI(base_url=server.base_url, api_key=PROD_KEY, organization=PROD_ORG, project=PROD_PROJECT, max_retries=0),
        policy("production"),
    )
    chat(own)
    foreign = protect(
        OpenAI(base_url=server.base_url, api_key=STAGING_KEY, organization=PROD_ORG, project=PROD_PROJECT, max_retries=0),
        policy("production"),
    )
    with pytest.raises(EnvironmentMismatch) as refused:
        chat(foreign)
    assert STAGING_KEY not in str(refused.value)
    assert server.count("/v1/chat/completions") == 1


def test_async_client_is_checked_the_same_way(server: FakeOpenAI) -> None:
    async def run() -> None:
        client = protect(AsyncOpenAI(base_url=server.base_url, api_key=PROD_KEY, max_retries=0), policy("staging"))
        await client.embeddings.create(model="text-embedding-3-small", input="hi")

    with pytest.raises(EnvironmentMismatch):
        asyncio.run(run())
    assert server.count() == 0
