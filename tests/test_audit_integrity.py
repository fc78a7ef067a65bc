"""The audit log against cuts that imitate a crash: a segment cut back by many acknowledged records (and
"repaired" by the next append), a deleted active segment, a forged or deleted head, segment names that
are links or FIFOs, and a purge asked to erase recent history."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from prodguard.guard._audit.errors import AuditLogError
from prodguard.guard._audit.format import read_frame_head
from prodguard.guard._audit.head import HEAD_NAME
from prodguard.guard._audit.keys import ENV_KEY_FILE, ENV_KEYS, format_key, generate_key
from prodguard.guard._audit.log import AuditLog
from tests.test_audit_log import frames, rewrite, segments


@pytest.fixture
def ring(monkeypatch: pytest.MonkeyPatch) -> str:
    text = format_key(generate_key("k1"))
    monkeypatch.setenv(ENV_KEYS, text)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    return text


def _log(directory: Path, ring: str, count: int, **options: object) -> list[int]:
    with AuditLog(directory, ring, **options) as log:  # type: ignore[arg-type]
        return [log.append({"n": n}) for n in range(count)]


def _seqs(directory: Path, ring: str) -> list[int]:
    """Every record's seq as written (readers stop at the gap, so frames are read directly)."""
    found = []
    for path in segments(directory):
        data = path.read_bytes()
        for start, _end in frames(path):
            head = read_frame_head(data, start)
            assert not isinstance(head, str)
            found.append(head.seq)
    return found


@pytest.mark.parametrize("fsync", ["always", "interval", "never"])
@pytest.mark.parametrize("cut", ["boundary", "mid-record"])
def test_cutting_acknowledged_records_fails_verify_even_after_the_next_append(
    tmp_path: Path, ring: str, fsync: str, cut: str
) -> None:
    acknowledged = _log(tmp_path, ring, 20, fsync=fsync)
    active = segments(tmp_path)[-1]
    spans = frames(active)
    keep = 5  # records 1-5 stay, 6-20 are cut
    start, end = spans[keep]
    end_of_kept = start if cut == "boundary" else start + (end - start) // 2
    rewrite(active, active.read_bytes()[:end_of_kept])
    # Before any append: verify already knows the log ends early.
    report = AuditLog(tmp_path, ring).verify()
    lost = [p for p in report.problems if p.code == "records-lost"]
    assert lost and "15 records removed from the end" in lost[0].message, report.problems
    # The next append must not "repair" the cut into a valid log, nor re-issue seqs 6-20.
    with AuditLog(tmp_path, ring, fsync=fsync) as log:
        new_seq = log.append({"n": "after the cut"})
    assert new_seq > max(acknowledged) + 1  # after the recovery record, which takes the next one
    seqs = _seqs(tmp_path, ring)
    assert not set(seqs) & set(range(keep + 1, max(acknowledged) + 1))
    report = AuditLog(tmp_path, ring).verify()
    assert not report.ok
    lost = [p for p in report.problems if p.code == "records-lost"]
    assert len(lost) == 1, report.problems
    assert "15 acknowledged records (seq 6 to 20)" in lost[0].message
    assert "found records up to seq 5" in lost[0].message
    # and it stays failed: more appends do not wash it out
    with AuditLog(tmp_path, ring, fsync=fsync) as log:
        log.append({"n": "later"})
    assert not AuditLog(tmp_path, ring).verify().ok


def test_a_crash_tail_is_still_only_a_notice(tmp_path: Path, ring: str) -> None:
    """Half a record that was never acknowledged is what a crash leaves: not reported as lost records."""
    _log(tmp_path, ring, 4)
    active = segments(tmp_path)[-1]
    start, end = frames(active)[-1]
    data = active.read_bytes()
    rewrite(active, data + data[start : start + (end - start) // 2])
    _log(tmp_path, ring, 1)
    report = AuditLog(tmp_path, ring).verify()
    assert report.ok, report.problems
    assert any("recovered after a crash" in n.message for n in report.notices)


def test_deleting_the_active_segment_is_caught_and_numbers_go_on(tmp_path: Path, ring: str) -> None:
    acknowledged = _log(tmp_path, ring, 30, segment_max_bytes=700)
    assert len(segments(tmp_path)) > 2
    segments(tmp_path)[-1].unlink()
    assert not AuditLog(tmp_path, ring).verify().ok
    _log(tmp_path, ring, 1)
    seqs = _seqs(tmp_path, ring)
    assert len(seqs) == len(set(seqs)) and max(seqs) > max(acknowledged)
    codes = {p.code for p in AuditLog(tmp_path, ring).verify().problems}
    assert "records-lost" in codes


def test_a_forged_or_deleted_head(tmp_path: Path, ring: str) -> None:
    _log(tmp_path, ring, 5)
    head = tmp_path / HEAD_NAME
    original = head.read_bytes()
    head.write_bytes(original.replace(b" 5 ", b" 3 ", 1))  # claims fewer records: MAC no longer matches
    problems = AuditLog(tmp_path, ring).verify().problems
    assert [p.code for p in problems] == ["head"]
    head.write_bytes(original)
    assert AuditLog(tmp_path, ring).verify().ok
    head.unlink()  # deleting it loses the protection only; the log itself still verifies
    assert AuditLog(tmp_path, ring).verify().ok


def test_a_head_from_the_past_is_not_a_false_alarm(tmp_path: Path, ring: str) -> None:
    _log(tmp_path, ring, 3)
    old = (tmp_path / HEAD_NAME).read_bytes()
    _log(tmp_path, ring, 3)
    (tmp_path / HEAD_NAME).write_bytes(old)  # a stale (older) head: the log goes beyond it
    assert AuditLog(tmp_path, ring).verify().ok


@pytest.mark.parametrize("kind", ["dangling", "loop", "device", "fifo"])
def test_segment_names_that_are_not_files(tmp_path: Path, ring: str, kind: str, run_cli: object) -> None:
    _log(tmp_path, ring, 3)
    odd = tmp_path / "segment-00000009.pgal"
    if kind == "dangling":
        odd.symlink_to(tmp_path / "nowhere")
    elif kind == "loop":
        odd.symlink_to(odd)
    elif kind == "device":
        odd.symlink_to("/dev/zero")
    else:
        os.mkfifo(odd)
    report = AuditLog(tmp_path, ring).verify()
    assert any(p.code == "not-a-segment" and p.segment == odd.name for p in report.problems)
    with pytest.raises(AuditLogError, match=r"segment-00000009\.pgal"):
        _log(tmp_path, ring, 1)
    result = run_cli("logs", "verify", "--dir", str(tmp_path))  # type: ignore[operator]
    assert result.exit_code == 1 and "segment-00000009.pgal" in result.output


def test_purge_keeps_the_last_day(tmp_path: Path, ring: str, run_cli: object) -> None:
    _log(tmp_path, ring, 3)
    with AuditLog(tmp_path, ring) as log, pytest.raises(AuditLogError, match="1 day"):
        log.purge(timedelta(hours=1))
    result = run_cli("logs", "purge", "--dir", str(tmp_path), "--older-than", "1s")  # type: ignore[operator]
    assert result.exit_code == 2 and "1 day" in result.output
    assert len(list(AuditLog(tmp_path, ring).records())) == 3


@pytest.mark.parametrize("since", ["99999999999d", "99999999999999999999w"])
def test_logs_since_far_back_is_a_usage_error(tmp_path: Path, ring: str, since: str, run_cli: object) -> None:
    _log(tmp_path, ring, 1)
    result = run_cli("logs", "show", "--dir", str(tmp_path), "--since", since)  # type: ignore[operator]
    assert result.exit_code == 2, result.output
    purge = run_cli("logs", "purge", "--dir", str(tmp_path), "--older-than", since)  # type: ignore[operator]
    assert purge.exit_code == 2, purge.output
