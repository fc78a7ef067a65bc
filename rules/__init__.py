"""The rule catalogue shared by the scanner and the guard.

Rules are data (TOML packs under ``packs/``); this package holds their model, the loader that validates
packs (built-in and user-supplied) and the named validators a rule can ask for: checks on the value
(``validators``) and on the name it is assigned to (``names``).
"""

from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.model import Context, Examples, Kind, Rule, Severity, Validation

__all__ = [
    "Catalogue",
    "Context",
    "Examples",
    "Kind",
    "Rule",
    "Severity",
    "Validation",
    "load_catalogue",
]
