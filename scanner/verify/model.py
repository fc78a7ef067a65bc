"""The verification record a found OpenAI key carries after ``scan --verify``. A leaf module: findings
and reports import it, it imports nothing of the scanner."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class KeyStatus(enum.StrEnum):
    LIVE = "live"  # the API accepted the key
    REVOKED = "revoked"  # the API refused it as invalid (401)
    UNKNOWN = "unknown"  # no answer that says either (timeout, unreachable, server error, not checked)


@dataclass(frozen=True)
class Verification:
    """What the API said about one key, and what that means for the place it was found in.

    ``organization`` and ``projects`` are what the key belongs to (when live); ``environment`` is the
    declared environment that owns them; ``declared_for`` is the environment whose ``key_fingerprints``
    list the key; ``found_in`` is the environment of the file the key was found in. ``mismatch`` is
    true when the owner differs from either: a production key in a staging file, or declared for staging.
    """

    status: KeyStatus
    endpoint: str
    organization: str | None = None
    organizations: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    environment: str | None = None
    declared_for: str | None = None
    found_in: str | None = None
    mismatch: bool = False
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"status": self.status.value, "endpoint": self.endpoint}
        if self.organization:
            item["organization"] = self.organization
        if len(self.organizations) > 1:
            item["organizations"] = list(self.organizations)
        if self.projects:
            item["projects"] = list(self.projects)
        if self.environment:
            item["environment"] = self.environment
        if self.declared_for:
            item["declared_for"] = self.declared_for
        if self.found_in:
            item["found_in"] = self.found_in
        if self.environment and (self.found_in or self.declared_for):
            item["mismatch"] = self.mismatch
        if self.reason:
            item["reason"] = self.reason
        return item

    def describe(self) -> str:
        """One line for the text report."""
        text = self.status.value
        if self.organization:
            text += f", organization {self.organization}"
        if self.environment:
            text += f", belongs to {self.environment}"
        if self.mismatch and self.declared_for and self.declared_for != self.environment:
            text += f" but is declared for {self.declared_for}: MISMATCH"
        elif self.mismatch:
            text += f" but was found in {self.found_in}: MISMATCH"
        if self.reason:
            text += f" ({self.reason})"
        return text
