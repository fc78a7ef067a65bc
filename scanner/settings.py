"""The scanner's settings: one immutable, picklable object built from the config file and the CLI."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prodguard.config import ProjectConfig
from prodguard.rules.environments import EnvironmentPolicy, load_environments
from prodguard.rules.model import Kind, Severity
from prodguard.scanner.practices.testpaths import DEFAULT_TEST_PATHS, TestPaths
from prodguard.schema import LIMIT, read_section, setting

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


def _size(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("max_file_size must be a number of bytes or a size like '20MiB'")
    try:
        size = parse_size(value)
    except ValueError as exc:
        raise ValueError(f"max_file_size: {exc}") from None
    if not 0 < size <= LIMIT:
        raise ValueError(f"max_file_size must be between 1 byte and {LIMIT} bytes")
    return size


@dataclass(frozen=True)
class RuleSelection:
    enable: tuple[str, ...] = setting((), doc="Rules to turn on: ids, families (`PG3` = every PG3xx rule) or globs (`PG30*`).")
    disable: tuple[str, ...] = setting((), doc="Rules never reported: ids, families or globs.")


@dataclass(frozen=True)
class ScannerTable:
    """The scanner's keys of ``[tool.prodguard]``, as written (``ScanSettings`` is what a scan runs with)."""

    exclude: tuple[str, ...] = setting((), doc="Gitignore-style patterns of paths not scanned, relative to the configuration file.")
    min_severity: str = setting(
        "low", doc="Lowest severity reported: `info`, `low`, `medium`, `high` or `critical`."
    )
    rules: RuleSelection = setting(factory=RuleSelection, doc="Rules turned on or off.")
    packs: tuple[str, ...] = setting((), doc="Extra rule pack files (TOML), relative to the configuration file.")
    max_file_size: int = setting(
        DEFAULT_MAX_FILE_SIZE, doc="Larger files are skipped: bytes, or a size like `\"20MiB\"`.", parse=_size
    )
    gitignore: bool = setting(True, doc="Skip what `.gitignore` ignores.")
    baseline: str | None = setting(None, doc="Baseline file of accepted findings, relative to the configuration file.")
    test_paths: tuple[str, ...] | None = setting(
        None, doc="Patterns of test code (judged more leniently by practice checks); default: tests/, test_*.py, ..."
    )


@dataclass(frozen=True)
class ScanSettings:
    """What to scan and how. ``root`` is the directory excludes and extra pack paths are relative to."""

    root: Path
    exclude: tuple[str, ...] = ()
    min_severity: Severity = Severity.LOW
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    gitignore: bool = True
    config_path: str | None = None
    jobs: int = 0
    environments: EnvironmentPolicy = field(default_factory=EnvironmentPolicy)
    test_paths: TestPaths = field(default_factory=TestPaths)
    # Finding kinds to report (``--kinds``); empty: all.
    kinds: frozenset[Kind] = frozenset()
    # The baseline file the config names (absolute), if any.
    baseline: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def with_overrides(self, **changes: Any) -> ScanSettings:
        """A copy with CLI options applied (``None`` means: keep the configured value)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def parse_size(text: str | int) -> int:
    """``20MiB``, ``500k``, ``1048576`` -> bytes."""
    if isinstance(text, int):
        return text
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 20MiB, 500KB, 1048576)")
    number = float(match.group(1))
    unit = (match.group(2) or "b").lower()[0]
    return int(number * {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def settings_from_config(config: ProjectConfig) -> ScanSettings:
    """Validate the scanner's keys of ``[tool.prodguard]``; errors name the file and line."""
    table: ScannerTable = read_section(config, "")
    try:
        min_severity = Severity.parse(table.min_severity)
    except ValueError as exc:
        raise config.error(str(exc), "min_severity") from None
    # Absolute, but links not resolved: errors name the pack as configured.
    packs = tuple(os.path.abspath(config.root / p) for p in table.packs)
    # Test code is judged relative to the configuration's folder; without a configuration file, relative
    # to the git repository holding each file (TestPaths' default).
    test_paths = TestPaths(
        patterns=DEFAULT_TEST_PATHS if table.test_paths is None else table.test_paths,
        root=str(config.root) if config.source is not None else None,
    )
    baseline = str((config.root / table.baseline).resolve()) if table.baseline is not None else None
    return ScanSettings(
        root=config.root,
        exclude=table.exclude,
        min_severity=min_severity,
        enable=table.rules.enable,
        disable=table.rules.disable,
        packs=packs,
        max_file_size=table.max_file_size,
        gitignore=table.gitignore,
        config_path=config.path,
        environments=load_environments(config),
        test_paths=test_paths,
        baseline=baseline,
    )


def parse_kinds(text: str) -> frozenset[Kind]:
    """``secret,identifier`` -> the kinds; an unknown name is a ``ValueError`` listing the known ones."""
    kinds = set()
    for name in (n.strip().lower() for n in text.split(",")):
        if not name:
            continue
        try:
            kinds.add(Kind(name))
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise ValueError(f"unknown kind {name!r} (expected a comma-separated list of: {known})") from None
    if not kinds:
        raise ValueError("--kinds needs at least one kind")
    return frozenset(kinds)
