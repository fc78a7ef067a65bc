"""Loading rule packs: built-in packs shipped as package data, and user packs named in the config.

A pack is a TOML file with a ``[pack]`` table and a ``[[rules]]`` array. Every field is checked here,
once, so that the engine can trust what it receives; errors name the pack file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from prodguard.auxfiles import PACK_LIMIT
from prodguard.errors import ConfigError
from prodguard.rules.linearity import nonlinear_reason
from prodguard.rules.model import Context, Examples, Kind, Rule, Scope, Severity, Validation
from prodguard.rules.names import NAME_CHECKS
from prodguard.rules.tomlsource import TomlSource
from prodguard.rules.validators import CHECKS

PACKS_DIR = Path(__file__).parent / "packs"
RULE_ID = re.compile(r"^[A-Z]{2,4}\d{3,4}$")
MIN_KEYWORD = 3
# The longest public prefix a redaction may show (``sk-svcacct-``, ``github_pat_`` are 11).
MAX_REDACT_PREFIX = 32
MAX_CONTEXT_LINES = 100
# A family: the prefix and the first digit of an id (``PG1`` = every PG1xx rule), or the prefix alone.
FAMILY = re.compile(r"^[A-Z]{2,4}\d?$")

_RULE_KEYS = {
    "id",
    "name",
    "title",
    "kind",
    "severity",
    "description",
    "why",
    "remediation",
    "provider",
    "keywords",
    "pattern",
    "secret_group",
    "scope",
    "redact_prefix",
    "validate",
    "context",
    "examples",
    "references",
}
_REQUIRED = ("id", "name", "title", "kind", "severity", "description", "why", "remediation")
_VALIDATE_KEYS = {"min_entropy", "min_length", "markers", "placeholder", "checks", "name_checks"}
_CONTEXT_KEYS = {"words", "lines", "absent"}
_EXAMPLE_KEYS = {"match", "ignore", "match_typescript", "ignore_typescript"}


@dataclass(frozen=True)
class Catalogue:
    """An ordered, validated set of rules with unique ids. ``known`` holds the ids of the catalogue a
    selection was made from, so that a disabled rule's id is still a known id."""

    rules: tuple[Rule, ...]
    known: frozenset[str] = frozenset()

    def get(self, rule_id: str) -> Rule | None:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        return None

    def ids(self) -> frozenset[str]:
        return frozenset(rule.id for rule in self.rules)

    @property
    def known_ids(self) -> frozenset[str]:
        return self.known | self.ids()

    def select(self, enable: Iterable[str] = (), disable: Iterable[str] = ()) -> Catalogue:
        """Only ``enable`` (when given), minus ``disable``. Entries are rule ids, families (``PG1``: every
        PG1xx rule) or globs (``PG10*``); ``check_selector`` says whether an entry is one of these."""
        enable = tuple(enable)
        disable = tuple(disable)

        def chosen(rule: Rule) -> bool:
            if enable and not any(selects(e, rule.id) for e in enable):
                return False
            return not any(selects(d, rule.id) for d in disable)

        return Catalogue(tuple(r for r in self.rules if chosen(r)), self.known_ids)

    def without_kinds(self, kinds: Iterable[Kind]) -> Catalogue:
        """The catalogue minus the rules of ``kinds`` (ids stay known)."""
        dropped = frozenset(kinds)
        return Catalogue(tuple(r for r in self.rules if r.kind not in dropped), self.known_ids)

    def check_selector(self, entry: str) -> str | None:
        """Why ``entry`` (from ``rules.enable``/``rules.disable``) selects nothing it plainly means, or
        ``None`` when it is a known id, a family or a glob matching a rule. A bare prefix such as ``PG10``
        is refused: it would silently select PG101-PG109 *and* PG1000-PG1099; ``PG10*`` says so."""
        ids = self.known_ids
        if any(ch in entry for ch in "*?["):
            if any(fnmatchcase(rule_id, entry) for rule_id in ids):
                return None
            return f"{entry!r} matches no rule"
        if entry in ids:
            return None
        if RULE_ID.match(entry):
            return f"unknown rule id {entry!r} (`prodguard rules list` shows them all)"
        if FAMILY.match(entry) and any(rule_id.startswith(entry) for rule_id in ids):
            return None
        if any(rule_id.startswith(entry) for rule_id in ids):
            return (
                f"{entry!r} is neither a rule id nor a whole family (like PG1 for every PG1xx rule); "
                f"write {entry + '*'!r} to select every rule whose id starts with {entry}"
            )
        return f"unknown rule id or family {entry!r} (`prodguard rules list` shows them all)"

    @property
    def pattern_rules(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.pattern)


def selects(entry: str, rule_id: str) -> bool:
    """Whether a selector (id, family or glob) covers ``rule_id``."""
    if any(ch in entry for ch in "*?["):
        return fnmatchcase(rule_id, entry)
    return rule_id == entry or (bool(FAMILY.match(entry)) and rule_id.startswith(entry))


def builtin_pack_paths() -> list[Path]:
    return sorted(PACKS_DIR.glob("*.toml"))


def load_catalogue(extra_packs: Sequence[str | Path] = (), *, compile_builtin: bool = False) -> Catalogue:
    """The built-in packs plus ``extra_packs``. User packs are always compiled to surface pattern errors
    at load time; built-in patterns are compiled lazily unless ``compile_builtin`` (their own tests
    compile every one)."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in builtin_pack_paths():
        pack = load_pack(path, compile_patterns=compile_builtin, builtin=True)
        rules.extend(_checked_unique(pack, seen, path))
    for extra in extra_packs:
        rules.extend(_checked_unique(load_pack(extra, compile_patterns=True), seen, Path(extra)))
    return Catalogue(tuple(rules))


def _checked_unique(pack: tuple[Rule, ...], seen: dict[str, str], path: Path) -> tuple[Rule, ...]:
    for rule in pack:
        if rule.id in seen:
            raise ConfigError(f"rule id {rule.id} is already defined in {seen[rule.id]}", path=str(path))
        seen[rule.id] = str(path)
    return pack


def load_pack(path: str | Path, *, compile_patterns: bool = True, builtin: bool = False) -> tuple[Rule, ...]:
    """Parse and validate one pack file. A user pack's patterns must also be linear-time shapes
    (``rules/linearity.py``); the built-in ones are held to that by the ReDoS test-suite instead."""
    source = TomlSource.load(path, PACK_LIMIT)
    data = source.data
    unknown = set(data) - {"pack", "rules"}
    if unknown:
        key = sorted(unknown)[0]
        raise source.error(f"unknown top-level key {key!r} (expected 'pack' and 'rules')", (key,))
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise source.error("'rules' must be an array of tables ([[rules]])", ("rules",))
    return tuple(_rule(source, i, raw, compile_patterns, builtin) for i, raw in enumerate(raw_rules))


def _rule(source: TomlSource, index: int, raw: Any, compile_patterns: bool, builtin: bool) -> Rule:
    at: tuple[str | int, ...] = ("rules", index)
    if not isinstance(raw, dict):
        raise source.error("each rule must be a table", at)
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise source.error(f"unknown rule key {key!r}", (*at, key))
    for key in _REQUIRED:
        if key not in raw:
            raise source.error(f"rule is missing required key {key!r}", at)
        _expect(source, raw[key], str, (*at, key))
    rule_id = raw["id"]
    if not RULE_ID.match(rule_id):
        raise source.error(f"rule id {rule_id!r} must be a prefix and a number, like PG101", (*at, "id"))
    try:
        kind = Kind(raw["kind"])
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise source.error(
            f"{rule_id}: unknown kind {raw['kind']!r} (expected {kinds})", (*at, "kind")
        ) from None
    try:
        severity = Severity.parse(raw["severity"])
    except ValueError as exc:
        raise source.error(f"{rule_id}: {exc}", (*at, "severity")) from None
    pattern = raw.get("pattern", "")
    _expect(source, pattern, str, (*at, "pattern"))
    keywords = tuple(k.lower() for k in _strings(source, raw.get("keywords", []), (*at, "keywords")))
    for keyword in keywords:
        if len(keyword.strip()) < MIN_KEYWORD:
            # An empty or one-letter keyword hits everywhere: every pattern would run over every line.
            raise source.error(
                f"{rule_id}: keyword {keyword!r} is shorter than {MIN_KEYWORD} characters", (*at, "keywords")
            )
    if pattern and not keywords:
        raise source.error(f"{rule_id}: a pattern rule needs keywords for the prefilter", (*at, "keywords"))
    if kind in (Kind.SECRET, Kind.IDENTIFIER) and not pattern:
        raise source.error(f"{rule_id}: a {kind.value} rule needs a pattern", at)
    secret_group = raw.get("secret_group", "secret")
    _expect(source, secret_group, str, (*at, "secret_group"))
    if pattern:
        try:
            compiled = re.compile(pattern.encode("utf-8")) if compile_patterns else None
        except re.error as exc:
            raise source.error(f"{rule_id}: invalid pattern: {exc}", (*at, "pattern")) from None
        except (OverflowError, RecursionError, MemoryError, ValueError) as exc:
            # A{4294967296}, a thousand nested groups: the compiler gives up in its own ways.
            why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc) or type(exc).__name__
            raise source.error(f"{rule_id}: invalid pattern: {why}", (*at, "pattern")) from None
        if not builtin:
            # User packs have no ReDoS test behind them: only linear-time shapes run.
            try:
                slow = nonlinear_reason(pattern.encode("utf-8"))
            except RecursionError:
                slow = "nested too deeply"
            if slow:
                raise source.error(
                    f"{rule_id}: pattern may take more than linear time: {slow}", (*at, "pattern")
                )
        if compiled is not None and secret_group not in compiled.groupindex:
            raise source.error(
                f"{rule_id}: pattern has no group named {secret_group!r} (use (?P<{secret_group}>...))",
                (*at, "pattern"),
            )
    try:
        scope = Scope(raw.get("scope", "line"))
    except ValueError:
        raise source.error(f"{rule_id}: scope must be 'line' or 'file'", (*at, "scope")) from None
    redact_prefix = raw.get("redact_prefix", 0)
    _expect(source, redact_prefix, int, (*at, "redact_prefix"))
    if not 0 <= redact_prefix <= MAX_REDACT_PREFIX:
        raise source.error(
            f"{rule_id}: redact_prefix must be between 0 and {MAX_REDACT_PREFIX} (the public prefix shown)",
            (*at, "redact_prefix"),
        )
    return Rule(
        id=rule_id,
        name=raw["name"],
        title=raw["title"],
        kind=kind,
        severity=severity,
        description=raw["description"].strip(),
        why=raw["why"].strip(),
        remediation=raw["remediation"].strip(),
        provider=_expect(source, raw.get("provider", ""), str, (*at, "provider")),
        keywords=keywords,
        pattern=pattern,
        secret_group=secret_group,
        scope=scope,
        redact_prefix=redact_prefix,
        validation=_validation(source, raw.get("validate", {}), (*at, "validate"), rule_id),
        context=_context(source, raw.get("context"), (*at, "context")),
        examples=_examples(source, raw.get("examples", {}), (*at, "examples")),
        references=_strings(source, raw.get("references", []), (*at, "references")),
        source=source.path,
    )


def _validation(source: TomlSource, raw: Any, at: tuple[str | int, ...], rule_id: str) -> Validation:
    _expect(source, raw, dict, at)
    unknown = set(raw) - _VALIDATE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise source.error(f"unknown validate key {key!r}", (*at, key))
    checks = _strings(source, raw.get("checks", []), (*at, "checks"))
    for name in checks:
        if name not in CHECKS:
            known = ", ".join(sorted(CHECKS))
            raise source.error(f"{rule_id}: unknown check {name!r} (known: {known})", (*at, "checks"))
    name_checks = _strings(source, raw.get("name_checks", []), (*at, "name_checks"))
    for name in name_checks:
        if name not in NAME_CHECKS:
            known = ", ".join(sorted(NAME_CHECKS))
            raise source.error(
                f"{rule_id}: unknown name check {name!r} (known: {known})", (*at, "name_checks")
            )
    min_entropy = raw.get("min_entropy", 0.0)
    _expect(source, min_entropy, (int, float), (*at, "min_entropy"))
    return Validation(
        min_entropy=float(min_entropy),
        min_length=_expect(source, raw.get("min_length", 0), int, (*at, "min_length")),
        markers=_strings(source, raw.get("markers", []), (*at, "markers")),
        placeholder=_expect(source, raw.get("placeholder", True), bool, (*at, "placeholder")),
        checks=checks,
        name_checks=name_checks,
    )


def _context(source: TomlSource, raw: Any, at: tuple[str | int, ...]) -> Context | None:
    if raw is None:
        return None
    _expect(source, raw, dict, at)
    unknown = set(raw) - _CONTEXT_KEYS
    if unknown:
        raise source.error(f"unknown context key {sorted(unknown)[0]!r}", at)
    words = tuple(w.lower() for w in _strings(source, raw.get("words", []), (*at, "words")))
    absent = tuple(w.lower() for w in _strings(source, raw.get("absent", []), (*at, "absent")))
    if not words and not absent:
        raise source.error("context needs at least one word (or absent word)", (*at, "words"))
    lines = _expect(source, raw.get("lines", 3), int, (*at, "lines"))
    if not 0 <= lines <= MAX_CONTEXT_LINES:
        raise source.error(f"context lines must be between 0 and {MAX_CONTEXT_LINES}", (*at, "lines"))
    return Context(words=words, lines=lines, absent=absent)


def _examples(source: TomlSource, raw: Any, at: tuple[str | int, ...]) -> Examples:
    _expect(source, raw, dict, at)
    unknown = set(raw) - _EXAMPLE_KEYS
    if unknown:
        raise source.error(f"unknown examples key {sorted(unknown)[0]!r}", at)
    return Examples(
        match=_strings(source, raw.get("match", []), (*at, "match")),
        ignore=_strings(source, raw.get("ignore", []), (*at, "ignore")),
        match_typescript=_strings(source, raw.get("match_typescript", []), (*at, "match_typescript")),
        ignore_typescript=_strings(source, raw.get("ignore_typescript", []), (*at, "ignore_typescript")),
    )


def _strings(source: TomlSource, raw: Any, at: tuple[str | int, ...]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise source.error(f"{at[-1]} must be a list of strings", at)
    return tuple(raw)


def _expect(source: TomlSource, value: Any, kind: type | tuple[type, ...], at: tuple[str | int, ...]) -> Any:
    # bool is an int in Python; a TOML boolean where a number is expected is still a mistake.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise source.error(f"{at[-1]} must be of type {names}", at)
    return value
