"""The one-line summary of a scan: at the end of the text report, and on standard error when the report
goes to a file (``-o``), so a terminal never stays silent about what a scan found."""

from __future__ import annotations

from prodguard.rules.model import Severity
from prodguard.scanner.progress import human_size
from prodguard.scanner.run import ScanResult

_SKIP_LABELS = {
    "ignored": "untracked and git-ignored",
    "excluded": "excluded by --exclude/config",
    "too_large": "over max_file_size",
    "symlink": "symbolic link",
    "special": "not a regular file",
    "lfs": "Git LFS pointer",
    "missing": "missing from the repository",
}


def summary_line(result: ScanResult) -> str:
    """``2 findings (1 critical, 1 high) in 14 files (52.3 KiB); 0.04s; 1 allowed inline; 3 in baseline``."""
    s = result.stats
    count = len(result.findings)
    head = "no findings" if count == 0 else f"{count} finding{'s' if count != 1 else ''}"
    if count:
        by: dict[Severity, int] = {}
        for f in result.findings:
            by[f.severity] = by.get(f.severity, 0) + 1
        head += " (" + ", ".join(f"{n} {sev.label}" for sev, n in sorted(by.items(), reverse=True)) + ")"
    files = f"{s.files_scanned} file{'s' if s.files_scanned != 1 else ''} ({human_size(s.bytes_scanned)})"
    if s.staged is not None:
        files += f" of {s.staged} staged"
    parts = [f"{head} in {files}", f"{s.seconds:.2f}s"]
    if s.suppressed:
        parts.append(f"{s.suppressed} allowed inline")
    if s.baselined:
        parts.append(f"{s.baselined} in baseline")
    if s.below_threshold:
        parts.append(f"{s.below_threshold} below --min-severity {result.min_severity.label}")
    if s.skipped:
        # Every kind of skip is named, ignored and excluded paths included: a summary that hides what was
        # not read reads as an all-clear for it.
        parts.append(
            "skipped "
            + ", ".join(f"{v} {_SKIP_LABELS.get(k, k.replace('_', ' '))}" for k, v in sorted(s.skipped.items()))
        )
    return "; ".join(parts)
