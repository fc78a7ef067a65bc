"""The PII step: pseudonymize every text of the request (``<PERSON_1>``), restore the placeholders in
the answer, plain or streamed. One vault per call, or per ``conversation()`` scope.

The analyzer (a spaCy model load) is built at the first call that needs it, once per settings per
process; the settings themselves (entity names included) are validated when the guard is built, so a
mistake in ``[guard.pii]`` is an error of ``protect()``/``install()``.
"""

from __future__ import annotations

import contextvars
import logging
from functools import lru_cache

from prodguard.errors import ConfigError
from prodguard.guard._body import map_texts
from prodguard.guard._call import Call
from prodguard.guard._errors import GuardUnavailable
from prodguard.guard._io import Flow
from prodguard.guard._pii.types import PiiSettings
from prodguard.guard._pii.vault import PiiAnalyzer, PiiVault
from prodguard.guard._policy.policy import PiiPolicy
from prodguard.guard._steps.base import StepBase, TextFilter

log = logging.getLogger("prodguard.guard")

CONVERSATION: contextvars.ContextVar[PiiVault | None] = contextvars.ContextVar("prodguard_conversation", default=None)


@lru_cache(maxsize=4)
def shared_analyzer(settings: PiiSettings) -> PiiAnalyzer:
    """PII analyzers are expensive (a spaCy model load); one per distinct settings per process. Presidio and
    spaCy are imported here, at the first guarded call that needs them, not when ``prodguard.guard`` is
    imported: a policy without PII, and ``prodguard report`` reading the policy, never load them."""
    from prodguard.guard._pii.analyzer import PiiAnalyzer as PresidioAnalyzer

    return PresidioAnalyzer(settings)


class PiiStep(StepBase):
    name = "pii"

    def __init__(self, policy: PiiPolicy) -> None:
        self.policy = policy
        self.settings = policy.options
        self._warned: set[str] = set()

    def analyzer(self) -> PiiAnalyzer | None:
        try:
            return shared_analyzer(self.settings)
        except ConfigError:
            raise
        except Exception as exc:
            self._failed("pii is unavailable", exc)
            return None

    def new_vault(self) -> PiiVault | None:
        analyzer = self.analyzer()
        return PiiVault(analyzer) if analyzer is not None else None

    def request(self, call: Call) -> Flow[None]:
        vault = CONVERSATION.get() or self.new_vault()
        if vault is None:
            return
        call.vault = vault
        try:
            body = map_texts(call.body, vault.pseudonymize)
        except Exception as exc:
            self._failed("PII analysis failed", exc)
            return
        if body is not call.body:
            call.body, call.changed = body, True
        return
        yield

    def restore(self, call: Call) -> TextFilter | None:
        return call.vault.stream_restorer() if call.vault is not None and len(call.vault) else None

    def _failed(self, what: str, exc: BaseException) -> None:
        if self.policy.fail == "closed":
            raise GuardUnavailable(f"{what} ({type(exc).__name__}); request refused (pii.fail = closed)") from None
        if what not in self._warned:
            self._warned.add(what)
            log.warning("prodguard: %s (%s); sending unredacted (pii.fail = open)", what, type(exc).__name__)
