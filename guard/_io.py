"""The I/O a guard step may ask for, as plain records (sans-I/O, like httpx's auth flows).

Steps are generators: they ``yield`` one of these requests and receive the result (or have the
exception thrown in). ``_drivers`` performs them synchronously or asynchronously, so each step is
written once for both clients.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx2

T = TypeVar("T")


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``)."""

    seconds: float


@dataclass(frozen=True)
class Moderate:
    """Ask the moderation endpoint about ``texts``; the result is the SDK's ``ModerationCreateResponse``."""

    texts: tuple[str, ...]
    model: str


@dataclass(frozen=True)
class Send:
    """Send ``request`` upstream (past the guard); the result is the ``httpx2.Response``."""

    request: httpx2.Request


@dataclass(frozen=True)
class Read:
    """Read the whole body of ``response``; the result is its bytes."""

    response: httpx2.Response


@dataclass(frozen=True)
class Close:
    """Close ``response`` (an answer that will not be used, e.g. before a retry)."""

    response: httpx2.Response


IORequest = Sleep | Moderate | Send | Read | Close
Flow = Generator[IORequest, Any, T]
