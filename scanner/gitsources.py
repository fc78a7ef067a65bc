"""The git sources: staged content (the index, for pre-commit) and history (every blob ever committed
in a range, each read once, attributed to the commit that introduced it).

Listing uses git plumbing in the parent; blob contents are read by ``GitBlobReader`` in the workers,
each with its own ``git cat-file --batch`` process, so file contents never cross process boundaries.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

from prodguard.rules.catalogue import Catalogue
from prodguard.scanner.blob import Blob, Origin, OriginKind
from prodguard.scanner.filters import PathFilter
from prodguard.scanner.finding import Finding, fingerprint
from prodguard.scanner.git import CatFile, has_commits, introductions, is_shallow, repo_root, staged_entries
from prodguard.scanner.run import (
    PARALLEL_MIN_BYTES,
    PARALLEL_MIN_FILES,
    Batch,
    Detector,
    FileReader,
    Progress,
    ReadResult,
    ScanResult,
    build_detector,
    choose_jobs,
    detect,
    finish,
    merge_batch,
)
from prodguard.scanner.settings import ScanSettings
from prodguard.scanner.sources import Listing, Notice, display_path, is_excluded, iter_paths, text_content

# History blobs have no size before they are read; this stands in for the pool decision.
ASSUMED_BLOB_SIZE = 8 * 1024
# Enough items to decide that a pool pays (``run.choose_jobs``'s thresholds at the assumed size).
POOL_DECISION_ITEMS = max(PARALLEL_MIN_FILES, PARALLEL_MIN_BYTES // ASSUMED_BLOB_SIZE)
INDEX = Origin(OriginKind.INDEX)
# Git LFS keeps a small pointer file in git; the content lives on the LFS server, not in the blob.
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
# A finding-stage step the caller adds (report only what a change introduces): (repository root,
# findings) -> the findings to keep.
Refine = Callable[[Path, list[Finding]], list[Finding]]


@dataclass(frozen=True)
class GitItem:
    """A blob to read and the path and origin its findings are reported with."""

    blob: str
    path: str
    origin: Origin


@dataclass(frozen=True)
class GitBlobReader:
    repo: str
    max_file_size: int
    keep_index: bool = False

    def __call__(self, items: Sequence[Any]) -> Iterator[ReadResult]:
        with CatFile(self.repo, keep_index=self.keep_index) as cat:
            ids = [item.blob for item in items]
            for item, (_blob, data, size) in zip(items, cat.read_many(ids, self.max_file_size), strict=True):
                if data is None:
                    if size < 0:
                        yield ReadResult(
                            None,
                            Notice(
                                item.path, f"blob {item.blob[:12]} is missing from the repository", "missing"
                            ),
                            "missing",
                        )
                    else:
                        message = f"skipped: {size / 1048576:.1f} MiB blob is over the {self.max_file_size / 1048576:.1f} MiB limit"
                        yield ReadResult(None, Notice(item.path, message, "too_large"), "too_large")
                    continue
                if data.startswith(LFS_POINTER):
                    yield ReadResult(
                        None,
                        Notice(
                            item.path, "Git LFS pointer: the file's content is not in git; not scanned", "lfs"
                        ),
                        "lfs",
                    )
                    continue
                text = text_content(data)
                if text is None:
                    yield ReadResult(None, None, "binary")
                    continue
                yield ReadResult(Blob(item.path, text, item.origin), None, None)


def _shown(root: Path, git_path: str) -> str:
    return display_path(os.path.join(root, git_path))


def scan_staged(
    directory: str,
    paths: Sequence[str],
    settings: ScanSettings,
    catalogue: Catalogue,
    refine: Refine | None = None,
) -> ScanResult:
    """The index content of staged files (or of ``paths``), so that what is scanned is what is committed.
    A named path the index does not hold (``pre-commit run --files`` with an untracked file) is read from
    the working tree, with a notice: every file named is scanned or reported as not scanned."""
    started = time.perf_counter()
    root = repo_root(directory)
    listing = Listing()
    excludes = PathFilter(settings.exclude)
    # Paths from pre-commit are relative to the current directory; git wants them relative to the repo.
    relative = [os.path.relpath(os.path.abspath(p), root).replace(os.sep, "/") for p in paths]
    items = []
    entries = staged_entries(root, relative)
    for entry in entries:
        shown = _shown(root, entry.path)
        if is_excluded(os.path.join(root, entry.path), excludes, settings.root):
            listing.skip("excluded")
            continue
        items.append(GitItem(entry.blob, shown, INDEX))
    in_index = {entry.path for entry in entries}
    unstaged = [p for p, rel in zip(paths, relative, strict=True) if rel not in in_index]
    detector = build_detector(catalogue, settings)
    jobs = choose_jobs(settings.jobs, len(items) * ASSUMED_BLOB_SIZE, len(items))
    reader = GitBlobReader(str(root), settings.max_file_size, keep_index=True)
    batch, jobs = detect(detector, items, reader, jobs=jobs)
    if unstaged:
        _scan_unstaged(unstaged, listing, batch, detector, settings)
    findings = batch.findings if refine is None else refine(root, batch.findings)
    result = finish(findings, listing, batch, settings, catalogue, started, jobs)
    result.stats.staged = len(items) + len(unstaged)
    return result


def _scan_unstaged(
    paths: Sequence[str], listing: Listing, batch: Batch, detector: Detector, settings: ScanSettings
) -> None:
    """Named files that are not in the index: scanned from the working tree, each with a notice."""
    entries = list(
        iter_paths(
            paths,
            listing,
            excludes=PathFilter(settings.exclude),
            project_root=settings.root,
            max_file_size=settings.max_file_size,
            use_gitignore=False,
        )
    )
    for entry in entries:
        listing.notices.append(
            Notice(entry.path, "not in the index; scanned the working-tree file", "unstaged")
        )
    extra, _ = detect(detector, entries, FileReader(settings.max_file_size), jobs=1)
    merge_batch(batch, extra)


def history_revisions(revisions: Sequence[str], since: str | None, all_refs: bool) -> list[str]:
    """``git log`` revision arguments for the options of ``prodguard scan --history``."""
    selected = list(revisions)
    if since:
        selected.append(f"{since}..HEAD" if not all_refs else f"^{since}")
    if all_refs:
        selected.append("--all")
    if not selected or all(r.startswith("^") for r in selected):
        selected.append("HEAD")
    return selected


def scan_history(
    directory: str,
    revisions: Sequence[str],
    settings: ScanSettings,
    catalogue: Catalogue,
    refine: Refine | None = None,
    progress: Progress | None = None,
    *,
    reuse: bool = True,
) -> ScanResult:
    """Every blob introduced in the selected commits, read once (``_unique_items``); each finding is
    reported once per path, with the earliest commit that introduced it."""
    started = time.perf_counter()
    root = repo_root(directory)
    listing = Listing()
    if not has_commits(root) and "--all" not in revisions:
        listing.notices.append(
            Notice(display_path(str(root)), "repository has no commits; nothing to scan", "empty")
        )
        return finish([], listing, Batch(), settings, catalogue, started, 1)
    if is_shallow(root):
        listing.notices.append(
            Notice(
                display_path(str(root)),
                "shallow clone: commits before the clone's depth are not visible; findings in the oldest visible "
                "commit may have been introduced earlier (run `git fetch --unshallow` for the full history)",
                "shallow",
            )
        )
    detector = build_detector(catalogue, settings)
    places: dict[Place, list[tuple[int, GitItem]]] = {}
    items = _unique_items(root, revisions, settings, listing, detector, reuse, places)
    # The pool is decided on the first items (enough to pay for one, or all there are); the rest stream
    # into it while git still writes the log.
    head = list(islice(items, POOL_DECISION_ITEMS))
    jobs = choose_jobs(settings.jobs, len(head) * ASSUMED_BLOB_SIZE, len(head))
    reader = GitBlobReader(str(root), settings.max_file_size)
    batch, jobs = detect(detector, chain(head, items), reader, jobs=jobs, progress=progress)
    findings = first_introductions(_at_every_place(batch.findings, places))
    if refine is not None:
        findings = refine(root, findings)
    return finish(findings, listing, batch, settings, catalogue, started, jobs)


Place = tuple[str, Hashable]  # a blob id and what the analysis reads from the path (``Detector.profile``)


def _unique_items(
    root: Path,
    revisions: Sequence[str],
    settings: ScanSettings,
    listing: Listing,
    detector: Detector,
    reuse: bool,
    places: dict[Place, list[tuple[int, GitItem]]],
) -> Iterator[GitItem]:
    """The items to read and scan, as git lists them; ``places`` receives every (commit order, path and
    origin) each stands for (complete once the items are exhausted).

    A blob is read and scanned once per path profile, at the first path it appeared at with that profile;
    its other introductions (renames, copies, reverts) receive copies of its findings. Without ``reuse``
    every introduction is scanned on its own (the reference the reuse is tested against)."""
    excludes = PathFilter(settings.exclude)
    # A path recurs in every commit that changes it: what is derived from it alone is worked out once.
    # (shown path, profile), or None when excluded.
    by_path: dict[str, tuple[str, Hashable] | None] = {}
    origins: dict[str, Origin] = {}
    for number, intro in enumerate(introductions(root, revisions)):
        if intro.path not in by_path:
            if is_excluded(os.path.join(root, intro.path), excludes, settings.root):
                by_path[intro.path] = None
            else:
                shown = _shown(root, intro.path)
                by_path[intro.path] = (shown, detector.profile(shown))
        derived = by_path[intro.path]
        if derived is None:
            listing.skip("excluded")
            continue
        shown, profile = derived
        origin = origins.get(intro.commit)
        if origin is None:
            origin = origins[intro.commit] = Origin(OriginKind.COMMIT, intro.commit, intro.author, intro.date)
        item = GitItem(intro.blob, shown, origin)
        place: Place = (intro.blob, profile if reuse else number)
        at = places.get(place)
        if at is None:
            at = places[place] = []
            yield item
        at.append((intro.order, item))


def _at_every_place(
    findings: Sequence[Finding], places: dict[Place, list[tuple[int, GitItem]]]
) -> list[Finding]:
    """Findings of each item at every path and commit it stands for, in commit order."""
    place_of = {(item.path, item.origin.commit): place for place, at in places.items() for _, item in at[:1]}
    placed: list[tuple[int, Finding]] = []
    for finding in findings:
        place = place_of[(finding.path, finding.origin.commit)]
        for order, item in places[place]:
            if item.path == finding.path and item.origin == finding.origin:
                placed.append((order, finding))
            else:
                secret = finding.secret_hash
                moved = replace(
                    finding,
                    path=item.path,
                    origin=item.origin,
                    fingerprint=fingerprint(finding.rule_id, secret, item.path),
                )
                placed.append((order, moved))
    placed.sort(key=lambda pair: pair[0])  # stable: within one commit, the order of the scan
    return [finding for _, finding in placed]


def first_introductions(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per (rule, secret, path): the first in input order, which is commit order. A secret
    kept through later edits of its file is blamed on the commit that added it, not on every edit."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for finding in findings:
        key = (finding.rule_id, finding.secret_hash, finding.path)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept
