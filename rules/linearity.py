"""Which user patterns may run: a conservative check that a pattern cannot make the engine's regular
expressions (Python's backtracking ``re``) take more than linear time.

Built-in patterns are proven fast by the ReDoS test-suite (adversarial megabytes per rule); a user pack
has no such proof, and one catastrophic pattern (``(a+)+$``) hangs every scan that loads it. So a user
pattern is refused, with its file and line, when it holds a shape that backtracks super-linearly:

- a repetition nested in a repetition, both of them long (``(a+)+``, ``(\\w+\\s?)*``);
- a long repetition of alternatives that can start with the same character (``(a|ab)*``);
- two long repetitions in a row over overlapping characters, with nothing required between them
  (``\\w+\\d+``, ``.*x.*``), which is quadratic or worse on a near miss;
- a long repetition at the very start of the pattern with no boundary before it (``[a-z0-9]+=``:
  tried again from every position of a long run): put a literal prefix or a ``(?<![...])`` first;
- a backreference inside a repetition (not a regular expression at all);
- a repetition count over ``MAX_COUNT`` (the compiled program grows with it).

"Long" is unbounded or more than ``LONG`` repetitions. The check errs on the side of refusing: a
refused pattern can always be written another way (bounded counts, a literal prefix, a boundary).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from typing import Any

# The parse tree of the standard library's regular expression compiler (a private module, typed
# nowhere: its nodes are (opcode, argument) pairs).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")

LONG = 64
MAX_COUNT = 4096
_ALL = frozenset(range(256))
_DIGITS = frozenset(range(0x30, 0x3A))
_SPACE = frozenset(b" \t\n\r\f\v")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_CATEGORIES = {
    "CATEGORY_DIGIT": _DIGITS,
    "CATEGORY_NOT_DIGIT": _ALL - _DIGITS,
    "CATEGORY_SPACE": _SPACE,
    "CATEGORY_NOT_SPACE": _ALL - _SPACE,
    "CATEGORY_WORD": _WORD,
    "CATEGORY_NOT_WORD": _ALL - _WORD,
}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def nonlinear_reason(pattern: bytes) -> str | None:
    """Why ``pattern`` may take super-linear time, or ``None`` when none of the shapes above occurs.
    ``pattern`` must compile (callers compile it first)."""
    tree = _parser.parse(pattern, 0)
    ignore_case = bool(tree.state.flags & _c.SRE_FLAG_IGNORECASE)
    checker = _Checker(ignore_case)
    items = list(tree)
    reason = checker.sequence(items, repeated=False)
    if reason is None:
        reason = _leading(items, checker)
    return reason


def _long(node: Any) -> bool:
    return str(node[0]) in _REPEATS and node[1][1] - node[1][0] > LONG


class _Checker:
    def __init__(self, ignore_case: bool) -> None:
        self.ignore_case = ignore_case

    def sequence(self, items: list[Any], *, repeated: bool) -> str | None:
        previous: frozenset[int] | None = None  # characters of the last long repetition, if still open
        for node in items:
            op, av = str(node[0]), node[1]
            if (op == "GROUPREF" or op == "GROUPREF_EXISTS") and repeated:
                return "a backreference inside a repetition (cannot be matched in linear time)"
            if op in _REPEATS:
                body = list(av[2])
                if av[1] != _c.MAXREPEAT and av[1] > MAX_COUNT:
                    return f"a repetition count over {MAX_COUNT} ({{{av[1]}}})"
                if _long(node):
                    if repeated:
                        return "a long repetition nested in another repetition (as in (a+)+)"
                    if _has_long(body):
                        return "a long repetition nested in another repetition (as in (a+)+)"
                    if _ambiguous(body, self):
                        return "a long repetition of alternatives that can start alike (as in (a|ab)*)"
                    chars = self.chars(body)
                    if previous is not None and previous & chars:
                        return "two long repetitions in a row over the same characters (as in \\w+\\d+)"
                    previous = chars
                    reason = self.sequence(body, repeated=True)
                else:
                    reason = self.sequence(body, repeated=repeated or av[1] > 1)
                    if av[0] > 0 and not _nullable(body):
                        previous = None
                if reason:
                    return reason
                continue
            for child in _children(node):
                reason = self.sequence(child, repeated=repeated)
                if reason:
                    return reason
            if not _nullable([node]):
                previous = None
        return None

    def chars(self, items: Iterable[Any]) -> frozenset[int]:
        """Every byte that ``items`` can match (an over-estimate)."""
        found: set[int] = set()
        for node in items:
            op, av = str(node[0]), node[1]
            if op == "LITERAL":
                found |= self._cased(av)
            elif op == "NOT_LITERAL" or op == "ANY":
                return _ALL
            elif op == "IN":
                found |= self._class(av)
            else:
                for child in _children(node):
                    found |= self.chars(child)
        return frozenset(found)

    def first(self, items: list[Any]) -> frozenset[int]:
        """Bytes a match of ``items`` can start with (an over-estimate)."""
        found: set[int] = set()
        for node in items:
            op = str(node[0])
            if op in ("AT", "ASSERT", "ASSERT_NOT"):
                continue
            if op in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
                found |= self.chars([node])
            else:
                for child in _children(node):
                    found |= self.first(child)
            if not _nullable([node]):
                break
        return frozenset(found)

    def _cased(self, value: int) -> set[int]:
        if self.ignore_case and 0x41 <= value <= 0x7A and chr(value).isalpha():
            return {ord(chr(value).lower()), ord(chr(value).upper())}
        return {value}

    def _class(self, items: list[Any]) -> set[int]:
        found: set[int] = set()
        negate = False
        for op, av in items:
            name = str(op)
            if name == "NEGATE":
                negate = True
            elif name == "LITERAL":
                found |= self._cased(av)
            elif name == "RANGE":
                for value in range(av[0], min(av[1], 255) + 1):
                    found |= self._cased(value)
            elif name == "CATEGORY":
                found |= _CATEGORIES.get(str(av), _ALL)
            else:
                found |= _ALL
        return set(_ALL - found) if negate else found


def _children(node: Any) -> Iterator[list[Any]]:
    op, av = str(node[0]), node[1]
    if op == "SUBPATTERN":
        yield list(av[3])
    elif op == "BRANCH":
        for branch in av[1]:
            yield list(branch)
    elif op in _REPEATS:
        yield list(av[2])
    elif op in ("ASSERT", "ASSERT_NOT"):
        yield list(av[1])
    elif op == "ATOMIC_GROUP":
        yield list(av)


def _has_long(items: list[Any]) -> bool:
    for node in items:
        if _long(node):
            return True
        if str(node[0]) in ("ASSERT", "ASSERT_NOT"):
            continue
        if any(_has_long(child) for child in _children(node)):
            return True
    return False


def _nullable(items: list[Any]) -> bool:
    """Whether ``items`` can match the empty string."""
    for node in items:
        op, av = str(node[0]), node[1]
        if op in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        if op in _REPEATS:
            if av[0] == 0 or _nullable(list(av[2])):
                continue
            return False
        if op == "SUBPATTERN" or op == "ATOMIC_GROUP":
            if _nullable(next(_children(node))):
                continue
            return False
        if op == "BRANCH":
            if any(_nullable(child) for child in _children(node)):
                continue
            return False
        return False
    return True


def _ambiguous(body: list[Any], checker: _Checker) -> bool:
    """Whether ``body`` (a repeated part) holds alternatives that can start with the same byte."""
    for node in body:
        if str(node[0]) == "BRANCH":
            firsts = [checker.first(child) for child in _children(node)]
            for i, a in enumerate(firsts):
                if any(a & b for b in firsts[i + 1 :]):
                    return True
        for child in _children(node):
            if _ambiguous(child, checker):
                return True
    return False


def _leading(items: list[Any], checker: _Checker) -> str | None:
    """A long repetition that a match can start with, with no anchor, literal or lookbehind before it."""
    for node in items:
        op = str(node[0])
        if op in ("AT", "ASSERT", "ASSERT_NOT", "LITERAL"):
            return None
        if _long(node):
            body = list(node[1][2])
            if any(str(n[0]) in ("AT", "ASSERT", "ASSERT_NOT") for n in body):
                return None
            return (
                "starts with a long repetition and no boundary, so a near miss is tried again from every "
                "position of a long run: begin with a literal prefix or a boundary such as (?<![A-Za-z0-9])"
            )
        if op == "SUBPATTERN":
            return _leading(list(node[1][3]), checker)
        if op == "BRANCH":
            for child in _children(node):
                reason = _leading(child, checker)
                if reason:
                    return reason
            return None
        if op in _REPEATS and node[1][0] > 0:
            return _leading(list(node[1][2]), checker)
        return None
    return None
