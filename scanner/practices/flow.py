"""The per-function "user-facing" model shared by the Python and the JavaScript/TypeScript analyses.

Functions are numbered by the fact extractors; this module only sees the call graph. A function is
user-facing when a request handler reaches it: the handler itself, what it calls in the same file
(transitively), functions nested in it (stream generators, callbacks) and jobs it enqueues. Moderation is
judged per path: a call is moderated when some function on the way from the handler to it — or a
function that one of them calls — moderates; a module with one moderated handler does not excuse another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Reach:
    """For each reached function: whether every path to it from a handler passes a moderation."""

    moderated: dict[int, bool]

    def is_user_facing(self, function: int) -> bool:
        return function in self.moderated

    def is_moderated(self, function: int) -> bool:
        return self.moderated.get(function, False)


def moderates(function: int, callees: Mapping[int, Iterable[int]], direct: set[int]) -> bool:
    """``function`` moderates itself or through something it calls (bounded walk)."""
    seen: set[int] = set()
    pending = [function]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        if current in direct:
            return True
        seen.add(current)
        pending.extend(callees.get(current, ()))
    return False


def reach(handlers: Iterable[int], callees: Mapping[int, Iterable[int]], moderating: set[int]) -> Reach:
    """Walk from ``handlers`` along ``callees``; ``moderating`` holds the functions that call moderation
    directly. A function reached both moderated and not counts as not moderated (one path is enough)."""
    flags: dict[int, bool] = {}
    pending = [(handler, False) for handler in handlers]
    cache: dict[int, bool] = {}
    while pending:
        function, moderated = pending.pop()
        if function not in cache:
            cache[function] = moderates(function, callees, moderating)
        moderated = moderated or cache[function]
        known = flags.get(function)
        if known is not None and (known is False or known == moderated):
            continue  # already reached at least as badly
        flags[function] = moderated if known is None else (known and moderated)
        pending.extend((callee, moderated) for callee in callees.get(function, ()))
    return Reach(flags)
