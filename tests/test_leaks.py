"""No plaintext secret in any output: random secrets of every secret rule, planted in every file type
and position, must not show up (not even 8 characters of them) in any report format, the baseline file,
a --history scan, notices or errors.

Each rule's secrets are made from its own match examples: the example is scanned to find the secret,
whose letters and digits are then redrawn at random (its public prefix and the rule's markers kept),
until the rule still reports the result. Every (file, rule) gets a fresh value, and a value is checked
only where the engine reports it (a form a rule does not detect is a detection question, not a leak).
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.model import Kind, Rule
from prodguard.rules.validators import github_checksum
from prodguard.scanner.engine import Engine
from prodguard.scanner.lines import unify_line_ends
from tests.gitrepo import GitRepo

RUN = 8  # characters: a run this long of a planted value in any output is a leak
SECRET_RULES = [r for r in load_catalogue(compile_builtin=True).pattern_rules if r.kind is Kind.SECRET]
ENGINE = Engine(load_catalogue(compile_builtin=True).pattern_rules)


_ENGINES: dict[str, Engine] = {}


def _secret_in(rule: Rule, text: str) -> tuple[int, int] | None:
    """Character offsets of ``rule``'s first reported secret in ``text``."""
    data = text.encode("utf-8")
    engine = _ENGINES.get(rule.id)
    if engine is None:
        engine = _ENGINES[rule.id] = Engine([rule])
    for span in engine.spans(data):
        if span.rule.id == rule.id:
            return len(data[: span.start].decode("utf-8", "replace")), len(data[: span.end].decode("utf-8", "replace"))
    return None


def _redraw(
    secret: str,
    keep: int,
    markers: tuple[str, ...],
    rng: random.Random,
    tail: int,
    keep_end: int,
    changed: set[int],
) -> str:
    """``secret`` with its letters and digits redrawn: all of them (``tail`` 0), or only the last
    ``tail`` ones (structured values: a JWT's signature, the end of a PEM body)."""
    fixed = set(range(max(keep, len(secret) - tail if tail else 0))) | set(
        range(len(secret) - keep_end, len(secret))
    )
    if tail:
        fixed |= {i for i, c in enumerate(secret) if c == "\n" or (i >= len(secret) - 40 and "-" in secret[i:])}
    for marker in markers:
        at = secret.find(marker)
        if at >= 0:
            fixed |= set(range(at, at + len(marker)))
    # Each character is redrawn from those of its class the secret already uses (hex stays hex).
    pools = {
        name: sorted({c for i, c in enumerate(secret) if c in chars and i not in fixed}) or list(chars)
        for name, chars in (
            ("lower", string.ascii_lowercase),
            ("upper", string.ascii_uppercase),
            ("digit", string.digits),
        )
    }
    out = []
    for i, char in enumerate(secret):
        if i in fixed:
            out.append(char)
            continue
        changed.add(i)
        if char in string.ascii_lowercase:
            out.append(rng.choice(pools["lower"]))
        elif char in string.ascii_uppercase:
            out.append(rng.choice(pools["upper"]))
        elif char in string.digits:
            out.append(rng.choice(pools["digit"]))
        else:
            out.append(char)
            changed.discard(i)
    return "".join(out)


class Plant:
    """A random secret of one rule, and the example text around it."""

    def __init__(self, rule: Rule, rng: random.Random) -> None:
        self.rule = rule
        examples = [e for e in rule.examples.match if _secret_in(rule, e)]
        assert examples, f"{rule.id}: no match example reports a secret"
        for attempt in range(240):
            example = rng.choice(examples)
            span = _secret_in(rule, example)
            assert span is not None
            start, end = span
            # Whole value first; then keeping a fixed suffix (``…AA``); then only a tail (structured values).
            tail, keep_end = ((0, 0), (0, 2), (64, 0), (32, 2), (16, 0))[attempt // 48]
            changed: set[int] = set()
            value = _redraw(
                example[start:end], rule.redact_prefix, rule.validation.markers, rng, tail, keep_end, changed
            )
            if "basic_credentials" in rule.validation.checks:
                # The value is base64 of ``user:password``: redraw the decoded password, encode again (every
                # encoded character may change, so all count as redrawn).
                user, _, password = base64.b64decode(example[start:end]).decode().partition(":")
                redrawn = _redraw(password, 0, (), rng, 0, 0, set())
                value = base64.b64encode(f"{user}:{redrawn}".encode()).decode()
                changed = set(range(len(value)))
            if "github_checksum" in rule.validation.checks:
                value = value[:-6] + github_checksum(value.partition("_")[2][:30])
                changed |= set(range(len(value) - 6, len(value)))
            text = example[:start] + value + example[end:]
            if _secret_in(rule, text) == (start, start + len(value)) and value != example[start:end]:
                self.text, self.value, self.changed = text, value, frozenset(changed)
                return
        pytest.fail(f"{rule.id}: no random variant of its examples is reported")

    def runs(self) -> set[str]:
        """Every RUN-character stretch of the value at least half of which was redrawn at random: the
        public parts (a prefix, a PEM header, a marker, ``services/T`` of a webhook) may be shown."""
        return {
            self.value[i : i + RUN]
            for i in range(len(self.value) - RUN + 1)
            if sum(j in self.changed for j in range(i, i + RUN)) >= RUN // 2
        }


# How each kind of file holds the examples (one text per rule): file name and a function of the texts.
Layout = Callable[[list[str]], bytes]


def _lines(texts: list[str], end: str = "\n") -> bytes:
    return end.join(texts).encode("utf-8") + end.encode()


def _notebook(texts: list[str]) -> bytes:
    cells = [
        {"cell_type": "code", "source": text, "outputs": [{"output_type": "stream", "text": [text]}]}
        for text in texts
    ]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}).encode()


LAYOUTS: dict[str, Layout] = {
    "app.py": _lines,
    "web/app.js": _lines,
    ".env": _lines,
    "deploy/values.yaml": lambda t: _lines([f"  {x}" for x in t]),
    "config.json": lambda t: json.dumps({f"k{i}": x for i, x in enumerate(t)}, indent=1).encode(),
    "crlf.txt": lambda t: _lines(t, "\r\n"),
    "cr_only.py": lambda t: _lines(t, "\r"),
    "bundle.min.js": lambda t: " ; ".join(t).encode(),
    "no_final_newline.cfg": lambda t: "\n".join(t).encode(),
    "far_right.txt": lambda t: _lines([" " * 900 + "x" * 300 + " " + x for x in t]),
    # An allow comment whose "reason" runs over further secrets on its line.
    "allowed.py": lambda t: _lines(
        [f"{a}  # prodguard: allow -- reason {b} and {c}" for a, b, c in zip(t, t[1:] + t[:1], t[2:] + t[:2], strict=True)]
    ),
    "notebook.ipynb": _notebook,
}


def _planted_repo(root: Path, rng: random.Random) -> tuple[GitRepo, list[Plant]]:
    """A repository with every layout; returns the plants the engine hides where they were put."""
    repo = GitRepo(root)
    reported: list[Plant] = []
    for name, layout in LAYOUTS.items():
        plants = [Plant(rule, rng) for rule in SECRET_RULES]
        data = layout([p.text for p in plants])
        repo.write(name, data)
        if name.endswith(".ipynb"):
            # Cells are scanned one by one, and each holds one example as written.
            reported.extend(p for p in plants if _hidden(p, p.text.encode("utf-8")))
        else:
            reported.extend(p for p in plants if _hidden(p, data))
    return repo, reported


def _hidden(plant: Plant, data: bytes) -> bool:
    """Whether a span the engine hides covers every place the plant's value stands in ``data``."""
    text = unify_line_ends(data)
    value = plant.value.encode("utf-8")
    spans = _spans(text)
    at = text.find(value)
    if at < 0:
        return False
    while at >= 0:
        if not any(s.start <= at and at + len(value) <= s.end for s in spans):
            return False
        at = text.find(value, at + 1)
    return True


_SPAN_CACHE: dict[bytes, list[Any]] = {}


def _spans(text: bytes) -> list[Any]:
    if text not in _SPAN_CACHE:
        _SPAN_CACHE[text] = ENGINE.spans(text)
    return _SPAN_CACHE[text]


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _xml_text(document: str) -> str:
    root = ET.fromstring(document)
    parts = []
    for element in root.iter():
        parts.extend(element.attrib.values())
        parts.append(element.text or "")
        parts.append(element.tail or "")
    return "\n".join(parts)


def _leaks(output: str, plants: list[Plant]) -> list[str]:
    return [f"{p.rule.id}: {run!r}" for p in plants for run in p.runs() if run in output]


def _without_digests(baseline_text: str, plants: list[Plant]) -> str:
    """The baseline file with its random salt and salted SHA-256 digests blanked: 64 random hex digits
    per entry hold some 8-character run of a hex-shaped planted value about once in fifty runs of this
    test, which says nothing about a leak. A digest may not *be* a planted value either."""
    document = json.loads(baseline_text)
    digests = [document.pop("salt")] + [entry.pop("hash") for entry in document["entries"]]
    assert all(re.fullmatch(r"[0-9a-f]{32,64}", d) for d in digests)
    assert not [p.rule.id for p in plants for d in digests if p.value in d or d in p.value]
    return json.dumps(document)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, list[Plant]]:
    repo, plants = _planted_repo(tmp_path_factory.mktemp("leaks") / "repo", random.Random(20261207))
    repo.commit("plant every rule's secrets everywhere")
    return repo, plants


def test_every_secret_rule_is_planted(planted: tuple[GitRepo, list[Plant]]) -> None:
    _repo, plants = planted
    assert {p.rule.id for p in plants} == {r.id for r in SECRET_RULES}
    assert len(plants) >= 4 * len(SECRET_RULES)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [((), "text"), ((), "json"), ((), "sarif"), ((), "junit"), (("--history",), "text"), (("--history",), "json")],
    ids=["text", "json", "sarif", "junit", "history-text", "history-json"],
)
def test_no_planted_secret_in_any_report(
    planted: tuple[GitRepo, list[Plant]], run_cli: Any, fmt: str, mode: tuple[str, ...]
) -> None:
    repo, plants = planted
    result = run_cli("scan", *mode, "--format", fmt, ".", cwd=repo.path)
    assert result.exit_code == 1, result.output
    output = result.stdout
    if fmt in ("json", "sarif"):
        output = "\n".join(_strings(json.loads(output)))
    elif fmt == "junit":
        output = _xml_text(output)
    assert not _leaks(output + result.stderr, plants)
    if fmt == "json":
        document = json.loads(result.stdout)
        assert document["findings"] and document["suppressed"]  # inline allows are reported as such


def test_no_planted_secret_in_baseline_files_or_suppressed_findings(
    planted: tuple[GitRepo, list[Plant]], run_cli: Any, tmp_path: Path
) -> None:
    repo, plants = planted
    baseline = tmp_path / "baseline.json"
    created = run_cli("baseline", "create", "-o", str(baseline), ".", cwd=repo.path)
    assert created.exit_code == 0, created.output
    assert not _leaks(_without_digests(baseline.read_text(), plants) + created.output, plants)
    result = run_cli("scan", "--history", "--baseline", str(baseline), "--format", "json", ".", cwd=repo.path)
    document = json.loads(result.stdout)
    assert document["suppressed"]
    assert not _leaks("\n".join(_strings(document)) + result.stderr, plants)
    audit = run_cli("baseline", "audit", "--baseline", str(baseline), "--format", "json", ".", cwd=repo.path)
    assert audit.exit_code == 0, audit.output
    entries = json.loads(audit.stdout)
    assert len(entries) == len(json.loads(baseline.read_text())["entries"])
    for entry in entries:  # the digest's first 12 hex digits name the entry; blanked as above
        assert re.fullmatch(r"[0-9a-f]{12}", entry.pop("hash"))
    assert not _leaks(json.dumps(entries) + audit.stderr, plants)


def test_no_planted_secret_in_errors(planted: tuple[GitRepo, list[Plant]], run_cli: Any, tmp_path: Path) -> None:
    """Error messages that quote user input (a bad revision, a bad config value) never carry a secret
    found in the repository; here the planted values are passed where a revision and a config go."""
    repo, plants = planted
    some = plants[:5]
    for plant in some:
        result = run_cli("scan", "--history", "--since", plant.value, ".", cwd=repo.path)
        assert result.exit_code == 2
    bad_config = tmp_path / "prodguard.toml"
    bad_config.write_text("\n".join(f"# {p.text}" for p in some) + "\nexclude = 5\n")
    result = run_cli("scan", "--config", str(bad_config), ".", cwd=repo.path)
    assert result.exit_code == 2 and not _leaks(result.output, some)
