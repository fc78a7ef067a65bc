"""The runtime guard: a protected ``openai`` client.

Two lines in an application::

    from prodguard.guard import protect
    client = protect(OpenAI())

Every request the client sends then passes the guard's steps: the environment check, budgets and rate
limits, sanitizing, secret scrubbing, PII pseudonymization (restored in the answer), moderation on
input and output, the hashed end-user id, the response cache and the audit log. A route the guard
cannot inspect (file uploads, realtime WebSockets) is refused unless the policy's ``unguarded`` key
allows it. docs/guard.md describes each step and each route.

Exceptions (all derive from ``prodguard.ProdguardError``; the tree is drawn in ``_errors``)::

    GuardError ─┬─ InputRejected, EnvironmentMismatch, GuardUnavailable, ModerationFlagged,
                └─ BudgetExceeded, RateLimited
    AuditLogError ─┬─ AuditKeyError, TamperDetected
    StateUnavailable          PiiError ─┬─ PiiUnavailable, PiiVaultError
"""

from prodguard.guard._audit.errors import AuditKeyError, AuditLogError, TamperDetected
from prodguard.guard._budget import SoftLimitReached, tags
from prodguard.guard._client import conversation, end_user, install, protect, uninstall
from prodguard.guard._errors import (
    BudgetExceeded,
    EnvironmentMismatch,
    GuardError,
    GuardUnavailable,
    InputRejected,
    ModerationFlagged,
    RateLimited,
)
from prodguard.guard._pii.types import PiiError, PiiUnavailable, PiiVaultError
from prodguard.guard._policy.policy import Policy
from prodguard.guard._state.backend import StateUnavailable
from prodguard.guard._steps.cache import caching


def __getattr__(name: str) -> type:
    # The audit log pulls in cryptography; applications that never open one do not pay for it.
    if name == "AuditLog":
        from prodguard.guard._audit.log import AuditLog

        return AuditLog
    raise AttributeError(f"module 'prodguard.guard' has no attribute {name!r}")


__all__ = [
    "AuditKeyError",
    "AuditLog",
    "AuditLogError",
    "BudgetExceeded",
    "EnvironmentMismatch",
    "GuardError",
    "GuardUnavailable",
    "InputRejected",
    "ModerationFlagged",
    "PiiError",
    "PiiUnavailable",
    "PiiVaultError",
    "Policy",
    "RateLimited",
    "SoftLimitReached",
    "StateUnavailable",
    "TamperDetected",
    "caching",
    "conversation",
    "end_user",
    "install",
    "protect",
    "tags",
    "uninstall",
]
