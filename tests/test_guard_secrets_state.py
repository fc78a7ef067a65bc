"""The guard's secret scrubbing by structure with the user's own catalogue, and what it writes to disk
(the generated end-user salt, the SQLite state): private files, next to the configuration."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from openai import OpenAI

from prodguard.guard import Policy, end_user, protect
from prodguard.guard.testing import FakeOpenAI
from tests.test_config import ACME_PACK

QUIET = '[tool.prodguard.guard.pii]\nenabled = false\n[tool.prodguard.guard.moderation]\nenabled = false\n'
# Structurally complete (prefix, OpenAI's T3BlbkFJ marker) but low in entropy: the scanner's precision
# filters would let it pass in a repository; in a prompt it is a key.
LOW_ENTROPY_KEY = "sk-proj-" + "ab" * 37 + "T3BlbkFJ" + "ab" * 37
ACME_TOKEN = "acmedeploy_Xq7Lm2Pz9Rt4Wv6Yb8Nc3Df5Gh1Jk0Ls"


def client(server: FakeOpenAI, config: Path) -> OpenAI:
    return protect(OpenAI(base_url=server.base_url, api_key="sk-local", max_retries=0), Policy.load(config))


def ask(client: OpenAI, text: str) -> str:
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content or ""


def test_structurally_complete_key_is_scrubbed_whatever_its_entropy(server: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.prodguard]\n" + QUIET)
    answer = ask(client(server, config), f"use {LOW_ENTROPY_KEY} now")
    assert LOW_ENTROPY_KEY not in server.all_text() and "[REDACTED:openai-project-key]" in answer


def test_the_guard_uses_the_users_packs_and_disabled_rules(server: FakeOpenAI, tmp_path: Path) -> None:
    (tmp_path / "acme.toml").write_text(ACME_PACK)
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.prodguard]\npacks = ["acme.toml"]\n[tool.prodguard.rules]\ndisable = ["PG102"]\n' + QUIET.replace("[tool.prodguard]\n", ""))
    guarded = client(server, config)
    ask(guarded, f"deploy with {ACME_TOKEN}")
    assert ACME_TOKEN not in server.all_text()  # the custom pack's rule ran in the guard
    ask(guarded, f"rotate {LOW_ENTROPY_KEY}")
    assert LOW_ENTROPY_KEY in server.all_text()  # PG102 (OpenAI project keys) disabled by the user


def test_generated_end_user_salt_is_private_and_stable(server: FakeOpenAI, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRODGUARD_END_USER_SALT", raising=False)
    config = tmp_path / "pyproject.toml"
    config.write_text("[tool.prodguard]\n" + QUIET)
    with caplog.at_level(logging.WARNING, "prodguard.guard"), end_user("alice"):
        ask(client(server, config), "hi")
        ask(client(server, config), "hi again")  # a second guard (another process) reads the same salt
    salt = tmp_path / ".prodguard" / "end_user_salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600 and stat.S_IMODE(salt.parent.stat().st_mode) == 0o700
    assert len(salt.read_text()) == 64 and sum("generated a random one" in r.message for r in caplog.records) == 1
    sent = [body["safety_identifier"] for body in server.bodies("/v1/chat/completions")]
    assert sent[0] == sent[1] and "alice" not in server.all_text()


def test_sqlite_state_is_private(server: FakeOpenAI, tmp_path: Path) -> None:
    config = tmp_path / "pyproject.toml"
    config.write_text(
        "[tool.prodguard]\n" + QUIET + '[tool.prodguard.guard]\nbackend = "sqlite:///state/usage.db"\n'
        'budgets = [{scope = "global", period = "day", max_requests = 5}]\n'
    )
    ask(client(server, config), "hi")
    database = tmp_path / "state" / "usage.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600 and stat.S_IMODE(database.parent.stat().st_mode) == 0o700
