"""Baselines: known findings that a scan should not report again.

An entry is (rule id, path, salted hash of the secret). It never holds the secret, a line number or a
commit, so moving lines, reformatting, rebasing or squashing leave it valid; renaming the file does not
(a secret in a new place is a new exposure). The salt is random per baseline and kept when the file is
rewritten, and entries are sorted, so re-creating an unchanged baseline changes no byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from prodguard.auxfiles import BASELINE_LIMIT, read_limited
from prodguard.errors import ConfigError
from prodguard.scanner.finding import Finding
from prodguard.scanner.run import ScanResult

BASELINE_VERSION = 1
DEFAULT_BASELINE = ".prodguard-baseline.json"

Identity = tuple[str, str, str]


@dataclass(frozen=True)
class Baseline:
    """Identities of accepted findings, with paths relative to ``root`` (the baseline file's folder)."""

    salt: str
    root: Path
    entries: frozenset[Identity]

    @classmethod
    def new(cls, root: Path, salt: str | None = None) -> Baseline:
        return cls(salt or secrets.token_hex(16), root.resolve(), frozenset())

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        file = Path(path)
        try:
            raw = read_limited(file, BASELINE_LIMIT)
        except FileNotFoundError:
            raise ConfigError("baseline file not found", path=str(file)) from None
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise ConfigError(f"not a readable baseline: {exc}", path=str(file)) from None
        except RecursionError:
            raise ConfigError("not a baseline: nested too deeply", path=str(file)) from None
        if not isinstance(document, dict) or document.get("version") != BASELINE_VERSION:
            raise ConfigError(f"unsupported baseline (expected version {BASELINE_VERSION})", path=str(file))
        salt = document.get("salt")
        raw_entries = document.get("entries")
        if not isinstance(salt, str) or not isinstance(raw_entries, list):
            raise ConfigError("baseline needs 'salt' and 'entries'", path=str(file))
        entries = set()
        for number, item in enumerate(raw_entries):
            try:
                entries.add((str(item["rule_id"]), str(item["path"]), str(item["hash"])))
            except (KeyError, TypeError):
                raise ConfigError(f"entry {number} needs rule_id, path and hash", path=str(file)) from None
        return cls(salt, file.resolve().parent, frozenset(entries))

    def identity(self, finding: Finding) -> Identity:
        try:
            path = os.path.relpath(os.path.abspath(finding.path), self.root)
        except ValueError:
            path = finding.path
        salted = hashlib.sha256(f"{self.salt}:{finding.secret_hash}".encode()).hexdigest()
        return (finding.rule_id, path.replace(os.sep, "/"), salted)

    def __contains__(self, finding: object) -> bool:
        return isinstance(finding, Finding) and self.identity(finding) in self.entries

    def with_findings(self, findings: list[Finding]) -> Baseline:
        return replace(self, entries=frozenset(self.identity(f) for f in findings))

    def dump(self, path: str | Path) -> None:
        document = {
            "version": BASELINE_VERSION,
            "tool": "prodguard",
            "salt": self.salt,
            "entries": [
                {"rule_id": r, "path": p, "hash": h}
                for r, p, h in sorted(self.entries, key=lambda e: (e[1], e[0], e[2]))
            ],
        }
        write_replacing(Path(path), (json.dumps(document, indent=2) + "\n").encode("utf-8"))


def write_replacing(target: Path, content: bytes) -> None:
    """Write ``content`` to a new file beside ``target`` and rename it over ``target``: a reader never
    sees half a file. The new file is created exclusively (a link planted at a fixed temporary name
    cannot redirect the write), and a target that exists must be a regular file (``-o /dev/full`` is an
    error, not a device to replace or to read)."""
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise ConfigError(f"cannot write the baseline: {exc.strerror or exc}", path=str(target)) from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise ConfigError("not a regular file; a baseline is written to a file", path=str(target))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise ConfigError(f"cannot write the baseline: {exc.strerror or exc}", path=str(target)) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        if info is not None:
            os.chmod(temporary, stat.S_IMODE(info.st_mode))
        else:
            os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a file meant to be committed
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ConfigError(f"cannot write the baseline: {exc.strerror or exc}", path=str(target)) from None



def apply_baseline(result: ScanResult, baseline: Baseline) -> ScanResult:
    """Finding-stage filter: findings the baseline knows move to ``suppressed``."""
    kept = [f for f in result.findings if f not in baseline]
    known = [replace(f, suppressed="baseline") for f in result.findings if f in baseline]
    result.stats.baselined += len(known)
    return replace(
        result, findings=kept, suppressed=sorted([*result.suppressed, *known], key=lambda f: f.sort_key)
    )
