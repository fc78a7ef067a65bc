"""``prodguard logs show|verify|keygen|rotate|purge``: typed command functions that return exit codes.

The click wiring lives in ``prodguard.cli`` (the only module that imports click). Exit codes: 0 fine,
1 the log failed verification (or reading stopped at a tampered record), 2 usage, configuration or key
error. Output never contains key material except ``keygen`` printing the new key it was asked for.
"""

from __future__ import annotations

import json
import re
import sys
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from prodguard.errors import UsageError
from prodguard.guard._audit.errors import TamperDetected
from prodguard.guard._audit.keys import Keyring, add_key_to_file, format_key, generate_key
from prodguard.guard._audit.log import AuditLog, TornTailWarning

DEFAULT_DIRECTORY = ".prodguard/audit"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w``, ``45s``."""
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"not a duration: {text!r} (examples: 30d, 12h, 90m, 2w)")
    try:
        return timedelta(**{_UNITS[match.group(2).lower()]: float(match.group(1))})
    except OverflowError:
        raise UsageError(f"duration too long: {text!r}") from None


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or a duration back from now (``2h``)."""
    if _DURATION.match(text):
        try:
            return (now or datetime.now(UTC)) - parse_duration(text)
        except OverflowError:
            raise UsageError(f"--since: {text!r} reaches back before the year 1") from None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since: not a date, time or duration: {text!r} (examples: 2026-05-01, 2h)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _policy_audit(config: str | None) -> Any:
    """The ``[tool.prodguard.guard.audit]`` settings (directory, retention_days) of the project."""
    from prodguard.guard._policy.policy import Policy

    return Policy.load(config).audit


def _open(directory: str | None, config: str | None, key_file: str | None) -> AuditLog:
    path = Path(directory or _policy_audit(config).directory or DEFAULT_DIRECTORY)
    if not path.is_dir():
        raise UsageError(
            f"no audit log at {path} (use --dir, or set directory in [tool.prodguard.guard.audit])"
        )
    keys = Keyring.from_file(key_file) if key_file else Keyring.from_env()
    return AuditLog(path, keys)


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def logs_show(
    *,
    directory: str | None,
    config: str | None,
    key_file: str | None,
    since: str | None,
    fmt: str,
    system: bool,
) -> int:
    """Print the decrypted records (JSON lines or text), oldest first."""
    log = _open(directory, config, key_file)
    start = parse_since(since) if since else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TornTailWarning)
        try:
            for entry in log.entries(since=start, system=system):
                stamp = entry.time.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                if fmt == "json":
                    item = {
                        "seq": entry.seq,
                        "time": stamp,
                        "kind": entry.kind,
                        "segment": entry.segment,
                        "position": entry.position,
                        "record": entry.record,
                    }
                    _out(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
                else:
                    kind = "" if entry.kind == "data" else f"[{entry.kind}] "
                    _out(f"{stamp} #{entry.seq} {kind}{json.dumps(entry.record, ensure_ascii=False)}")
        except TamperDetected as exc:
            _err(f"prodguard: error: {exc}")
            return EXIT_FAILED
    for warning in caught:
        if issubclass(warning.category, TornTailWarning):
            _err(f"prodguard: warning: {warning.message}")
    return EXIT_OK


def logs_verify(
    *, directory: str | None, config: str | None, key_file: str | None, fmt: str, expect_head: str | None
) -> int:
    """Check every segment and record; exit 1 naming each problem, 2 when the key is missing or wrong."""
    log = _open(directory, config, key_file)
    report = log.verify(expect_head=expect_head)
    if fmt == "json":
        _out(json.dumps({"directory": str(log.directory), **report.to_dict()}, indent=2))
    else:
        _out(
            f"audit log {log.directory}: {report.segments} segments, {report.records} records, "
            f"{report.system_records} checkpoints"
        )
        for notice in report.notices:
            _out(f"  note: {notice}")
        for problem in report.problems:
            _out(f"  FAIL: {problem}")
        if report.head is not None:
            _out(f"head: {report.head}")
            _out(
                "  (keep a copy elsewhere; `verify --expect-head` then also detects records cut off the end)"
            )
        _out("verified: OK" if report.ok else f"verification FAILED: {len(report.problems)} problem(s)")
    if report.key_problems_only:
        _err("prodguard: error: the log could not be checked: a key is missing or wrong (see above)")
        return EXIT_USAGE
    return EXIT_OK if report.ok else EXIT_FAILED


def logs_keygen(*, key_id: str | None, key_file: str | None) -> int:
    """Generate a key; print ``id:base64`` or put it first in a 0600 key file."""
    key = generate_key(key_id)
    if key_file is None:
        _out(format_key(key))
        _err(
            "prodguard: new audit log key printed above; put it FIRST in PRODGUARD_LOG_KEYS "
            "(keep older keys after it until `prodguard logs rotate` has run)"
        )
        return EXIT_OK
    ring = add_key_to_file(Path(key_file), key)
    _out(f"added key {key.id} to {key_file} (keys, newest first: {', '.join(ring.ids)})")
    return EXIT_OK


def logs_rotate(*, directory: str | None, config: str | None, key_file: str | None) -> int:
    """Re-encrypt older segments under the newest key."""
    with _open(directory, config, key_file) as log:
        try:
            result = log.rotate()
        except TamperDetected as exc:
            _err(f"prodguard: error: not rotating: {exc}")
            return EXIT_FAILED
    if result.segments:
        _out(
            f"re-encrypted {len(result.segments)} segments ({result.records} records) under key {result.key_id}"
        )
    else:
        _out(f"nothing to re-encrypt: every sealed segment uses key {result.key_id}")
    return EXIT_OK


def logs_purge(
    *, directory: str | None, config: str | None, key_file: str | None, older_than: str | None
) -> int:
    """Remove whole segments older than the retention period, leaving a signed checkpoint."""
    if older_than is not None:
        age = parse_duration(older_than)
    else:
        days = _policy_audit(config).retention_days
        if days is None:
            raise UsageError(
                "--older-than is required (or set retention_days in [tool.prodguard.guard.audit])"
            )
        age = timedelta(days=days)
    with _open(directory, config, key_file) as log:
        result = log.purge(age)
    if result.segments:
        _out(
            f"purged {len(result.segments)} segments ({result.records} records, up to seq {result.through_seq}); "
            "a checkpoint records the purge"
        )
    else:
        _out("nothing to purge")
    return EXIT_OK
