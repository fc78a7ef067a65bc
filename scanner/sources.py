"""Sources: where blobs come from. This module holds the working tree and explicit file lists.

Listing happens in the parent process (cheap, needs the ignore rules); reading happens where the blob is
scanned (``read_entry``), so that large trees are read in parallel by the worker processes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from prodguard.auxfiles import IGNORE_FILE_LIMIT, read_limited
from prodguard.errors import ConfigError, UsageError
from prodguard.scanner.filters import PathFilter, compile_ignore_lines, matchable
from prodguard.scanner.git import GitError, run_git
from prodguard.scanner.lines import split_lines

BINARY_SNIFF = 8192
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Notice:
    """Something the user should know about one path: it was skipped, or only partly read."""

    path: str
    message: str
    category: str


# Size of a listed file not stat'ed while listing (the reader checks it on the open file).
UNKNOWN_SIZE = -1


@dataclass(frozen=True)
class FileEntry:
    """A file to read: the path shown in reports, the path to open, and its size when listed."""

    path: str
    location: str
    size: int


@dataclass
class Listing:
    """The result of listing a source: files to read, notices, and what was skipped by kind."""

    entries: list[FileEntry] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, category: str, notice: Notice | None = None) -> None:
        self.skipped[category] = self.skipped.get(category, 0) + 1
        if notice is not None:
            self.notices.append(notice)


def display_path(path: str) -> str:
    """Paths in reports: relative to the current directory when below it, with ``/`` separators."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        rel = path
    if rel.startswith(".." + os.sep) or rel == "..":
        rel = os.path.abspath(path)
    return rel.replace(os.sep, "/")


def _relative_to(path: str, root: Path) -> str | None:
    try:
        rel = os.path.relpath(path, root)
    except ValueError:
        return None
    if rel.startswith(".."):
        return None
    return rel.replace(os.sep, "/")


@dataclass(frozen=True)
class _Tracked:
    """Files git tracks below a walked root, and the directories that hold them (absolute paths).

    Git never ignores a tracked file: a ``.env`` committed before ``.gitignore`` listed it is still in every
    clone, so ignore rules must not hide it from the scan."""

    files: frozenset[str]
    directories: frozenset[str]

    def holds(self, path: str, is_dir: bool) -> bool:
        return path in (self.directories if is_dir else self.files)


def _tracked_below(root: str) -> _Tracked | None:
    """What git tracks under ``root`` (``None`` outside a work tree or without git)."""
    try:
        out = run_git(root, ["ls-files", "-z", "--cached"], check=False)
    except GitError:
        return None
    if not out:
        return None
    files = set()
    directories = set()
    for raw in out.split(b"\0"):
        if not raw:
            continue
        path = os.path.join(root, os.fsdecode(raw))
        files.add(path)
        parent = os.path.dirname(path)
        while len(parent) > len(root) and parent not in directories:
            directories.add(parent)
            parent = os.path.dirname(parent)
    return _Tracked(frozenset(files), frozenset(directories))


@dataclass(frozen=True)
class _IgnoreFile:
    base: str  # directory of the .gitignore, absolute
    spec: pathspec.GitIgnoreSpec

    def ignores(self, path: str, is_dir: bool) -> bool:
        # Walked paths are absolute strings built from the base, so slicing replaces os.path.relpath
        # (which dominated listing time on large trees).
        prefix = self.base.rstrip(os.sep) + os.sep
        if not path.startswith(prefix):
            return False
        rel = matchable(path[len(prefix) :].replace(os.sep, "/"))
        return bool(self.spec.match_file(rel + "/" if is_dir else rel))


def _read_ignore_file(directory: str, listing: Listing) -> _IgnoreFile | None:
    path = os.path.join(directory, ".gitignore")
    try:
        # As git: a .gitignore that is a symbolic link is not followed, and only a regular file is read
        # (a FIFO would hang the scan, a link to /dev/zero exhaust memory).
        raw = read_limited(path, IGNORE_FILE_LIMIT, follow_symlinks=False)
    except FileNotFoundError:
        return None
    except ConfigError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        message = (
            reason.replace("cannot read:", "cannot read .gitignore:", 1)
            if reason.startswith("cannot read:")
            else f".gitignore not used: {reason}"
        )
        listing.notices.append(Notice(display_path(path), message, "unreadable"))
        return None
    return _IgnoreFile(directory, compile_ignore_lines(split_lines(raw.decode("utf-8", "replace"))))


def iter_paths(
    paths: Sequence[str],
    listing: Listing,
    *,
    excludes: PathFilter,
    project_root: Path,
    max_file_size: int,
    use_gitignore: bool = True,
) -> Iterator[FileEntry]:
    """Files under the given directories (honouring .gitignore and excludes) and the given files,
    yielded directory by directory so that scanning can start while the tree is still being listed;
    notices and skip counts accumulate in ``listing``."""
    for raw in paths:
        if not os.path.lexists(raw):
            raise UsageError(f"no such file or directory: {raw}")
        if os.path.isdir(raw) and not os.path.islink(raw):
            for _ in _walk(raw, listing, excludes, project_root, max_file_size, use_gitignore):
                yield from _drain(listing)
        else:
            _add_file(raw, listing, excludes, project_root, max_file_size, explicit=True)
        yield from _drain(listing)


def _drain(listing: Listing) -> list[FileEntry]:
    entries, listing.entries = listing.entries, []
    return entries


def is_excluded(path: str, excludes: PathFilter, project_root: Path, is_dir: bool = False) -> bool:
    if not excludes.patterns:
        return False
    rel = _relative_to(os.path.abspath(path), project_root)
    if rel is None:
        rel = display_path(path)
    return excludes.is_excluded(rel + "/" if is_dir else rel)


def _add_file(
    path: str,
    listing: Listing,
    excludes: PathFilter,
    project_root: Path,
    max_file_size: int,
    *,
    explicit: bool,
    shown: str | None = None,
) -> None:
    shown = shown or display_path(path)
    if is_excluded(path, excludes, project_root):
        listing.skip("excluded")
        return
    try:
        info = os.lstat(path)
    except OSError as exc:
        listing.skip("unreadable", Notice(shown, f"cannot stat: {exc.strerror}", "unreadable"))
        return
    if stat.S_ISLNK(info.st_mode):
        if explicit:
            listing.skip("symlink", Notice(shown, "symbolic link not followed", "symlink"))
        else:
            listing.skip("symlink")
        return
    if not stat.S_ISREG(info.st_mode):
        listing.skip("special", Notice(shown, "not a regular file", "special"))
        return
    if info.st_size > max_file_size:
        message = f"skipped: {info.st_size / 1048576:.1f} MiB is over the {max_file_size / 1048576:.1f} MiB limit (max_file_size)"
        listing.skip("too_large", Notice(shown, message, "too_large"))
        return
    listing.entries.append(FileEntry(shown, path, info.st_size))


def _walk(
    root: str,
    listing: Listing,
    excludes: PathFilter,
    project_root: Path,
    max_file_size: int,
    use_gitignore: bool,
) -> Iterator[None]:
    root = os.path.abspath(root)
    # Ignore files of the directories above the scanned one still apply (scanning a sub-folder of a repo).
    inherited = _ancestor_ignores(root, listing) if use_gitignore else []
    if _named_root_is_ignored(root, inherited):
        # A folder named on the command line is scanned even when a parent's .gitignore excludes it (as a
        # vendored tree or a virtualenv would be); its own .gitignore files still apply.
        listing.notices.append(
            Notice(
                display_path(root),
                "excluded by a parent .gitignore; scanned because it was named explicitly",
                "ignored",
            )
        )
        inherited = []
    tracked = _tracked_below(root) if use_gitignore else None
    root_prefix = root.rstrip(os.sep) + os.sep
    shown_root = display_path(root)
    shown_prefix = "" if shown_root == "." else shown_root.rstrip("/") + "/"
    stack: list[tuple[str, list[_IgnoreFile]]] = [(root, inherited)]
    while stack:
        directory, ignores = stack.pop()
        try:
            with os.scandir(directory) as iterator:
                entries = sorted(iterator, key=lambda e: e.name)
        except OSError as exc:
            listing.skip(
                "unreadable",
                Notice(display_path(directory), f"cannot list directory: {exc.strerror}", "unreadable"),
            )
            continue
        # Read after listing succeeded: an unreadable directory gets one notice, not a second one for
        # the .gitignore inside it.
        if use_gitignore:
            own = _read_ignore_file(directory, listing)
            if own is not None:
                ignores = [*ignores, own]
        subdirs = []
        for entry in entries:
            if entry.name == ".git":
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if any(ignore.ignores(entry.path, is_dir) for ignore in ignores) and not (
                tracked is not None and tracked.holds(entry.path, is_dir)
            ):
                listing.skip("ignored")
                continue
            if is_dir:
                if is_excluded(entry.path, excludes, project_root, is_dir=True):
                    listing.skip("excluded")
                    continue
                subdirs.append((entry.path, ignores))
            elif _is_plain_file(entry):
                # The common case needs no stat call: the directory entry's type says it is a regular
                # file, and read_entry checks the size on the open file (listing stays cheap).
                shown = shown_prefix + entry.path[len(root_prefix) :].replace(os.sep, "/")
                if is_excluded(entry.path, excludes, project_root):
                    listing.skip("excluded")
                else:
                    listing.entries.append(FileEntry(shown, entry.path, UNKNOWN_SIZE))
            else:
                shown = shown_prefix + entry.path[len(root_prefix) :].replace(os.sep, "/")
                _add_file(entry.path, listing, excludes, project_root, max_file_size, explicit=False, shown=shown)
        stack.extend(reversed(subdirs))
        yield


def _is_plain_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _named_root_is_ignored(root: str, ignores: list[_IgnoreFile]) -> bool:
    current = Path(root)
    for directory in (current, *current.parents):
        if any(ignore.ignores(str(directory), True) for ignore in ignores if str(directory) != ignore.base):
            return True
        if (directory / ".git").exists():
            return False
    return False


def _ancestor_ignores(root: str, listing: Listing) -> list[_IgnoreFile]:
    chain: list[str] = []
    current = Path(root)
    for parent in current.parents:
        chain.append(str(parent))
        if (parent / ".git").exists():
            break
    else:
        return []
    ignores = []
    for directory in reversed(chain):
        found = _read_ignore_file(directory, listing)
        if found is not None:
            ignores.append(found)
    return ignores


# A FIFO swapped in between listing and reading would block ``open`` forever; with O_NONBLOCK it opens at
# once and is then skipped as not a regular file (no effect on regular files).
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_file(location: str, max_file_size: int) -> tuple[bytes | None, os.stat_result]:
    """The file's bytes (``None`` when it is not a regular file or too large), in four system calls:
    the buffered ``open()`` costs twice that per file, which shows on trees of tens of thousands."""
    fd = os.open(location, _READ_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_file_size:
            return None, info
        if info.st_size:
            # One byte more than the size tells a file that grew since it was looked at.
            return os.read(fd, info.st_size + 1), info
        # Empty, or a /proc-like file that reports size 0: read in small steps (os.read allocates the
        # whole request up front, and empty __init__.py files are everywhere).
        chunks: list[bytes] = []
        total = 0
        while total <= max_file_size:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks), info
    finally:
        os.close(fd)


def read_entry(entry: FileEntry, max_file_size: int) -> tuple[bytes | None, Notice | None, str | None]:
    """(data, notice, skip category). Binary files are skipped; UTF-16 text is converted to UTF-8."""
    try:
        data, info = _read_file(entry.location, max_file_size)
        if data is None:
            if stat.S_ISDIR(info.st_mode):
                return None, Notice(entry.path, "became a directory during the scan", "vanished"), "vanished"
            if not stat.S_ISREG(info.st_mode):
                return None, Notice(entry.path, "not a regular file any more", "special"), "special"
            message = f"skipped: {info.st_size / 1048576:.1f} MiB is over the {max_file_size / 1048576:.1f} MiB limit (max_file_size)"
            return None, Notice(entry.path, message, "too_large"), "too_large"
        if len(data) > info.st_size and info.st_size and len(data) <= max_file_size:
            # Grew between fstat and read: read the rest so nothing appended is missed.
            data = _read_all(entry.location, max_file_size)
    except FileNotFoundError:
        return None, Notice(entry.path, "vanished during the scan", "vanished"), "vanished"
    except IsADirectoryError:
        return None, Notice(entry.path, "became a directory during the scan", "vanished"), "vanished"
    except OSError as exc:
        return None, Notice(entry.path, f"cannot read: {exc.strerror or exc}", "unreadable"), "unreadable"
    if len(data) > max_file_size:
        message = f"grew over the {max_file_size / 1048576:.1f} MiB limit during the scan; skipped"
        return None, Notice(entry.path, message, "too_large"), "too_large"
    text = text_content(data)
    return (text, None, None) if text is not None else (None, None, "binary")


def _read_all(location: str, max_file_size: int) -> bytes:
    with open(location, "rb") as handle:
        return handle.read(max_file_size + 1)


def text_content(data: bytes) -> bytes | None:
    """The bytes to scan: as they are, UTF-16 text re-encoded as UTF-8, or ``None`` for binary content."""
    if data.startswith(UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return None
    if b"\0" in data[:BINARY_SNIFF]:
        return None
    return data
