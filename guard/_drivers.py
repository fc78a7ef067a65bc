"""The thin I/O side: run a guard flow synchronously or asynchronously.

A flow yields ``_io`` requests; ``_perform`` and ``_aperform`` carry them out (sleep, moderation call,
send, read, close) and send the result back in. ``PASS`` is set while the guard itself talks to the
API, so that those requests (moderation, the guarded request itself) are not guarded a second time.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import httpx2

from prodguard.guard._call import Call
from prodguard.guard._flow import Outcome, exchange, replaced_response
from prodguard.guard._guard import Guard
from prodguard.guard._io import Close, Flow, IORequest, Moderate, Read, Send, Sleep, T
from prodguard.guard._sse import SseRewriter

PASS: contextvars.ContextVar[bool] = contextvars.ContextVar("prodguard_pass", default=False)
Sender = Callable[[httpx2.Request], Any]


def _passing(function: Callable[[], T]) -> T:
    token = PASS.set(True)
    try:
        return function()
    finally:
        PASS.reset(token)


def _perform(client: Any, send: Sender, request: IORequest) -> Any:
    if isinstance(request, Sleep):
        return time.sleep(request.seconds)
    if isinstance(request, Moderate):
        return _passing(lambda: client.moderations.create(model=request.model, input=list(request.texts)))
    if isinstance(request, Send):
        return _passing(lambda: send(request.request))
    if isinstance(request, Read):
        return request.response.read()
    assert isinstance(request, Close)
    return request.response.close()


async def _apassing(function: Callable[[], Awaitable[T]]) -> T:
    token = PASS.set(True)  # set while the coroutine runs, not only while it is created
    try:
        return await function()
    finally:
        PASS.reset(token)


async def _aperform(client: Any, send: Sender, request: IORequest) -> Any:
    if isinstance(request, Sleep):
        return await asyncio.sleep(request.seconds)
    if isinstance(request, Moderate):
        return await _apassing(lambda: client.moderations.create(model=request.model, input=list(request.texts)))
    if isinstance(request, Send):
        return await _apassing(lambda: send(request.request))
    if isinstance(request, Read):
        return await request.response.aread()
    assert isinstance(request, Close)
    return await request.response.aclose()


class _Stepper:
    """Steps a flow: what the sync and async drivers share (they differ only in awaiting ``perform``)."""

    def __init__(self, flow: Flow[T]) -> None:
        self.flow = flow
        self.value: Any = None
        self.error: Exception | None = None
        self.done = False

    def next(self) -> IORequest | None:
        """The next I/O request, or None when the flow returned (its result is then ``value``)."""
        value, error, self.value, self.error = self.value, self.error, None, None
        try:
            return self.flow.throw(error) if error is not None else self.flow.send(value)
        except StopIteration as stop:
            self.value, self.done = stop.value, True
            return None


def run(flow: Flow[T], perform: Callable[[IORequest], Any]) -> T:
    """Drive ``flow`` to its end, performing each request as it comes."""
    stepper = _Stepper(flow)
    while (request := stepper.next()) is not None:
        try:
            stepper.value = perform(request)
        except Exception as exc:
            stepper.error = exc
    return stepper.value  # type: ignore[no-any-return]


async def arun(flow: Flow[T], perform: Callable[[IORequest], Awaitable[Any]]) -> T:
    """``run`` for the async client: each request is awaited."""
    stepper = _Stepper(flow)
    while (request := stepper.next()) is not None:
        try:
            stepper.value = await perform(request)
        except Exception as exc:
            stepper.error = exc
    return stepper.value  # type: ignore[no-any-return]


class _Pump:
    """What the sync and async stream wrappers share: the rewriter, and ending the call once."""

    def __init__(self, guard: Guard, call: Call, source: httpx2.Response, rewriter: SseRewriter) -> None:
        self.guard, self.call, self.source, self.rewriter = guard, call, source, rewriter

    def done(self, error: BaseException | None) -> None:
        self.guard.finish(self.call, error)


class GuardedStream(httpx2.SyncByteStream):
    def __init__(self, pump: _Pump, perform: Callable[[IORequest], Any]) -> None:
        self.pump, self.perform = pump, perform

    def __iter__(self) -> Iterator[bytes]:
        pump = self.pump
        try:
            for chunk in pump.source.iter_bytes():
                yield run(pump.rewriter.feed(chunk), self.perform)
            yield run(pump.rewriter.end(), self.perform)
        except BaseException as exc:
            pump.done(exc)
            raise
        pump.done(None)

    def close(self) -> None:
        self.pump.source.close()
        self.pump.done(None)  # closed early: still one call, with its record and settlement


class AsyncGuardedStream(httpx2.AsyncByteStream):
    def __init__(self, pump: _Pump, perform: Callable[[IORequest], Awaitable[Any]]) -> None:
        self.pump, self.perform = pump, perform

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pump = self.pump
        try:
            async for chunk in pump.source.aiter_bytes():
                yield await arun(pump.rewriter.feed(chunk), self.perform)
            yield await arun(pump.rewriter.end(), self.perform)
        except BaseException as exc:
            pump.done(exc)
            raise
        pump.done(None)

    async def aclose(self) -> None:
        await self.pump.source.aclose()
        self.pump.done(None)


StreamT = TypeVar("StreamT", GuardedStream, AsyncGuardedStream)


def _closing(stream: StreamT, pump: _Pump) -> StreamT:
    """A stream that is never read nor closed still ends its call (lease, record) once collected."""
    weakref.finalize(stream, pump.guard.finish, pump.call, None)
    return stream


def _retries(guard: Guard, client: Any) -> int | None:
    settings = guard.policy.backoff
    if not settings.enabled:
        return None
    return settings.max_retries if settings.max_retries is not None else int(getattr(client, "max_retries", 0) or 0)


def _base_path(client: Any) -> str:
    return str(client.base_url.path)


def _is_azure(client: Any) -> bool:
    from openai.lib.azure import BaseAzureClient

    return isinstance(client, BaseAzureClient)


def guarded_send(guard: Guard, client: Any, request: httpx2.Request, stream: bool, send: Sender) -> httpx2.Response:
    """A synchronous client's request through ``guard``; ``send`` is the SDK's own send."""
    call = guard.new_call(request, _base_path(client), azure=_is_azure(client), stream=stream)

    def perform(io: IORequest) -> Any:
        return _perform(client, send, io)

    outcome: Outcome = run(exchange(guard, call, request, _retries(guard, client)), perform)
    if outcome.stream is None:
        return outcome.response
    pump = _Pump(guard, call, outcome.response, outcome.stream)
    return replaced_response(outcome.response, stream=_closing(GuardedStream(pump, perform), pump))


async def aguarded_send(guard: Guard, client: Any, request: httpx2.Request, stream: bool, send: Sender) -> httpx2.Response:
    """``guarded_send`` for an asynchronous client."""
    call = guard.new_call(request, _base_path(client), azure=_is_azure(client), stream=stream)

    async def perform(io: IORequest) -> Any:
        return await _aperform(client, send, io)

    outcome: Outcome = await arun(exchange(guard, call, request, _retries(guard, client)), perform)
    if outcome.stream is None:
        return outcome.response
    pump = _Pump(guard, call, outcome.response, outcome.stream)
    return replaced_response(outcome.response, stream=_closing(AsyncGuardedStream(pump, perform), pump))
