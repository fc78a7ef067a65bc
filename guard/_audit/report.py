"""What reading an audit log yields: records as read, problems and notices, the head, the verify report.

Plain records shared by the walker (which produces them), ``AuditLog`` (which hands them out) and the
``prodguard logs`` commands (which print them). Problems name the segment file, the record index inside
it, the byte offset and the sequence number; never record contents.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NamedTuple

from prodguard.guard._audit.format import LINK_SIZE, RANDOM_PREFIX_SIZE

KEY_PROBLEMS = frozenset({"unknown-key", "wrong-key"})


class Problem(NamedTuple):
    """Something verification found wrong. ``record`` is the index inside the segment, ``None`` when the
    problem is the segment itself (header, missing segment)."""

    segment: str
    record: int | None
    offset: int | None
    seq: int | None
    code: str
    message: str

    def __str__(self) -> str:
        where = self.segment
        if self.record is not None:
            where += f" record {self.record}"
            details = [f"seq {self.seq}"] if self.seq is not None else []
            if self.offset is not None:
                details.append(f"byte {self.offset}")
            if details:
                where += f" ({', '.join(details)})"
        elif self.offset is not None:
            where += f" byte {self.offset}"
        return f"{where}: {self.message}"


class Notice(NamedTuple):
    """Something worth knowing that is not a failure: a purge, a recovered crash, a rotation."""

    segment: str
    record: int | None
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = (
            self.segment if self.record is None else f"{self.segment} record {self.record} (seq {self.seq})"
        )
        return f"{where}: {self.message}"


class Head(NamedTuple):
    """The last record of the log: its sequence number and chain link. Keep a copy outside the host and
    pass it to ``verify(expect_head=…)`` later to detect records removed from the end."""

    seq: int
    link: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.link}"

    @staticmethod
    def parse(text: str) -> Head:
        seq, sep, link = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(link) != 2 * LINK_SIZE:
            raise ValueError("expected SEQ:LINK as printed by `prodguard logs verify` (64 hex digits)")
        bytes.fromhex(link)
        return Head(int(seq), link.lower())


class RawRecord(NamedTuple):
    """One authenticated frame as the walker read it."""

    segment: str
    position: int  # index of the record inside its segment, from 0
    offset: int
    kind: int
    seq: int
    ts_ns: int
    bound: bytes
    plaintext: bytes  # random prefix + JSON

    def payload(self) -> Any:
        return json.loads(self.plaintext[RANDOM_PREFIX_SIZE:])


@dataclass(frozen=True)
class VerifyReport:
    """What :meth:`AuditLog.verify` found. ``ok`` is true when there is no problem."""

    segments: int
    records: int
    system_records: int
    problems: tuple[Problem, ...]
    notices: tuple[Notice, ...]
    head: Head | None
    authenticated_segments: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def key_problems_only(self) -> bool:
        """Every problem is a missing or wrong key and no segment header could be authenticated: the key
        is the problem, not the log. (One segment failing its key check among good ones is tampering.)"""
        return (
            bool(self.problems)
            and self.authenticated_segments == 0
            and all(p.code in KEY_PROBLEMS for p in self.problems)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "segments": self.segments,
            "records": self.records,
            "system_records": self.system_records,
            "head": str(self.head) if self.head else None,
            "problems": [p._asdict() for p in self.problems],
            "notices": [n._asdict() for n in self.notices],
        }
