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

DEFAULT_MAX_FILE_SIZE = 20 * 1024 * 1024

# Sections other parts of prodguard own (see prodguard.schema); the scanner leaves them to their owners.
_OTHER_SECTIONS = {"environments", "guard"}
_SCAN_KEYS = {
    "exclude", "min_severity", "rules", "packs", "max_file_size", "gitignore", "baseline", "test_paths"
}  # fmt: skip
SCANNER_KEYS = frozenset(_SCAN_KEYS)
_RULE_KEYS = {"enable", "disable"}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)


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
    table = config.table
    unknown = set(table) - _SCAN_KEYS - _OTHER_SECTIONS
    if unknown:
        key = sorted(unknown)[0]
        known = ", ".join(sorted(_SCAN_KEYS | _OTHER_SECTIONS))
        raise config.error(f"unknown key {key!r} in the prodguard configuration (known: {known})", key)
    exclude = _string_list(config, table.get("exclude", []), "exclude")
    try:
        min_severity = Severity.parse(_string(config, table.get("min_severity", "low"), "min_severity"))
    except ValueError as exc:
        raise config.error(str(exc), "min_severity") from None
    rules = table.get("rules", {})
    if not isinstance(rules, dict):
        raise config.error("'rules' must be a table with 'enable' and/or 'disable'", "rules")
    unknown_rules = set(rules) - _RULE_KEYS
    if unknown_rules:
        raise config.error(
            f"unknown key {sorted(unknown_rules)[0]!r} in rules", "rules", sorted(unknown_rules)[0]
        )
    # Absolute, but links not resolved: errors name the pack as configured.
    packs = tuple(
        os.path.abspath(config.root / p) for p in _string_list(config, table.get("packs", []), "packs")
    )
    raw_size = table.get("max_file_size", DEFAULT_MAX_FILE_SIZE)
    if isinstance(raw_size, bool) or not isinstance(raw_size, (int, str)):
        raise config.error("max_file_size must be a number of bytes or a size like '20MiB'", "max_file_size")
    try:
        max_file_size = parse_size(raw_size)
    except ValueError as exc:
        raise config.error(str(exc), "max_file_size") from None
    # Test code is judged relative to the configuration's folder; without a configuration file, relative
    # to the git repository holding each file (TestPaths' default).
    patterns = table.get("test_paths")
    test_paths = TestPaths(
        patterns=DEFAULT_TEST_PATHS if patterns is None else _string_list(config, patterns, "test_paths"),
        root=str(config.root) if config.source is not None else None,
    )
    gitignore = table.get("gitignore", True)
    if not isinstance(gitignore, bool):
        raise config.error("gitignore must be true or false", "gitignore")
    baseline = table.get("baseline")
    if baseline is not None:
        baseline = str((config.root / _string(config, baseline, "baseline")).resolve())
    return ScanSettings(
        root=config.root,
        exclude=exclude,
        min_severity=min_severity,
        enable=_string_list(config, rules.get("enable", []), "rules", "enable"),
        disable=_string_list(config, rules.get("disable", []), "rules", "disable"),
        packs=packs,
        max_file_size=max_file_size,
        gitignore=gitignore,
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


def _string(config: ProjectConfig, value: Any, *keys: str) -> str:
    if not isinstance(value, str):
        raise config.error(f"{keys[-1]} must be a string", *keys)
    return value


def _string_list(config: ProjectConfig, value: Any, *keys: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise config.error(f"{keys[-1]} must be a list of strings", *keys)
    return tuple(value)
