"""What sources hand to the engine: a path, its bytes, and where the bytes came from."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OriginKind(enum.StrEnum):
    WORKING_TREE = "working_tree"
    INDEX = "index"
    COMMIT = "commit"
    STDIN = "stdin"


@dataclass(frozen=True)
class Origin:
    """Where a blob's bytes came from. Commit fields are set for history scans only."""

    kind: OriginKind = OriginKind.WORKING_TREE
    commit: str | None = None
    author: str | None = None
    date: str | None = None


WORKING_TREE = Origin()


@dataclass(frozen=True)
class Blob:
    """One unit of content to scan. ``cell`` is set for a Jupyter notebook cell (0-based index)."""

    path: str
    data: bytes
    origin: Origin = WORKING_TREE
    cell: int | None = None
