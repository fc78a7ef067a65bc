"""What the command line tells every reporter beyond the result itself."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class VersionControl:
    """Where the scanned code lives in version control, for SARIF's ``versionControlProvenance``."""

    repository_uri: str | None
    revision: str | None
    branch: str | None


@dataclass(frozen=True)
class ReportOptions:
    """``quiet``: findings only (no notices, no summary). ``source_root``: the directory SARIF paths are
    relative to (``%SRCROOT%``: the repository's top level); ``version_control``: its provenance."""

    quiet: bool = False
    source_root: Path | None = None
    version_control: VersionControl | None = None
