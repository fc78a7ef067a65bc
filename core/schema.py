"""One schema for the whole ``[tool.prodguard]`` table (scanner, environments, guard).

Each setting is declared once, as a field of the frozen dataclass its owner builds: its name, its type
(the annotation), its default, its range or choices and its documentation (``setting(...)``). The
owners are listed in ``SECTIONS``, an explicit registry: the scanner's keys (``ScannerTable`` in
``prodguard.scanner.settings``), one table per environment (``EnvironmentTable`` in
``prodguard.rules.environments``) and the guard's policy (``Policy`` in ``prodguard.guard._policy``).

``read_section`` turns a raw TOML table into the owner's dataclass, checking every key: unknown keys
are errors everywhere (with a hint when the key belongs in another section), and every error names the
file and the line. Owners then only add what a type cannot say (paths resolved against the
configuration file, a soft limit above its hard limit, identifiers declared twice). ``validate`` runs
every owner when a file is loaded, so ``prodguard scan`` reports a broken guard policy too and
``protect()`` a broken scanner setting. ``prodguard.configdocs`` renders docs/configuration.md from the
same declarations (a test keeps the page in step).

Supported annotations: ``bool``, ``int``, ``float``, ``str``, ``Literal[...]``, ``X | None``,
``tuple[X, ...]`` (a TOML array), ``Mapping[str, X]`` (a table keyed by names) and nested dataclasses
(sub-tables). Numbers are positive and at most 2**53 unless the field says otherwise; TOML's ``inf``,
``nan`` and overflowing literals such as ``1e400`` are refused.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal, NamedTuple

from prodguard.config import ProjectConfig
from prodguard.errors import ConfigError

_META = "prodguard.setting"
# Largest integer a TOML value may carry for a count, size or duration: exact in a float as well.
LIMIT = 2**53
Where = tuple[str | int, ...]


@dataclass(frozen=True)
class Rule:
    """What the schema knows about one field beyond its annotation."""

    doc: str = ""
    # Inclusive bounds; without ``min`` numbers must be positive (> 0).
    min: float | None = None
    max: float | None = None
    # Strings (and each string of a list) must match this, described by ``shape`` in errors and docs.
    pattern: str | None = None
    shape: str = ""
    # A single string is accepted where a list of strings is declared.
    one_or_many: bool = False
    # Converts the raw value (raising ValueError with the message to show); the annotation is the result.
    parse: Callable[[object], object] | None = None
    # A field holding this record, whose keys are written in the enclosing table itself.
    inline: type | None = None
    # Not read from the configuration file (derived by the owner, or set in code only).
    internal: bool = False


def setting(
    default: Any = MISSING, *, doc: str, factory: Callable[[], Any] | None = None, **rule: Any
) -> Any:
    """A dataclass field read from the configuration file (see ``Rule`` for ``rule``)."""
    metadata = {_META: Rule(doc=doc, **rule)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def internal(default: Any = MISSING, *, factory: Callable[[], Any] | None = None) -> Any:
    """A dataclass field that is not a configuration key."""
    metadata = {_META: Rule(internal=True)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


class Section(NamedTuple):
    """A part of ``[tool.prodguard]``: its key ("" for the top level), its record and whether the key
    holds one table per name (``[environments.<name>]``)."""

    key: str
    record: str  # "module:Class", imported when a file is validated or the reference is built
    named: bool = False
    doc: str = ""


SECTIONS: tuple[Section, ...] = (
    Section("", "prodguard.scanner.settings:ScannerTable", doc="What `prodguard scan` reads and reports."),
    Section(
        "environments",
        "prodguard.rules.environments:EnvironmentTable",
        named=True,
        doc="Environments, declared once and used by the scanner and the guard alike.",
    ),
    Section("guard", "prodguard.guard._policy.policy:Policy", doc="The runtime guard's policy (`protect()`)."),
)
# Section -> "module:function" that builds the owner's settings (and adds its own checks).
OWNERS: dict[str, str] = {
    "": "prodguard.scanner.settings:settings_from_config",
    "environments": "prodguard.rules.environments:load_environments",
    "guard": "prodguard.guard._policy.policy:policy_from_config",
}


def load_record(target: str) -> type:
    """The record class a ``Section`` names."""
    return typing.cast(type, _load(target))


def _load(target: str) -> Any:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def section_record(key: str) -> type:
    return typing.cast(type, _load(next(s.record for s in SECTIONS if s.key == key)))


def validate(config: ProjectConfig) -> None:
    """Run every section's owner on a loaded file; the first problem is a ``ConfigError``."""
    if config.source is None:
        return
    for target in OWNERS.values():
        _load(target)(config)


# --- reading -----------------------------------------------------------------------------------------


class Declared(NamedTuple):
    """One configuration field of a record: its TOML key, annotation, rule, and default (or required)."""

    name: str
    key: str
    annotation: Any
    rule: Rule
    required: bool
    default: object


_HINTS: dict[type, tuple[Declared, ...]] = {}


def fields_of(record: type) -> tuple[Declared, ...]:
    """The configuration fields of a dataclass, with resolved annotations (cached)."""
    cached = _HINTS.get(record)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(record, vars(sys.modules[record.__module__]))
    out = []
    for f in dataclasses.fields(record):
        rule = f.metadata.get(_META, Rule())
        if rule.internal:
            continue
        default: object = f.default
        if f.default_factory is not MISSING:
            default = f.default_factory()
        out.append(Declared(f.name, f.name, hints[f.name], rule, default is MISSING, default))
    _HINTS[record] = result = tuple(out)
    return result


def _shown(where: Where) -> str:
    return ".".join(str(part) for part in where)


def read_section(config: ProjectConfig, key: str, *, skip: frozenset[str] = frozenset()) -> Any:
    """The record of section ``key`` ("" for the top level), built from ``config`` and checked.

    A named section returns a ``dict`` of name -> record. ``skip`` names keys that other sections own.
    """
    section = next(s for s in SECTIONS if s.key == key)
    record = _load(section.record)
    raw = config.table.get(key, {}) if key else config.table
    where: Where = (key,) if key else ()
    if section.named:
        if not isinstance(raw, dict):
            raise config.error(f"{key} must be a table of [{key}.<name>] tables", key)
        return {name: _record(config, (*where, name), record, value) for name, value in raw.items()}
    if not key:
        skip = skip | {s.key for s in SECTIONS if s.key}
    return _record(config, where, record, raw, skip=skip)


def _record(config: ProjectConfig, where: Where, record: type, raw: object, *, skip: frozenset[str] = frozenset()) -> Any:
    if not isinstance(raw, dict):
        raise config.error(f"[{_shown(where)}] must be a table", *where)
    declared = fields_of(record)
    by_key = {f.key: f for f in declared}
    inline = next((f for f in declared if f.rule.inline is not None), None)
    inline_fields = {f.key: f for f in fields_of(inline.rule.inline)} if inline and inline.rule.inline else {}
    values: dict[str, object] = {}
    inline_values: dict[str, object] = {}
    for key, value in raw.items():
        if key in skip:
            continue
        if key in by_key and by_key[key] is not inline:
            f = by_key[key]
            values[f.name] = _value(config, (*where, key), f.annotation, f.rule, value)
        elif key in inline_fields and inline is not None:
            f = inline_fields[key]
            inline_values[f.name] = _value(config, (*where, key), f.annotation, f.rule, value)
        else:
            known = [*(f.key for f in declared if f is not inline), *inline_fields]
            raise config.error(_unknown(config, where, key, known), *where, key)
    for f in declared:
        if f.required and f.name not in values:
            raise config.error(f"[{_shown(where)}] needs {f.key!r}", *where)
    if inline is not None and inline.rule.inline is not None:
        values[inline.name] = _construct(config, where, inline.rule.inline, inline_values)  # its own checks
    return _construct(config, where, record, values)


def _construct(config: ProjectConfig, where: Where, record: type, values: Mapping[str, object]) -> Any:
    try:
        return record(**values)
    except ConfigError as exc:  # the record's own cross-field checks know no file or line
        raise config.error(str(exc), *where) from None


def _unknown(config: ProjectConfig, where: Where, key: str, known: list[str]) -> str:
    def shown(path: Where) -> str:
        return "[" + ".".join(str(p) for p in (*config.prefix, *path)) + "]" if (config.prefix or path) else "the top level"

    belongs = [w for w in _locations(key) if w != (*where, key)]
    if len(belongs) == 1:
        return f"{key!r} does not belong in {shown(where)}: it belongs in {shown(belongs[0])}"
    return f"unknown key {key!r} in {shown(where)} (known: {', '.join(known)})"


def config_path(where: Where) -> str:
    """``tool.prodguard.guard.audit``-style name of a key path (the pyproject spelling)."""
    return ".".join(("tool", "prodguard", *(str(p) for p in where)))


def _locations(key: str) -> list[Where]:
    """Where a top-level or guard-level key is declared (for "belongs in" hints)."""
    found: list[Where] = []
    for section in SECTIONS:
        if section.named:
            continue
        where: Where = (section.key,) if section.key else ()
        if key == section.key:
            found.append(where)
        found.extend((*where, f.key) for f in fields_of(_load(section.record)) if f.key == key)
    return found


def _value(config: ProjectConfig, where: Where, annotation: Any, rule: Rule, raw: object, name: str = "") -> object:
    name = name or str(where[-1])
    if rule.parse is not None:
        try:
            return rule.parse(raw)
        except ValueError as exc:
            raise config.error(str(exc), *where) from None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _value(config, where, inner, rule, raw, name)
    if origin is Literal:
        if isinstance(raw, bool) or raw not in args:
            raise config.error(f"{name} must be one of: {', '.join(str(a) for a in args)}", *where)
        return raw
    if annotation is bool:
        if not isinstance(raw, bool):
            raise config.error(f"{name} must be true or false", *where)
        return raw
    if annotation is int:
        return _integer(config, where, name, rule, raw)
    if annotation is float:
        return _number(config, where, name, rule, raw)
    if annotation is str:
        if not isinstance(raw, str):
            raise config.error(f"{name} must be a string", *where)
        if rule.pattern is not None and not re.fullmatch(rule.pattern, raw):
            raise config.error(f"{name} must be {rule.shape}", *where)
        return raw
    if origin is tuple:
        item = args[0]
        if rule.one_or_many and isinstance(raw, str):
            raw = [raw]
        if dataclasses.is_dataclass(item):
            if not isinstance(raw, list):
                raise config.error(f"{name} must be a list of tables", *where)
            return tuple(_record(config, (*where, i), typing.cast(type, item), v) for i, v in enumerate(raw))
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            either = "a string or " if rule.one_or_many else ""
            raise config.error(f"{name} must be {either}a list of strings", *where)
        if rule.pattern is not None:
            for v in raw:
                if not re.fullmatch(rule.pattern, v):
                    raise config.error(f"{name}: each entry must be {rule.shape}", *where)
        return tuple(raw)
    if origin in (Mapping, dict):
        item = args[1]
        if not isinstance(raw, dict):
            raise config.error(f"{name} must be a table", *where)
        if dataclasses.is_dataclass(item):
            return {str(k): _record(config, (*where, k), typing.cast(type, item), v) for k, v in raw.items()}
        return {str(k): _value(config, (*where, k), item, rule, v, f"{name}.{k}") for k, v in raw.items()}
    if dataclasses.is_dataclass(annotation):
        return _record(config, where, typing.cast(type, annotation), raw)
    raise TypeError(f"the schema cannot read {annotation!r} ({_shown(where)})")  # a declaration bug


def bounds(rule: Rule) -> tuple[float, float]:
    return (rule.min if rule.min is not None else 0.0, rule.max if rule.max is not None else float(LIMIT))


def _integer(config: ProjectConfig, where: Where, name: str, rule: Rule, raw: object) -> int:
    low, high = bounds(rule)
    if rule.min is None and rule.max is None:
        wanted = "a positive integer"
    elif rule.max is None:
        wanted = f"an integer of at least {low:g}"
    else:
        wanted = f"an integer from {low:g} to {high:g}"
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise config.error(f"{name} must be {wanted}", *where)
    if raw < low or raw > high or (rule.min is None and raw == 0):
        raise config.error(f"{name} must be {wanted}", *where)
    return raw


def _number(config: ProjectConfig, where: Where, name: str, rule: Rule, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise config.error(f"{name} must be a number", *where)
    if not math.isfinite(raw):
        raise config.error(f"{name} must be a finite number", *where)
    low, high = bounds(rule)
    if rule.min is None and raw <= 0:
        raise config.error(f"{name} must be positive", *where)
    if raw < low or raw > high:
        raise config.error(f"{name} must be a number from {low:g} to {high:g}", *where)
    return float(raw)
