"""Test settings: the staging organization and project, and the recorded OpenAI response."""

import json
from pathlib import Path

import pytest

STAGING_ORG_ID = "org-CWAMg0gQqwNFBTwtKbEN7DrJ"
STAGING_PROJECT_ID = "proj_wD82SM2YRZbzTChZYR7igslr"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def staging_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("OPENAI_ORG_ID", STAGING_ORG_ID)
    monkeypatch.setenv("OPENAI_PROJECT_ID", STAGING_PROJECT_ID)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-used")
    monkeypatch.setenv("SAFETY_ID_SALT", "test-salt")


@pytest.fixture
def recorded_completion() -> dict:
    return json.loads((FIXTURES / "chat_completion.json").read_text())
