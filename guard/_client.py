"""``protect(client)`` and ``install()``: where the guard meets the ``openai`` SDK.

Both hook the SDK at the one method every HTTP request passes (``_send_request``), after the SDK has
built the final request: the JSON body with ``extra_body`` merged and the effective headers
(``default_headers``, ``extra_headers``, ``with_options``). So every route is guarded the same way:
``create``, ``parse``, ``stream``, ``with_raw_response``, ``with_streaming_response``, embeddings,
conversations, and whatever the SDK adds. WebSocket sessions (realtime) do not pass there; they are
refused (or allowed, per ``unguarded``) where the SDK builds their URL.

``protect`` returns a copy of the client whose class is a subclass of the client's own (so
``isinstance`` and type checkers see an ``OpenAI``); ``with_options``/``copy`` keep the guard.
``install`` patches ``OpenAI``/``AsyncOpenAI`` themselves, for clients built inside libraries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx2

from prodguard.guard._budget import SoftLimitReached
from prodguard.guard._drivers import PASS, aguarded_send, guarded_send
from prodguard.guard._guard import Guard
from prodguard.guard._pii.vault import PiiVault
from prodguard.guard._policy.policy import Policy
from prodguard.guard._steps.end_user import END_USER
from prodguard.guard._steps.pii import CONVERSATION

ClientT = TypeVar("ClientT")
_GUARD_ATTRIBUTE = "_prodguard_guard"


def guard_of(client: Any) -> Guard | None:
    """The guard of a protected client, else the installed guard, else None."""
    found = getattr(type(client), _GUARD_ATTRIBUTE, None)
    if isinstance(found, Guard):
        return found
    return _INSTALLED[-1][0] if _INSTALLED else None


def _hooks(original_send: Any, original_ws: Any, is_async: bool) -> dict[str, Any]:
    """The methods a guarded client class overrides, around the SDK's ``original_*``."""

    def websocket_query_params(self: Any, url: httpx2.URL, extra_query: Any) -> Any:
        guard = guard_of(self)
        if guard is not None:
            guard.refuse_websocket(f"the realtime WebSocket at {url.path}")
        return original_ws(self, url, extra_query)

    if is_async:

        async def asend(self: Any, request: httpx2.Request, *, stream: bool, **kwargs: Any) -> httpx2.Response:
            guard = guard_of(self)

            async def send(outgoing: httpx2.Request) -> httpx2.Response:
                return await original_send(self, outgoing, stream=stream, **kwargs)  # type: ignore[no-any-return]

            if guard is None or PASS.get():
                return await send(request)
            return await aguarded_send(guard, self, request, stream, send)

        return {"_send_request": asend, "_websocket_query_params": websocket_query_params}

    def send_request(self: Any, request: httpx2.Request, *, stream: bool, **kwargs: Any) -> httpx2.Response:
        guard = guard_of(self)

        def send(outgoing: httpx2.Request) -> httpx2.Response:
            return original_send(self, outgoing, stream=stream, **kwargs)  # type: ignore[no-any-return]

        if guard is None or PASS.get():
            return send(request)
        return guarded_send(guard, self, request, stream, send)

    return {"_send_request": send_request, "_websocket_query_params": websocket_query_params}


def _is_async(client: Any) -> bool:
    import openai

    return isinstance(client, openai.AsyncOpenAI)


def protect(
    client: ClientT, policy: Policy | None = None, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None
) -> ClientT:
    """A guarded copy of an ``OpenAI``, ``AsyncOpenAI`` or ``AzureOpenAI`` client: every request it
    sends runs the guard's steps. Type checkers keep seeing the SDK's own type.

    Without a policy, the project's configuration is loaded (``Policy.load()``). ``on_soft_limit`` is
    called (once per budget, metric and period) when a soft budget limit is reached."""
    guard = Guard(policy if policy is not None else Policy.load(), on_soft_limit=on_soft_limit)
    base = type(client)
    while getattr(base, _GUARD_ATTRIBUTE, None) is not None:  # protecting a protected client: re-guard its SDK class
        base = base.__mro__[1]
    namespace = _hooks(base._send_request, base._websocket_query_params, _is_async(client))  # type: ignore[attr-defined]
    namespace[_GUARD_ATTRIBUTE] = guard
    namespace["__module__"] = __name__
    guarded_class = type(f"Protected{base.__name__}", (base,), namespace)
    copy = client.copy()  # type: ignore[attr-defined]
    copy.__class__ = guarded_class
    return copy  # type: ignore[no-any-return]


@contextlib.contextmanager
def end_user(identifier: str) -> Iterator[None]:
    """Attach a salted hash of ``identifier`` as ``safety_identifier`` to every call in this scope."""
    token = END_USER.set(identifier)
    try:
        yield
    finally:
        END_USER.reset(token)


@contextlib.contextmanager
def conversation(client: Any = None) -> Iterator[PiiVault | None]:
    """Keep one PII vault across the calls in this scope, so a value keeps its placeholder from turn
    to turn. ``client`` is a protected client (or ``None`` for the installed guard)."""
    guard = guard_of(client) if client is not None else (_INSTALLED[-1][0] if _INSTALLED else None)
    if guard is None:
        raise _not_guarded()
    vault = guard.pii.new_vault() if guard.pii is not None else None
    token = CONVERSATION.set(vault)
    try:
        yield vault
    finally:
        CONVERSATION.reset(token)


def _not_guarded() -> Exception:
    from prodguard.guard._errors import GuardError

    return GuardError("conversation() needs a protected client, or install() first")


# -- install ------------------------------------------------------------------------------------

# The one process-wide state of the guard, by nature of an import hook: what install() patched.
_INSTALLED: list[tuple[Guard, dict[tuple[type, str], Any]]] = []


def install(policy: Policy | None = None, *, on_soft_limit: Callable[[SoftLimitReached], None] | None = None) -> None:
    """Guard every ``OpenAI``/``AsyncOpenAI`` client in this process, including clients built inside
    libraries after (or before) this call. ``uninstall()`` restores the SDK."""
    import openai

    if _INSTALLED:
        uninstall()
    guard = Guard(policy if policy is not None else Policy.load(), on_soft_limit=on_soft_limit)
    originals: dict[tuple[type, str], Any] = {}
    for cls, is_async in ((openai.OpenAI, False), (openai.AsyncOpenAI, True)):
        for name, hook in _hooks(cls.__dict__["_send_request"], _ws_original(cls), is_async).items():
            originals[(cls, name)] = cls.__dict__.get(name)
            setattr(cls, name, hook)
    _INSTALLED.append((guard, originals))


def _ws_original(cls: type) -> Any:
    return getattr(cls, "_websocket_query_params")  # noqa: B009


def uninstall() -> None:
    """Undo ``install()``; clients go back to calling the SDK directly."""
    while _INSTALLED:
        _, originals = _INSTALLED.pop()
        for (cls, name), original in originals.items():
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
