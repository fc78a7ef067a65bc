"""A scan from start to end: list the source, read and detect (in parallel for large trees), filter.

Data flows one way: Listing -> blobs -> Engine -> findings -> filters -> ScanResult. Worker processes
receive the detector once, at start, and send back findings and notices, never file contents.
"""

from __future__ import annotations

import os
import time
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from itertools import chain, islice
from typing import Any, NamedTuple, Protocol

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Rule, Severity
from prodguard.scanner.blob import WORKING_TREE, Blob, Origin
from prodguard.scanner.engine import GENERIC_PROVIDER, Engine
from prodguard.scanner.envanalysis import analyze as analyze_environments
from prodguard.scanner.filters import PathFilter, allow_comment_problems, is_below_threshold
from prodguard.scanner.finding import Finding
from prodguard.scanner.notebooks import split_notebook
from prodguard.scanner.practices import CHECKS, TestPaths, analyze, path_profile
from prodguard.scanner.practices.shapes import Gate, default_gate
from prodguard.scanner.settings import ScanSettings
from prodguard.scanner.sources import FileEntry, Listing, Notice, iter_paths, read_entry

# Below this much data a pool costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_FILES = 64
TYPICAL_FILE_SIZE = 8 * 1024
# Practice rules about a literal that a secret rule reports too when it recognises the literal's format.
SUPERSEDED_BY_SECRETS = frozenset({"PG301"})
STAT_LIMIT = 2048
CHUNK_ITEMS = 256


@dataclass
class ScanStats:
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    baselined: int = 0
    # Files a staged scan was asked about (in the index or named); None for other sources.
    staged: int | None = None
    below_threshold: int = 0
    rules: int = 0
    jobs: int = 1
    seconds: float = 0.0

    def add_skip(self, category: str, count: int = 1) -> None:
        self.skipped[category] = self.skipped.get(category, 0) + count


@dataclass
class ScanResult:
    """Reported findings (sorted), suppressed ones (inline allows, baselines), notices and statistics."""

    findings: list[Finding]
    suppressed: list[Finding]
    notices: list[Notice]
    stats: ScanStats
    min_severity: Severity


@dataclass
class Batch:
    """What one worker (or the single process) found in its share of the work."""

    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class Detector:
    """Everything that looks at one blob: the pattern engine and the code-practice checks."""

    engine: Engine
    practice_rules: Mapping[str, Rule] = field(default_factory=dict)
    test_paths: TestPaths = field(default_factory=TestPaths)
    # Every rule id the configuration knows (disabled ones too), to check allow comments against.
    known_ids: frozenset[str] = frozenset()
    # Which practice rules can report in a blob, from its bytes, before anything is parsed.
    practice_gate: Gate = field(default_factory=default_gate)

    def scan(self, blob: Blob) -> tuple[list[Finding], list[Notice]]:
        """Findings in one blob, and notices about it (a misspelt allow comment, a broken notebook)."""
        findings, notices = self._findings(blob)
        if self.known_ids and blob.cell is None:
            for line, message in allow_comment_problems(blob.data, self.known_ids):
                notices.append(Notice(blob.path, f"line {line}: {message}", "allow-comment"))
        return findings, notices

    def _findings(self, blob: Blob) -> tuple[list[Finding], list[Notice]]:
        """Findings in one blob; notebooks are split into cells first."""
        if blob.path.endswith(".ipynb") and blob.cell is None and self.engine.may_match(blob.data):
            cells = split_notebook(blob.path, blob.data, blob.origin)
            if cells is not None:
                findings: list[Finding] = []
                for cell, positions in cells:
                    found = self.engine.scan(cell)
                    findings.extend(found if positions is None else [positions.relocate(f) for f in found])
                return findings, []
            notice = Notice(blob.path, "not valid notebook JSON; scanned as plain text", "notebook")
            return self.engine.scan(blob), [notice]
        findings, masks, dense = self.engine.scan_with_masks(blob)
        test_code: Notice | None = None
        if self.practice_rules:
            practice, test_code = analyze(
                blob, self.practice_rules, self.test_paths, masks, self.practice_gate
            )
            if practice:
                findings = _merge_practice(practice, findings, self._generic_ids)
        return findings, [n for n in (_dense_notice(blob, dense), test_code) if n is not None]

    def profile(self, path: str) -> Hashable:
        """All that ``scan`` reads from a blob's path besides reporting it: the same bytes at two paths
        with the same profile give the same findings (history scans rely on it to scan a blob once)."""
        practice = path_profile(path, self.test_paths) if self.practice_rules else None
        return (path.endswith(".ipynb"), practice)

    @cached_property
    def _generic_ids(self) -> frozenset[str]:
        return frozenset(r.id for r in self.engine.rules if r.provider == GENERIC_PROVIDER)


def _dense_notice(blob: Blob, lines: tuple[int, ...]) -> Notice | None:
    if not lines:
        return None
    shown = ", ".join(str(n) for n in lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return Notice(
        blob.path,
        f"line{'s' if len(lines) > 1 else ''} {shown} packed with rule keywords: some rules were not run over "
        "all of it (the work per line is bounded); review it by hand",
        "dense",
    )


def _merge_practice(practice: list[Finding], secrets: list[Finding], generic: frozenset[str]) -> list[Finding]:
    """Secret and practice findings of one blob, each literal reported once.

    A practice finding on a line with a detected secret shows that line as the secret's finding does
    (redacted). A literal key handed to the client (PG301) is one problem, not two: a provider rule that
    recognises the key reports it; a generic assignment rule gives way to PG301, which says more."""
    by_line: dict[tuple[int | None, int], list[Finding]] = {}
    for s in secrets:
        by_line.setdefault((s.cell, s.line), []).append(s)
    dropped: set[int] = set()
    kept = []
    for f in practice:
        on_line = by_line.get((f.cell, f.line), [])
        if on_line:
            if f.rule_id in SUPERSEDED_BY_SECRETS:
                specific = [s for s in on_line if s.rule_id not in generic]
                if specific:
                    continue
                dropped.update(id(s) for s in on_line)
            f = replace(f, excerpt=on_line[0].excerpt)
        kept.append(f)
    return [s for s in secrets if id(s) not in dropped] + kept


class ReadResult(NamedTuple):
    """What a reader makes of one work item: a blob to scan, or a reason it was skipped."""

    blob: Blob | None
    notice: Notice | None
    skipped: str | None


class Reader(Protocol):
    """Turns work items (files on disk, blob ids in git) into blobs. Runs in the worker processes."""

    def __call__(self, items: Sequence[Any]) -> Iterator[ReadResult]: ...


@dataclass(frozen=True)
class FileReader:
    """Reads working-tree files listed by ``iter_paths``."""

    max_file_size: int
    origin: Origin = WORKING_TREE

    def __call__(self, items: Sequence[Any]) -> Iterator[ReadResult]:
        for entry in items:
            data, notice, skipped = read_entry(entry, self.max_file_size)
            blob = Blob(entry.path, data, self.origin) if data is not None else None
            yield ReadResult(blob, notice, skipped)


def _scan_items(detector: Detector, reader: Reader, items: Sequence[Any]) -> Batch:
    batch = Batch()
    for result in reader(items):
        if result.notice is not None:
            batch.notices.append(result.notice)
        if result.skipped is not None:
            batch.skipped[result.skipped] = batch.skipped.get(result.skipped, 0) + 1
        if result.blob is None:
            continue
        batch.files += 1
        batch.bytes += len(result.blob.data)
        findings, blob_notices = detector.scan(result.blob)
        batch.findings.extend(findings)
        batch.notices.extend(blob_notices)
    return batch


@dataclass(frozen=True)
class _WorkerState:
    detector: Detector
    reader: Reader


# Per-process state of a pool worker, set once by its initializer (fork copies it; nothing is pickled).
_WORKER: dict[str, _WorkerState] = {}


def _init_worker(state: _WorkerState) -> None:
    _WORKER["state"] = state


def _worker_scan(items: list[Any]) -> Batch:
    state = _WORKER["state"]
    return _scan_items(state.detector, state.reader, items)


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Contiguous chunks of ``size`` items; contiguous chunks keep results in input order (history
    attribution relies on it)."""
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def choose_jobs(requested: int, total_bytes: int, count: int) -> int:
    """``requested`` workers, or for 0: one per core when the work is large enough to pay for a pool."""
    if requested == 1:
        return 1
    if requested == 0 and (total_bytes < PARALLEL_MIN_BYTES or count < PARALLEL_MIN_FILES):
        return 1
    return max(1, requested or (os.cpu_count() or 1))


class Progress(Protocol):
    """Told after each share of work: files and bytes scanned so far (``-v`` on a terminal)."""

    def __call__(self, files: int, scanned_bytes: int) -> None: ...


def detect(
    detector: Detector, items: Iterable[Any], reader: Reader, *, jobs: int, progress: Progress | None = None
) -> tuple[Batch, int]:
    """Read and scan ``items``, in a process pool when ``jobs`` > 1. ``items`` may be a generator still
    being produced (a directory walk): chunks go to the workers as they fill, so listing overlaps
    scanning. Results come back in input order."""
    if jobs <= 1 or not hasattr(os, "fork"):
        if progress is None:
            return _scan_items(detector, reader, list(items)), 1
        single = Batch()
        for chunk in _chunks(items, CHUNK_ITEMS // 8):
            merge_batch(single, _scan_items(detector, reader, chunk))
            progress(single.files, single.bytes)
        return single, 1
    # Imported here: a pre-commit run over a few files never pays for multiprocessing's import.
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    merged = Batch()
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("fork"),
        initializer=_init_worker,
        initargs=(_WorkerState(detector, reader),),
    ) as pool:
        futures = [pool.submit(_worker_scan, chunk) for chunk in _chunks(items, CHUNK_ITEMS)]
        for future in futures:
            merge_batch(merged, future.result())
            if progress is not None:
                progress(merged.files, merged.bytes)
    return merged, jobs


def merge_batch(merged: Batch, batch: Batch) -> None:
    merged.findings.extend(batch.findings)
    merged.notices.extend(batch.notices)
    merged.files += batch.files
    merged.bytes += batch.bytes
    for key, count in batch.skipped.items():
        merged.skipped[key] = merged.skipped.get(key, 0) + count


def _sizes(entries: Sequence[FileEntry]) -> list[int]:
    """File sizes for the pool decision and load balancing. Listing does not stat files; for small
    trees a stat each is cheap and exact, large trees use a typical size (they get a pool anyway)."""
    if len(entries) > STAT_LIMIT:
        return [e.size if e.size >= 0 else TYPICAL_FILE_SIZE for e in entries]
    sizes = []
    for entry in entries:
        size = entry.size
        if size < 0:
            try:
                size = os.stat(entry.location).st_size
            except OSError:
                size = TYPICAL_FILE_SIZE
        sizes.append(size)
    return sizes


def build_detector(catalogue: Catalogue, settings: ScanSettings | None = None) -> Detector:
    # Every rule with an AST check: practice rules, and PG207 (an environment rule the environment
    # analysis keeps only where several environments exist).
    practice = {r.id: r for r in catalogue.rules if r.id in CHECKS}
    tests = settings.test_paths if settings is not None else TestPaths()
    return Detector(Engine(catalogue.pattern_rules), practice, tests, catalogue.known_ids)


def scan_paths(
    paths: Sequence[str], settings: ScanSettings, catalogue: Catalogue, progress: Progress | None = None
) -> ScanResult:
    """Scan files and directories (the working tree) with ``catalogue``'s pattern rules."""
    started = time.perf_counter()
    listing = Listing()
    entries = iter_paths(
        paths,
        listing,
        excludes=PathFilter(settings.exclude),
        project_root=settings.root,
        max_file_size=settings.max_file_size,
        use_gitignore=settings.gitignore,
    )
    detector = build_detector(catalogue, settings)
    # Decide on a pool from the first files: a small tree is measured exactly, a large one gets a pool
    # at once and the rest of the walk streams into it.
    head = list(islice(entries, STAT_LIMIT + 1))
    if settings.jobs == 0 and len(head) <= STAT_LIMIT:
        sizes = _sizes(head)
        jobs = choose_jobs(0, sum(sizes), len(head))
    else:
        jobs = settings.jobs or (os.cpu_count() or 1)
    batch, jobs = detect(
        detector, chain(head, entries), FileReader(settings.max_file_size), jobs=jobs, progress=progress
    )
    return finish(batch.findings, listing, batch, settings, catalogue, started, jobs)


@dataclass(frozen=True)
class MemoryReader:
    """Blobs already in memory (standard input): handed to the detector as they are."""

    def __call__(self, items: Sequence[Any]) -> Iterator[ReadResult]:
        for blob in items:
            yield ReadResult(blob, None, None)


def scan_blobs(blobs: Sequence[Blob], settings: ScanSettings, catalogue: Catalogue) -> ScanResult:
    """Scan blobs held in memory, such as standard input."""
    started = time.perf_counter()
    batch, jobs = detect(build_detector(catalogue), blobs, MemoryReader(), jobs=1)
    return finish(batch.findings, Listing(), batch, settings, catalogue, started, jobs)


def finish(
    findings: Iterable[Finding],
    listing: Listing,
    batch: Batch,
    settings: ScanSettings,
    catalogue: Catalogue,
    started: float,
    jobs: int,
) -> ScanResult:
    """Apply the finding-stage filters and assemble the result."""
    stats = ScanStats(
        files_scanned=batch.files, bytes_scanned=batch.bytes, rules=len(catalogue.rules), jobs=jobs
    )
    for category, count in (*listing.skipped.items(), *batch.skipped.items()):
        stats.add_skip(category, count)
    reported: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in analyze_environments(list(findings), settings.environments, catalogue, settings.root):
        if settings.kinds and finding.kind not in settings.kinds:
            # Input of the environment analysis (an identifier, say) that the scan was not asked to report.
            continue
        if finding.suppressed:
            suppressed.append(finding)
        elif is_below_threshold(finding, settings.min_severity):
            stats.below_threshold += 1
        else:
            reported.append(finding)
    stats.suppressed = len(suppressed)
    reported.sort(key=lambda f: f.sort_key)
    suppressed.sort(key=lambda f: f.sort_key)
    stats.seconds = time.perf_counter() - started
    notices = sorted([*listing.notices, *batch.notices], key=lambda n: (n.path, n.category))
    return ScanResult(reported, suppressed, notices, stats, settings.min_severity)
