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

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from prodguard.guard._audit.errors import AuditKeyError, AuditLogError, TamperDetected
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

# The runtime (the openai SDK, its HTTP client, cryptography for the audit log) is imported on first use
# of one of these names (PEP 562), not with the package: the scanner validates a configuration's [guard]
# section through ``prodguard.guard._policy``, which imports this package first, and it runs on installs
# without the guard extra (the pre-commit hook's environment). The policy, the errors and these lookups
# need nothing beyond the core install.
_RUNTIME = {
    "AuditLog": "prodguard.guard._audit.log",
    "SoftLimitReached": "prodguard.guard._budget",
    "tags": "prodguard.guard._budget",
    "conversation": "prodguard.guard._client",
    "end_user": "prodguard.guard._client",
    "install": "prodguard.guard._client",
    "protect": "prodguard.guard._client",
    "uninstall": "prodguard.guard._client",
    "caching": "prodguard.guard._steps.cache",
}
if TYPE_CHECKING:  # the same names, for type checkers (imported lazily at run time, above)
    from prodguard.guard._audit.log import AuditLog
    from prodguard.guard._budget import SoftLimitReached, tags
    from prodguard.guard._client import conversation, end_user, install, protect, uninstall
    from prodguard.guard._steps.cache import caching


def __getattr__(name: str) -> Any:
    module = _RUNTIME.get(name)
    if module is None:
        raise AttributeError(f"module 'prodguard.guard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


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
