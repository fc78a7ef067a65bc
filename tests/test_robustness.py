"""The scanner on hostile input: broken configuration and rule packs, unreadable, binary, huge, oddly
encoded, oddly named, looping, vanishing and special files, and random data (property tests).

Each case must end with a clear message or notice, never a traceback, and every other file still scanned.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakekeys import legacy_user_key, project_key, service_account_key
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from prodguard.cli import cli
from prodguard.rules.catalogue import load_catalogue
from prodguard.scanner import run as run_module
from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine
from prodguard.scanner.finding import EXCERPT_WIDTH, hash_secret
from prodguard.scanner.lines import unify_line_ends
from prodguard.scanner.prefilter import HyperscanPrefilter, RegexPrefilter, hyperscan
from tests.cli_process import run_prodguard as _prodguard

CATALOGUE = load_catalogue(compile_builtin=True)
KEYWORDS = sorted({k for rule in CATALOGUE.pattern_rules for k in rule.keywords})


def _json_scan(run_cli: Any, cwd: Path, *args: str) -> dict[str, Any]:
    result = run_cli("scan", *args, "--format", "json", cwd=cwd)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _notices(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {n["path"]: (n["category"], n["message"]) for n in document["notices"]}


def _all_notices(document: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(n["path"], n["category"], n["message"]) for n in document["notices"]}


@pytest.fixture
def rng() -> random.Random:
    return random.Random(4242)


@pytest.fixture
def sentinel(tmp_path: Path, rng: random.Random) -> str:
    """A file with a key next to every hostile one: proof that the rest of the scan went on."""
    (tmp_path / "ok.py").write_text(f'KEY = "{project_key(rng)}"\n')
    return "ok.py"


def _paths(document: dict[str, Any]) -> set[str]:
    return {f["path"] for f in document["findings"]}


# --- broken configuration ----------------------------------------------------------------------------


PACK_HEAD = '[pack]\nname = "mine"\n\n[[rules]]\n'
GOOD_RULE = (
    'id = "ACME001"\nname = "acme-token"\ntitle = "Acme token"\nkind = "secret"\nseverity = "high"\n'
    'description = "Checks for Acme tokens."\nwhy = "They unlock Acme."\nremediation = "Rotate it."\n'
    'keywords = ["acme_"]\n'
)


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        (
            {"prodguard.toml": 'exclude = ["build/"\nmin_severity = "low"\n'},
            "prodguard.toml:2:",
            "invalid TOML",
        ),
        ({"prodguard.toml": "min_severity = low\n"}, "prodguard.toml:1:", "invalid TOML"),
        (
            {"prodguard.toml": 'exclude = "build/"\n'},
            "prodguard.toml:1:",
            "exclude must be a list of strings",
        ),
        ({"prodguard.toml": "\nmax_file_size = true\n"}, "prodguard.toml:2:", "max_file_size must be"),
        ({"prodguard.toml": 'max_file_size = "lots"\n'}, "prodguard.toml:1:", "not a size"),
        ({"prodguard.toml": 'gitignore = "yes"\n'}, "prodguard.toml:1:", "gitignore must be true or false"),
        ({"prodguard.toml": "min_severity = 3\n"}, "prodguard.toml:1:", "min_severity must be a string"),
        ({"prodguard.toml": '[rules]\ndisable = "PG106"\n'}, "prodguard.toml:2:", "disable must be a list"),
        (
            {"prodguard.toml": '[rules]\nenable = []\nskip = ["PG1"]\n'},
            "prodguard.toml:3:",
            "unknown key 'skip'",
        ),
        (
            {"pyproject.toml": '[project]\nname = "x"\n\n[tool.prodguard]\nexclude = []\nexlcude = ["x"]\n'},
            "pyproject.toml:6:",
            "unknown key 'exlcude'",
        ),
        ({"prodguard.toml": b'exclude = ["caf\xe9"]\n'}, "prodguard.toml:1:", "not valid UTF-8"),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD + GOOD_RULE + 'pattern = "acme_(?P<secret>[a-z]{10}"\n',
            },
            "mine.toml:14:",
            "ACME001: invalid pattern",
        ),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD + GOOD_RULE + 'pattern = "acme_[a-z]{10}"\n',
            },
            "mine.toml:14:",
            "no group named 'secret'",
        ),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD + GOOD_RULE.replace('severity = "high"', 'severity = "severe"'),
            },
            "mine.toml:9:",
            "unknown severity 'severe'",
        ),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD
                + GOOD_RULE
                + 'pattern = "(?P<secret>acme_[a-z]{10})"\nfavourite = true\n',
            },
            "mine.toml:15:",
            "unknown rule key 'favourite'",
        ),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD
                + GOOD_RULE.replace('id = "ACME001"', 'id = "PG102"')
                + 'pattern = "(?P<secret>acme_[a-z]{10})"\n',
            },
            "mine.toml",
            "rule id PG102 is already defined",
        ),
        (
            {
                "prodguard.toml": 'packs = ["mine.toml"]\n',
                "mine.toml": PACK_HEAD + GOOD_RULE + 'pattern = """(?P<secret>acme_[a-z]{10})\n',
            },
            "mine.toml:",
            "invalid TOML",
        ),
        ({"prodguard.toml": 'packs = ["missing.toml"]\n'}, "missing.toml", "cannot read"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_broken_configuration_exits_2_naming_file_and_line(
    run_cli: Any, tmp_path: Path, files: dict[str, str | bytes], where: str, message: str
) -> None:
    for name, content in files.items():
        target = tmp_path / name
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    (tmp_path / "app.py").write_text("print('hi')\n")
    # In-process with exceptions propagating: any crash would fail the test with its traceback.
    result = run_cli("scan", ".", cwd=tmp_path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("prodguard: error: ")
    assert where in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


# --- files that cannot be read as text -------------------------------------------------------------


def _without_file_access_override() -> tuple[str, ...]:
    """Root reads any file whatever its mode; dropping the two capabilities that let it do so (for the
    child process only) makes the kernel apply the permission bits, exactly as for any other user."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to test unreadable files as root"
    return (setpriv, "--bounding-set=-dac_override,-dac_read_search")


@pytest.fixture
def locked_tree(tmp_path: Path, sentinel: str, rng: random.Random) -> Iterator[Path]:
    (tmp_path / "locked.py").write_text(f'KEY = "{project_key(rng)}"\n')
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "inner.py").write_text(f'KEY = "{project_key(rng)}"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("*.log\n")
    (tmp_path / "sub" / "app.py").write_text(f'KEY = "{project_key(rng)}"\n')
    locked = [tmp_path / "locked.py", tmp_path / "private", tmp_path / "sub" / ".gitignore"]
    for path in locked:
        path.chmod(0)
    yield tmp_path
    for path in locked:
        path.chmod(0o700)


def test_unreadable_files_and_directories_are_notices(locked_tree: Path, sentinel: str) -> None:
    proc = _prodguard(
        "scan", ".", "--format", "json", cwd=locked_tree, prefix=_without_file_access_override()
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    document = json.loads(proc.stdout)
    assert _paths(document) == {sentinel, "sub/app.py"}
    assert _all_notices(document) == {
        ("locked.py", "unreadable", "cannot read: Permission denied"),
        ("private", "unreadable", "cannot list directory: Permission denied"),
        # An unreadable .gitignore is told twice: its rules are not applied, and it is not scanned.
        ("sub/.gitignore", "unreadable", "cannot read .gitignore: Permission denied"),
        ("sub/.gitignore", "unreadable", "cannot read: Permission denied"),
    }
    assert document["stats"]["skipped"]["unreadable"] >= 2


def test_unreadable_file_in_text_output(locked_tree: Path) -> None:
    proc = _prodguard("scan", ".", cwd=locked_tree, prefix=_without_file_access_override())
    assert proc.returncode == 1
    assert "notice: locked.py: cannot read: Permission denied" in proc.stdout
    assert "skipped" in proc.stdout.splitlines()[-1] and "unreadable" in proc.stdout.splitlines()[-1]


def test_binary_file_is_skipped(run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random) -> None:
    png_like = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(2000))
    (tmp_path / "image.png").write_bytes(png_like + project_key(rng).encode() + png_like)
    document = _json_scan(run_cli, tmp_path, ".")
    assert _paths(document) == {sentinel}
    assert document["stats"]["skipped"] == {"binary": 1}
    assert document["stats"]["files_scanned"] == 1


def test_fifty_megabyte_file_is_skipped_with_a_notice(
    run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random
) -> None:
    line = b"2024-05-01T12:00:00Z INFO request served in 12ms\n"
    with open(tmp_path / "huge.log", "wb") as handle:
        handle.write(line * (50 * 1024 * 1024 // len(line) + 1))
        handle.write(f"OPENAI_API_KEY={project_key(rng)}\n".encode())
    document = _json_scan(run_cli, tmp_path, ".")
    assert _paths(document) == {sentinel}
    category, message = _notices(document)["huge.log"]
    assert category == "too_large"
    assert "50.0 MiB is over the 20.0 MiB limit" in message
    text = run_cli("scan", ".", cwd=tmp_path).stdout
    assert "notice: huge.log: skipped: 50.0 MiB" in text
    assert "skipped 1 over max_file_size" in text
    # Raising the limit scans it (and finds the key at its end).
    bigger = _json_scan(run_cli, tmp_path, ".", "--max-file-size", "64MiB")
    assert _paths(bigger) == {sentinel, "huge.log"}


def test_latin1_file_with_a_key(run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random) -> None:
    key = legacy_user_key(rng)
    text = f"# Schlüssel für das Café — ne pas committer\nOPENAI_API_KEY={key}  # clé de prod\n"
    (tmp_path / "réglages.env").write_bytes(text.replace("—", "-").encode("latin-1"))
    document = _json_scan(run_cli, tmp_path, ".")
    found = [f for f in document["findings"] if f["path"] == "réglages.env"]
    assert [(f["rule_id"], f["line"], f["column"]) for f in found] == [("PG101", 2, 16)]
    assert key not in json.dumps(document)


def test_non_utf8_file_name(run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random) -> None:
    name = b"cl\xe9_\xff.env"
    with open(os.path.join(os.fsencode(tmp_path), name), "wb") as handle:
        handle.write(f"OPENAI_API_KEY={project_key(rng)}\n".encode())
    shown = "cl\\xe9_\\xff.env"  # undecodable bytes are shown escaped
    for fmt in ("text", "junit"):
        result = run_cli("scan", ".", "--format", fmt, cwd=tmp_path)
        assert result.exit_code == 1, result.output
        assert shown in result.stdout
    sarif = json.loads(run_cli("scan", ".", "--format", "sarif", cwd=tmp_path).stdout)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in sarif["runs"][0]["results"]
    }
    assert uris == {sentinel, shown}
    document = _json_scan(run_cli, tmp_path, ".")
    assert _paths(document) == {sentinel, shown}


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_file_with_a_key(
    run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random, encoding: str
) -> None:
    key = service_account_key(rng)
    bom = b"\xff\xfe" if encoding == "utf-16-le" else b"\xfe\xff"
    text = f"# exported from Windows\r\nOPENAI_API_KEY={key}\r\n"
    (tmp_path / "settings.ps1").write_bytes(bom + text.encode(encoding))
    document = _json_scan(run_cli, tmp_path, ".")
    found = [f for f in document["findings"] if f["path"] == "settings.ps1"]
    assert [(f["rule_id"], f["line"], f["column"]) for f in found] == [("PG103", 2, 16)]


def test_symlink_loops(run_cli: Any, tmp_path: Path, sentinel: str) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "up").symlink_to("..")
    (tmp_path / "dangling").symlink_to("does-not-exist")
    document = _json_scan(run_cli, tmp_path, ".")
    assert _paths(document) == {sentinel}
    assert document["stats"]["skipped"] == {"symlink": 4}
    explicit = _json_scan(run_cli, tmp_path, "a", sentinel)
    assert _paths(explicit) == {sentinel}
    assert _notices(explicit)["a"] == ("symlink", "symbolic link not followed")


def _before_reading(monkeypatch: pytest.MonkeyPatch, changes: dict[str, Any]) -> None:
    """Run ``changes[path]()`` after ``path`` was listed, right before it is read."""
    real = run_module.read_entry

    def change_then_read(entry: Any, max_file_size: int) -> Any:
        change = changes.pop(entry.path, None)
        if change is not None:
            change()
        return real(entry, max_file_size)

    monkeypatch.setattr(run_module, "read_entry", change_then_read)


def test_file_deleted_mid_scan(
    run_cli: Any, tmp_path: Path, sentinel: str, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("gone.py", "dir-now.py"):
        (tmp_path / name).write_text(f'KEY = "{project_key(rng)}"\n')

    def into_directory() -> None:
        (tmp_path / "dir-now.py").unlink()
        (tmp_path / "dir-now.py").mkdir()

    changes = {"gone.py": (tmp_path / "gone.py").unlink, "dir-now.py": into_directory}
    _before_reading(monkeypatch, changes)
    document = _json_scan(run_cli, tmp_path, ".")
    assert changes == {}, "both files were listed, then changed before being read"
    assert _paths(document) == {sentinel}
    notices = _notices(document)
    assert notices["gone.py"] == ("vanished", "vanished during the scan")
    assert notices["dir-now.py"][0] == "vanished"


def test_fifo_is_skipped_and_never_blocks(tmp_path: Path, sentinel: str) -> None:
    os.mkfifo(tmp_path / "pipe")
    for args in ((".",), ("pipe", sentinel)):
        proc = _prodguard("scan", *args, "--format", "json", cwd=tmp_path)
        assert proc.returncode == 1, proc.stderr
        document = json.loads(proc.stdout)
        assert _paths(document) == {sentinel}
        assert _notices(document)["pipe"] == ("special", "not a regular file")


def test_file_replaced_by_a_fifo_mid_scan_does_not_block(
    tmp_path: Path, sentinel: str, rng: random.Random
) -> None:
    (tmp_path / "swapped.py").write_text(f'KEY = "{project_key(rng)}"\n')
    script = (
        "import os, sys\n"
        "from prodguard.scanner import run\n"
        "from prodguard.cli import main\n"
        "real = run.read_entry\n"
        "def swap_then_read(entry, limit):\n"
        "    if entry.path == 'swapped.py':\n"
        "        os.unlink('swapped.py'); os.mkfifo('swapped.py')\n"
        "    return real(entry, limit)\n"
        "run.read_entry = swap_then_read\n"
        "sys.argv = ['prodguard', 'scan', '.', '--format', 'json']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    assert _paths(document) == {sentinel}
    assert _notices(document)["swapped.py"] == ("special", "not a regular file any more")


def test_empty_files(run_cli: Any, tmp_path: Path, sentinel: str) -> None:
    for name in ("empty.py", "empty.ipynb", ".env", "blank.txt"):
        (tmp_path / name).write_bytes(b"" if name != "blank.txt" else b"\n\n\n")
    document = _json_scan(run_cli, tmp_path, ".")
    assert _paths(document) == {sentinel}
    assert document["stats"]["files_scanned"] == 5
    assert document["notices"] == []


def test_five_megabyte_minified_line_with_many_keyword_hits(
    run_cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    words = [k for k in KEYWORDS if k.isascii() and "\n" not in k]
    parts: list[str] = []
    size = 0
    i = 0
    while size < 5 * 1024 * 1024:
        part = f"var {words[i % len(words)]}{i}=f({i},'{words[(i * 7) % len(words)]}');"
        parts.append(part)
        size += len(part)
        i += 1
    keys = [project_key(rng), legacy_user_key(rng)]
    parts.insert(len(parts) // 3, f'const a="{keys[0]}";')
    parts.insert(2 * len(parts) // 3, f'const b="{keys[1]}";')
    minified = "".join(parts)
    (tmp_path / "bundle.min.js").write_text(minified)
    (tmp_path / "lines").mkdir()
    (tmp_path / "lines" / "bundle.js").write_text("\n".join(parts))

    started = time.perf_counter()
    document = _json_scan(run_cli, tmp_path, "bundle.min.js")
    single_line = time.perf_counter() - started
    started = time.perf_counter()
    split = _json_scan(run_cli, tmp_path, "lines")
    many_lines = time.perf_counter() - started

    found = [f for f in document["findings"] if f["rule_id"] in ("PG101", "PG102")]
    assert [(f["rule_id"], f["line"]) for f in found] == [("PG102", 1), ("PG101", 1)]
    assert [f["column"] for f in found] == [minified.index(keys[0]) + 1, minified.index(keys[1]) + 1]
    for finding in document["findings"]:
        assert len(finding["excerpt"]) <= EXCERPT_WIDTH + 2
    assert not set(keys) & {f["excerpt"] for f in document["findings"]}
    assert len([f for f in split["findings"] if f["rule_id"] in ("PG101", "PG102")]) == 2
    # One long line costs about what the same text split into lines costs: no quadratic path.
    assert single_line < 10 * many_lines + 1.0, (single_line, many_lines)


# --- property tests ----------------------------------------------------------------------------------


KEY_MAKERS = {"PG102": project_key, "PG103": service_account_key, "PG101": legacy_user_key}
CHUNKS = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([k.encode() for k in KEYWORDS]),
    st.sampled_from(
        [b"\n", b"\r\n", b" ", b"=", b'"', b"'", "é".encode(), "🔑".encode(), b"\xff", b"\x00", b"-"]
    ),
    st.tuples(st.sampled_from(sorted(KEY_MAKERS)), st.integers(0, 2**32)).map(
        lambda t: KEY_MAKERS[t[0]](random.Random(t[1])).encode()
    ),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(CHUNKS, max_size=40))
def test_random_bytes_never_crash_and_spans_lie_within_the_input(engine: Engine, chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    findings = engine.scan(Blob("random.bin", data))
    lines = unify_line_ends(data).split(b"\n")  # the scanner's line model: a lone CR ends a line too
    for finding in findings:
        assert 1 <= finding.line <= finding.end_line <= len(lines)
        text = lines[finding.line - 1].decode("utf-8", "replace")
        end_text = lines[finding.end_line - 1].decode("utf-8", "replace")
        assert 1 <= finding.column <= len(text) + 1
        assert 1 <= finding.end_column <= len(end_text) + 1
        if finding.end_line == finding.line:
            assert finding.column < finding.end_column
            secret = text[finding.column - 1 : finding.end_column - 1]
            if "\ufffd" not in text:
                # The span holds exactly the secret that was hashed.
                assert hash_secret(secret.encode()) == finding.secret_hash
                if len(secret) >= 16:
                    assert secret not in finding.excerpt


FILLER = [
    "import os",
    "",
    'api_key = os.environ["OPENAI_API_KEY"]',
    'OPENAI_API_KEY="sk-proj-..."',
    "OPENAI_API_KEY=${OPENAI_API_KEY}",
    "# rotate the token every 90 days",
    "def handler(event, context):",
    "    return {'statusCode': 200}",
    "model: gpt-4o-mini",
    "ключ = значение",
]
NAME = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-éü日本"), min_size=1, max_size=8
)
FILE = st.tuples(
    st.lists(NAME, max_size=3),  # directories
    NAME,
    st.sampled_from([".py", ".env", ".txt", ".yaml", ".js", ".md", ""]),
    st.lists(
        st.one_of(
            st.sampled_from(FILLER).map(lambda line: (line, None)),
            st.tuples(st.sampled_from(sorted(KEY_MAKERS)), st.integers(0, 2**32)),
        ),
        max_size=12,
    ),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(FILE, min_size=1, max_size=6))
def test_random_trees_yield_exactly_the_planted_keys(files: list[Any]) -> None:
    planted: set[tuple[str, int, str]] = set()
    paths: dict[str, str] = {}
    for directories, stem, extension, lines in files:
        path = "/".join([*(f"d{d}" for d in directories), f"{stem}{extension}"])
        assume(path not in paths and stem not in ("", "."))
        text = []
        for number, (what, seed) in enumerate(lines, start=1):
            if seed is None:
                text.append(what)
            else:
                text.append(f'{what.lower()}_key = "{KEY_MAKERS[what](random.Random(seed))}"')
                planted.add((path, number, what))
        paths[path] = "\n".join(text) + "\n"
    # A file may not also be a directory of another path.
    assume(not any(other.startswith(p + "/") for p in paths for other in paths))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        for path, content in paths.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(content, "utf-8")
        old = os.getcwd()
        os.chdir(root)
        try:
            result = CliRunner().invoke(cli, ["scan", ".", "--format", "json"], catch_exceptions=False)
        finally:
            os.chdir(old)
    assert result.exit_code == (1 if planted else 0), result.output
    document = json.loads(result.stdout)
    found = {
        (f["path"], f["line"], f["rule_id"]) for f in document["findings"] if f["rule_id"].startswith("PG1")
    }
    assert found == planted
    assert document["stats"]["files_scanned"] == len(paths)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet="abcAB-_01k", min_size=1, max_size=5), min_size=1, max_size=6),
    st.lists(st.one_of(st.binary(max_size=30), st.integers(0, 1000)), max_size=30),
)
def test_regex_and_hyperscan_prefilters_agree(extra: list[str], pieces: list[bytes | int]) -> None:
    assert hyperscan is not None, "the hyperscan wheel is a dependency on x86-64 and ARM64"
    keywords = list(dict.fromkeys([*KEYWORDS, *(k.lower() for k in extra)]))
    rng = random.Random(len(pieces))
    data = b"".join(
        piece
        if isinstance(piece, bytes)
        else bytes(
            c ^ 0x20 if rng.random() < 0.5 and chr(c).isalpha() else c
            for c in keywords[piece % len(keywords)].encode()
        )
        for piece in pieces
    )
    regex_hits = sorted(RegexPrefilter(keywords).hits(data))
    hyperscan_hits = sorted(HyperscanPrefilter(keywords).hits(data))
    assert regex_hits == hyperscan_hits
