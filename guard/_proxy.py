"""``protect(client)`` and ``install()``: the two ways the guard meets the ``openai`` SDK.

``protect`` wraps one client in a proxy with the same API; ``install`` patches the SDK's ``create``
methods so that every client in the process, wherever it was built, is guarded. Both run the same
``Guard`` steps. Anything the guard does not handle passes straight through to the SDK.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from prodguard.guard._backoff import asend, send
from prodguard.guard._budget import SoftLimitReached
from prodguard.guard._pipeline import CONVERSATION, END_USER, Call, Guard, Moderate, adrive, drive
from prodguard.guard._policy.policy import Policy
from prodguard.guard._stream import AsyncGuardedStream, GuardedStream
from prodguard.guard._text import CHAT, EMBEDDINGS, RESPONSES

ClientT = TypeVar("ClientT")

# Set while the guard itself calls the SDK, so that an installed guard does not guard the call twice.
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("prodguard_inside", default=False)


def _is_async(client: Any) -> bool:
    import openai

    return isinstance(client, openai.AsyncOpenAI)


def _perform_sync(client: Any) -> Callable[[Moderate], Any]:
    def perform(request: Moderate) -> Any:
        token = _INSIDE.set(True)
        try:
            return client.moderations.create(model=request.model, input=list(request.texts))
        finally:
            _INSIDE.reset(token)

    return perform


def _perform_async(client: Any) -> Callable[[Moderate], Any]:
    async def perform(request: Moderate) -> Any:
        token = _INSIDE.set(True)
        try:
            return await client.moderations.create(model=request.model, input=list(request.texts))
        finally:
            _INSIDE.reset(token)

    return perform


def guarded_call(guard: Guard, client: Any, endpoint: str, create: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """One synchronous guarded call: request steps, the SDK call, response (or stream) steps."""
    perform = _perform_sync(client)
    call = guard.new_call(endpoint, kwargs, client)
    try:
        params = drive(guard.before(call), perform)
        # Response cache, then the SDK call with backoff (the guard's retries replace the SDK's).
        result = send(guard, client, call, create, params, _invoke)
        if call.stream:
            return GuardedStream(result, guard, call, perform)
        return drive(guard.after(call, result), perform)
    except BaseException as exc:
        _close_ticket(guard, call, exc)
        if not call.stream:
            _record_failure(guard, call, exc)
        raise


async def aguarded_call(guard: Guard, client: Any, endpoint: str, create: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """The asynchronous twin of ``guarded_call``; the steps are the same objects."""
    perform = _perform_async(client)
    call = guard.new_call(endpoint, kwargs, client)
    try:
        params = await adrive(guard.before(call), perform)
        result = await asend(guard, client, call, create, params, _ainvoke)
        if call.stream:
            return AsyncGuardedStream(result, guard, call, perform)
        return await adrive(guard.after(call, result), perform)
    except BaseException as exc:
        _close_ticket(guard, call, exc)
        if not call.stream:
            _record_failure(guard, call, exc)
        raise


def _invoke(create: Callable[..., Any], params: dict[str, Any]) -> Any:
    token = _INSIDE.set(True)
    try:
        return create(**params)
    finally:
        _INSIDE.reset(token)


async def _ainvoke(create: Callable[..., Any], params: dict[str, Any]) -> Any:
    token = _INSIDE.set(True)
    try:
        return await create(**params)
    finally:
        _INSIDE.reset(token)


def _close_ticket(guard: Guard, call: Call, exc: BaseException) -> None:
    """Settle or release the call's budget lease (streams that never started included); idempotent."""
    if guard.accounting is not None:
        with contextlib.suppress(Exception):
            guard.accounting.finish(call, error=exc)


def _record_failure(guard: Guard, call: Call, exc: BaseException) -> None:
    with contextlib.suppress(Exception):  # the audit log must never hide the original error
        guard.record(call, error=exc)


class _Resource:
    """A guarded ``create`` in front of one SDK resource (chat.completions, responses, embeddings)."""

    def __init__(self, resource: Any, client: Any, guard: Guard, endpoint: str) -> None:
        self._resource = resource
        self._client = client
        self._guard = guard
        self._endpoint = endpoint
        if _is_async(client):
            self.create = self._acreate
        else:
            self.create = self._create

    def _create(self, **kwargs: Any) -> Any:
        return guarded_call(self._guard, self._client, self._endpoint, self._resource.create, kwargs)

    async def _acreate(self, **kwargs: Any) -> Any:
        return await aguarded_call(self._guard, self._client, self._endpoint, self._resource.create, kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resource, name)


class _Chat:
    def __init__(self, chat: Any, client: Any, guard: Guard) -> None:
        self._chat = chat
        self.completions = _Resource(chat.completions, client, guard, CHAT)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chat, name)


class GuardedClient:
    """The proxy ``protect`` returns: the client's API, with guarded generation and embedding calls."""

    def __init__(self, client: Any, guard: Guard) -> None:
        self._client = client
        self._guard = guard
        self.chat = _Chat(client.chat, client, guard)
        self.responses = _Resource(client.responses, client, guard, RESPONSES)
        self.embeddings = _Resource(client.embeddings, client, guard, EMBEDDINGS)

    @property
    def guard(self) -> Guard:
        return self._guard

    @property
    def unguarded(self) -> Any:
        """The wrapped SDK client (for calls that must bypass the guard on purpose)."""
        return self._client

    def with_options(self, **options: Any) -> GuardedClient:
        """A protected copy, like the SDK's ``with_options``; it shares this client's guard."""
        return GuardedClient(self._client.with_options(**options), self._guard)

    copy = with_options

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def __repr__(self) -> str:
        return f"<protected {type(self._client).__name__}>"


def protect(
    client: ClientT, policy: Policy | None = None, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None
) -> ClientT:
    """Wrap an ``OpenAI``, ``AsyncOpenAI`` or ``AzureOpenAI`` client so that every generation and
    embedding call runs the guard's steps. Type checkers keep seeing the SDK's own types.

    Without a policy, the project's configuration is loaded (``Policy.load()``). ``on_soft_limit`` is
    called (once per budget, metric and period) when a soft budget limit is reached."""
    guard = Guard(policy if policy is not None else Policy.load(), on_soft_limit=on_soft_limit)
    return GuardedClient(client, guard)  # type: ignore[return-value]


@contextlib.contextmanager
def end_user(identifier: str) -> Iterator[None]:
    """Attach a salted hash of ``identifier`` as ``safety_identifier`` to every call in this scope."""
    token = END_USER.set(identifier)
    try:
        yield
    finally:
        END_USER.reset(token)


@contextlib.contextmanager
def conversation(client: Any) -> Iterator[Any]:
    """Keep one PII vault across the calls in this scope, so a value keeps its placeholder from turn
    to turn. ``client`` is a protected client (or ``None`` for the installed guard)."""
    from prodguard.guard._pii.analyzer import PiiVault

    guard = client.guard if isinstance(client, GuardedClient) else _installed_guard()
    analyzer = guard._pii_analyzer()
    vault = PiiVault(analyzer) if analyzer is not None else None
    token = CONVERSATION.set(vault)
    try:
        yield vault
    finally:
        CONVERSATION.reset(token)


# -- install ------------------------------------------------------------------------------------


@dataclass
class _Installation:
    guard: Guard
    originals: dict[tuple[type, str], Any]


# The one process-wide state of the guard, by nature of an import hook: what install() patched.
_INSTALLED: list[_Installation] = []


def _targets() -> list[tuple[type, str, bool]]:
    from openai.resources.chat.completions import AsyncCompletions, Completions
    from openai.resources.embeddings import AsyncEmbeddings, Embeddings
    from openai.resources.responses import AsyncResponses, Responses

    return [
        (Completions, CHAT, False),
        (AsyncCompletions, CHAT, True),
        (Responses, RESPONSES, False),
        (AsyncResponses, RESPONSES, True),
        (Embeddings, EMBEDDINGS, False),
        (AsyncEmbeddings, EMBEDDINGS, True),
    ]


def install(
    policy: Policy | None = None, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None
) -> None:
    """Guard every ``OpenAI``/``AsyncOpenAI`` client in this process, including clients built inside
    libraries after (or before) this call. ``uninstall()`` restores the SDK."""
    if _INSTALLED:
        uninstall()
    guard = Guard(policy if policy is not None else Policy.load(), on_soft_limit=on_soft_limit)
    originals: dict[tuple[type, str], Any] = {}
    for cls, endpoint, is_async in _targets():
        original = cls.__dict__["create"]
        originals[(cls, "create")] = original
        setattr(cls, "create", _patched(original, endpoint, is_async, guard))  # noqa: B010
    _INSTALLED.append(_Installation(guard, originals))


def uninstall() -> None:
    """Undo ``install()``; clients go back to calling the SDK directly."""
    while _INSTALLED:
        installation = _INSTALLED.pop()
        for (cls, name), original in installation.originals.items():
            setattr(cls, name, original)


def _installed_guard() -> Guard:
    if not _INSTALLED:
        raise RuntimeError("prodguard.guard.install() has not been called")
    return _INSTALLED[-1].guard


def _patched(original: Any, endpoint: str, is_async: bool, guard: Guard) -> Any:
    if is_async:

        @functools.wraps(original)
        async def acreate(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _INSIDE.get() or args:
                return await original(self, *args, **kwargs)
            bound = functools.partial(original, self)
            return await aguarded_call(guard, self._client, endpoint, bound, kwargs)

        return acreate

    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _INSIDE.get() or args:
            return original(self, *args, **kwargs)
        return guarded_call(guard, self._client, endpoint, functools.partial(original, self), kwargs)

    return create
