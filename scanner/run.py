"""A scan from start to end: list the source, read and detect (in parallel for large trees), filter.

Data flows one way: Listing -> blobs -> Engine -> findings -> filters -> ScanResult. Worker processes
receive the engine once, at start, and send back findings and notices, never file contents.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.blob import WORKING_TREE, Blob, Origin
from prodguard.scanner.engine import Engine
from prodguard.scanner.filters import PathFilter, is_below_threshold
from prodguard.scanner.finding import Finding
from prodguard.scanner.notebooks import split_notebook
from prodguard.scanner.settings import ScanSettings
from prodguard.scanner.sources import FileEntry, Listing, Notice, list_paths, read_entry

# Below this much data a pool costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
PARALLEL_MIN_FILES = 64


@dataclass
class ScanStats:
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
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
class _Batch:
    findings: list[Finding] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    files: int = 0
    bytes: int = 0


def scan_blob(engine: Engine, blob: Blob) -> tuple[list[Finding], Notice | None]:
    """Findings in one blob; notebooks are split into cells first."""
    if blob.path.endswith(".ipynb") and blob.cell is None and engine.may_match(blob.data):
        cells = split_notebook(blob.path, blob.data, blob.origin)
        if cells is not None:
            findings: list[Finding] = []
            for cell in cells:
                findings.extend(engine.scan(cell))
            return findings, None
        return engine.scan(blob), Notice(
            blob.path, "not valid notebook JSON; scanned as plain text", "notebook"
        )
    return engine.scan(blob), None


def _scan_entries(engine: Engine, entries: Sequence[FileEntry], max_file_size: int, origin: Origin) -> _Batch:
    batch = _Batch()
    for entry in entries:
        data, notice, skipped = read_entry(entry, max_file_size)
        if notice is not None:
            batch.notices.append(notice)
        if skipped is not None:
            batch.skipped[skipped] = batch.skipped.get(skipped, 0) + 1
        if data is None:
            continue
        batch.files += 1
        batch.bytes += len(data)
        findings, blob_notice = scan_blob(engine, Blob(entry.path, data, origin))
        batch.findings.extend(findings)
        if blob_notice is not None:
            batch.notices.append(blob_notice)
    return batch


@dataclass(frozen=True)
class _WorkerState:
    engine: Engine
    max_file_size: int
    origin: Origin


# Per-process state of a pool worker, set once by its initializer (fork copies it; nothing is pickled).
_WORKER: dict[str, _WorkerState] = {}


def _init_worker(state: _WorkerState) -> None:
    _WORKER["state"] = state


def _worker_scan(entries: list[FileEntry]) -> _Batch:
    state = _WORKER["state"]
    return _scan_entries(state.engine, entries, state.max_file_size, state.origin)


def _chunks(entries: list[FileEntry], jobs: int) -> list[list[FileEntry]]:
    """Contiguous chunks of similar byte size, several per worker so a slow chunk does not stall the end."""
    total = sum(e.size for e in entries) or 1
    target = max(total // (jobs * 8), 256 * 1024)
    chunks: list[list[FileEntry]] = [[]]
    size = 0
    for entry in entries:
        if size >= target:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += entry.size
    return [c for c in chunks if c]


def choose_jobs(requested: int, entries: Sequence[FileEntry]) -> int:
    if requested == 1:
        return 1
    total = sum(e.size for e in entries)
    if requested == 0 and (total < PARALLEL_MIN_BYTES or len(entries) < PARALLEL_MIN_FILES):
        return 1
    return max(1, requested or (os.cpu_count() or 1))


def detect(
    engine: Engine, entries: list[FileEntry], settings: ScanSettings, origin: Origin = WORKING_TREE
) -> tuple[_Batch, int]:
    """Read and scan ``entries``, in a process pool when the tree is large enough to pay for one."""
    jobs = choose_jobs(settings.jobs, entries)
    if jobs == 1 or "fork" not in _start_methods():
        return _scan_entries(engine, entries, settings.max_file_size, origin), 1
    merged = _Batch()
    context = get_context("fork")
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=context,
        initializer=_init_worker,
        initargs=(_WorkerState(engine, settings.max_file_size, origin),),
    ) as pool:
        for batch in pool.map(_worker_scan, _chunks(entries, jobs)):
            merged.findings.extend(batch.findings)
            merged.notices.extend(batch.notices)
            merged.files += batch.files
            merged.bytes += batch.bytes
            for key, count in batch.skipped.items():
                merged.skipped[key] = merged.skipped.get(key, 0) + count
    return merged, jobs


def _start_methods() -> list[str]:
    from multiprocessing import get_all_start_methods

    return get_all_start_methods()


def build_engine(catalogue: Catalogue) -> Engine:
    return Engine(catalogue.pattern_rules)


def scan_paths(paths: Sequence[str], settings: ScanSettings, catalogue: Catalogue) -> ScanResult:
    """Scan files and directories (the working tree) with ``catalogue``'s pattern rules."""
    started = time.perf_counter()
    listing = list_paths(
        paths,
        excludes=PathFilter(settings.exclude),
        project_root=settings.root,
        max_file_size=settings.max_file_size,
        use_gitignore=settings.gitignore,
    )
    engine = build_engine(catalogue)
    batch, jobs = detect(engine, listing.entries, settings)
    return finish(batch.findings, listing, batch, settings, catalogue, started, jobs)


def finish(
    findings: Iterable[Finding],
    listing: Listing,
    batch: _Batch,
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
    for finding in findings:
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
