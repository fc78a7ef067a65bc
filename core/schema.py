"""One schema for the whole ``[tool.prodguard]`` table: which part of prodguard owns each section, and
where a key that sits in the wrong place belongs.

Each section's fields are declared once, by its owner: the scanner's keys in
``prodguard.scanner.settings``, ``environments`` in ``prodguard.rules.environments``, the guard's
sections in ``prodguard.guard._policy``. ``validate`` runs every owner's parser when the file is
loaded (so ``prodguard scan`` reports a broken guard policy too, and ``protect()`` a broken scanner
setting), after checking placement: a guard section written at the top level, or a scanner key
written inside the guard table, is an error that names the file, the line and where it belongs.
Owners are listed in ``OWNERS``, an explicit registry, and imported only when a file is validated.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from prodguard.config import ProjectConfig

# Section -> "module:function" that validates it (the function takes the ProjectConfig).
OWNERS: dict[str, str] = {
    "": "prodguard.scanner.settings:settings_from_config",
    "environments": "prodguard.rules.environments:load_environments",
    "guard": "prodguard.guard._policy.policy:policy_from_config",
}
# What the guard table may hold (also its sub-tables' names), declared by the guard's policy module.
GUARD_KEYS = "prodguard.guard._policy.policy:GUARD_KEYS"
SCANNER_KEYS = "prodguard.scanner.settings:SCANNER_KEYS"


def _load(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def _where(config: ProjectConfig, *keys: str) -> str:
    return "[" + ".".join((*(str(k) for k in config.prefix), *keys)) + "]"


def validate(config: ProjectConfig) -> None:
    """Check placement, then run every section's parser; the first problem is a ``ConfigError``."""
    if config.source is None:
        return
    guard_keys: frozenset[str] = _load(GUARD_KEYS)
    scanner_keys: frozenset[str] = _load(SCANNER_KEYS)
    for key in config.table:
        if key in guard_keys and key not in scanner_keys:
            raise config.error(
                f"{key!r} is a guard setting: it belongs in {_where(config, 'guard', key)}, not {_where(config, key)}", key
            )
    guard = config.table.get("guard")
    if isinstance(guard, dict):
        for key in guard:
            if key in scanner_keys or key == "environments":
                raise config.error(
                    f"{key!r} is not a guard setting: it belongs in {_where(config, key)} (shared by the scanner and the guard)",
                    "guard",
                    key,
                )
    for target in OWNERS.values():
        parser: Callable[[ProjectConfig], object] = _load(target)
        parser(config)
