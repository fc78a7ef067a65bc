"""The root of prodguard's exception tree.

The CLI maps these to exit codes in one place: ``UsageError`` and ``ConfigError`` exit 2, any other
``ProdguardError`` exits 2 as well (it is a user-facing failure with a clear message), and an
unexpected exception exits 3 with a short report.
"""

from __future__ import annotations


class ProdguardError(Exception):
    """Root of every error prodguard raises on purpose. Messages never contain a secret."""


class UsageError(ProdguardError):
    """The command line asked for something that cannot be done (bad option combination, missing path)."""


class ConfigError(ProdguardError):
    """A configuration file or rule pack is invalid. The message names the file and, when known, the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")


# Top-level modules of the optional extras, and the extra that installs each.
OPTIONAL_MODULES = {
    "openai": "guard",
    "presidio_analyzer": "guard",
    "presidio_anonymizer": "guard",
    "spacy": "guard",
    "cryptography": "guard",
    "httpx2": "guard",
    "redis": "redis",
}


class MissingDependency(ProdguardError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    def __init__(self, module: str) -> None:
        extra = OPTIONAL_MODULES.get(module.split(".")[0], "all")
        self.module = module
        self.extra = extra
        super().__init__(f"{module} is not installed; install it with: pip install 'prodguard[{extra}]'")


class ScanIncomplete(ProdguardError):
    """A scan could not read what it was asked to scan (staged files whose content is missing), so it
    cannot say the content is clean."""
