"""The guard's exceptions, rooted at ``prodguard.ProdguardError``. Messages never contain the secret,
the personal data or the flagged text they are about. The whole tree (all exported from
``prodguard.guard``)::

    ProdguardError
    ├── ConfigError, UsageError            (prodguard.errors)
    ├── GuardError                         a guarded request refused or not checkable
    │   ├── InputRejected                  secret with action = "refuse", input too long
    │   ├── EnvironmentMismatch            another environment's organization, project or key
    │   ├── GuardUnavailable               moderation / PII / state down and failing closed
    │   ├── ModerationFlagged              categories and scores, never the text
    │   ├── BudgetExceeded                 a hard budget would be crossed
    │   └── RateLimited                    a client-side rate window is full
    ├── AuditLogError                      (_audit.errors) the audit log cannot be read or written
    │   ├── AuditKeyError, TamperDetected
    ├── StateUnavailable                   (_state.backend) the state backend cannot be reached
    └── PiiError                           (_pii.types)
        ├── PiiUnavailable, PiiVaultError

Backend errors (sqlite3, redis) are translated into ``StateUnavailable`` once, where a backend is
opened or called; SDK errors (``openai.APIError``) pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from prodguard.errors import ProdguardError


class GuardError(ProdguardError):
    """A guarded call was refused or could not be checked."""


class InputRejected(GuardError):
    """The request breaks the policy (a secret with ``secrets.action = "refuse"``, input too long)."""


class EnvironmentMismatch(GuardError):
    """The client's organization, project or key belongs to another environment than the running one."""


class GuardUnavailable(GuardError):
    """A check that must run could not (moderation endpoint or PII analyzer down) and the policy fails closed."""


class ModerationFlagged(GuardError):
    """Moderation flagged the input or the output. Carries categories and scores, never the text."""

    def __init__(self, where: str, categories: tuple[str, ...], scores: Mapping[str, float]) -> None:
        self.where = where
        self.categories = categories
        self.scores = dict(scores)
        shown = ", ".join(categories) or "unspecified"
        super().__init__(f"moderation flagged the {where} ({shown})")


class BudgetExceeded(GuardError):
    """A hard budget would be exceeded by this call; it was not sent. Names the budget, its scope and the
    metric (``requests``, ``tokens`` or ``cost_usd``), with what is used and what the limit is."""

    def __init__(
        self, message: str, *, budget: str, scope: str, subject: str, period: str, metric: str, limit: float, used: float
    ) -> None:
        self.budget = budget
        self.scope = scope
        self.subject = subject
        self.period = period
        self.metric = metric
        self.limit = limit
        self.used = used
        super().__init__(message)


class RateLimited(GuardError):
    """A client-side rate limit (``rpm``/``tpm``) is exhausted and the policy raises instead of waiting
    (or waiting would take longer than ``max_wait_s``). ``retry_after`` is in seconds, or None when the
    call can never fit."""

    def __init__(self, message: str, *, scope: str, subject: str, metric: str, retry_after: float | None) -> None:
        self.scope = scope
        self.subject = subject
        self.metric = metric
        self.retry_after = retry_after
        super().__init__(message)
