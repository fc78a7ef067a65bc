"""``scan --verify`` end to end: the real CLI against ``FakeOpenAI`` with registered keys (live in the
production organization, live in staging under the organization's name, revoked), an unreachable and a
slow server; nothing is sent without the flag; no key appears in any output."""

from __future__ import annotations

import itertools
import json
import random
import socket
from pathlib import Path

import pytest
from click.testing import Result

from prodguard.guard.testing import FakeOpenAI
from tests import fakekeys

RNG = random.Random(1818)
PROD_ORG = fakekeys.org_id(RNG)
STAGING_ORG = fakekeys.org_id(RNG)
PROD_PROJECT = "proj_" + fakekeys.body(RNG, fakekeys.ALNUM, 24)
PROD_KEY = fakekeys.project_key(RNG)  # production's key, pasted into a staging file
STAGING_KEY = fakekeys.service_account_key(RNG)  # staging's key, where it belongs
REVOKED_KEY = fakekeys.project_key(RNG, 74)
ADMIN_KEY = (
    "sk-admin-"
    + fakekeys.body(RNG, fakekeys.URLSAFE, 58)
    + "T3BlbkFJ"
    + fakekeys.body(RNG, fakekeys.URLSAFE, 58)
)
OTHER_PROJECT = "proj_" + fakekeys.body(RNG, fakekeys.ALNUM, 24)
ALL_KEYS = (PROD_KEY, STAGING_KEY, REVOKED_KEY, ADMIN_KEY)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(
        f"""[tool.prodguard.environments.production]
organization = "{PROD_ORG}"
projects = ["{PROD_PROJECT}"]
paths = ["deploy/prod/**"]
[tool.prodguard.environments.staging]
organization = "{STAGING_ORG}"
paths = ["deploy/staging/**"]
"""
    )
    (tmp_path / "deploy" / "staging").mkdir(parents=True)
    (tmp_path / "deploy" / "prod").mkdir(parents=True)
    (tmp_path / "deploy" / "staging" / "app.env").write_text(f"OPENAI_API_KEY={PROD_KEY}\n")
    (tmp_path / "deploy" / "staging" / "worker.env").write_text(f"OPENAI_API_KEY={STAGING_KEY}\n")
    (tmp_path / "deploy" / "prod" / "old.env").write_text(f"OPENAI_API_KEY={REVOKED_KEY}\n")
    (tmp_path / "deploy" / "prod" / "admin.env").write_text(f"OPENAI_ADMIN_KEY={ADMIN_KEY}\n")
    return tmp_path


@pytest.fixture
def keyed_server(server: FakeOpenAI) -> FakeOpenAI:
    server.register_key(PROD_KEY, organization=PROD_ORG, projects=[PROD_PROJECT])
    # The real API may name the organization in openai-organization instead of giving its id.
    server.register_key(STAGING_KEY, organization=STAGING_ORG, organization_header="acme-staging")
    server.revoke_key(REVOKED_KEY)
    server.register_key(ADMIN_KEY, organization=PROD_ORG, projects=[PROD_PROJECT, OTHER_PROJECT])
    return server


def _assert_no_key(*texts: str) -> None:
    for text in texts:
        for key in ALL_KEYS:
            assert key not in text
            assert key[-20:] not in text


def _by_path(result: Result) -> dict[str, dict[str, object]]:
    document = json.loads(result.stdout)
    return {f["path"]: f for f in document["findings"] if f["rule_id"] in ("PG102", "PG103", "PG104")}


def test_live_revoked_and_environment(run_cli, repo: Path, keyed_server: FakeOpenAI) -> None:
    result = run_cli(
        "scan", ".", "--verify", "--verify-base-url", keyed_server.base_url, "--format", "json", cwd=repo
    )
    assert result.exit_code == 1, result.output
    found = _by_path(result)
    prod = found["deploy/staging/app.env"]["verification"]
    assert prod == {
        "status": "live",
        "endpoint": "GET /v1/models",
        "organization": PROD_ORG,
        "projects": [PROD_PROJECT],
        "environment": "production",
        "found_in": "staging",
        "mismatch": True,
    }
    staging = found["deploy/staging/worker.env"]["verification"]
    assert staging["status"] == "live"
    assert staging["organization"] == STAGING_ORG  # found by asking with OpenAI-Organization
    assert staging["environment"] == "staging" and staging["mismatch"] is False
    assert found["deploy/prod/old.env"]["verification"] == {
        "status": "revoked",
        "endpoint": "GET /v1/models",
        "found_in": "production",
    }
    # Admin keys are asked about the organization's projects.
    assert found["deploy/prod/admin.env"]["verification"] == {
        "status": "live",
        "endpoint": "GET /v1/organization/projects",
        "organization": PROD_ORG,
        "projects": [PROD_PROJECT, OTHER_PROJECT],
        "environment": "production",
        "found_in": "production",
        "mismatch": False,
    }
    _assert_no_key(result.stdout, result.stderr)
    assert "verification: 6 requests sent" in result.stderr  # 4 keys, 2 organization probes for one
    # Each key went only in the Authorization header, each distinct key once (plus organization probes).
    requests = keyed_server.requests
    assert {r.route for r in requests} == {"/models", "/organization/projects"}
    assert sum(1 for r in requests if "openai-organization" not in r.headers) == 4
    for r in requests:
        assert r.headers["authorization"].startswith("Bearer sk-")
        _assert_no_key(r.path, json.dumps(r.query))
    # Rate-limited: requests are spaced.
    times = sorted(r.time for r in requests)
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(times))


def test_sarif_and_text_carry_verification_without_keys(
    run_cli, repo: Path, keyed_server: FakeOpenAI
) -> None:
    sarif = run_cli(
        "scan", ".", "--verify", "--verify-base-url", keyed_server.base_url, "--format", "sarif", cwd=repo
    )
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    statuses = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"]["verification"][
            "status"
        ]
        for r in results
        if r["ruleId"] in ("PG102", "PG103")
    }
    assert statuses == {
        "deploy/staging/app.env": "live",
        "deploy/staging/worker.env": "live",
        "deploy/prod/old.env": "revoked",
    }
    text = run_cli("scan", ".", "--verify", "--verify-base-url", keyed_server.base_url, cwd=repo)
    assert (
        f"verification: live, organization {PROD_ORG}, belongs to production but was found in staging: MISMATCH"
        in " ".join(text.stdout.split())  # the text report wraps long lines
    )
    assert "verification: revoked" in " ".join(text.stdout.split())
    _assert_no_key(sarif.stdout, sarif.stderr, text.stdout, text.stderr)


def test_openai_base_url_is_honoured(
    run_cli, repo: Path, keyed_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", keyed_server.base_url)
    result = run_cli("scan", "deploy/prod", "--verify", "--format", "json", cwd=repo)
    found = _by_path(result)
    assert found["deploy/prod/old.env"]["verification"]["status"] == "revoked"
    assert found["deploy/prod/admin.env"]["verification"]["status"] == "live"
    assert keyed_server.count("/models") == 1


def test_nothing_is_sent_without_verify(
    run_cli, repo: Path, keyed_server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", keyed_server.base_url)
    for fmt in ("json", "sarif", "text"):
        result = run_cli("scan", ".", "--format", fmt, cwd=repo)
        assert result.exit_code == 1
        assert "verification" not in result.stdout
    assert keyed_server.requests == []


def test_unreachable_server_gives_unknown(run_cli, repo: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: connections are refused.
    result = run_cli(
        "scan",
        ".",
        "--verify",
        "--verify-base-url",
        f"http://127.0.0.1:{port}/v1",
        "--format",
        "json",
        cwd=repo,
    )
    assert result.exit_code == 1
    for finding in _by_path(result).values():
        verification = finding["verification"]
        assert verification["status"] == "unknown"
        assert verification["reason"].startswith("unreachable")
    _assert_no_key(result.stdout, result.stderr)


def test_slow_server_is_time_bounded(run_cli, repo: Path, keyed_server: FakeOpenAI) -> None:
    keyed_server.slow(5, times=None)
    result = run_cli(
        "scan", "deploy/prod", "--verify", "--verify-base-url", keyed_server.base_url, "--verify-timeout", "0.3",
        "--format", "json", cwd=repo,
    )  # fmt: skip
    for finding in _by_path(result).values():
        assert finding["verification"]["status"] == "unknown"
        assert finding["verification"]["reason"] == "no answer within 0.3s"


def test_verify_refuses_plain_http_and_history(run_cli, repo: Path) -> None:
    result = run_cli("scan", ".", "--verify", "--verify-base-url", "http://api.example.com/v1", cwd=repo)
    assert result.exit_code == 2
    assert "plain http" in result.stderr
    result = run_cli("scan", ".", "--verify", "--history", cwd=repo)
    assert result.exit_code == 2
    result = run_cli("scan", ".", "--verify-timeout", "2", cwd=repo)
    assert result.exit_code == 2


def test_registered_keys_through_the_sdk(keyed_server: FakeOpenAI) -> None:
    """The server's key checks are what the real SDK sees: a live key lists models and gets its
    organization and project headers, a revoked key and a foreign organization raise AuthenticationError."""
    import openai

    live = openai.OpenAI(api_key=PROD_KEY, base_url=keyed_server.base_url, max_retries=0)
    raw = live.models.with_raw_response.list()
    assert raw.headers["openai-organization"] == PROD_ORG and raw.headers["openai-project"] == PROD_PROJECT
    assert raw.parse().data
    with pytest.raises(openai.AuthenticationError) as revoked:
        openai.OpenAI(api_key=REVOKED_KEY, base_url=keyed_server.base_url, max_retries=0).models.list()
    assert revoked.value.code == "invalid_api_key"
    foreign = openai.OpenAI(
        api_key=PROD_KEY, organization=STAGING_ORG, base_url=keyed_server.base_url, max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as mismatched:
        foreign.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert mismatched.value.code == "mismatched_organization"


@pytest.mark.parametrize(
    ("status", "verdict", "reason"),
    [
        (403, "live", "accepted, but HTTP 403"),  # authenticated, lacking a permission
        (429, "live", "accepted, but HTTP 429"),  # authenticated, rate-limited or out of quota
        (500, "unknown", "HTTP 500"),
        (404, "unknown", "HTTP 404"),
    ],
)
def test_status_codes(
    run_cli, repo: Path, keyed_server: FakeOpenAI, status: int, verdict: str, reason: str
) -> None:
    keyed_server.fail(status, times=None, path="/models")
    result = run_cli(
        "scan", "deploy/prod/old.env", "--verify", "--verify-base-url", keyed_server.base_url, "--format", "json",
        cwd=repo,
    )  # fmt: skip
    verification = _by_path(result)["deploy/prod/old.env"]["verification"]
    assert (verification["status"], verification.get("reason")) == (verdict, reason)


def test_redirects_are_not_followed(run_cli, repo: Path, keyed_server: FakeOpenAI) -> None:
    """A redirect would carry the Authorization header elsewhere: it is not followed."""
    with FakeOpenAI() as elsewhere:
        keyed_server.fail(307, times=None, headers={"location": elsewhere.base_url + "/models"})
        result = run_cli(
            "scan", "deploy/prod/old.env", "--verify", "--verify-base-url", keyed_server.base_url,
            "--format", "json", cwd=repo,
        )  # fmt: skip
        assert elsewhere.requests == []
    verification = _by_path(result)["deploy/prod/old.env"]["verification"]
    assert (verification["status"], verification["reason"]) == ("unknown", "HTTP 307")


def test_key_declared_for_one_environment_but_owned_by_another(
    run_cli, repo: Path, keyed_server: FakeOpenAI
) -> None:
    """Staging declares the production key's fingerprint as its own: the API's answer shows whose it is."""
    from prodguard.rules.environments import key_fingerprint

    config = (repo / "pyproject.toml").read_text()
    config = config.replace(
        'paths = ["deploy/staging/**"]',
        f'paths = ["deploy/staging/**"]\nkey_fingerprints = ["{key_fingerprint(PROD_KEY)}"]',
    )
    (repo / "pyproject.toml").write_text(config)
    result = run_cli(
        "scan", "deploy/staging/app.env", "--verify", "--verify-base-url", keyed_server.base_url,
        "--format", "json", cwd=repo,
    )  # fmt: skip
    verification = _by_path(result)["deploy/staging/app.env"]["verification"]
    assert verification["environment"] == "production" and verification["declared_for"] == "staging"
    assert verification["mismatch"] is True
    text = run_cli(
        "scan", "deploy/staging/app.env", "--verify", "--verify-base-url", keyed_server.base_url, cwd=repo
    )
    assert "belongs to production but is declared for staging: MISMATCH" in " ".join(text.stdout.split())
    _assert_no_key(result.stdout, text.stdout, text.stderr)
