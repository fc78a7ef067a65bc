"""A property test: request bodies built from the SDK's own parameter names, nested at random, with a
planted secret and e-mail address in random places, never reach upstream unscrubbed (through the real
SDK, ``extra_body`` merged into chat and Responses requests)."""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Iterator
from typing import Any

import openai
import pytest
import typing_extensions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import OpenAI
from openai.types.chat import completion_create_params
from openai.types.responses import response_create_params

from prodguard.guard import Policy, protect
from prodguard.guard._body import STRUCTURAL
from prodguard.guard.testing import FakeOpenAI
from tests.fakes import openai_project_key

SECRET = openai_project_key(977)
EMAIL = "malin.ekdahl@example.com"


def _field_names(root: Any) -> Iterator[str]:
    """Every TypedDict field name reachable from ``root`` (the SDK's request parameter types)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        kind = todo.pop()
        if id(kind) in seen:
            continue
        seen.add(id(kind))
        if typing_extensions.is_typeddict(kind):
            hints = typing_extensions.get_type_hints(kind)
            yield from hints
            todo.extend(hints.values())
        todo.extend(typing.get_args(kind))


NAMES = sorted(
    (
        set(_field_names(completion_create_params.CompletionCreateParamsNonStreaming))
        | set(_field_names(response_create_params.ResponseCreateParamsNonStreaming))
    )
    - STRUCTURAL
    - {"stream", "stream_options", "background"}
)
PLANTED = st.sampled_from([SECRET, EMAIL])
TEXT = st.builds(lambda a, planted, b: f"{a} {planted} {b}", st.text(max_size=8), PLANTED, st.text(max_size=8))
TREES = st.recursive(
    TEXT,
    lambda inner: st.lists(inner, min_size=1, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, min_size=1, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(st.sampled_from(NAMES), TREES, min_size=1, max_size=3), responses=st.booleans())
def test_no_planted_value_reaches_upstream(upstream: FakeOpenAI, extra: dict[str, Any], responses: bool) -> None:
    upstream.reset()
    client = protect(
        OpenAI(base_url=upstream.base_url, api_key="sk-local", max_retries=0),
        Policy.from_mapping({"pii": {"ner": False}, "moderation": {"enabled": False}}),
    )
    with contextlib.suppress(openai.APIError):
        if responses:
            client.responses.create(model="m", input="hi", extra_body=extra)
        else:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], extra_body=extra)
    sent = upstream.all_text(headers=True)
    assert upstream.count() == 1 and SECRET not in sent and EMAIL not in sent
