"""One request through the guard, written once as a sans-I/O generator (httpx's auth-flow shape):
request steps, the send (with backoff), then the answer. ``_drivers`` runs it for sync and async
clients; a streamed answer is handed back with its ``SseRewriter`` for the driver to pump.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx2
import openai

from prodguard.guard._answer import AnswerPipe
from prodguard.guard._backoff import RetryPlan
from prodguard.guard._call import Call
from prodguard.guard._guard import Guard
from prodguard.guard._io import Close, Flow, Read, Send, Sleep
from prodguard.guard._sse import SseRewriter

_HOP_HEADERS = ("content-length", "content-encoding", "transfer-encoding")


@dataclass
class Outcome:
    response: httpx2.Response
    stream: SseRewriter | None = None  # set when the answer is an event stream still to be read


def _outgoing(request: httpx2.Request, call: Call) -> httpx2.Request:
    """The request as it will be sent: the SDK's own when no step changed the body."""
    if not call.changed:
        return request
    content = json.dumps(call.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # The SDK built this request for this attempt only: give it the new body in place (building a new
    # httpx2.Request costs more than the rest of the guard's bookkeeping).
    request.headers["content-length"] = str(len(content))
    request.stream = httpx2.ByteStream(content)
    request._content = content  # what ``request.content`` returns from now on
    return request


def replaced_response(response: httpx2.Response, *, content: bytes | None = None, stream: httpx2.SyncByteStream | httpx2.AsyncByteStream | None = None) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _HOP_HEADERS]
    if content is not None:
        return httpx2.Response(response.status_code, headers=headers, content=content, request=response.request, extensions=response.extensions)
    return httpx2.Response(response.status_code, headers=headers, stream=stream, request=response.request, extensions=response.extensions)


def exchange(guard: Guard, call: Call, request: httpx2.Request, retries: int | None) -> Flow[Outcome]:
    """``retries``: how many times the guard resends (backoff takes the SDK's retries over), or None to
    leave retrying to the SDK."""
    try:
        for step in guard.steps:
            yield from step.request(call)
        if call.cache is not None and call.cache.hit is not None:
            response = httpx2.Response(200, headers={"content-type": "application/json"}, content=call.cache.hit, request=request)
        else:
            response = yield from _send(guard, call, _outgoing(request, call), retries)
        if response.status_code >= 400 or call.route.body != "json":
            guard.finish(call, None if response.status_code < 400 else _Status(response.status_code))
            return Outcome(response)
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("text/event-stream"):
            if call.lease is not None:
                call.lease.streaming = True
            return Outcome(response, SseRewriter(AnswerPipe(guard.steps, call)))
        data = yield Read(response)
        if not content_type.startswith("application/json"):
            guard.finish(call, None)
            return Outcome(response)
        caller = yield from AnswerPipe(guard.steps, call).plain(json.loads(data))
        guard.finish(call, None)
        return Outcome(replaced_response(response, content=json.dumps(caller, ensure_ascii=False, separators=(",", ":")).encode()))
    except BaseException as exc:
        guard.finish(call, exc)
        raise


class _Status(Exception):
    """An upstream error status, for the steps that close the call (nothing is raised)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


def _send(guard: Guard, call: Call, request: httpx2.Request, retries: int | None) -> Flow[httpx2.Response]:
    plan: RetryPlan | None = None  # made at the first failure: most requests never need one
    while True:
        if call.lease is not None:
            call.lease.sent = True
        if call.attempt:
            request.headers["x-stainless-retry-count"] = str(call.attempt)
        try:
            response: httpx2.Response = yield Send(request)
        except httpx2.TransportError as exc:
            plan = plan or (RetryPlan(guard.policy.backoff, retries) if retries is not None else None)
            delay = plan.next_delay(exc) if plan is not None else None
            if delay is None:
                if plan is None:
                    raise
                # Final: the SDK must not retry what the guard already retried.
                error = openai.APITimeoutError if isinstance(exc, httpx2.TimeoutException) else openai.APIConnectionError
                raise error(request=request) from exc
        else:
            if response.status_code >= 400 and retries is not None:
                plan = plan or RetryPlan(guard.policy.backoff, retries)
            delay = plan.next_delay(response) if plan is not None and response.status_code >= 400 else None
            if delay is None:
                if plan is not None and response.status_code >= 400:
                    response.headers["x-should-retry"] = "false"
                return response
            yield Close(response)
        call.attempt += 1
        call.decisions.append(f"retry:{call.attempt}")
        yield Sleep(delay)
        for step in guard.steps:
            yield from step.retry(call)
