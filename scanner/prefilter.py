"""The keyword prefilter: one pass over a blob's bytes that tells which rules may match, and where.

Hyperscan (when installed: wheels exist for x86-64 and ARM64 Linux and macOS) matches every keyword of
every rule in one pass at well over 1 GB/s. Where it is missing, a compiled ``re`` alternation gives the
same answers, slower; the test-suite checks that both agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import ModuleType
from typing import Protocol

hyperscan: ModuleType | None
try:  # pragma: no cover - exercised on machines with and without the wheel
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None


class Prefilter(Protocol):
    def hits(self, data: bytes) -> list[tuple[int, int]]:
        """(keyword index, end offset of the keyword) for every occurrence, case-insensitive."""
        ...


class HyperscanPrefilter:
    """Every keyword compiled into one Hyperscan block-mode database."""

    def __init__(self, keywords: Sequence[str]) -> None:
        assert hyperscan is not None
        self._keywords = tuple(keywords)
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        expressions = [re.escape(k).encode("utf-8") for k in self._keywords]
        self._db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=[hyperscan.HS_FLAG_CASELESS] * len(expressions),
        )

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(kid: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            append((kid, end))

        if data:
            self._db.scan(data, match_event_handler=on_match)
        return found

    def __reduce__(self) -> tuple[type, tuple[tuple[str, ...]]]:
        # Hyperscan databases are rebuilt in the receiving process rather than pickled.
        return (type(self), (self._keywords,))


class RegexPrefilter:
    """The same contract with Python's ``re``: one alternation of all keywords, longest first."""

    def __init__(self, keywords: Sequence[str]) -> None:
        self._keywords = tuple(keywords)
        self._index = {k.lower().encode("utf-8"): i for i, k in enumerate(self._keywords)}
        ordered = sorted(self._index, key=len, reverse=True)
        # A lookahead finds overlapping occurrences (``sk-`` inside ``sk-proj-``) as Hyperscan does.
        self._regex = re.compile(b"(?=(" + b"|".join(re.escape(k) for k in ordered) + b"))", re.IGNORECASE)
        self._by_length = sorted({len(k) for k in self._index}, reverse=True)

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        lowered = data.lower()
        for match in self._regex.finditer(data):
            start = match.start()
            # The alternation reports one keyword per position; others may start there too.
            for length in self._by_length:
                # Near the end a slice comes back short: that would report a shorter keyword at a
                # made-up end offset, past the end of the data.
                if start + length > len(data):
                    continue
                kid = self._index.get(lowered[start : start + length])
                if kid is not None:
                    found.append((kid, start + length))
        return found


def build_prefilter(keywords: Sequence[str], *, prefer_hyperscan: bool = True) -> Prefilter:
    if prefer_hyperscan and hyperscan is not None:
        return HyperscanPrefilter(keywords)
    return RegexPrefilter(keywords)
