"""Finding and reading the project configuration: ``prodguard.toml`` or ``[tool.prodguard]`` in
``pyproject.toml``. Both halves (scanner and guard) read their own sections from what this returns."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodguard.auxfiles import CONFIG_LIMIT, read_limited
from prodguard.errors import ConfigError
from prodguard.rules.tomlsource import KeyPath, TomlSource

CONFIG_NAMES = ("prodguard.toml", "pyproject.toml")


@dataclass(frozen=True)
class ProjectConfig:
    """The prodguard table of one file (empty when no file was found), and where it came from."""

    table: dict[str, Any]
    source: TomlSource | None
    root: Path
    prefix: KeyPath = ()

    @property
    def path(self) -> str | None:
        return self.source.path if self.source else None

    def error(self, message: str, *keys: str | int) -> ConfigError:
        if self.source is None:
            return ConfigError(message)
        return self.source.error(message, (*self.prefix, *keys))


def find_config(start: Path) -> Path | None:
    """The nearest ``prodguard.toml``, or ``pyproject.toml`` with a ``[tool.prodguard]`` table, in
    ``start`` or its parents (stopping at a repository root)."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate_dir in (directory, *directory.parents):
        own = candidate_dir / "prodguard.toml"
        if own.is_file():
            return own
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_prodguard_table(pyproject):
            return pyproject
        if (candidate_dir / ".git").exists():
            break
    return None


def _has_prodguard_table(pyproject: Path) -> bool:
    try:
        text = read_limited(pyproject, CONFIG_LIMIT).decode("utf-8", "replace")
    except (OSError, ConfigError):
        # Unreadable or hostile (too large, not a regular file): the loader reports why.
        return True
    return "[tool.prodguard" in text


def load_project_config(path: Path | None, *, root: Path | None = None) -> ProjectConfig:
    """Read ``path`` (a prodguard.toml or pyproject.toml); no path gives an empty configuration."""
    if path is None:
        return ProjectConfig(table={}, source=None, root=(root or Path.cwd()).resolve())
    source = TomlSource.load(path)
    if path.name == "pyproject.toml" or "tool" in source.data:
        tool = source.data.get("tool", {})
        table = tool.get("prodguard", {}) if isinstance(tool, dict) else {}
        prefix: KeyPath = ("tool", "prodguard")
    else:
        table = source.data
        prefix = ()
    if not isinstance(table, dict):
        raise source.error("[tool.prodguard] must be a table", prefix)
    config = ProjectConfig(table=table, source=source, root=path.resolve().parent, prefix=prefix)
    from prodguard.schema import validate  # the schema's owners import this module

    validate(config)
    return config
