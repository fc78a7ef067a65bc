"""The guard's steps, written once as sans-I/O generators and driven by a sync or an async driver.

A step that needs the network (only moderation does) yields a ``Moderate`` request; the driver performs it
with the caller's own client (sync or async) and sends the result back, or throws the error in. Everything
else is plain computation, so the sync and async clients share every line of policy logic. A rate-limit
wait yields ``Sleep``, which the drivers perform themselves (``time.sleep`` / ``asyncio.sleep``).

Request:  environment -> budget/rate -> sanitize -> secrets -> PII pseudonymize -> input moderation -> end-user id
Response: usage settlement -> output moderation -> secrets -> PII restore -> audit -> cache
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from prodguard.errors import ConfigError
from prodguard.guard._budget import Accounting, SoftLimitReached
from prodguard.guard._cache import ResponseCache
from prodguard.guard._errors import EnvironmentMismatch, GuardUnavailable, InputRejected, ModerationFlagged
from prodguard.guard._policy.policy import Policy
from prodguard.guard._ratelimit import Sleep
from prodguard.guard._sanitize import LengthBudget, clean
from prodguard.guard._secrets import Scrubber
from prodguard.guard._text import EMBEDDINGS, map_request, map_response, request_texts, response_texts
from prodguard.rules.environments import key_fingerprint

log = logging.getLogger("prodguard.guard")

# The end user a request is made for, when the application sets it for a whole request scope.
END_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar("prodguard_end_user", default=None)
# The PII vault of the current conversation, when the application keeps one across calls.
CONVERSATION: contextvars.ContextVar[Any] = contextvars.ContextVar("prodguard_conversation", default=None)


@dataclass(frozen=True)
class Moderate:
    """I/O request: run the moderation endpoint on these texts."""

    texts: tuple[str, ...]
    model: str


Step = Generator[Moderate | Sleep, Any, Any]


@dataclass(frozen=True)
class ClientInfo:
    """What the environment check needs to know about a client; never the key itself."""

    organization: str | None
    project: str | None
    key_fingerprint: str | None
    base_url: str

    @classmethod
    def of(cls, client: Any) -> ClientInfo:
        key = getattr(client, "api_key", None)
        return cls(
            organization=getattr(client, "organization", None),
            project=getattr(client, "project", None),
            key_fingerprint=key_fingerprint(key) if isinstance(key, str) and key else None,
            base_url=str(getattr(client, "base_url", "")),
        )


@dataclass
class Call:
    """One guarded API call as it moves through the steps."""

    endpoint: str
    params: dict[str, Any]
    client: ClientInfo
    vault: Any = None
    decisions: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    end_user_hash: str | None = None
    # What left the process and what came back before PII was restored: the only forms an audit log may keep.
    sent: dict[str, Any] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)
    moderation: list[dict[str, Any]] = field(default_factory=list)
    # Budget leases, rate-window entries and cache state of this call (a _budget.Ticket).
    ticket: Any = None

    @property
    def stream(self) -> bool:
        return bool(self.params.get("stream"))


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    categories: tuple[str, ...]
    scores: dict[str, float]


@lru_cache(maxsize=4)
def _analyzer(options: tuple[tuple[str, Any], ...]) -> Any:
    """PII analyzers are expensive (a spaCy model load); one per distinct settings per process."""
    from prodguard.guard._pii.analyzer import PiiAnalyzer
    from prodguard.guard._pii.types import PiiSettings

    values: dict[str, Any] = dict(options)  # lists arrive as tuples (hashable for the cache)
    return PiiAnalyzer(PiiSettings(**values))


class Guard:
    """The shared, long-lived part of a protected client: policy, compiled rules, caches."""

    def __init__(self, policy: Policy, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None) -> None:
        self.policy = policy
        self.scrubber = Scrubber.build() if policy.secrets.enabled else None
        # Both None unless budgets, limits or the cache are configured: then no backend is ever opened.
        self.accounting = Accounting.build(policy, on_soft_limit)
        scrubber = self.scrubber
        self.cache = ResponseCache.build(policy, (lambda t: scrubber.scrub(t)[0]) if scrubber is not None else None)
        # Opened now, not at the first call: a missing or wrong key is an error of protect()/install().
        self._audit: Any = self._open_audit_log() if policy.audit.enabled else None
        self._moderation_cache: OrderedDict[str, Verdict] = OrderedDict()
        self._warned: set[str] = set()

    # -- request side ---------------------------------------------------------------------------

    def new_call(self, endpoint: str, kwargs: dict[str, Any], client: Any) -> Call:
        params = dict(kwargs)
        end_user = params.pop("end_user", None) or END_USER.get()
        call = Call(endpoint, params, ClientInfo.of(client))
        if end_user is not None and self.policy.end_user.enabled:
            call.end_user_hash = self.end_user_hash(str(end_user))
        return call

    def end_user_hash(self, end_user: str) -> str:
        salt = self.policy.end_user.salt or os.environ.get("PRODGUARD_END_USER_SALT") or "prodguard"
        return hashlib.sha256(f"{salt}:{end_user}".encode()).hexdigest()[:32]

    def before(self, call: Call) -> Step:
        """Run the request steps; returns the parameters to send."""
        self.check_environment(call.client)
        if self.accounting is not None:
            yield from self.accounting.admit(call)
        params = call.params
        if self.policy.sanitize.enabled:
            budget = LengthBudget(self.policy.sanitize)
            params = map_request(call.endpoint, params, lambda t: budget.take(clean(t)))
        if self.scrubber is not None:
            params = map_request(call.endpoint, params, lambda t: self._scrub_input(call, t))
        if self.policy.pii.enabled:
            vault = self._vault()
            if vault is not None:
                call.vault = vault
                params = map_request(call.endpoint, params, lambda t: self._pii(vault.pseudonymize, t))
        if self.policy.moderation.enabled and call.endpoint != EMBEDDINGS:
            yield from self.moderate(request_texts(call.endpoint, params), "input", call)
        if call.end_user_hash and call.endpoint != EMBEDDINGS:
            params.setdefault(self.policy.end_user.parameter, call.end_user_hash)
        call.sent = params
        return params

    def check_environment(self, client: ClientInfo) -> None:
        policy = self.policy
        if not policy.environment_check.enabled or not policy.environments.declared:
            return
        running = policy.running_environment
        if running is None:
            if policy.environment_check.require_environment:
                raise EnvironmentMismatch("no running environment: set PRODGUARD_ENV or the policy's environment")
            self._warn_once("no-env", "environments are declared but PRODGUARD_ENV is not set; environment check skipped")
            return
        env = policy.environments.get(running)
        if env is None:
            raise EnvironmentMismatch(f"running environment {running!r} is not declared in [tool.prodguard.environments]")
        for what, value, allowed in (
            ("organization", client.organization, env.organizations),
            ("project", client.project, env.projects),
            ("API key", client.key_fingerprint, env.key_fingerprints),
        ):
            if not allowed:
                continue
            if value is None:
                raise EnvironmentMismatch(f"the client sends no {what}, but {running} declares one; set it explicitly")
            if value not in allowed:
                owner = policy.environments.owner_of(value)
                belongs = f"it belongs to {owner.name!r}" if owner else "it is not declared for any environment"
                shown = value if what != "API key" else "the key (" + value[:15] + "…)"
                raise EnvironmentMismatch(f"{running} process refused to use {what} {shown}: {belongs}")

    def _scrub_input(self, call: Call, text: str) -> str:
        assert self.scrubber is not None
        cleaned, rules = self.scrubber.scrub(text)
        if rules:
            if self.policy.secrets.action == "refuse":
                raise InputRejected(f"the request contains a secret ({', '.join(sorted(set(rules)))}); not sent")
            call.decisions.append("secrets-redacted:" + ",".join(sorted(set(rules))))
        return cleaned

    def _vault(self) -> Any:
        vault = CONVERSATION.get()
        if vault is not None:
            return vault
        analyzer = self._pii_analyzer()
        if analyzer is None:
            return None  # unavailable, and the policy fails open
        from prodguard.guard._pii.analyzer import PiiVault

        return PiiVault(analyzer)

    def _pii_analyzer(self) -> Any:
        options = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in self.policy.pii.options.items()))
        try:
            return _analyzer(options)
        except ConfigError:
            raise  # a mistake in [guard.pii] is the user's to fix, whatever the fail policy
        except TypeError as exc:
            raise ConfigError(f"invalid [guard.pii] option: {exc}") from None
        except Exception as exc:
            return self._unavailable("pii", exc)

    def _pii(self, function: Callable[[str], str], text: str) -> str:
        try:
            return function(text)
        except Exception as exc:
            if self.policy.pii.fail == "closed":
                raise GuardUnavailable(f"PII analysis failed ({type(exc).__name__}); request refused (pii.fail = closed)") from None
            self._warn_once("pii-run", f"PII analysis failed ({type(exc).__name__}); sending unredacted (pii.fail = open)")
            return text

    def _unavailable(self, what: str, exc: BaseException) -> Any:
        fail = self.policy.pii.fail if what == "pii" else self.policy.moderation.fail
        if fail == "closed":
            raise GuardUnavailable(f"{what} is unavailable ({type(exc).__name__}); request refused ({what}.fail = closed)") from None
        self._warn_once(what, f"{what} is unavailable ({type(exc).__name__}); continuing ({what}.fail = open)")
        return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning("prodguard: %s", message)

    # -- moderation -----------------------------------------------------------------------------

    def moderate(self, texts: list[str], where: str, call: Call | None = None) -> Step:
        settings = self.policy.moderation
        wanted = [t for t in dict.fromkeys(texts) if t.strip()]
        verdicts: dict[str, Verdict] = {}
        missing = []
        for text in wanted:
            cached = self._moderation_cache.get(_digest(text))
            if cached is not None:
                verdicts[text] = cached
            else:
                missing.append(text)
        if missing:
            try:
                result = yield Moderate(tuple(missing), settings.model)
            except Exception as exc:
                self._unavailable("moderation", exc)
                return
            for text, item in zip(missing, result.results, strict=False):
                verdict = self._verdict(item)
                verdicts[text] = verdict
                self._remember(_digest(text), verdict)
        flagged = [v for v in verdicts.values() if v.flagged]
        if call is not None:
            call.moderation.append({"where": where, "flagged": bool(flagged), "categories": sorted({c for v in flagged for c in v.categories})})
        if flagged:
            categories = tuple(sorted({c for v in flagged for c in v.categories}))
            scores = {c: max(v.scores.get(c, 0.0) for v in flagged) for c in categories}
            raise ModerationFlagged(where, categories, scores)

    def _verdict(self, item: Any) -> Verdict:
        categories = _as_mapping(getattr(item, "categories", {}))
        scores = {k: float(v) for k, v in _as_mapping(getattr(item, "category_scores", {})).items() if v is not None}
        thresholds = self.policy.moderation.thresholds
        hit = {name for name, on in categories.items() if on and name not in thresholds}
        hit |= {name for name, limit in thresholds.items() if scores.get(name, 0.0) >= limit}
        return Verdict(bool(hit), tuple(sorted(hit)), scores)

    def _remember(self, key: str, verdict: Verdict) -> None:
        self._moderation_cache[key] = verdict
        self._moderation_cache.move_to_end(key)
        while len(self._moderation_cache) > self.policy.moderation.cache_size:
            self._moderation_cache.popitem(last=False)

    # -- response side --------------------------------------------------------------------------

    def output_text(self, call: Call, text: str) -> str:
        """A complete piece of model output: secrets scrubbed, placeholders restored."""
        if self.scrubber is not None and self.policy.secrets.scan_output:
            text, rules = self.scrubber.scrub(text)
            if rules:
                call.decisions.append("output-secrets-redacted:" + ",".join(sorted(set(rules))))
        call.output.append(text)
        if call.vault is not None:
            text = call.vault.restore(text)
        return text

    def after(self, call: Call, response: Any) -> Step:
        """Run the response steps on a complete (non-streamed) response."""
        if self.accounting is not None:  # first: the call is paid for even if a later step refuses it
            self.accounting.finish(call, usage=getattr(response, "usage", None))
        if self.policy.moderation.enabled and self.policy.moderation.check_output and call.endpoint != EMBEDDINGS:
            yield from self.moderate(response_texts(response), "output", call)
        map_response(response, lambda t: self.output_text(call, t))
        self.record(call, response=response)
        if self.cache is not None:
            self.cache.store(call)
        return response

    # -- audit ----------------------------------------------------------------------------------

    def record(self, call: Call, *, response: Any = None, usage: Any = None, error: BaseException | None = None) -> None:
        """One audit record per call (per streamed call at its end), when the policy keeps a log."""
        if self.accounting is not None:  # settle (or release) the call's budget lease, once
            used = usage if usage is not None else getattr(response, "usage", None)
            self.accounting.finish(call, usage=used, error=error)
        if not self.policy.audit.enabled:
            return
        from prodguard.guard._audit.record import audit_record

        if usage is None and response is not None:
            usage = getattr(response, "usage", None)
        self._audit_log().append(audit_record(self.policy, call, response=response, usage=usage, error=error))

    def _audit_log(self) -> Any:
        if self._audit is None:
            self._audit = self._open_audit_log()
        return self._audit

    def _open_audit_log(self) -> Any:
        from prodguard.guard._audit.keys import Keyring
        from prodguard.guard._audit.log import AuditLog

        settings = self.policy.audit
        keys = Keyring.from_file(settings.key_file) if settings.key_file and "PRODGUARD_LOG_KEYS" not in os.environ else None
        return AuditLog(settings.directory, keys, fsync=settings.fsync, fsync_interval_ms=settings.fsync_interval_ms)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _as_mapping(value: Any) -> dict[str, Any]:
    if hasattr(value, "model_dump"):
        return dict(value.model_dump(by_alias=True))
    return dict(value) if isinstance(value, dict) else {}


# -- drivers --------------------------------------------------------------------------------------


def drive(step: Step, perform: Callable[[Moderate], Any]) -> Any:
    """Run a step generator, performing its I/O requests synchronously."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            request = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            if isinstance(request, Sleep):
                time.sleep(request.seconds)
                value, error = None, None
            else:
                value, error = perform(request), None
        except Exception as exc:
            value, error = None, exc


async def adrive(step: Step, perform: Callable[[Moderate], Awaitable[Any]]) -> Any:
    """Run a step generator, awaiting its I/O requests."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            request = step.throw(error) if error is not None else step.send(value)
        except StopIteration as stop:
            return stop.value
        try:
            if isinstance(request, Sleep):
                await asyncio.sleep(request.seconds)
                value, error = None, None
            else:
                value, error = await perform(request), None
        except Exception as exc:
            value, error = None, exc

