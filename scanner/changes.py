"""What a change introduces: the lines a staged change or a range of commits adds, and the secrets that
were already there before it. ``--changed-lines``, ``--diff BASE`` and ``hook pre-push`` use these to
report only what is new, never the old findings of a file a change merely touches.

Everything here reads git through ``run_git`` (``-z`` where git offers it) and returns plain data; the
decisions are the pure ``is_*`` predicates at the bottom, applied to findings before they are reported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prodguard.rules.model import Kind
from prodguard.scanner.finding import Finding
from prodguard.scanner.git import REGULAR_FILE_MODES, has_commits, run_git

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_PATHSPEC_CHUNK = 512
# Kinds whose findings are about a value (a key, an identifier): new when the value is new.
VALUE_KINDS = frozenset({Kind.SECRET, Kind.IDENTIFIER, Kind.ENVIRONMENT})


@dataclass(frozen=True)
class AddedLines:
    """Lines (1-based, in the new version) that a change adds, per git path; ``commit`` is ``None`` for
    the staged change."""

    by_path: dict[tuple[str | None, str], frozenset[int]]

    def lines(self, commit: str | None, git_path: str) -> frozenset[int]:
        return self.by_path.get((commit, git_path), frozenset())


def _unquote(raw: bytes) -> bytes:
    """A path as git prints it in patch headers: C-quoted when it holds unusual bytes."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw
    body, out, i = raw[1:-1], bytearray(), 0
    simple = {ord("n"): 10, ord("t"): 9, ord('"'): 34, ord("\\"): 92, ord("a"): 7, ord("b"): 8,
              ord("f"): 12, ord("r"): 13, ord("v"): 11}  # fmt: skip
    while i < len(body):
        if body[i] == 92 and i + 1 < len(body):
            nxt = body[i + 1]
            if 48 <= nxt <= 55 and i + 3 < len(body):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            out.append(simple.get(nxt, nxt))
            i += 2
            continue
        out.append(body[i])
        i += 1
    return bytes(out)


def parse_added_lines(patch: bytes, commit_marker: bytes | None = None) -> dict[tuple[str | None, str], set[int]]:
    """Added line numbers per (commit, path) from ``git diff -U0`` / ``git log -p -U0`` output. With
    ``commit_marker``, each commit's section starts with the marker followed by its id."""
    found: dict[tuple[str | None, str], set[int]] = {}
    commit: str | None = None
    path: str | None = None
    for line in patch.split(b"\n"):
        if commit_marker is not None and line.startswith(commit_marker):
            commit = line[len(commit_marker) :].strip().decode("ascii", "replace")
            path = None
        elif line.startswith(b"+++ "):
            target = line[4:]
            path = None if target == b"/dev/null" else os.fsdecode(_unquote(target)[2:])
        elif line.startswith(b"@@") and path is not None:
            match = _HUNK.match(line)
            if match:
                start, count = int(match.group(1)), int(match.group(2) or b"1")
                found.setdefault((commit, path), set()).update(range(start, start + count))
    return found


def _patch_args() -> list[str]:
    return ["-U0", "--no-renames", "--no-ext-diff", "--no-color", "--src-prefix=a/", "--dst-prefix=b/"]


def staged_added_lines(root: Path, git_paths: Sequence[str]) -> AddedLines:
    """The lines the staged change adds to ``git_paths`` (all lines of a file new to the repository)."""
    if not git_paths:
        return AddedLines({})
    base = "HEAD" if has_commits(root) else run_git(root, ["hash-object", "-t", "tree", "/dev/null"]).decode().strip()
    found: dict[tuple[str | None, str], set[int]] = {}
    for chunk in _chunks(git_paths):
        patch = run_git(
            root, ["diff", "--cached", *_patch_args(), base, "--", *_literal(chunk)], keep_index=True
        )
        for key, lines in parse_added_lines(patch).items():
            found.setdefault(key, set()).update(lines)
    return AddedLines({key: frozenset(v) for key, v in found.items()})


def commit_added_lines(root: Path, revisions: Sequence[str], git_paths: Sequence[str]) -> AddedLines:
    """For each commit of ``revisions`` and each of ``git_paths`` it changes: the lines it adds (a merge:
    the lines added against any parent)."""
    if not git_paths:
        return AddedLines({})
    found: dict[tuple[str | None, str], set[int]] = {}
    for chunk in _chunks(git_paths):
        patch = run_git(
            root,
            ["log", "-p", "-m", *_patch_args(), "--format=%x01%H", *revisions, "--", *_literal(chunk)],
        )
        for key, lines in parse_added_lines(patch, b"\x01").items():
            found.setdefault(key, set()).update(lines)
    return AddedLines({key: frozenset(v) for key, v in found.items()})


def changed_paths(root: Path, revisions: Sequence[str]) -> list[str]:
    """Every path the selected commits add, change or delete (a renamed file: both its names)."""
    out = run_git(root, ["log", "--name-only", "-z", "--no-renames", "-m", "--format=", *revisions, "--"])
    return sorted({os.fsdecode(p.strip(b"\n")) for p in out.split(b"\0") if p.strip(b"\n")})


def boundary_commits(root: Path, revisions: Sequence[str]) -> list[str]:
    """The commits just outside the selected range (``BASE`` of ``BASE..HEAD``, the merge base of a
    diverged branch, what the remotes already have for a new branch): the state a change starts from."""
    out = run_git(root, ["rev-list", "--boundary", *revisions, "--"]).decode("ascii", "replace")
    return [line[1:].strip() for line in out.splitlines() if line.startswith("-")]


def blobs_at(root: Path, commits: Iterable[str], git_paths: Sequence[str]) -> list[tuple[str, str]]:
    """(blob id, path) of ``git_paths`` as they are in each of ``commits`` (paths absent there: none)."""
    found: dict[tuple[str, str], None] = {}
    for commit in commits:
        for chunk in _chunks(git_paths):
            listing = run_git(root, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", *_literal(chunk)])
            for record in listing.split(b"\0"):
                meta, _, path = record.partition(b"\t")
                fields = meta.split(b" ")
                if len(fields) == 3 and fields[0] in REGULAR_FILE_MODES and fields[1] == b"blob":
                    found[(fields[2].decode("ascii"), os.fsdecode(path))] = None
    return list(found)


def git_path(root: Path, shown: str) -> str:
    """The repository-relative path of a finding's (display) path."""
    return os.path.relpath(os.path.abspath(shown), root).replace(os.sep, "/")


def _literal(paths: Sequence[str]) -> list[str]:
    # Paths are data, not patterns: a file named ``*.py`` must not select every Python file.
    return [f":(literal){p}" for p in paths]


def _chunks(paths: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(paths), _PATHSPEC_CHUNK):
        yield paths[start : start + _PATHSPEC_CHUNK]


def is_on_added_line(finding: Finding, added: frozenset[int]) -> bool:
    """Finding-stage filter: the finding touches a line the change adds. A notebook cell's finding stands
    at the lines of the ``.ipynb`` text (its place in the cell is ``cell_line``), the lines git diffs, so
    it is judged the same way: a cell line changed is its JSON string's line changed (a source written as
    one string is one file line: any change to that cell keeps its findings). Only a cell finding whose
    place in the file could not be told (``cell_line`` unset, ``line`` counting cell lines) is kept
    whenever the change adds a line to the notebook."""
    if finding.cell is not None and finding.cell_line is None:
        return bool(added)
    return any(line in added for line in range(finding.line, max(finding.end_line, finding.line) + 1))


def is_already_present(finding: Finding, before: frozenset[tuple[str, str]]) -> bool:
    """Finding-stage filter: the same rule found the same value before the change."""
    return finding.kind in VALUE_KINDS and (finding.rule_id, finding.secret_hash) in before
