"""The audit log's exceptions. Messages name the directory, segment file and record index; they never
contain record contents or key material."""

from __future__ import annotations

from prodguard.errors import ProdguardError


class AuditLogError(ProdguardError):
    """The audit log cannot be read or written (missing directory, I/O failure, unusable record)."""


class AuditKeyError(AuditLogError):
    """No key, a malformed key, a key file with unsafe permissions, or a segment whose key is not loaded."""


class TamperDetected(AuditLogError):
    """Reading found a record or segment that fails authentication or breaks the chain.

    ``problem`` is the first :class:`~prodguard.guard._audit.report.Problem` found (segment file, record
    index, offset, sequence number); ``prodguard logs verify`` lists all of them.
    """

    def __init__(self, message: str, problem: object | None = None) -> None:
        super().__init__(message)
        self.problem = problem
