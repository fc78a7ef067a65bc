"""Excerpts are built from redacted text: the four ways plaintext reached reports before (allow reasons,
lone-CR line ends, matches cut at the matching window, overlapping matches) each checked directly, in
the scanner and in the guard's scrubber that shares the engine."""

from __future__ import annotations

import random

from fakekeys import project_key

from prodguard.guard._steps.secrets import Scrubber
from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import WINDOW, Engine
from prodguard.scanner.run import build_detector

RNG_SEED = 99


def _token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("abcdefghijkLMNOPQRSTuvwxyz0123456789") for _ in range(length))


def test_a_token_longer_than_the_window_is_hidden_to_its_end(engine: Engine, catalogue: Catalogue) -> None:
    rng = random.Random(RNG_SEED)
    tail = _token(rng, 40)
    jwt = "eyJhbGciOiJIUzI1NiJ9." + _token(rng, 3 * WINDOW) + "." + tail
    line = f"Authorization: Bearer {jwt} trailing"
    findings = engine.scan(Blob("h.txt", line.encode()))
    assert findings
    for finding in findings:
        assert tail[:8] not in finding.excerpt and tail[10:18] not in finding.excerpt
    assert max(f.end_column for f in findings) == line.index(" trailing") + 1
    scrubbed, _rules = Scrubber.build(catalogue).scrub(line)
    assert tail[:8] not in scrubbed and scrubbed.endswith(" trailing")


def test_the_union_of_overlapping_matches_is_hidden(engine: Engine, catalogue: Catalogue) -> None:
    rng = random.Random(RNG_SEED)
    stripe = "sk_live_" + _token(rng, 30)
    line = f'password = "Summer2024!{stripe}"'
    findings = engine.scan(Blob("s.py", line.encode()))
    assert [f.rule_id for f in findings] == ["PG168"]
    assert "Summer2024" not in findings[0].excerpt and stripe[8:16] not in findings[0].excerpt
    scrubbed, _rules = Scrubber.build(catalogue).scrub(line)
    assert "Summer2024" not in scrubbed and stripe[8:16] not in scrubbed


def test_an_allow_reason_is_read_from_the_redacted_line(engine: Engine) -> None:
    rng = random.Random(RNG_SEED)
    first, second = project_key(rng), project_key(rng)
    line = f'KEY = "{first}"  # prodguard: allow -- rotated, see {second} ' + "x" * 400
    findings = engine.scan(Blob("a.py", line.encode()))
    assert findings and all(f.suppressed for f in findings)
    for finding in findings:
        assert finding.suppressed is not None
        assert second[8:40] not in finding.suppressed and first[8:40] not in finding.suppressed
        assert finding.suppressed.startswith("inline allow: rotated, see sk-proj-…")
        assert len(finding.suppressed) <= len("inline allow: ") + 200


def test_lone_carriage_returns_end_lines_for_every_check(catalogue: Catalogue) -> None:
    key = project_key(random.Random(RNG_SEED))
    source = f'import openai\rclient = openai.OpenAI(api_key="{key}")\rprint(1)\r'
    findings, _notice = build_detector(catalogue).scan(Blob("app.py", source.encode()))
    assert findings
    assert {f.line for f in findings} == {2}
    for finding in findings:
        assert key[8:16] not in finding.excerpt and "print" not in finding.excerpt


def test_a_practice_finding_hides_secrets_the_engine_found_on_its_line(catalogue: Catalogue) -> None:
    rng = random.Random(RNG_SEED)
    key, other = project_key(rng), project_key(rng)
    source = f'import openai\nclient = openai.OpenAI(api_key="{key}", max_retries=0)  # {other}\n'
    findings, _notice = build_detector(catalogue).scan(Blob("app.py", source.encode()))
    practice = [f for f in findings if f.kind.value == "practice"]
    assert practice
    for finding in findings:
        assert key[8:16] not in finding.excerpt and other[8:16] not in finding.excerpt
