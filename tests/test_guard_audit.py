"""The guard's audit step: one encrypted record per call (per streamed call at its end), holding only
redacted forms, readable and verifiable with the same key; a missing key fails at protect() time."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from openai import OpenAI

from prodguard.guard import AuditLog, ModerationFlagged, Policy, end_user, protect
from prodguard.guard._audit.errors import AuditKeyError
from prodguard.guard.testing import FakeOpenAI
from tests.fakes import openai_project_key

SECRET = openai_project_key(901)
EMAIL = "jonas.weber@example.net"
KEYS = "k1:" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PRODGUARD_LOG_KEYS", KEYS)
    return KEYS


def guarded(server: FakeOpenAI, directory: Path, content: str = "redacted") -> OpenAI:
    policy = Policy.from_mapping(
        {"audit": {"enabled": True, "directory": str(directory), "content": content}}
    )
    return protect(OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0), policy)


def test_one_record_per_call_with_redacted_content_only(server: FakeOpenAI, tmp_path: Path, keys: str) -> None:
    client = guarded(server, tmp_path / "audit")
    with end_user("user-7"):
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": f"mail {EMAIL} the key {SECRET}"}], max_tokens=20
        )
    stream = client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": "stream this. please"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "stream this. please"
    with pytest.raises(ModerationFlagged):
        client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "FLAGME"}])

    with AuditLog(tmp_path / "audit", keys) as log:
        assert log.verify().ok
        records = list(log.records())
    assert [r["stream"] for r in records] == [False, True, False]
    first = records[0]
    assert first["endpoint"] == "POST /chat/completions" and first["model"] == "gpt-test"
    assert first["usage"]["total_tokens"] > 0 and first["end_user"] and first["error"] is None
    assert any(d.startswith("secrets-redacted:PG102") for d in first["decisions"])
    sent = first["request"]["messages"][0]["content"]
    assert "[REDACTED:openai-project-key]" in sent and "<EMAIL_ADDRESS_1>" in sent
    assert records[2]["error"] == "ModerationFlagged"
    # Nothing planted reaches the disk in plaintext, in any file of the log directory.
    for path in (tmp_path / "audit").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and EMAIL.encode() not in data and b"jonas" not in data


def test_hashes_only_mode(server: FakeOpenAI, tmp_path: Path, keys: str) -> None:
    client = guarded(server, tmp_path / "audit", content="hashes")
    client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "hello"}])
    with AuditLog(tmp_path / "audit", keys) as log:
        [record] = list(log.records())
    assert record["request"].startswith("sha256:") and all(r.startswith("sha256:") for r in record["response"])


def test_missing_key_fails_when_the_client_is_protected(server: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRODGUARD_LOG_KEYS", raising=False)
    monkeypatch.delenv("PRODGUARD_LOG_KEY_FILE", raising=False)
    with pytest.raises(AuditKeyError):
        guarded(server, tmp_path / "audit")
