"""The audit step: one record per call, written when the call ends (a stream at its end or close),
holding only what left the process and what came back before PII was restored."""

from __future__ import annotations

import logging
import os

from prodguard.guard._audit.keys import Keyring
from prodguard.guard._audit.log import AuditLog
from prodguard.guard._audit.record import audit_record
from prodguard.guard._call import Call
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

    def finish(self, call: Call, error: BaseException | None) -> None:
        # The answer was paid for: a failing audit write is logged, never raised over it.
        try:
            self.log.append(audit_record(self.policy, call, error=error))
        except Exception as exc:
            log.error("prodguard: could not write the audit record of a %s call: %s", call.route.name, exc)
