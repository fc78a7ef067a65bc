"""Git plumbing for the staged and history sources: subprocess with ``-z`` output, a cleaned ``GIT_*``
environment, and a streaming ``git cat-file --batch`` reader. Errors become ``GitError`` here, once."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from prodguard.errors import ProdguardError

# Variables a hook environment sets that would point our git calls at another repository or index.
_INHERITED_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_PREFIX")
REGULAR_FILE_MODES = (b"100644", b"100755")
NULL_SHA = "0" * 40


class GitError(ProdguardError):
    """A git command failed or git is missing; the message says which command and why."""


def git_env(keep_index: bool = False) -> dict[str, str]:
    """The environment for our git calls. ``GIT_INDEX_FILE`` is kept for staged scans run inside a
    hook (pre-commit points it at the index being committed)."""
    env = dict(os.environ)
    for name in _INHERITED_GIT_VARS:
        if keep_index and name == "GIT_INDEX_FILE":
            continue
        env.pop(name, None)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    return env


def run_git(repo: str | Path, args: Sequence[str], *, keep_index: bool = False, check: bool = True) -> bytes:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), *args],
            capture_output=True,
            env=git_env(keep_index),
            check=False,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH") from None
    if check and completed.returncode != 0:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(
            f"git {args[0]} failed in {repo}: {message[-1] if message else 'exit ' + str(completed.returncode)}"
        )
    return completed.stdout


def repo_root(path: str | Path) -> Path:
    """The top of the work tree containing ``path`` (or the git dir of a bare repository)."""
    out = run_git(path, ["rev-parse", "--show-toplevel"], check=False).strip()
    if out:
        return Path(os.fsdecode(out))
    git_dir = run_git(path, ["rev-parse", "--absolute-git-dir"]).strip()
    return Path(os.fsdecode(git_dir))


def toplevel(path: str | Path) -> Path | None:
    """The top of the work tree containing ``path``, or ``None`` outside a repository (or without git)."""
    directory = Path(path) if Path(path).is_dir() else Path(path).parent
    try:
        out = run_git(directory, ["rev-parse", "--show-toplevel"], check=False).strip()
    except GitError:
        return None
    return Path(os.fsdecode(out)) if out else None


def repository_uri(url: str) -> str | None:
    """A remote's URL as a URI fit to publish: credentials removed, scp-like ``git@host:org/repo.git``
    written as ``https://host/org/repo``, a local path as a ``file:`` URI."""
    url = url.strip()
    if not url:
        return None
    scp = re.match(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$", url)
    if "://" not in url and scp and not os.path.isabs(url):
        return f"https://{scp.group(1)}/{scp.group(2).removesuffix('.git')}"
    if "://" not in url:
        return Path(url).resolve().as_uri()
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def version_control(root: Path) -> tuple[str | None, str | None, str | None]:
    """(repository URI, HEAD commit, branch) of the repository at ``root``; ``None`` where unknown."""
    remotes = run_git(root, ["remote"], check=False).decode("utf-8", "replace").split()
    remote = "origin" if "origin" in remotes else (remotes[0] if remotes else None)
    uri = None
    if remote is not None:
        url = run_git(root, ["config", "--get", f"remote.{remote}.url"], check=False)
        uri = repository_uri(url.decode("utf-8", "replace"))
    revision = run_git(root, ["rev-parse", "--verify", "-q", "HEAD"], check=False).decode().strip() or None
    branch = run_git(root, ["symbolic-ref", "-q", "--short", "HEAD"], check=False).decode().strip() or None
    return uri, revision, branch


def is_shallow(repo: str | Path) -> bool:
    return run_git(repo, ["rev-parse", "--is-shallow-repository"]).strip() == b"true"


def has_commits(repo: str | Path) -> bool:
    return bool(run_git(repo, ["rev-parse", "--verify", "-q", "HEAD"], check=False).strip())


@dataclass(frozen=True)
class IndexEntry:
    """A regular file in the index: its path (as git stores it) and blob id."""

    path: str
    blob: str


def staged_entries(repo: str | Path, paths: Sequence[str] = ()) -> list[IndexEntry]:
    """Files added, copied, modified or renamed in the index relative to HEAD (or all index files in a
    repository with no commit yet); with ``paths``, those files as they are in the index."""
    if paths:
        listing = run_git(repo, ["ls-files", "-s", "-z", "--", *paths], keep_index=True)
    else:
        base = "HEAD" if has_commits(repo) else _empty_tree(repo)
        names = run_git(
            repo,
            ["diff", "--cached", "--name-only", "-z", "--no-renames", "--diff-filter=ACMRT", base],
            keep_index=True,
        )
        wanted = [n for n in names.split(b"\0") if n]
        if not wanted:
            return []
        listing = run_git(
            repo, ["ls-files", "-s", "-z", "--", *[os.fsdecode(n) for n in wanted]], keep_index=True
        )
    entries = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path = record.partition(b"\t")
        mode, blob, stage = meta.split(b" ")
        if mode in REGULAR_FILE_MODES and stage == b"0":
            entries.append(IndexEntry(os.fsdecode(path), blob.decode("ascii")))
    return entries


def _empty_tree(repo: str | Path) -> str:
    return run_git(repo, ["hash-object", "-t", "tree", "/dev/null"]).strip().decode("ascii")


# Options that select whole sets of refs; the only arguments starting with "-" a revision list may hold.
REF_SET_OPTIONS = frozenset({"--all", "--branches", "--tags", "--remotes"})
_OBJECT_ID = re.compile(r"^\^?[0-9a-f]{40}(?:[0-9a-f]{24})?$")


def checked_revisions(repo: str | Path, revisions: Sequence[str]) -> list[str]:
    """``git log`` arguments for ``revisions`` that cannot be read as options.

    A revision starting with ``-`` (``--output=FILE`` would make git write a file) is refused. Every
    other revision is resolved by ``git rev-parse`` to object ids (a range to its ends, negated ones
    with ``^``): what reaches ``git log`` after ``--end-of-options`` is hexadecimal ids only. ``--not``
    and the ref-set options (``--all``, ``--remotes``, …) are kept, before ``--end-of-options``, with
    the same meaning. An unknown revision is an error naming it, never an empty scan."""
    prefix: list[str] = []
    resolved: list[str] = []
    negated = False
    for revision in revisions:
        if revision == "--not":
            negated = not negated
            continue
        if revision in REF_SET_OPTIONS:
            prefix += ["--not", revision, "--not"] if negated else [revision]
            continue
        if not revision or revision.lstrip("^").startswith("-") or any(c in revision for c in "\0\n\r"):
            raise GitError(f"not a revision: {revision!r}")
        lines = run_git(repo, ["rev-parse", revision, "--"]).decode("ascii", "replace").split()
        for line in lines:
            if line == "--":
                continue
            if not _OBJECT_ID.match(line):
                raise GitError(f"not a revision: {revision!r}")
            if not run_git(
                repo, ["rev-parse", "--verify", "--quiet", line.lstrip("^") + "^{commit}"], check=False
            ):
                raise GitError(f"not a commit: {revision!r}")
            positive = not line.startswith("^")
            resolved.append(line.lstrip("^") if positive != negated else "^" + line.lstrip("^"))
    return [*prefix, "--end-of-options", *resolved]


@dataclass(frozen=True)
class Introduction:
    """The first commit (in topological order) in which a blob appeared at a path."""

    blob: str
    path: str
    commit: str
    author: str
    date: str
    order: int


def _is_whole_history(revisions: Sequence[str]) -> bool:
    """No revision is excluded (``^rev``, ``a..b``, ``--not``): every ancestor of a selected commit is
    selected too."""
    return not any(r.startswith("^") or ".." in r or r == "--not" for r in revisions)


def introductions(repo: str | Path, revisions: Sequence[str]) -> Iterator[Introduction]:
    """Every (blob, path) of regular files added or changed in the selected commits, with the earliest
    commit that introduced it there, oldest first. One ``git log --raw`` pass; nothing is checked out.
    Introductions are yielded as git writes them, so that scanning starts while git still diffs later
    commits (on a long history the log takes as long as a tenth of the scan).

    A merge is diffed against each parent (``-m``) only when some ancestors are excluded: what it brings
    from an excluded side is then new to the range. Over a whole history, a file that a merge takes
    unchanged from one parent was introduced by that parent's own history, listed earlier; the combined
    diff (``-c``: files that differ from every parent) lists the rest, and git writes (and we parse) a
    tenth of the output that ``-m`` gives on a repository with many merged branches."""
    merges = "-c" if _is_whole_history(revisions) else "-m"
    args = [
        "log",
        "--reverse",
        "--topo-order",
        merges,
        "--root",
        "--raw",
        "--no-abbrev",
        "--no-renames",
        "-z",
        "--format=%x01%H%x00%an <%ae>%x00%aI%x00",
        *checked_revisions(repo, revisions),
        "--",
    ]
    seen: set[tuple[str, bytes]] = set()
    order = 0
    for chunk in _records(repo, args):
        tokens = chunk.split(b"\0")
        commit, author, date = (t.decode("utf-8", "replace") for t in tokens[:3])
        order += 1
        rest = iter(tokens[3:])
        for token in rest:
            token = token.lstrip(b"\n")
            if not token.startswith(b":"):
                continue
            path = next(rest, b"")
            # ``:old new oldsha newsha S`` for one parent; ``::`` and a mode, a blob and a status letter
            # per parent for a merge's combined diff.
            parents = len(token) - len(token.lstrip(b":"))
            fields = token[parents:].split(b" ")
            if len(fields) < 2 * parents + 3:
                continue
            new_mode, new_blob = fields[parents], fields[2 * parents + 1].decode("ascii")
            if new_mode not in REGULAR_FILE_MODES or new_blob == NULL_SHA:
                continue
            if parents == 1 and fields[4][:1] not in (b"A", b"M", b"T"):
                continue
            # Each (blob, path) once: the same content renamed or copied to a new path is a new place.
            if (new_blob, path) in seen:
                continue
            seen.add((new_blob, path))
            yield Introduction(new_blob, os.fsdecode(path), commit, author, date, order)


# How much of git's output is read at a time when it is streamed.
_READ_SIZE = 1 << 20
# git maps pack files into memory in windows of up to 1 GiB: walking every tree of a long history (the
# log's diffs) keeps the whole pack resident, on top of the scan's own memory while both run. Smaller
# windows, unmapped past a limit, halve git's resident memory on juice-shop's history (141 -> 70 MB) for
# a few percent of its time.
_PACK_WINDOWS = ("-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=64m")


def _records(repo: str | Path, args: Sequence[str]) -> Iterator[bytes]:
    """The ``\\x01``-separated records git writes for ``args``, as they arrive; a failure of git is a
    ``GitError`` once its output is read."""
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(
                ["git", *_PACK_WINDOWS, "-C", str(repo), *args],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=git_env(),
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None
        assert process.stdout is not None
        with process:
            pending = b""
            while block := os.read(process.stdout.fileno(), _READ_SIZE):
                records = (pending + block).split(b"\x01")
                pending = records.pop()
                yield from (r for r in records if r)
            if pending:
                yield pending
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().decode("utf-8", "replace").strip().splitlines()
            raise GitError(
                f"git {args[0]} failed in {repo}: {message[-1] if message else 'exit ' + str(process.returncode)}"
            )


class CatFile:
    """A ``git cat-file --batch`` process: ask for blob ids, read their contents back in order."""

    def __init__(self, repo: str | Path, *, keep_index: bool = False) -> None:
        try:
            self._process = subprocess.Popen(
                ["git", "-C", str(repo), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=git_env(keep_index),
            )
        except FileNotFoundError:
            raise GitError("git is not installed or not on PATH") from None

    def read_many(self, blobs: Sequence[str], max_size: int) -> Iterator[tuple[str, bytes | None, int]]:
        """(blob id, content or None when larger than ``max_size`` or missing, size) for each id, in order.
        Requests are written in slices so neither pipe fills while the other waits."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        for start in range(0, len(blobs), 256):
            part = blobs[start : start + 256]
            stdin.write(b"".join(b.encode("ascii") + b"\n" for b in part))
            stdin.flush()
            for blob in part:
                header = stdout.readline()
                fields = header.split()
                if len(fields) < 3 or fields[1] == b"missing":
                    yield blob, None, -1
                    continue
                size = int(fields[2])
                data = stdout.read(size)
                stdout.read(1)  # the newline after each object
                yield blob, (data if size <= max_size else None), size

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait()

    def __enter__(self) -> CatFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
