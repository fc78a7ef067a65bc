"""Reading the files prodguard reads besides the scanned ones: configuration, rule packs, baselines,
``.gitignore`` files. They come from the repository being scanned, so they get the checks scanned files
get: opened without blocking (a FIFO cannot hang the scan), only regular files are read (a link to
``/dev/zero`` is refused, not read for ever), and never more than a size limit.
"""

from __future__ import annotations

import os
import stat

from prodguard.errors import ConfigError

# Limits per kind of file: far above any real one, far below what would exhaust memory.
CONFIG_LIMIT = 4 * 1024 * 1024
PACK_LIMIT = 4 * 1024 * 1024
IGNORE_FILE_LIMIT = 4 * 1024 * 1024
BASELINE_LIMIT = 64 * 1024 * 1024

_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def read_limited(path: str | os.PathLike[str], limit: int, *, follow_symlinks: bool = True) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; ``ConfigError`` naming the file
    otherwise (missing, a symbolic link when ``follow_symlinks`` is false, not a regular file, too large,
    unreadable). ``FileNotFoundError`` is raised as such, for callers to whom absence is normal."""
    shown = os.fspath(path)
    flags = _FLAGS if follow_symlinks else _FLAGS | _NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if not follow_symlinks and os.path.islink(path):
            raise ConfigError("is a symbolic link; not followed", path=shown) from None
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("not a regular file", path=shown)
        if info.st_size > limit:
            raise ConfigError(f"is {_size(info.st_size)}, over the {_size(limit)} limit", path=shown)
        chunks: list[bytes] = []
        total = 0
        # Read to the end, but never past the limit: a file can grow after fstat, and /proc-like files
        # report a size of 0.
        while True:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise ConfigError(f"is over the {_size(limit)} limit", path=shown)
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    finally:
        os.close(fd)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / 1048576:.1f} MiB"
    return f"{count} bytes"
