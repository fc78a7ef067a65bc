"""``Guard``: the ordered tuple of steps a policy enables, and what a request becomes on entering it.

Request order: environment, budget/rate, sanitize (clean), secrets, length cap, PII, moderation,
end-user id, cache, audit. The answer passes the same steps' text filters and hooks (``_answer``), and
``finish`` is the one place a call ends: budget settlement, cache store, audit record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote_plus

import httpx2

from prodguard.guard._budget import Accounting, SoftLimitReached
from prodguard.guard._call import Call, ClientInfo
from prodguard.guard._errors import GuardError
from prodguard.guard._policy.policy import Policy, RuleChoice
from prodguard.guard._routes import classify
from prodguard.guard._steps.audit import AuditStep
from prodguard.guard._steps.base import Step
from prodguard.guard._steps.budget import BudgetStep
from prodguard.guard._steps.cache import CacheStep
from prodguard.guard._steps.end_user import END_USER, EndUserStep
from prodguard.guard._steps.environment import EnvironmentStep
from prodguard.guard._steps.moderation import ModerationStep
from prodguard.guard._steps.pii import PiiStep
from prodguard.guard._steps.sanitize import CleanStep, LengthStep
from prodguard.guard._steps.secrets import Scrubber, SecretsStep
from prodguard.rules.catalogue import load_catalogue
from prodguard.rules.environments import key_fingerprint

log = logging.getLogger("prodguard.guard")


@lru_cache(maxsize=8)
def scrubber_for(rules: RuleChoice) -> Scrubber:
    """The user's catalogue (built-in and custom packs, enable/disable), as the scanner uses it."""
    return Scrubber.build(load_catalogue(rules.packs).select(rules.enable, rules.disable))


def client_info(headers: httpx2.Headers, azure: bool) -> ClientInfo:
    """Organization, project and key fingerprint from the effective headers of a request."""
    return _client_info(
        headers.get("openai-organization"), headers.get("openai-project"), headers.get("authorization"), headers.get("api-key"), azure
    )


@lru_cache(maxsize=64)
def _client_info(organization: str | None, project: str | None, authorization: str | None, token: str | None, azure: bool) -> ClientInfo:
    if token is None and authorization is not None and authorization[:7].lower() == "bearer ":
        token = authorization[7:].strip()
    return ClientInfo(organization or None, project or None, key_fingerprint(token) if token else None, azure)


class Guard:
    """The shared, long-lived part of a protected client: the policy and its steps."""

    def __init__(self, policy: Policy, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None) -> None:
        self.policy = policy
        steps: list[Step] = []
        if policy.environment_check.enabled:
            steps.append(EnvironmentStep(policy))
        accounting = Accounting.build(policy, on_soft_limit)
        if accounting is not None:
            steps.append(BudgetStep(accounting))
        if policy.sanitize.enabled:
            steps.append(CleanStep())
        if policy.secrets.enabled:
            steps.append(SecretsStep(policy.secrets, scrubber_for(policy.rules)))
        if policy.sanitize.enabled:
            steps.append(LengthStep(policy.sanitize))
        self.pii = PiiStep(policy.pii) if policy.pii.enabled else None
        if self.pii is not None:
            steps.append(self.pii)
        if policy.moderation.enabled:
            steps.append(ModerationStep(policy.moderation))
        self.end_user = EndUserStep(policy.end_user, Path(policy.state_dir) / "end_user_salt") if policy.end_user.enabled else None
        if self.end_user is not None:
            steps.append(self.end_user)
        if policy.cache.enabled:
            steps.append(CacheStep(policy.cache, policy.backend, policy.accounting.key_prefix))
        if policy.audit.enabled:
            steps.append(AuditStep(policy))
        self.steps: tuple[Step, ...] = tuple(steps)
        self._warned: set[str] = set()

    def new_call(self, request: httpx2.Request, base_path: str, *, azure: bool, stream: bool) -> Call:
        """The call a request starts; ``GuardError`` for a route the guard cannot inspect (unless the
        policy's ``unguarded`` key lets it through)."""
        route = classify(request.method, request.url.path, base_path, request.headers.get("content-type"), _has_body(request))
        body = None
        if route.body == "json":
            try:
                body = json.loads(request.content) if request.content else None
            except ValueError:
                raise GuardError(f"{route.name}: the request body is not valid JSON; refused") from None
        elif route.body in ("multipart", "binary"):
            self._unguarded(route.name, f"a {route.body} upload")
        wants_stream = isinstance(body, dict) and body.get("stream") is True
        query = unquote_plus(request.url.query.decode("ascii", "replace")) if request.url.query else ""
        call = Call(route, client_info(request.headers, azure), body, stream=stream or wants_stream, query=query)
        if self.end_user is not None:  # known from the start: budgets and limits may count per end user
            who = END_USER.get()
            call.end_user_hash = self.end_user.hash(who) if who is not None else None
        return call

    def refuse_websocket(self, what: str) -> None:
        self._unguarded(what, "a realtime WebSocket session")

    def _unguarded(self, name: str, what: str) -> None:
        mode = self.policy.unguarded
        if mode == "allow":
            return
        if mode == "refuse":
            raise GuardError(
                f"{name} sends {what}, which the guard cannot inspect; refused. To send it anyway set "
                f'unguarded = "warn" or "allow" in [tool.prodguard.guard] (docs/guard.md, "Routes")'
            )
        if name not in self._warned:
            self._warned.add(name)
            log.warning("prodguard: %s sends %s, which the guard cannot inspect; sent unguarded (unguarded = warn)", name, what)

    def finish(self, call: Call, error: BaseException | None) -> None:
        """The one place a call ends (settlement, cache, audit); runs once per call."""
        if call.settled:
            return
        call.settled = True
        for step in self.steps:
            try:
                step.finish(call, error)
            except Exception:  # one step's failure must not keep the others from closing the call
                log.exception("prodguard: the %s step failed while closing a call", step.name)


def _has_body(request: httpx2.Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length.strip() not in ("", "0"))
