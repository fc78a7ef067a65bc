"""The runtime guard: a protected ``openai`` client.

Two lines in an application::

    from prodguard.guard import protect
    client = protect(OpenAI())

Every ``chat.completions.create``, ``responses.create`` and ``embeddings.create`` then checks the
environment, sanitizes input, scrubs secrets, pseudonymizes personal data (restored in the answer),
runs moderation on input and output and attaches a hashed end-user id; with budgets, rate limits,
backoff and a response cache configured, it also enforces spending and request limits across
processes and hosts (docs/budgets-and-limits.md); everything else passes through.
"""

from typing import TYPE_CHECKING, Any

from prodguard.guard._budget import SoftLimitReached, tags
from prodguard.guard._cache import caching
from prodguard.guard._errors import (
    BudgetExceeded,
    EnvironmentMismatch,
    GuardError,
    GuardUnavailable,
    InputRejected,
    ModerationFlagged,
    RateLimited,
)
from prodguard.guard._policy.policy import Policy
from prodguard.guard._proxy import conversation, end_user, install, protect, uninstall

if TYPE_CHECKING:
    from prodguard.guard._audit.log import AuditLog


def __getattr__(name: str) -> Any:
    # The audit log pulls in cryptography; applications that never open one do not pay for it.
    if name == "AuditLog":
        from prodguard.guard._audit.log import AuditLog

        return AuditLog
    raise AttributeError(f"module 'prodguard.guard' has no attribute {name!r}")


__all__ = [
    "AuditLog",
    "BudgetExceeded",
    "EnvironmentMismatch",
    "GuardError",
    "GuardUnavailable",
    "InputRejected",
    "ModerationFlagged",
    "Policy",
    "RateLimited",
    "SoftLimitReached",
    "caching",
    "conversation",
    "end_user",
    "install",
    "protect",
    "tags",
    "uninstall",
]
