"""``-v`` on a terminal: a rich progress display on standard error while a long scan runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from prodguard.scanner.run import Progress


@contextmanager
def scan_progress(verbose: bool) -> Iterator[Progress | None]:
    """A progress callback drawing files and bytes scanned, when ``verbose`` and standard error is a
    terminal; ``None`` otherwise (pipes and CI logs get the summary line only)."""
    if not verbose or not sys.stderr.isatty():
        yield None
        return
    # Imported here: a scan without -v never pays for the progress machinery.
    from rich.console import Console
    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress

    with RichProgress(
        SpinnerColumn(),
        TextColumn("scanning"),
        BarColumn(bar_width=None, pulse_style="cyan"),
        TextColumn("{task.fields[files]} files, {task.fields[size]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None, files=0, size="0 B")

        def update(files: int, scanned_bytes: int) -> None:
            bar.update(task, files=files, size=human_size(scanned_bytes))

        yield update


def human_size(count: int) -> str:
    """``12.4 KiB``: bytes in the largest binary unit that keeps the number at least 1."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
