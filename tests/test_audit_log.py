"""The encrypted, tamper-evident audit log: round trip, keys and rotation, purge, a tamper matrix that
must name the place every time, a SIGKILL crash, concurrent threads and processes, no plaintext on disk,
and the ``prodguard logs`` commands."""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from prodguard.guard._audit.errors import AuditKeyError, AuditLogError, TamperDetected
from prodguard.guard._audit.format import HEADER_SIZE, KeyCipher, SegmentHeader, read_frame_head, seal_frame
from prodguard.guard._audit.keys import ENV_KEY_FILE, ENV_KEYS, Keyring, format_key, generate_key
from prodguard.guard._audit.log import AuditLog, TornTailWarning
from prodguard.guard._audit.report import Problem
from tests.fakekeys import project_key

DAY = 24 * 3600 * 10**9


def new_keys(*ids: str) -> str:
    return ",".join(format_key(generate_key(key_id)) for key_id in ids)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> str:
    ring = new_keys("k1")
    monkeypatch.setenv(ENV_KEYS, ring)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    return ring


class Clock:
    """A controllable wall clock in nanoseconds (segments roll and purge by time)."""

    def __init__(self) -> None:
        self.now = 1_770_000_000 * 10**9

    def __call__(self) -> int:
        self.now += 1000
        return self.now


def segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("segment-*.pgal"))


def frames(path: Path) -> list[tuple[int, int]]:
    """(start, end) of every complete frame of a segment file."""
    buf = path.read_bytes()
    found, offset = [], HEADER_SIZE
    while offset < len(buf):
        head = read_frame_head(buf, offset)
        assert not isinstance(head, str), head
        found.append((head.offset, head.end))
        offset = head.end
    return found


def rewrite(path: Path, data: bytes) -> None:
    path.chmod(0o600)  # sealed segments are read-only
    path.write_bytes(data)


def build_log(
    directory: Path, ring: str, count: int = 12, *, segment_max_bytes: int = 700
) -> list[dict[str, object]]:
    records: list[dict[str, object]] = [
        {"n": n, "model": "gpt-4o-mini", "tokens": n * 7} for n in range(count)
    ]
    with AuditLog(directory, ring, segment_max_bytes=segment_max_bytes) as log:
        for record in records:
            log.append(record)
    return records


def first_problem(directory: Path, ring: str) -> Problem:
    report = AuditLog(directory, ring).verify()
    assert not report.ok
    return report.problems[0]


# --------------------------------------------------------------------------------------- basics


def test_round_trip(tmp_path: Path, keys: str) -> None:
    records = [
        {"model": "gpt-4o", "request": 'Ünïcødé ✓ and "quotes"', "usage": {"total_tokens": 12}},
        {"nested": [1, 2.5, None, True, {"a": []}]},
        {},
    ]
    with AuditLog(tmp_path / "log") as log:
        seqs = [log.append(record) for record in records]
    assert seqs == [1, 2, 3]
    log = AuditLog(tmp_path / "log")
    assert list(log.records()) == records
    entries = list(log.entries())
    assert [(e.seq, e.position, e.kind, e.segment) for e in entries] == [
        (1, 0, "data", "segment-00000001.pgal"),
        (2, 1, "data", "segment-00000001.pgal"),
        (3, 2, "data", "segment-00000001.pgal"),
    ]
    report = log.verify()
    assert report.ok and report.records == 3 and report.segments == 1
    assert report.head is not None and report.head.seq == 3
    # Reopening continues the same chain.
    with AuditLog(tmp_path / "log") as again:
        assert again.append({"after": "reopen"}) == 4
    assert AuditLog(tmp_path / "log").verify().ok


def test_files_are_private(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 12)
    assert len(segments(tmp_path)) > 1
    *sealed, active = segments(tmp_path)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o400 for p in sealed)
    assert stat.S_IMODE(active.stat().st_mode) == 0o600


def test_since_filters_by_time(tmp_path: Path, keys: str) -> None:
    clock = Clock()
    with AuditLog(tmp_path, keys, clock=clock) as log:
        log.append({"n": 1})
        clock.now += DAY
        log.append({"n": 2})
    middle = datetime.fromtimestamp((clock.now - DAY // 2) / 10**9, UTC)
    assert list(AuditLog(tmp_path, keys).records(since=middle)) == [{"n": 2}]


def test_segments_roll_by_size_and_age(tmp_path: Path, keys: str) -> None:
    clock = Clock()
    with AuditLog(tmp_path, keys, clock=clock, segment_max_age=timedelta(hours=1)) as log:
        log.append({"n": 1})
        log.append({"n": 2})
        clock.now += 2 * 3600 * 10**9
        log.append({"n": 3})
    assert len(segments(tmp_path)) == 2
    assert AuditLog(tmp_path, keys).verify().ok


def test_unusable_records_are_refused_without_echoing_them(tmp_path: Path, keys: str) -> None:
    log = AuditLog(tmp_path, keys)
    with pytest.raises(AuditLogError) as caught:
        log.append({"secret-looking": {1, 2, 3}, "value": "Zq81-very-private"})
    assert "Zq81" not in str(caught.value)
    with pytest.raises(AuditLogError):
        log.append(["not", "a", "mapping"])
    with pytest.raises(AuditLogError):
        AuditLog(tmp_path, keys, fsync="sometimes")


def test_reading_a_missing_log_is_a_clear_error(tmp_path: Path, keys: str) -> None:
    with pytest.raises(AuditLogError, match="no audit log"):
        list(AuditLog(tmp_path / "nothing").records())


# ------------------------------------------------------------------------------------------ keys


def test_wrong_key(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 3)
    other = new_keys("k1")  # same id, different secret
    with pytest.raises(AuditKeyError) as caught:
        list(AuditLog(tmp_path, other).records())
    assert "segment-00000001.pgal" in str(caught.value) and "different key" in str(caught.value)
    report = AuditLog(tmp_path, other).verify()
    assert not report.ok and report.key_problems_only
    assert report.problems[0].code == "wrong-key"
    for secret in (other, keys):
        assert secret.split(":")[1] not in str(caught.value)


def test_key_not_loaded(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 3)
    with pytest.raises(AuditKeyError, match="'k1', which is not loaded"):
        list(AuditLog(tmp_path, new_keys("k9")).records())
    with pytest.raises(AuditKeyError, match="'k1', which is not loaded"):
        AuditLog(tmp_path, new_keys("k9")).append({"n": 1})


def test_missing_key_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    with pytest.raises(AuditKeyError, match="PRODGUARD_LOG_KEYS"):
        AuditLog(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k1", "not id:base64"),
        ("k1:%%%%", "not valid base64"),
        ("k1:" + "QUJD", "must be 32 bytes, not 3"),
        ("bad id:" + "A" * 43, "not id:base64"),
        ("-x:" + "A" * 43, "key id must be"),
        ("", "no audit log key"),
    ],
)
def test_malformed_keys(text: str, message: str) -> None:
    with pytest.raises(AuditKeyError, match=message):
        Keyring.parse(text, ENV_KEYS)


def test_duplicate_key_ids_and_no_secret_in_messages() -> None:
    ring = new_keys("k1")
    with pytest.raises(AuditKeyError, match="appears twice") as caught:
        Keyring.parse(ring + "," + ring)
    assert ring.split(":")[1] not in str(caught.value)
    assert ring.split(":")[1] not in repr(Keyring.parse(ring))
    # URL-safe alphabet and missing padding are accepted: keys get pasted between tools.
    secret = generate_key("k2").secret
    import base64

    urlsafe = base64.urlsafe_b64encode(secret).decode().rstrip("=")
    assert Keyring.parse(f"k2:{urlsafe}").newest.secret == secret


def test_key_file_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(new_keys("k1") + "\n")
    key_file.chmod(0o644)
    with pytest.raises(AuditKeyError, match=r"mode 0644.*chmod 600"):
        Keyring.from_file(key_file)
    key_file.chmod(0o600)
    assert Keyring.from_file(key_file).ids == ("k1",)
    monkeypatch.delenv(ENV_KEYS, raising=False)
    monkeypatch.setenv(ENV_KEY_FILE, str(key_file))
    assert AuditLog(tmp_path / "log").keyring.ids == ("k1",)


def test_rotation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = new_keys("k1")
    records = build_log(tmp_path, old, 10)
    old_segments = [p.name for p in segments(tmp_path)]
    both = new_keys("k2") + "," + old
    with AuditLog(tmp_path, both) as log:
        log.append({"n": "after rotation"})
        newest = segments(tmp_path)[-1]
        assert newest.name not in old_segments  # new records use the newest key, in a new segment
        assert header_key(newest) == "k2"
        assert list(log.records())[:10] == records  # old segments stay readable
        result = log.rotate()
    assert set(result.segments) == set(old_segments) and result.key_id == "k2"
    assert {header_key(p) for p in segments(tmp_path)} == {"k2"}
    assert not list(tmp_path.glob(".*rotating*"))
    only_new = both.split(",")[0]
    log = AuditLog(tmp_path, only_new)
    report = log.verify()
    assert report.ok, report.problems
    assert any("re-encrypted under key 'k2'" in n.message for n in report.notices)
    assert list(log.records()) == [*records, {"n": "after rotation"}]
    with AuditLog(tmp_path, only_new) as log:
        assert log.rotate().segments == ()


def test_rotate_refuses_a_tampered_segment(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 10)
    first = segments(tmp_path)[0]
    start, _end = frames(first)[1]
    data = bytearray(first.read_bytes())
    data[start + 80] ^= 1
    rewrite(first, bytes(data))
    with pytest.raises(TamperDetected, match=r"segment-00000001.pgal record 1"):
        AuditLog(tmp_path, new_keys("k2") + "," + keys).rotate()
    assert header_key(first) == "k1"  # evidence left as it was


def header_key(path: Path) -> str:
    from prodguard.guard._audit.format import parse_header

    return parse_header(path.read_bytes()).key_id


# ----------------------------------------------------------------------------------------- purge


def test_purge_then_verify(tmp_path: Path, keys: str) -> None:
    clock = Clock()
    with AuditLog(tmp_path, keys, clock=clock, segment_max_bytes=700) as log:
        for n in range(12):
            log.append({"n": n, "day": 0})
        clock.now += 40 * DAY
        for n in range(12, 16):
            log.append({"n": n, "day": 40})
        before = [p.name for p in segments(tmp_path)]
        result = log.purge(timedelta(days=30))
    assert result.segments and set(result.segments) < set(before)
    remaining = [r["n"] for r in AuditLog(tmp_path, keys).records()]
    assert remaining[-4:] == [12, 13, 14, 15] and remaining[0] > 0
    report = AuditLog(tmp_path, keys).verify()
    assert report.ok, report.problems
    assert any("purge checkpoint" in n.message for n in report.notices)
    # Deleting one more segment after a purge is still caught.
    segments(tmp_path)[0].unlink()
    problem = first_problem(tmp_path, keys)
    assert problem.code == "missing-start" and problem.segment == segments(tmp_path)[0].name


def test_purge_everything_old_including_the_active_segment(tmp_path: Path, keys: str) -> None:
    clock = Clock()
    with AuditLog(tmp_path, keys, clock=clock) as log:
        for n in range(5):
            log.append({"n": n})
        clock.now += 31 * DAY
        result = log.purge(timedelta(days=30))
        assert result.through_seq == 5
        assert log.purge(timedelta(days=30)).segments == ()
        log.append({"n": "later"})
    assert list(AuditLog(tmp_path, keys).records()) == [{"n": "later"}]
    assert AuditLog(tmp_path, keys).verify().ok


# -------------------------------------------------------------------------------- tamper matrix


def test_every_single_byte_flip_is_detected_and_located(tmp_path: Path, keys: str) -> None:
    """Flip each byte of a sealed segment in turn (header, frame length/kind/seq/time/prev/nonce/CRC,
    ciphertext, tag): verify must fail and name the segment, and the record index for frame bytes."""
    build_log(tmp_path, keys, 12)
    target = segments(tmp_path)[1]
    original = target.read_bytes()
    spans = frames(target)
    classes: set[str] = set()
    for position in range(len(original)):
        data = bytearray(original)
        data[position] ^= 0x20
        rewrite(target, bytes(data))
        report = AuditLog(tmp_path, keys).verify()
        assert not report.ok and not report.key_problems_only  # tampering, never mistaken for a key error
        problem = report.problems[0]
        assert problem.segment == target.name, (position, problem)
        if position < HEADER_SIZE:
            assert problem.record is None, (position, problem)
            classes.add("header")
            continue
        index = next(i for i, (start, end) in enumerate(spans) if start <= position < end)
        assert problem.record == index, (position, problem)
        start, end = spans[index]
        classes.add(
            "frame header"
            if position < start + 57
            else "nonce"
            if position < start + 65
            else "crc"
            if position < start + 69
            else "tag"
            if position >= end - 16
            else "ciphertext"
        )
    rewrite(target, original)
    assert AuditLog(tmp_path, keys).verify().ok
    assert classes == {"header", "frame header", "nonce", "crc", "ciphertext", "tag"}


def test_delete_a_record(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys)
    target = segments(tmp_path)[1]
    data = target.read_bytes()
    start, end = frames(target)[1]
    rewrite(target, data[:start] + data[end:])
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.record, problem.code) == (target.name, 1, "sequence")
    assert "missing" in problem.message


def test_swap_two_records(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys)
    target = segments(tmp_path)[1]
    data = target.read_bytes()
    (a0, a1), (b0, b1) = frames(target)[0:2]
    rewrite(target, data[:a0] + data[b0:b1] + data[a0:a1] + data[b1:])
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.record, problem.code) == (target.name, 0, "sequence")


def test_move_a_record_to_another_segment(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys)
    first, second = segments(tmp_path)[:2]
    start, end = frames(first)[-1]
    moved = first.read_bytes()[start:end]
    rewrite(first, first.read_bytes()[:start])
    data = second.read_bytes()
    rewrite(second, data[:HEADER_SIZE] + moved + data[HEADER_SIZE:])
    report = AuditLog(tmp_path, keys).verify()
    # The first segment now ends early (its successor's header says so) and the moved record fails
    # authentication where it landed.
    assert [(p.segment, p.record, p.code) for p in report.problems] == [
        (second.name, None, "chain-broken"),
        (second.name, 0, "auth-failed"),
    ]


@pytest.mark.parametrize("which", ["sealed", "active"])
def test_truncate_mid_file(tmp_path: Path, keys: str, which: str) -> None:
    build_log(tmp_path, keys)
    target = segments(tmp_path)[0 if which == "sealed" else -1]
    start, end = frames(target)[1]
    rewrite(target, target.read_bytes()[: start + (end - start) // 2])
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.record, problem.offset) == (target.name, 1, start)
    assert problem.code == ("truncated-segment" if which == "sealed" else "torn-tail")


def test_forged_record_with_another_key(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys)
    active = segments(tmp_path)[-1]
    data = active.read_bytes()
    header = SegmentHeader(*_header_fields(data))
    attacker = KeyCipher(generate_key("k1"))
    last_start, _ = frames(active)[-1]
    seq = read_frame_head(data, last_start).seq + 1
    frame, _ = seal_frame(
        attacker,
        header.binding,
        1,
        seq,
        time.time_ns(),
        os.urandom(32),
        os.urandom(12),
        os.urandom(16) + b"{}",
    )
    rewrite(active, data + frame)
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.record, problem.code) == (
        active.name,
        len(frames(active)) - 1,
        "auth-failed",
    )
    with pytest.raises(TamperDetected, match=active.name):
        list(AuditLog(tmp_path, keys).records())


def test_forged_segment_with_another_key(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys)
    last = segments(tmp_path)[-1]
    header = SegmentHeader(*_header_fields(last.read_bytes()))
    attacker = KeyCipher(generate_key("k1"))
    forged = SegmentHeader.new(
        attacker, header.log_id, header.segment_id + 1, 99, time.time_ns(), os.urandom(32)
    )
    path = tmp_path / f"segment-{header.segment_id + 1:08d}.pgal"
    path.write_bytes(forged.pack(attacker))
    problem = first_problem(tmp_path, keys)
    assert problem.segment == path.name and problem.record is None


def _header_fields(data: bytes) -> tuple[object, ...]:
    from prodguard.guard._audit.format import parse_header

    h = parse_header(data)
    return (h.log_id, h.segment_id, h.first_seq, h.created_ns, h.prev_link, h.key_id, h.key_check)


def test_delete_a_whole_segment(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 16)
    names = [p.name for p in segments(tmp_path)]
    assert len(names) >= 4
    middle = tmp_path / names[1]
    saved = middle.read_bytes()
    middle.unlink()
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.code) == (names[2], "missing-segment")
    assert "segment 2 " in problem.message
    middle.write_bytes(saved)
    (tmp_path / names[0]).unlink()  # the oldest, without a purge checkpoint
    problem = first_problem(tmp_path, keys)
    assert (problem.segment, problem.code) == (names[1], "missing-start")


def test_delete_the_newest_segment_is_caught_with_an_expected_head(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 16)
    head = AuditLog(tmp_path, keys).verify().head
    assert head is not None
    segments(tmp_path)[-1].unlink()
    report = AuditLog(tmp_path, keys).verify(expect_head=str(head))
    assert not report.ok and report.problems[0].code == "anchor"
    assert report.problems[0].segment == segments(tmp_path)[-1].name


def test_segment_from_another_log(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path / "a", keys)
    build_log(tmp_path / "b", keys)
    name = segments(tmp_path / "a")[1].name
    rewrite(tmp_path / "a" / name, (tmp_path / "b" / name).read_bytes())
    problem = first_problem(tmp_path / "a", keys)
    assert problem.segment == name and problem.code == "foreign-segment"


# ------------------------------------------------------------------------------- crash recovery


CHILD = textwrap.dedent(
    """
    import signal, sys
    from prodguard.guard._audit.log import AuditLog
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; a crossed file size limit kills
    log = AuditLog(sys.argv[1], fsync="always", segment_max_bytes=int(sys.argv[3]))
    blob = "z" * int(sys.argv[2])
    n = 0
    while True:
        n += 1
        seq = log.append({"n": n, "blob": blob})
        sys.stdout.write(f"{seq}\\n")
        sys.stdout.flush()
    """
)


def run_child(
    directory: Path, payload: int, acks: int, delay: float, file_limit: int | None = None
) -> list[int]:
    """Run CHILD; SIGKILL it ``delay`` seconds after its ``acks``-th acknowledgement (or let the file size
    limit kill it first). Returns every sequence number it acknowledged, including those still in the pipe."""

    def limit() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(directory), str(payload), str(256 * 1024 * 1024)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=limit,
    )
    assert child.stdout is not None
    acknowledged: list[int] = []
    for line in child.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= acks:
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            break
    acknowledged += [int(line) for line in child.stdout]
    child.wait()
    assert child.returncode == -(signal.SIGXFSZ if file_limit else signal.SIGKILL)
    return acknowledged


def check_after_crash(directory: Path, keys: str, acknowledged: list[int]) -> bool:
    """Every acknowledged record is readable; the only possible problem is a torn last record, which
    readers warn about and the next writer cuts off and records. Returns whether there was one."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = [entry.seq for entry in AuditLog(directory, keys).entries()]
    assert acknowledged and set(acknowledged) <= set(read)
    assert read == list(range(1, len(read) + 1))
    report = AuditLog(directory, keys).verify()
    torn = [p for p in report.problems if p.code == "torn-tail"]
    assert report.problems == tuple(torn), report.problems
    if torn:
        assert (torn[0].segment, torn[0].record) == (segments(directory)[-1].name, len(read))
        assert any(issubclass(w.category, TornTailWarning) for w in caught)
    with AuditLog(directory, keys) as log:
        log.append({"n": "after crash"})
    report = AuditLog(directory, keys).verify()
    assert report.ok, report.problems
    assert bool(torn) == any("recovered after a crash" in n.message for n in report.notices)
    return bool(torn)


@pytest.mark.parametrize(("payload", "acks"), [(200, 40), (3_000_000, 2)])
def test_sigkill_while_appending_loses_no_acknowledged_record(
    tmp_path: Path, keys: str, payload: int, acks: int
) -> None:
    """A child appends in a loop with fsync per record and prints each acknowledged seq; SIGKILL it at
    several points of its write cycle. Every acknowledged record must be readable afterwards."""
    for attempt, delay in enumerate((0.0, 0.002, 0.004, 0.008)):
        directory = tmp_path / str(attempt)
        acknowledged = run_child(directory, payload, acks, delay)
        check_after_crash(directory, keys, acknowledged)


def test_killed_inside_a_write_leaves_a_torn_tail_that_is_reported(tmp_path: Path, keys: str) -> None:
    """Deterministically kill a writer in the middle of a frame: with a file size limit the kernel
    writes part of the frame, and the writer's attempt to write the rest gets it killed (SIGXFSZ)."""
    acknowledged = run_child(tmp_path, 50_000, 10**9, 0.0, file_limit=HEADER_SIZE + 20 * 50_000)
    assert len(acknowledged) >= 10
    assert check_after_crash(tmp_path, keys, acknowledged)  # a torn tail was there, reported, recovered


def test_torn_tail_is_reported_and_recovered(tmp_path: Path, keys: str) -> None:
    """What a crash leaves when a write is cut short (simulated deterministically: half a frame)."""
    build_log(tmp_path, keys, 3)
    active = segments(tmp_path)[-1]
    start, end = frames(active)[-1]
    data = active.read_bytes()
    torn_at = len(data)
    rewrite(active, data + data[start : start + (end - start) // 2])
    report = AuditLog(tmp_path, keys).verify()
    assert [(p.segment, p.record, p.offset, p.code) for p in report.problems] == [
        (active.name, len(frames_before(data)), torn_at, "torn-tail")
    ]
    assert "incomplete record" in report.problems[0].message
    with pytest.warns(TornTailWarning, match=active.name):
        assert len(list(AuditLog(tmp_path, keys).records())) == 3
    with AuditLog(tmp_path, keys) as log:
        log.append({"n": "next"})
    report = AuditLog(tmp_path, keys).verify()
    assert report.ok
    notice = next(n for n in report.notices if "recovered" in n.message)
    assert f"{(end - start) // 2} bytes" in notice.message and str(torn_at) in notice.message
    system = [e for e in AuditLog(tmp_path, keys).entries(system=True) if e.kind == "recovery"]
    assert system and system[0].record["torn_bytes"] == (end - start) // 2


def frames_before(data: bytes) -> list[int]:
    offsets, offset = [], HEADER_SIZE
    while offset < len(data):
        head = read_frame_head(data, offset)
        assert not isinstance(head, str)
        offsets.append(offset)
        offset = head.end
    return offsets


def test_zero_filled_tail_counts_as_torn(tmp_path: Path, keys: str) -> None:
    build_log(tmp_path, keys, 3)
    active = segments(tmp_path)[-1]
    rewrite(active, active.read_bytes() + bytes(300))
    problem = first_problem(tmp_path, keys)
    assert problem.code == "torn-tail" and "zero bytes" in problem.message


# ---------------------------------------------------------------------------------- concurrency


def test_threads_append_concurrently(tmp_path: Path, keys: str) -> None:
    with AuditLog(tmp_path, keys, fsync="interval", fsync_interval_ms=5, segment_max_bytes=20_000) as log:

        def work(t: int) -> None:
            for i in range(150):
                log.append({"t": t, "i": i, "pad": "p" * random.randint(0, 300)})

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    report = AuditLog(tmp_path, keys).verify()
    assert report.ok, report.problems
    assert report.records == 1200 and len(segments(tmp_path)) > 3
    records = list(AuditLog(tmp_path, keys).records())
    assert sorted((r["t"], r["i"]) for r in records) == [(t, i) for t in range(8) for i in range(150)]
    assert switches([r["t"] for r in records]) > 20


WORKER = textwrap.dedent(
    """
    import sys, threading, time
    from prodguard.guard._audit.log import AuditLog
    directory, proc, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    log = AuditLog(directory, segment_max_bytes=16_000, fsync=sys.argv[4])
    sys.stdin.readline()  # start together: wait until every process is up
    def work(t):
        for i in range(count):
            log.append({"p": proc, "t": t, "i": i, "pad": "q" * ((proc * 37 + i * 11) % 400)})
            if i % 25 == 0:
                # On a loaded machine a writer without fsync could finish before the others start; a
                # pause now and then lets the scheduler interleave them, which is what is under test.
                time.sleep(0.002)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    log.close()
    """
)


def switches(values: list[object]) -> int:
    return sum(1 for a, b in itertools.pairwise(values) if a != b)


def test_processes_append_concurrently(tmp_path: Path, keys: str) -> None:
    """Four processes with two threads each append at the same time (two with fsync per record, two
    without) into small segments that roll over under contention; one chain results."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), str(p), "250", "never" if p % 2 else "always"],
            stdin=subprocess.PIPE,
        )
        for p in range(4)
    ]
    time.sleep(0.5)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
    assert [proc.wait(timeout=120) for proc in procs] == [0, 0, 0, 0]
    report = AuditLog(tmp_path, keys).verify()
    assert report.ok, report.problems
    assert report.records == 4 * 2 * 250 and len(segments(tmp_path)) > 5
    records = list(AuditLog(tmp_path, keys).records())
    assert sorted((r["p"], r["t"], r["i"]) for r in records) == [
        (p, t, i) for p in range(4) for t in range(2) for i in range(250)
    ]
    assert switches([r["p"] for r in records]) > 20  # the writers really were interleaved


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads: none are running here
def test_forked_child_gets_its_own_lock_and_nonces(tmp_path: Path, keys: str) -> None:
    log = AuditLog(tmp_path, keys)
    log.append({"who": "parent", "i": -1})
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            for i in range(50):
                log.append({"who": "child", "i": i})
        finally:
            os._exit(0)
    for i in range(50):
        log.append({"who": "parent", "i": i})
    _, status = os.waitpid(pid, 0)
    assert status == 0
    log.close()
    report = AuditLog(tmp_path, keys).verify()
    assert report.ok and report.records == 101
    nonces = [
        read_frame_head(path.read_bytes(), start).nonce
        for path in segments(tmp_path)
        for start, _end in frames(path)
    ]
    assert len(set(nonces)) == len(nonces)


def test_fsync_policies(tmp_path: Path, keys: str) -> None:
    for policy in ("always", "interval", "never"):
        with AuditLog(tmp_path / policy, keys, fsync=policy, fsync_interval_ms=10) as log:
            for i in range(20):
                log.append({"i": i})
            if policy == "interval":
                deadline = time.monotonic() + 5
                while log._writer is not None and log._writer._dirty and time.monotonic() < deadline:
                    time.sleep(0.01)
                assert log._writer is not None and not log._writer._dirty  # the flusher ran
        assert len(list(AuditLog(tmp_path / policy, keys).records())) == 20


# ------------------------------------------------------------------------------ nothing in clear


def test_no_plaintext_pii_or_secret_on_disk(tmp_path: Path, keys: str) -> None:
    rng = random.Random(66)
    secret = project_key(rng)
    planted = [secret, "maria.gonzalez@corpmail.net", "+1 415 555 0134", "078-05-1120", "Maria Gonzalez"]
    with AuditLog(tmp_path, keys, segment_max_bytes=2000) as log:
        for i in range(30):
            log.append({"request": f"Call {planted[4]} at {planted[2]} or {planted[1]}", "ssn": planted[3]})
            log.append({"response": f"the key is {secret}", "i": i})
        log.rotate()
        log.append({"after": planted[1]})
    blobs = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert blobs
    for value in [*planted, keys.split(":")[1]]:
        for encoded in {value.encode(), value.lower().encode(), value.encode("utf-16-le")}:
            assert encoded not in blobs, value[:6]
    assert generate_key.__name__  # keys themselves never touch the log directory:
    assert Keyring.parse(keys).newest.secret not in blobs


# ------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def cli_log(tmp_path: Path, keys: str) -> Iterator[Path]:
    directory = tmp_path / "log"
    build_log(directory, keys, 12)
    yield directory


def test_cli_show(run_cli, cli_log: Path) -> None:
    result = run_cli("logs", "show", "--dir", str(cli_log), "--format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["record"]["n"] for line in lines] == list(range(12))
    assert lines[0]["seq"] == 1 and lines[0]["segment"] == "segment-00000001.pgal"
    text = run_cli("logs", "show", "--dir", str(cli_log), "--since", "1h")
    assert text.exit_code == 0 and text.stdout.count("\n") == 12 and '"model": "gpt-4o-mini"' in text.stdout
    future = run_cli("logs", "show", "--dir", str(cli_log), "--since", "2999-01-01")
    assert future.exit_code == 0 and future.stdout == ""
    bad = run_cli("logs", "show", "--dir", str(cli_log), "--since", "yesterday-ish")
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_cli_verify(run_cli, cli_log: Path, keys: str) -> None:
    ok = run_cli("logs", "verify", "--dir", str(cli_log))
    assert ok.exit_code == 0 and "verified: OK" in ok.stdout
    head = next(line.split()[1] for line in ok.stdout.splitlines() if line.startswith("head:"))
    target = segments(cli_log)[1]
    start, _end = frames(target)[2]
    data = bytearray(target.read_bytes())
    data[start + 90] ^= 4
    rewrite(target, bytes(data))
    bad = run_cli("logs", "verify", "--dir", str(cli_log), "--expect-head", head)
    assert bad.exit_code == 1
    assert f"FAIL: {target.name} record 2" in bad.stdout and "authentication failed" in bad.stdout
    as_json = json.loads(run_cli("logs", "verify", "--dir", str(cli_log), "--format", "json").stdout)
    assert as_json["ok"] is False and as_json["problems"][0]["segment"] == target.name
    shown = run_cli("logs", "show", "--dir", str(cli_log))
    assert shown.exit_code == 1 and "Traceback" not in shown.output and target.name in shown.stderr


def test_cli_corrupt_files_give_errors_not_tracebacks(run_cli, cli_log: Path) -> None:
    (cli_log / "segment-00000099.pgal").write_bytes(b"garbage")
    result = run_cli("logs", "verify", "--dir", str(cli_log))
    assert (
        result.exit_code == 1
        and "segment-00000099.pgal" in result.stdout
        and "Traceback" not in result.output
    )
    rewrite(segments(cli_log)[0], b"\0" * 10)
    result = run_cli("logs", "show", "--dir", str(cli_log))
    assert result.exit_code == 1 and "header truncated" in result.stderr


def test_cli_key_errors_exit_2(run_cli, cli_log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEYS, new_keys("k1"))
    verify = run_cli("logs", "verify", "--dir", str(cli_log))
    assert verify.exit_code == 2 and "different key" in verify.stdout
    show = run_cli("logs", "show", "--dir", str(cli_log))
    assert show.exit_code == 2 and "different key" in show.stderr
    monkeypatch.delenv(ENV_KEYS)
    missing = run_cli("logs", "show", "--dir", str(cli_log))
    assert missing.exit_code == 2 and "PRODGUARD_LOG_KEYS" in missing.stderr
    nowhere = run_cli("logs", "verify", "--dir", str(cli_log / "nope"))
    assert nowhere.exit_code == 2 and "no audit log" in nowhere.stderr


def test_cli_keygen_rotate_purge(run_cli, cli_log: Path, keys: str, tmp_path: Path) -> None:
    printed = run_cli("logs", "keygen", "--id", "k2")
    assert printed.exit_code == 0 and Keyring.parse(printed.stdout).ids == ("k2",)
    key_file = tmp_path / "audit.keys"
    key_file.write_text(keys + "\n")
    key_file.chmod(0o600)
    added = run_cli("logs", "keygen", "--id", "k3", "--key-file", str(key_file))
    assert added.exit_code == 0 and "k3" in added.stdout and ":" not in added.stdout.split("(")[0][-3:]
    assert Keyring.from_file(key_file).ids == ("k3", "k1")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Keyring.from_file(key_file).newest.secret.hex() not in added.output
    rotated = run_cli("logs", "rotate", "--dir", str(cli_log), "--key-file", str(key_file))
    assert rotated.exit_code == 0 and "under key k3" in rotated.stdout
    assert {header_key(p) for p in segments(cli_log)} == {"k3"}
    purge = run_cli(
        "logs", "purge", "--dir", str(cli_log), "--key-file", str(key_file), "--older-than", "30d"
    )
    assert purge.exit_code == 0 and "nothing to purge" in purge.stdout
    no_age = run_cli("logs", "purge", "--dir", str(cli_log), "--key-file", str(key_file), cwd=tmp_path)
    assert no_age.exit_code == 2 and "--older-than" in no_age.stderr
    key_file.chmod(0o640)
    unsafe = run_cli("logs", "verify", "--dir", str(cli_log), "--key-file", str(key_file))
    assert unsafe.exit_code == 2 and "chmod 600" in unsafe.stderr


def test_cli_purge_with_policy_retention(run_cli, tmp_path: Path, keys: str) -> None:
    directory = tmp_path / "audit"
    clock = Clock()
    clock.now = time.time_ns() - 60 * DAY
    with AuditLog(directory, keys, clock=clock) as log:
        for n in range(5):
            log.append({"n": n})
    (tmp_path / "prodguard.toml").write_text(
        '[guard.audit]\nenabled = true\ndirectory = "audit"\nretention_days = 30\n'
    )
    result = run_cli("logs", "purge", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "purged 1 segments" in result.stdout
    verify = run_cli("logs", "verify", cwd=tmp_path)
    assert verify.exit_code == 0 and "purge checkpoint" in verify.stdout


def test_shutil_copy_of_a_log_verifies(tmp_path: Path, keys: str) -> None:
    """Backups (copies without the lock file) stay verifiable and readable."""
    build_log(tmp_path / "live", keys)
    shutil.copytree(tmp_path / "live", tmp_path / "backup", ignore=shutil.ignore_patterns(".lock"))
    assert AuditLog(tmp_path / "backup", keys).verify().ok
