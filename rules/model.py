"""Typed records for rules: what a rule pack entry becomes once the loader has validated it."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from functools import cached_property


class Severity(enum.IntEnum):
    """Ordered severities; the CLI threshold compares with ``>=``."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {text!r} (expected one of: {names})") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Kind(enum.StrEnum):
    """What a rule finds: a credential, an identifier (not secret on its own), a code practice, or an
    environment-separation problem."""

    SECRET = "secret"
    IDENTIFIER = "identifier"
    PRACTICE = "practice"
    ENVIRONMENT = "environment"


class Scope(enum.StrEnum):
    """Where a rule's pattern runs once a keyword hits: around the hit on its line, or over the whole blob
    (multi-line secrets such as PEM blocks)."""

    LINE = "line"
    FILE = "file"


@dataclass(frozen=True)
class Validation:
    """Checks a candidate secret must pass after the pattern matched."""

    min_entropy: float = 0.0
    min_length: int = 0
    markers: tuple[str, ...] = ()
    placeholder: bool = True
    checks: tuple[str, ...] = ()
    # Checks on the text the pattern matched before the secret (the name it is assigned to), by name
    # from ``rules.names.NAME_CHECKS``.
    name_checks: tuple[str, ...] = ()


@dataclass(frozen=True)
class Context:
    """Words of which at least one must stand within ``lines`` lines of the match (keys with no prefix),
    and ``absent`` words of which none may (a value handed to ``OpenAI(`` is not a generic credential: a
    value in another format is not that provider's key, and the provider's own rule reports its keys)."""

    words: tuple[str, ...] = ()
    lines: int = 3
    absent: tuple[str, ...] = ()


@dataclass(frozen=True)
class Examples:
    """Text that must produce a finding of the rule, and text that must not. A code-practice rule's
    ``match``/``ignore`` are Python; its ``match_typescript``/``ignore_typescript`` are TypeScript (read
    as a ``.ts`` file) for the rules whose check covers JavaScript/TypeScript too."""

    match: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    match_typescript: tuple[str, ...] = ()
    ignore_typescript: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One rule of the catalogue. Pattern rules carry a pattern; code-practice rules (AST checks
    registered in the scanner under the same id) leave it empty."""

    id: str
    name: str
    title: str
    kind: Kind
    severity: Severity
    description: str
    why: str
    remediation: str
    provider: str = ""
    keywords: tuple[str, ...] = ()
    pattern: str = ""
    secret_group: str = "secret"
    scope: Scope = Scope.LINE
    redact_prefix: int = 0
    validation: Validation = field(default_factory=Validation)
    context: Context | None = None
    examples: Examples = field(default_factory=Examples)
    references: tuple[str, ...] = ()
    source: str = ""

    @cached_property
    def regex(self) -> re.Pattern[bytes]:
        """The compiled pattern, over bytes; compiled on first use so start-up stays cheap."""
        return re.compile(self.pattern.encode("utf-8"))

    def __getstate__(self) -> dict[str, object]:
        # Compiled patterns are rebuilt lazily in worker processes rather than pickled.
        state = dict(self.__dict__)
        state.pop("regex", None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
