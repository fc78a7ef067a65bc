"""Secrets kept in base64 where formats encode credentials — a Kubernetes Secret's ``data:``, a Docker
``config.json``'s ``auths``, an HTTP ``Basic`` header — are decoded once and reported as what they are,
at the encoded value's place; the secret is never shown, decoded or not."""

from __future__ import annotations

import base64
import json
import random

import pytest
from fakekeys import ALNUM, body, project_key

from prodguard.rules.model import Severity
from prodguard.rules.validators import github_checksum
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import MAX_DECODED, Engine
from prodguard.scanner.finding import hash_secret


@pytest.fixture
def rng() -> random.Random:
    return random.Random(2024)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _github_token(rng: random.Random) -> str:
    random_part = body(rng, ALNUM, 30)
    return f"ghp_{random_part}{github_checksum(random_part)}"


def test_openai_key_in_a_kubernetes_secret_is_reported_as_the_key(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    encoded = _b64(key)
    manifest = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: llm\ntype: Opaque\ndata:\n  OPENAI_API_KEY: {encoded}\n"
    [finding] = engine.scan(Blob("k8s/secret.yaml", manifest.encode()))
    assert (finding.rule_id, finding.severity, finding.line) == ("PG102", Severity.CRITICAL, 7)
    assert finding.column == len("  OPENAI_API_KEY: ") + 1
    assert finding.secret_hash == hash_secret(key.encode())  # the same identity as the key in plain text
    assert encoded not in finding.excerpt and key not in finding.excerpt
    assert finding.excerpt.startswith("OPENAI_API_KEY: sk-proj-…")


def test_docker_config_auth_of_a_github_token_is_found(engine: Engine, rng: random.Random) -> None:
    token = _github_token(rng)
    config = json.dumps({"auths": {"ghcr.io": {"auth": _b64(f"ci-bot:{token}")}}}, indent=2) + "\n"
    [finding] = engine.scan(Blob(".docker/config.json", config.encode()))
    assert (finding.rule_id, finding.line) == ("PG162", 4)
    assert token not in finding.excerpt


def test_basic_header_holding_a_known_token_is_reported_as_that_token(
    engine: Engine, rng: random.Random
) -> None:
    token = _github_token(rng)
    line = f'headers = {{"Authorization": "Basic {_b64("x-access-token:" + token)}"}}'
    assert [f.rule_id for f in engine.scan(Blob("client.py", line.encode()))] == ["PG162"]


def test_basic_header_with_a_plain_password_stays_a_basic_credential(engine: Engine) -> None:
    line = f'curl -H "Authorization: Basic {_b64("svc-reports:q7vLk9ZxT2mP")}" https://ci.acme.io'
    assert [f.rule_id for f in engine.scan(Blob("run.sh", line.encode()))] == ["PG197"]


def test_base64_outside_those_formats_is_not_decoded(engine: Engine, rng: random.Random) -> None:
    text = f"fixture = '{_b64(project_key(rng))}'\n"
    assert engine.scan(Blob("tests/data.py", text.encode())) == []


def test_decoding_is_bounded(engine: Engine, rng: random.Random) -> None:
    values = "".join(f"  K{i}: {_b64(body(rng, ALNUM, 30))}\n" for i in range(MAX_DECODED))
    key = project_key(rng)
    manifest = f"kind: Secret\ndata:\n{values}  LAST: {_b64(key)}\n"
    # Past the bound nothing more is decoded: the key in the last value is not looked at.
    assert engine.scan(Blob("big-secret.yaml", manifest.encode())) == []
