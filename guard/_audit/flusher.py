"""Background flushing for ``fsync = "interval"``: appends return at once, and a daemon thread makes
them durable every ``fsync_interval_ms``, then records the new head.

The thread holds only a weak reference to its writer, so a forgotten log can still be collected, and it
syncs a duplicate descriptor outside the writer's mutex: appends go on while the disk works, and a
roll-over closing the original cannot pull the file from under the sync. A failure cannot be raised to
anyone from a thread: the writer keeps it and the next append raises it.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Protocol

from prodguard.guard._audit.errors import AuditLogError
from prodguard.guard._audit.head import StoredHead
from prodguard.guard._audit.segments import fdatasync


class Flushable(Protocol):
    """What the flusher needs of a writer (each called with ``mutex`` held)."""

    mutex: threading.Lock

    def take_dirty(self) -> tuple[int, StoredHead | None]:
        """A duplicate descriptor of the active segment when it has unsynced appends (-1 otherwise), and
        the head those appends make durable; the appends count as synced from now on."""
        ...

    def publish_synced(self, head: StoredHead) -> None: ...

    def flush_failed(self, message: str) -> None: ...


def start_flusher(writer: Flushable, stop: threading.Event, interval_s: float) -> threading.Thread:
    """Start the thread; it ends when ``stop`` is set or the writer is collected."""
    ref = weakref.ref(writer)

    def run() -> None:
        while not stop.wait(interval_s):
            target = ref()
            if target is None:
                return
            with target.mutex:
                fd, synced = target.take_dirty()
            if fd >= 0:
                try:
                    fdatasync(fd)
                except OSError as exc:
                    target.flush_failed(exc.strerror or type(exc).__name__)
                    synced = None
                finally:
                    os.close(fd)
                if synced is not None:
                    with target.mutex:
                        try:
                            target.publish_synced(synced)
                        except AuditLogError as exc:
                            target.flush_failed(str(exc))
            del target

    thread = threading.Thread(target=run, name="prodguard-audit-fsync", daemon=True)
    thread.start()
    return thread
