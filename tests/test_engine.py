"""The engine's outputs: redaction, excerpts, fingerprints, positions (multi-byte text, multi-line secrets),
and the generic-versus-specific preference. Real rules from the catalogue where they exist; synthetic
rules built here where a mechanism (file scope, generic provider) must be tested on its own."""

from __future__ import annotations

import pickle
import random

import pytest
from fakekeys import HEX, body, legacy_user_key, project_key, service_account_key

from prodguard.rules.model import Kind, Rule, Scope, Severity, Validation
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine
from prodguard.scanner.finding import EXCERPT_WIDTH, Finding, build_excerpt, redact

RNG_SEED = 20240611


@pytest.fixture
def rng() -> random.Random:
    return random.Random(RNG_SEED)


def _scan(engine: Engine, text: str, path: str = "app/config.py") -> list[Finding]:
    return engine.scan(Blob(path, text.encode("utf-8")))


def _rule(rule_id: str, pattern: str, keywords: tuple[str, ...], **fields: object) -> Rule:
    base: dict[str, object] = {
        "id": rule_id,
        "name": f"test-{rule_id.lower()}",
        "title": f"Test rule {rule_id}",
        "kind": Kind.SECRET,
        "severity": Severity.HIGH,
        "description": "Checks for a test secret.",
        "why": "Tests need it.",
        "remediation": "Remove it.",
        "keywords": keywords,
        "pattern": pattern,
    }
    base.update(fields)
    return Rule(**base)  # type: ignore[arg-type]


def _assert_hidden(secret: str, text: str) -> None:
    assert secret not in text
    assert secret[4:-4] not in text


# --- redaction ---------------------------------------------------------------------------------------


def test_redact_shows_prefix_ellipsis_and_last_four() -> None:
    secret = "sk-proj-" + "Q7b" * 20 + "Ab3x"
    assert redact(secret, 8) == "sk-proj-…Ab3x"
    assert redact(secret) == "…Ab3x"


def test_redact_short_secret_shows_no_tail_and_bounded_prefix() -> None:
    # Under 16 characters the last four would be a quarter of the secret: only the prefix is kept, and
    # never so much of it that fewer than 8 characters stay hidden.
    assert redact("hunter2hunter2", 3) == "hun…"
    assert redact("abcdefghij", 8) == "ab…"
    assert redact("short", 8) == "…"


def test_redact_multi_line_secret_keeps_only_the_prefix() -> None:
    assert redact("-----BEGIN KEY-----\nMIIB\n-----END KEY-----", 5) == "-----…"
    assert redact("line one\nline two") == "…"


def test_finding_excerpt_is_redacted_with_the_rule_prefix(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    (finding,) = _scan(engine, f'OPENAI_API_KEY="{key}"\n')
    assert finding.excerpt == f'OPENAI_API_KEY="sk-proj-…{key[-4:]}"'
    _assert_hidden(key, finding.excerpt)


def test_two_secrets_on_one_line_are_redacted_in_both_excerpts(engine: Engine, rng: random.Random) -> None:
    first, second = project_key(rng), service_account_key(rng)
    findings = _scan(engine, f'keys = {{"web": "{first}", "worker": "{second}"}}\n')
    assert [f.rule_id for f in findings] == ["PG102", "PG103"]
    for finding in findings:
        _assert_hidden(first, finding.excerpt)
        _assert_hidden(second, finding.excerpt)
        assert f"sk-proj-…{first[-4:]}" in finding.excerpt
        assert f"sk-svcacct-…{second[-4:]}" in finding.excerpt


def test_same_rule_twice_on_one_line(engine: Engine, rng: random.Random) -> None:
    first, second = legacy_user_key(rng), legacy_user_key(rng)
    findings = _scan(engine, f"primary={first} fallback={second}")
    assert len(findings) == 2
    assert findings[0].column < findings[1].column
    for finding in findings:
        _assert_hidden(first, finding.excerpt)
        _assert_hidden(second, finding.excerpt)


def test_unmatched_repeat_of_a_reported_secret_is_redacted_too(engine: Engine, rng: random.Random) -> None:
    # The second copy is glued to other text, so the pattern's boundary check rejects it; the excerpt of
    # the first must still not show it.
    key = legacy_user_key(rng)
    (finding,) = _scan(engine, f"KEY={key} old=0{key}\n")
    assert finding.column == 5
    _assert_hidden(key, finding.excerpt)
    assert finding.excerpt.count(f"sk-…{key[-4:]}") == 2


def test_overlapping_spans_are_hidden_whole() -> None:
    line = "prefix AAAAAAAAAABBBBBBBBBBCCCCCCCCCC suffix"
    spans = [(7, 27, "[one]"), (17, 37, "[two]")]
    excerpt = build_excerpt(line, spans, 7)
    assert excerpt == "prefix [one] suffix"
    assert build_excerpt(line, spans, 17) == "prefix [one] suffix"


@pytest.mark.parametrize("position", ["start", "middle", "end"])
def test_long_line_excerpt_is_trimmed_around_the_secret(
    engine: Engine, rng: random.Random, position: str
) -> None:
    key = project_key(rng)
    filler = "var a = 1; " * 600
    line = {
        "start": f'k="{key}"; {filler}',
        "middle": f'{filler}k="{key}"; {filler}',
        "end": f'{filler}k="{key}"',
    }[position]
    (finding,) = _scan(engine, line + "\n")
    assert len(finding.excerpt) <= EXCERPT_WIDTH + 2  # the text plus an ellipsis at each cut end
    assert f"sk-proj-…{key[-4:]}" in finding.excerpt
    _assert_hidden(key, finding.excerpt)
    assert finding.excerpt.startswith("…") == (position != "start")
    assert finding.excerpt.endswith("…") == (position != "end")


def test_long_line_with_a_second_secret_far_away_never_leaks_it(engine: Engine, rng: random.Random) -> None:
    first, second = project_key(rng), project_key(rng)
    line = f'a="{first}"; ' + "x = 1; " * 30 + f'b="{second}"'
    findings = _scan(engine, line)
    assert len(findings) == 2
    for finding in findings:
        _assert_hidden(first, finding.excerpt)
        _assert_hidden(second, finding.excerpt)


# --- fingerprints ------------------------------------------------------------------------------------


def test_fingerprint_is_stable_when_the_line_moves(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    before = _scan(engine, f"KEY={key}\n")
    after = _scan(engine, "# header\n\n\nimport os\n" + f"    KEY = {key}  # moved and re-indented\n")
    assert before[0].line == 1 and after[0].line == 5
    assert before[0].fingerprint == after[0].fingerprint
    assert before[0].secret_hash == after[0].secret_hash


def test_fingerprint_differs_across_paths_and_secrets(engine: Engine, rng: random.Random) -> None:
    key, other = project_key(rng), project_key(rng)
    a = _scan(engine, f"KEY={key}", "a/settings.py")[0]
    b = _scan(engine, f"KEY={key}", "b/settings.py")[0]
    c = _scan(engine, f"KEY={other}", "a/settings.py")[0]
    assert len({a.fingerprint, b.fingerprint, c.fingerprint}) == 3
    assert a.secret_hash == b.secret_hash != c.secret_hash
    assert key not in a.fingerprint + a.secret_hash


# --- positions ---------------------------------------------------------------------------------------


def test_columns_count_characters_after_multibyte_utf8(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    line = f"# ключ 🔑 für café: {key} ✓"
    (finding,) = _scan(engine, f"first\nsecond\n{line}\nlast\n")
    assert finding.line == finding.end_line == 3
    assert finding.column == line.index(key) + 1
    assert finding.end_column == finding.column + len(key)


def test_columns_with_invalid_utf8_before_the_secret(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    data = b"caf\xe9 \xff\xfe key=" + key.encode() + b"\n"
    (finding,) = engine.scan(Blob("latin1.txt", data))
    # Each undecodable byte counts as one character (shown as U+FFFD).
    assert finding.column == len("caf? ?? key=") + 1
    assert finding.end_column == finding.column + len(key)


def test_crlf_line_endings(engine: Engine, rng: random.Random) -> None:
    key = project_key(rng)
    (finding,) = _scan(engine, f"a=1\r\nb=2\r\nKEY={key}\r\nc=3\r\n")
    assert (finding.line, finding.column) == (3, 5)
    assert "\r" not in finding.excerpt


def test_pem_block_reports_first_and_last_line() -> None:
    rule = _rule(
        "PG990",
        r"-----BEGIN PRIVATE KEY-----\r?\n(?P<secret>(?:[A-Za-z0-9+/=]{1,76}\r?\n)+?)-----END PRIVATE KEY-----",
        ("-----begin private key-----",),
        scope=Scope.FILE,
        validation=Validation(placeholder=False),
    )
    rng = random.Random(RNG_SEED)
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = [body(rng, b64, 64) for _ in range(3)] + [body(rng, b64, 20) + "=="]
    text = (
        "# deploy key\nkey: |\n-----BEGIN PRIVATE KEY-----\n"
        + "\n".join(lines)
        + "\n-----END PRIVATE KEY-----\n"
    )
    (finding,) = Engine([rule]).scan(Blob("deploy.yaml", text.encode()))
    assert (finding.line, finding.column) == (4, 1)
    # The secret group ends with the newline of the last body line: it ends at column 1 of the END line.
    assert finding.end_line == 8
    assert finding.end_column == 1
    for body_line in lines:
        assert body_line[:16] not in finding.excerpt


def test_file_scope_rule_runs_once_per_blob_despite_many_keywords() -> None:
    rule = _rule(
        "PG991",
        r"BEGIN TOKEN\n(?P<secret>[0-9a-f]{32})\nEND TOKEN",
        ("begin token", "end token"),
        scope=Scope.FILE,
    )
    rng = random.Random(RNG_SEED)
    token = body(rng, HEX, 32)
    findings = Engine([rule]).scan(Blob("t.txt", f"BEGIN TOKEN\n{token}\nEND TOKEN\nend token\n".encode()))
    assert len(findings) == 1


# --- rule interplay ----------------------------------------------------------------------------------


def test_generic_rule_yields_to_a_specific_rule_on_the_same_value(rng: random.Random) -> None:
    specific = _rule("PG992", r"(?P<secret>tok_[A-Za-z0-9]{24})", ("tok_",), provider="acme")
    generic = _rule("PG993", r"""secret\s*=\s*"(?P<secret>[^"]{16,})\"""", ("secret",), provider="generic")
    engine = Engine([specific, generic])
    token = "tok_" + body(rng, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", 24)
    other = body(rng, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", 20)
    assert [f.rule_id for f in _scan(engine, f'secret = "{token}"')] == ["PG992"]
    assert [f.rule_id for f in _scan(engine, f'secret = "{other}"')] == ["PG993"]


def test_two_generic_rules_on_the_same_value_report_it_once_by_the_first_listed(rng: random.Random) -> None:
    named = _rule("PG994", r"""password\s*=\s*"(?P<secret>[^"]{8,})\"""", ("password",), provider="generic")
    any_name = _rule("PG993", r"""\w+\s*=\s*"(?P<secret>[^"]{8,})\"""", ("password",), provider="generic")
    value = body(rng, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789", 20)
    text = f'password = "{value}"'
    assert [f.rule_id for f in _scan(Engine([named, any_name]), text)] == ["PG994"]
    assert [f.rule_id for f in _scan(Engine([any_name, named]), text)] == ["PG993"]


def test_keyword_far_from_its_match_on_a_long_line_still_bounded() -> None:
    # The pattern runs only within a window around the keyword on its line: a match that needs text
    # beyond that window is not found (the bound that keeps minified files linear), unless the window
    # was cut inside a token (letters, digits, base64 and JWT punctuation), which it then runs to the end of.
    rule = _rule("PG994", r"anchor(?P<secret>[A-Za-z0-9]{16})", ("anchor",))
    near = "anchor" + "Q1w2E3r4T5y6U7i8"
    assert Engine([rule]).scan(Blob("m.js", ("a" * 5000 + near).encode()))
    rule_far = _rule("PG995", r"(?P<secret>Q1w2E3r4T5y6U7i8)", ("anchor",))
    assert not Engine([rule_far]).scan(Blob("m.js", ("anchor" + "." * 3000 + "Q1w2E3r4T5y6U7i8").encode()))
    assert not Engine([rule_far]).scan(Blob("m.js", ("anchor" + "a(" * 1500 + "Q1w2E3r4T5y6U7i8").encode()))
    assert Engine([rule_far]).scan(Blob("m.js", ("anchor" + "a" * 3000 + "-Q1w2E3r4T5y6U7i8").encode()))


def test_empty_and_keywordless_blobs(engine: Engine) -> None:
    assert engine.scan(Blob("empty.txt", b"")) == []
    assert engine.scan(Blob("plain.txt", b"nothing to see here\n" * 100)) == []
    assert not engine.may_match(b"nothing to see here")
    assert engine.may_match(b"a SK-PROJ- b")


def test_placeholders_and_env_lookups_are_not_findings(engine: Engine) -> None:
    text = "\n".join(
        [
            'OPENAI_API_KEY="sk-proj-..."',
            "OPENAI_API_KEY=sk-proj-REPLACE_ME",
            "OPENAI_API_KEY=<OPENAI_API_KEY>",
            "OPENAI_API_KEY=${OPENAI_API_KEY}",
            'api_key = os.environ["OPENAI_API_KEY"]',
            "request_id = 3f1c9a52-8d4e-4b7a-9c2f-6e1d0b5a7c38",
            "digest = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        ]
    )
    assert _scan(engine, text) == []


def test_many_findings_on_one_non_ascii_line(engine: Engine, rng: random.Random) -> None:
    keys = [project_key(rng) for _ in range(40)]
    parts = [f'"ключ{i}":"{key}","ü{i}":"€"' for i, key in enumerate(keys)]
    line = "{" + ",".join(parts) + "}"
    findings = _scan(engine, line)
    assert [f.column for f in findings] == [line.index(key) + 1 for key in keys]
    for finding, key in zip(findings, keys, strict=True):
        assert finding.end_column == finding.column + len(key)
        assert f"sk-proj-…{key[-4:]}" in finding.excerpt
        for other in keys:
            _assert_hidden(other, finding.excerpt)


def test_engine_survives_pickling_for_worker_processes(engine: Engine, rng: random.Random) -> None:
    text = f'KEY = "{project_key(rng)}"\nORG = "{legacy_user_key(rng)}"\n'
    copy = pickle.loads(pickle.dumps(engine))
    assert copy.scan(Blob("a.py", text.encode())) == engine.scan(Blob("a.py", text.encode()))


# --- tokens longer than the match window -----------------------------------------------------------


def _long_jwt(rng: random.Random, payload_bytes: int) -> str:
    import base64
    import json

    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"sub": "svc", "groups": [body(rng, HEX, 32) for _ in range(payload_bytes // 36)]}
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{body(rng, HEX, 86)}"


@pytest.mark.parametrize("payload_bytes", [2_000, 40_000, 200_000])
def test_a_jwt_longer_than_the_window_is_found_whole(engine: Engine, rng: random.Random, payload_bytes: int) -> None:
    # Its structure (eyJ….eyJ….signature) is longer than the 1 KiB window around its keyword: the window
    # runs to the token's end, so the rule matches the whole token, and the finding's hash is the token's.
    from prodguard.scanner.finding import hash_secret

    token = _long_jwt(rng, payload_bytes)
    findings = [f for f in _scan(engine, f'TOKEN = "{token}"\nother = 1\n') if f.rule_id == "PG175"]
    assert len(findings) == 1 and findings[0].secret_hash == hash_secret(token.encode())
