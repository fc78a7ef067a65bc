"""prodguard: a security and compliance linter and runtime guard for OpenAI API applications.

The distribution maps three folders into this namespace: ``prodguard.rules`` (the shared rule
catalogue), ``prodguard.scanner`` (static analysis, ``prodguard scan``) and ``prodguard.guard``
(the runtime guard around the ``openai`` client).
"""

from prodguard.errors import ConfigError, ProdguardError, ScanIncomplete, UsageError

__version__ = "0.1.0"

__all__ = ["ConfigError", "ProdguardError", "ScanIncomplete", "UsageError", "__version__"]
