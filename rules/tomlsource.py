"""TOML documents that remember where each key stands, so errors can name the file and line.

``tomllib`` reports syntax errors with a line but forgets positions once parsing succeeds; validation
errors (a wrong type, an unknown key) still need them. ``TomlSource`` parses with ``tomllib`` and maps
key paths such as ``("rules", 3, "pattern")`` to line numbers with a light line scan.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodguard.auxfiles import CONFIG_LIMIT, read_limited
from prodguard.errors import ConfigError

KeyPath = tuple[str | int, ...]

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p.strip("\"'") for p in parts]


@dataclass
class TomlSource:
    """A parsed TOML file and the line of every key in it."""

    path: str
    data: dict[str, Any]
    lines: dict[KeyPath, int] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path, limit: int = CONFIG_LIMIT) -> TomlSource:
        """Parse the file ``path`` (a regular file of at most ``limit`` bytes: configs and packs can come
        from the repository being scanned)."""
        p = Path(path)
        try:
            raw = read_limited(p, limit)
        except FileNotFoundError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(p)) from None
        return cls.parse(raw, str(p))

    @classmethod
    def parse(cls, raw: bytes, path: str) -> TomlSource:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError("not valid UTF-8", path=path, line=raw[: exc.start].count(b"\n") + 1) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
            line = int(match.group(1)) if match else None
            raise ConfigError(f"invalid TOML: {message}", path=path, line=line) from None
        return cls(path=path, data=data, lines=_index_lines(text))

    def line_of(self, keypath: KeyPath) -> int | None:
        """The line of ``keypath``, or of its nearest enclosing key or table when it has none."""
        probe = tuple(keypath)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return None

    def error(self, message: str, keypath: KeyPath) -> ConfigError:
        return ConfigError(message, path=self.path, line=self.line_of(keypath))


def _index_lines(text: str) -> dict[KeyPath, int]:
    lines: dict[KeyPath, int] = {}
    counters: dict[tuple[str, ...], int] = {}
    table: KeyPath = ()
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if in_multiline is not None:
            if line.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _split_dotted(header.group(2))
            if header.group(1) == "[[":
                key = tuple(names)
                counters[key] = counters.get(key, -1) + 1
                table = (*_resolve(names[:-1], counters), names[-1], counters[key])
            else:
                table = _resolve(names, counters)
            lines.setdefault(table, number)
            continue
        key_match = _KEY.match(line)
        if key_match:
            keypath = (*table, *_split_dotted(key_match.group(1)))
            lines.setdefault(keypath, number)
            rest = line[key_match.end() :]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    in_multiline = quote
                    break
    return lines


def _resolve(names: list[str], counters: dict[tuple[str, ...], int]) -> KeyPath:
    """A table path in which every array-of-tables prefix points at its latest element."""
    resolved: list[str | int] = []
    for i, name in enumerate(names):
        resolved.append(name)
        prefix = tuple(names[: i + 1])
        if prefix in counters:
            resolved.append(counters[prefix])
    return tuple(resolved)
