"""Finding-stage steps that keep only what a change introduces, for the staged and history sources.

- ``changed_lines_only``: findings on lines the staged change adds (the practice hook).
- ``introduced_only``: for ``--diff BASE`` and ``hook pre-push``: a value (key, identifier) is new when no
  file the range touches (adds, changes, deletes or renames) held it at the range's boundary (``BASE``, the merge base, what the
  remotes have); a practice finding is new when the commit it is attributed to added its line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Kind
from prodguard.scanner.blob import Origin, OriginKind
from prodguard.scanner.changes import (
    VALUE_KINDS,
    blobs_at,
    boundary_commits,
    changed_paths,
    commit_added_lines,
    git_path,
    is_already_present,
    is_on_added_line,
    staged_added_lines,
)
from prodguard.scanner.finding import Finding
from prodguard.scanner.gitsources import GitBlobReader, GitItem, Refine
from prodguard.scanner.run import build_detector, detect
from prodguard.scanner.settings import ScanSettings


def changed_lines_only(root: Path, findings: list[Finding]) -> list[Finding]:
    """Findings of a staged scan on the lines the staged change adds."""
    paths = sorted({git_path(root, f.path) for f in findings})
    added = staged_added_lines(root, paths)
    return [f for f in findings if is_on_added_line(f, added.lines(None, git_path(root, f.path)))]


def introduced_only(revisions: Sequence[str], settings: ScanSettings, catalogue: Catalogue) -> Refine:
    """The refine step of a range scan: drop what was there before the range."""

    def refine(root: Path, findings: list[Finding]) -> list[Finding]:
        if not findings:
            return findings
        boundary = boundary_commits(root, revisions)
        before: frozenset[tuple[str, str]] = frozenset()
        if boundary and any(f.kind in VALUE_KINDS for f in findings):
            # Every path the range touches, deleted and renamed-from ones included: a key moved from one
            # file to another (or renamed with its file) was there before the range.
            before = _values_at(root, boundary, changed_paths(root, revisions), settings, catalogue)
        practice_paths = sorted({git_path(root, f.path) for f in findings if f.kind is Kind.PRACTICE})
        added = commit_added_lines(root, revisions, practice_paths)
        kept = []
        for finding in findings:
            if finding.kind is Kind.PRACTICE:
                lines = added.lines(finding.origin.commit, git_path(root, finding.path))
                if not is_on_added_line(finding, lines):
                    continue
            elif is_already_present(finding, before):
                continue
            kept.append(finding)
        return kept

    return refine


def _values_at(
    root: Path, commits: Sequence[str], git_paths: Sequence[str], settings: ScanSettings, catalogue: Catalogue
) -> frozenset[tuple[str, str]]:
    """(rule id, value hash) of every value the pattern rules find in ``git_paths`` at ``commits``."""
    items = [
        GitItem(blob, path, Origin(OriginKind.COMMIT)) for blob, path in blobs_at(root, commits, git_paths)
    ]
    if not items:
        return frozenset()
    detector = build_detector(catalogue.without_kinds((Kind.PRACTICE,)))
    batch, _ = detect(detector, items, GitBlobReader(str(root), settings.max_file_size), jobs=1)
    return frozenset((f.rule_id, f.secret_hash) for f in batch.findings)
