"""What every match of a pattern must contain, read from the pattern's syntax: a cheap test that skips
the windows a pattern cannot match in.

The engine runs a rule's pattern in a window around each keyword hit; most windows hold no match (a
``://`` in a URL without a password, ``max_tokens:`` in an annotation). A window where some required
piece is absent cannot hold a match: ``bytes.find`` over it says so for a fraction of the regex's cost.

``required_clauses`` returns clauses in conjunctive form: a match contains at least one string of every
clause. Only what the pattern consumes counts (never lookarounds: a lookbehind reads before the window);
letters under case-insensitive matching count in both cases; anything the analysis does not understand
contributes nothing, so an unusual pattern is simply never skipped.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

# The standard library's own pattern parser (private: ``sre_parse`` before Python 3.11). Where it is
# missing or different, ``required_clauses`` answers "nothing required" and every window is matched.
sre_parse: ModuleType | None
sre_constants: ModuleType | None
try:
    sre_parse = importlib.import_module("re._parser")
    sre_constants = importlib.import_module("re._constants")
except ImportError:  # pragma: no cover - other Pythons
    sre_parse = sre_constants = None

Clause = frozenset[bytes]
# More clauses cost more tests per window than they save; the longest strings are the rarest.
MAX_CLAUSES = 3
# Single bytes nearly every line of text holds: a clause with one of them is almost always met, and
# testing it costs more than it saves.
_COMMON = frozenset(bytes([b]) for b in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \t_")


def required_clauses(pattern: bytes) -> tuple[Clause, ...]:
    """Clauses every match of ``pattern`` satisfies (see the module docstring); empty when unknown."""
    if sre_parse is None or sre_constants is None:
        return ()
    try:
        parsed = sre_parse.parse(pattern, 0)
        clauses = _sequence(list(parsed), bool(parsed.state.flags & re.IGNORECASE))
    except Exception:  # an internal parser: any surprise means "no clauses", never an error
        return ()
    useful = [c for c in set(clauses) if not any(len(s) == 1 and s in _COMMON for s in c)]
    useful.sort(key=lambda c: (-min(len(s) for s in c), len(c), sorted(c)))
    return tuple(useful[:MAX_CLAUSES])


def window_may_match(data: bytes, lo: int, hi: int, clauses: tuple[Clause, ...]) -> bool:
    """Whether ``data[lo:hi]`` holds a string of every clause."""
    for clause in clauses:
        for piece in clause:
            if data.find(piece, lo, hi) >= 0:
                break
        else:
            return False
    return True


def _cased(byte: int) -> bool:
    return 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def _variants(byte: int, caseless: bool) -> Clause:
    if caseless and _cased(byte):
        return frozenset({bytes([byte]).lower(), bytes([byte]).upper()})
    return frozenset({bytes([byte])})


def _sequence(items: list[tuple[Any, Any]], caseless: bool) -> list[Clause]:
    """Clauses of a sequence of pattern items: runs of fixed bytes as single strings, and the clauses of
    every item that must match at least once."""
    clauses: list[Clause] = []
    run = b""
    assert sre_constants is not None
    for op, av in items:
        if op is sre_constants.LITERAL and not (caseless and _cased(av)):
            run += bytes([av])
            continue
        if run:
            clauses.append(frozenset({run}))
            run = b""
        clauses.extend(_item(op, av, caseless))
    if run:
        clauses.append(frozenset({run}))
    return clauses


def _item(op: Any, av: Any, caseless: bool) -> list[Clause]:
    c = sre_constants
    assert c is not None
    if op is c.LITERAL:
        return [_variants(av, caseless)]
    if op is c.IN:
        members: set[bytes] = set()
        for kind, value in av:
            if kind is not c.LITERAL:
                return []  # a range, a category or a negated class: any byte may do
            members |= _variants(value, caseless)
        return [frozenset(members)] if members else []
    if op is c.SUBPATTERN:
        _group, add_flags, del_flags, pattern = av
        inner = (caseless or bool(add_flags & re.IGNORECASE)) and not del_flags & re.IGNORECASE
        return _sequence(list(pattern), inner)
    if op is getattr(c, "ATOMIC_GROUP", None):
        return _sequence(list(av), caseless)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
        low, _high, pattern = av
        return _sequence(list(pattern), caseless) if low >= 1 else []
    if op is c.BRANCH:
        # Whichever alternative matches, its own clause is satisfied: the union of one clause per
        # alternative is a clause of the whole (none when some alternative requires nothing).
        union: set[bytes] = set()
        for alternative in av[1]:
            options = _sequence(list(alternative), caseless)
            if not options:
                return []
            union |= min(options, key=lambda clause: (len(clause), -min(len(s) for s in clause)))
        return [frozenset(union)]
    return []  # lookarounds, anchors, backreferences, any-byte, categories: nothing required
