"""The audit step: one record per call, written when the call ends (a stream at its end or close),
holding only what left the process and what came back before PII was restored.

Before a request is sent the step checks that the log can be written (its directory writable, some
free space): a request whose record could not be kept is refused by default (``audit.fail = "closed"``)
rather than sent and billed unrecorded. Once the answer is back, a failing write is logged and the
answer returned: an answer that was paid for is never lost to the audit log."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from prodguard.guard._audit.keys import Keyring
from prodguard.guard._audit.log import AuditLog
from prodguard.guard._audit.record import audit_record
from prodguard.guard._call import Call
from prodguard.guard._errors import GuardUnavailable
from prodguard.guard._io import Flow
from prodguard.guard._policy.policy import Policy
from prodguard.guard._steps.base import StepBase

log = logging.getLogger("prodguard.guard")


def open_audit_log(policy: Policy) -> AuditLog:
    settings = policy.audit
    keys = Keyring.from_file(settings.key_file) if settings.key_file and "PRODGUARD_LOG_KEYS" not in os.environ else None
    return AuditLog(settings.directory, keys, fsync=settings.fsync, fsync_interval_ms=settings.fsync_interval_ms)


class AuditStep(StepBase):
    name = "audit"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        # Opened now, not at the first call: a missing or wrong key is an error of protect()/install().
        self.log = open_audit_log(policy)

    def request(self, call: Call) -> Flow[None]:
        problem = _unwritable(Path(self.policy.audit.directory))
        if problem is not None:
            if self.policy.audit.fail == "closed":
                raise GuardUnavailable(f"the audit log cannot be written ({problem}); request refused (audit.fail = closed)")
            log.warning("prodguard: the audit log cannot be written (%s); sending unrecorded (audit.fail = open)", problem)
        return
        yield

    def finish(self, call: Call, error: BaseException | None) -> None:
        # The answer was paid for: a failing audit write is logged, never raised over it.
        try:
            self.log.append(audit_record(self.policy, call, error=error))
        except Exception as exc:
            log.error("prodguard: could not write the audit record of a %s call: %s", call.route.name, exc)


_MIN_FREE = 1 << 20  # a record is small; a megabyte of room means the next ones fit


def _unwritable(directory: Path) -> str | None:
    """Why the log directory cannot take another record, or None."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    if shutil.disk_usage(existing).free < _MIN_FREE:
        return f"no space left on the device of {existing}"
    return None
