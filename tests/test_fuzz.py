"""Property tests over everything prodguard reads: file contents, file names and special files, configs,
user rule packs, baselines and audit log directories. Whatever hypothesis draws, the outcome is a
result or a ``ProdguardError`` (exit 0, 1 or 2), never another exception, a hang or unbounded memory.

Each test is bounded to a few seconds; ``bench/fuzz_hardening.py`` runs the same kinds of input for
hundreds of thousands of cases.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prodguard.errors import ProdguardError
from prodguard.guard._audit.keys import format_key, generate_key
from prodguard.guard._audit.log import AuditLog
from prodguard.rules.catalogue import load_catalogue, load_pack
from prodguard.scanner.baseline import Baseline
from prodguard.scanner.blob import Blob
from prodguard.scanner.commands import load_settings
from prodguard.scanner.run import build_detector, scan_paths
from prodguard.scanner.settings import ScanSettings

CATALOGUE = load_catalogue(compile_builtin=True)
DETECTOR = build_detector(CATALOGUE)
KEYWORDS = sorted({k for r in CATALOGUE.pattern_rules for k in r.keywords if k.isascii()})
BOUNDED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SECONDS = 5.0  # no single case may take longer (a hang fails the test instead of stalling it)


@contextmanager
def _within(seconds: float) -> Iterator[None]:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < seconds


@contextmanager
def _directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pgfuzz"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- file contents -----------------------------------------------------------------------------------

PIECES = st.one_of(
    st.binary(max_size=30),
    st.sampled_from([k.encode() for k in KEYWORDS]),
    st.sampled_from([b"\n", b"\r", b"\r\n", b'"', b"'", b"=", b": ", b"# prodguard: allow -- ", b"\x00", b"\xff"]),
    st.sampled_from([b"openai.OpenAI(", b"client.chat.completions.create(", b"api_key=", b"def f():\n  "]),
    st.sampled_from([b"A" * 1500, b"eyJhbGciOiJIUzI1NiJ9." + b"x" * 1200, b"sk-proj-" + b"Ab3" * 400]),
)


@BOUNDED
@given(st.lists(PIECES, max_size=60), st.sampled_from(["a.py", "b.js", "c.ipynb", ".env", "d.json"]))
def test_any_content_of_any_file_type(pieces: list[bytes], name: str) -> None:
    data = b"".join(pieces)
    with _within(SECONDS):
        findings, _notice = DETECTOR.scan(Blob(name, data))
    for finding in findings:
        assert finding.line >= 1 and finding.column >= 1
        assert len(finding.excerpt) <= 162


@BOUNDED
@given(st.lists(st.sampled_from([b'{"cells": [', b'{"source": ', b'"outputs": ', b"5", b"[", b"]", b"{", b"}",
                                 b",", b'"x"', b"null", b'"metadata": {}', b'"data": {"text/plain": ']), max_size=40))
def test_any_notebook_shape(parts: list[bytes]) -> None:
    with _within(SECONDS):
        DETECTOR.scan(Blob("n.ipynb", b"".join(parts) + b" sk-proj-x api_key"))


# --- names and special files -------------------------------------------------------------------------

NAMES = st.one_of(
    st.binary(min_size=1, max_size=12).filter(lambda b: b"/" not in b and b"\0" not in b and b not in (b".", b"..")),
    st.sampled_from([b".gitignore", b"a.py", b"caf\xe9.py", b"-rf", b"\x1b[2J.py", b"new\nline.py"]),
)
KINDS = st.sampled_from(["file", "fifo", "link-zero", "link-loop", "link-dangling", "dir", "link-dir"])
IGNORE_LINES = st.lists(
    st.one_of(st.sampled_from(["\\", "!", "[z-a]", "*.py", "**", "/", "a/**/b", "!*.py", "[", "\\!x"]), st.text(max_size=8)),
    max_size=6,
)


@BOUNDED
@given(st.lists(st.tuples(NAMES, KINDS), max_size=8), IGNORE_LINES, IGNORE_LINES)
def test_any_tree_of_names_and_special_files(
    entries: list[tuple[bytes, str]], ignore: list[str], exclude: list[str]
) -> None:
    with _directory() as root:
        base = os.fsencode(root)
        (root / ".gitignore").write_text("\n".join(ignore), errors="replace")
        for name, kind in entries:
            path = os.path.join(base, name)
            if os.path.lexists(path):
                continue
            if kind == "file":
                with open(path, "wb") as handle:
                    handle.write(b'token = "sk-proj-abc"\n')
            elif kind == "fifo":
                os.mkfifo(path)
            elif kind == "dir":
                os.mkdir(path)
            else:
                target = {"link-zero": b"/dev/zero", "link-loop": name, "link-dangling": b"nowhere", "link-dir": b"."}
                os.symlink(target[kind], path)
        settings_ = ScanSettings(root=root, exclude=tuple(e for e in exclude if e.isprintable()), jobs=1)
        with _within(SECONDS), suppress(ProdguardError):
            scan_paths([str(root)], settings_, CATALOGUE)


# --- configs, packs, baselines -----------------------------------------------------------------------

TOML_PIECES = st.sampled_from(
    ["[tool.prodguard]\n", "exclude = ", "[", "]", '"x"', "5", "max_file_size = ", '"20MiB"', "packs = ",
     "[rules]\n", "enable = ", "\n", "=", "'''", '"""', "min_severity = ", '"high"', "[[x]]\n", "true", "\xff"]
)


@BOUNDED
@given(st.lists(TOML_PIECES, max_size=30))
def test_any_config(parts: list[str]) -> None:
    with _directory() as root:
        path = root / "prodguard.toml"
        path.write_text("".join(parts), errors="surrogateescape")
        with _within(SECONDS):
            try:
                settings_ = load_settings(str(path), root)
                load_catalogue(settings_.packs)
            except ProdguardError:
                pass


REGEX_PIECES = st.sampled_from(
    ["acme_", "(", ")", "(?P<secret>", "[a-z]", "\\w", "\\d", "+", "*", "?", "{2,5}", "{4294967296}", "|",
     "a", ".", "$", "^", "(?<![a-z])", "\\1", "{0,100}", "[^x]", "(?:"]
)


@BOUNDED
@given(
    st.lists(REGEX_PIECES, max_size=14),
    st.booleans(),
    st.lists(st.text(max_size=6), max_size=3),
    st.one_of(st.integers(-5, 50), st.text(max_size=3)),
)
def test_any_user_pack(pattern: list[str], grouped: bool, keywords: list[str], prefix: object) -> None:
    body = "".join(pattern)
    rule = {
        "id": "ACME001", "name": "acme", "title": "Acme", "kind": "secret", "severity": "high",
        "description": "d", "why": "w", "remediation": "r", "keywords": keywords or ["acme_"],
        "pattern": f"acme_(?P<secret>{body})" if grouped else body or "acme_", "redact_prefix": prefix,
    }
    with _directory() as root:
        path = root / "pack.toml"
        lines = ["[pack]", 'name = "mine"', "[[rules]]"] + [f"{k} = {json.dumps(v)}" for k, v in rule.items()]
        path.write_text("\n".join(lines) + "\n")
        with _within(SECONDS):
            try:
                rules = load_pack(path)
            except ProdguardError:
                return
            # An accepted pack runs in bounded time over text built to make patterns backtrack.
            engine_detector = build_detector(CATALOGUE.__class__(rules))
            engine_detector.scan(Blob("x.txt", (b"acme_" + b"a" * 3000 + b"!") * 20))


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)


@BOUNDED
@given(st.one_of(JSON_VALUES, st.builds(lambda n: "[" * n + "]" * n, st.integers(0, 5000))), st.booleans())
def test_any_baseline(document: object, raw: bool) -> None:
    with _directory() as root:
        path = root / "baseline.json"
        text = document if raw and isinstance(document, str) else json.dumps(document)
        path.write_text(text)
        with _within(SECONDS), suppress(ProdguardError):
            Baseline.load(path)


# --- audit log directories ---------------------------------------------------------------------------

KEYS = format_key(generate_key("k1"))
AUDIT_DAMAGE = st.lists(
    st.tuples(
        st.sampled_from(["truncate", "append", "flip", "link", "fifo", "head", "remove", "zeros"]),
        st.integers(0, 10**6),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def audit_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("audit")
    with AuditLog(directory, KEYS, segment_max_bytes=600) as log:
        for n in range(12):
            log.append({"n": n})
    return directory


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(AUDIT_DAMAGE)
def test_any_damage_to_an_audit_directory(audit_template: Path, damage: list[tuple[str, int]]) -> None:
    with _directory() as root:
        directory = root / "audit"
        shutil.copytree(audit_template, directory)
        for action, number in damage:
            names = sorted(p for p in directory.iterdir() if p.name.startswith("segment-") and p.is_file() and not p.is_symlink())
            target = names[number % len(names)] if names else directory / "segment-00000001.pgal"
            if target.exists() and not target.is_symlink():
                target.chmod(0o600)
            if action == "truncate" and target.is_file():
                os.truncate(target, number % (target.stat().st_size + 1))
            elif action == "append" and target.is_file():
                with open(target, "ab") as handle:
                    handle.write(os.urandom(number % 300))
            elif action == "flip" and target.is_file() and target.stat().st_size:
                data = bytearray(target.read_bytes())
                data[number % len(data)] ^= 1 << (number % 8)
                target.write_bytes(bytes(data))
            elif action == "link":
                extra = directory / f"segment-{number % 50 + 20:08d}.pgal"
                if not extra.exists() and not extra.is_symlink():
                    os.symlink(("/dev/zero", extra.name, "nowhere")[number % 3], extra)
            elif action == "fifo":
                extra = directory / f"segment-{number % 50 + 80:08d}.pgal"
                if not extra.exists() and not extra.is_symlink():
                    os.mkfifo(extra)
            elif action == "head":
                (directory / ".head").write_bytes(os.urandom(number % 300))
            elif action == "remove" and target.exists():
                target.unlink()
            elif action == "zeros" and target.is_file():
                with open(target, "ab") as handle:
                    handle.write(bytes(number % 500))
        with _within(SECONDS * 2):
            try:
                report = AuditLog(directory, KEYS).verify()
                assert report.ok or report.problems
            except ProdguardError:
                pass
            try:
                with AuditLog(directory, KEYS) as log:
                    log.append({"n": "after"})
            except ProdguardError:
                pass
