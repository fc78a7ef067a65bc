"""Repositories for the history benchmark, written with one ``git fast-import`` stream each.

- ``build_churn_repo``: thousands of commits of code churn over real Python source (small edits to a few
  files per commit, hot files edited more often, additions, deletions, renames, a side branch merged
  every ~200 commits) with planted fake secrets whose introducing commits are recorded, so the benchmark
  can check that ``prodguard scan --history`` blames each one on the right commit.
- ``build_flat_repo``: one commit of 10,000 files, for the staged-scan latency.
- ``build_release_repo``: successive releases of a PyPI package (its sdists) committed in order.

Everything is derived from a seed and sorted directory walks, so a machine rebuilds the same repository.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from corpus_kinds import POSITIVES, private_key_block

from prodguard.rules.validators import is_placeholder

AUTHORS = (
    "Ada Moreau <ada@acme-corp.io>",
    "Bilal Haddad <bilal@acme-corp.io>",
    "Chen Wei <chen.wei@acme-corp.io>",
    "Dana Okafor <dana@acme-corp.io>",
    "Emil Lindqvist <emil@acme-corp.io>",
    "Farah Nasser <farah@acme-corp.io>",
)
START_TIME = 1_609_750_800  # 2021-01-04 09:00 UTC
# Lines the scripted edits of planted files insert: plain code, so no donor text can add a finding there.
FILLER = (
    b"import logging\n",
    b"LOG = logging.getLogger(__name__)\n",
    b"TIMEOUT_SECONDS = 30\n",
    b"# keep in sync with the deployment manifest\n",
    b"RETRIES = 3\n",
)


# --- the fast-import stream ----------------------------------------------------------------------


class FastImport:
    """A ``git fast-import`` process in a fresh repository; ``commit`` writes one commit and returns its
    mark. Marks are exported, so ``commit_ids`` maps them to SHAs once the stream is closed."""

    def __init__(self, repo: Path) -> None:
        repo = repo.resolve()
        if repo.exists():
            shutil.rmtree(repo)
        repo.mkdir(parents=True)
        subprocess.run(["git", "init", "--quiet", "-b", "main", str(repo)], check=True, env=_git_env())
        self.repo = repo
        self.marks_file = repo / ".git" / "bench-marks"
        self._process = subprocess.Popen(
            ["git", "-C", str(repo), "fast-import", "--quiet", f"--export-marks={self.marks_file}"],
            stdin=subprocess.PIPE,
            env=_git_env(),
        )
        assert self._process.stdin is not None
        self._out = self._process.stdin
        self._mark = 0
        self.commits = 0

    def commit(
        self,
        ref: str,
        author: str,
        when: int,
        message: str,
        changes: Iterable[tuple[str, ...] | tuple[str, str, bytes]],
        parent: int | None = None,
        merge: int | None = None,
        deleteall: bool = False,
    ) -> int:
        """``changes``: ("M", path, bytes), ("D", path) or ("R", old, new)."""
        self._mark += 1
        text = message.encode()
        head = [f"commit {ref}", f"mark :{self._mark}", f"author {author} {when} +0000"]
        head += [f"committer {author} {when} +0000", f"data {len(text)}"]
        out = self._out
        out.write(("\n".join(head) + "\n").encode() + text + b"\n")
        if parent is not None:
            out.write(f"from :{parent}\n".encode())
        if merge is not None:
            out.write(f"merge :{merge}\n".encode())
        if deleteall:
            out.write(b"deleteall\n")
        for change in changes:
            if change[0] == "M":
                data = change[2]
                assert isinstance(data, bytes)
                out.write(f"M 100644 inline {_quote(change[1])}\ndata {len(data)}\n".encode() + data + b"\n")
            elif change[0] == "D":
                out.write(f"D {_quote(change[1])}\n".encode())
            else:
                out.write(f"R {_quote(str(change[1]))} {_quote(str(change[2]))}\n".encode())
        out.write(b"\n")
        self.commits += 1
        return self._mark

    @property
    def next_mark(self) -> int:
        """The mark the next ``commit`` call will get."""
        return self._mark + 1

    def close(self) -> dict[int, str]:
        """Finish the import, check out ``main`` and return mark -> commit SHA."""
        self._out.close()
        if self._process.wait() != 0:
            raise SystemExit(f"git fast-import failed in {self.repo}")
        subprocess.run(["git", "-C", str(self.repo), "reset", "--quiet", "--hard", "main"], check=True)
        marks = {}
        for line in self.marks_file.read_text(encoding="ascii").splitlines():
            mark, sha = line.split()
            marks[int(mark[1:])] = sha
        self.marks_file.unlink()
        return marks


def _quote(path: str) -> str:
    if any(c in path for c in ' "\\\n') or path.startswith('"'):
        raise ValueError(f"path needs quoting: {path!r}")
    return path


def _git_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    return env


# --- donors --------------------------------------------------------------------------------------


def python_sources(
    root: Path, max_size: int = 64 * 1024, skip: tuple[str, ...] = ()
) -> list[tuple[str, bytes]]:
    """(relative path, content) of every ``.py`` file under ``root`` up to ``max_size``, sorted walk."""
    found = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git", *skip))
        for name in sorted(names):
            path = Path(directory, name)
            if not name.endswith(".py") or path.is_symlink():
                continue
            data = path.read_bytes()
            if 0 < len(data) <= max_size and b"\0" not in data:
                found.append((path.relative_to(root).as_posix(), data))
    return found


def text_files(root: Path, count: int, max_size: int = 256 * 1024) -> list[tuple[str, bytes]]:
    """The first ``count`` text files (no NUL byte, no quoting-needing name) of a sorted walk."""
    found: list[tuple[str, bytes]] = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in ("__pycache__", ".git"))
        for name in sorted(names):
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            if path.is_symlink() or not path.is_file() or any(c in relative for c in ' "\\\n'):
                continue
            if path.stat().st_size > max_size:
                continue
            data = path.read_bytes()
            if data and b"\0" not in data[:8192]:
                found.append((relative, data))
                if len(found) >= count:
                    return found
    return found


# --- the churn repository ------------------------------------------------------------------------


@dataclass
class PlantedSecret:
    """A fake secret and where it must be reported: ``path``/``line`` in the blob of commit ``mark``.
    ``required`` is False where the blob at ``path`` is byte-identical to one already committed at another
    path (a verbatim copy, a pure rename): a scanner that reads each blob once may report the secret at
    the first path only, but if it reports this path it must name this commit."""

    scenario: str
    kind: str
    path: str
    line: int
    mark: int
    required: bool = True
    commit: str = ""


@dataclass
class SideBranch:
    ref: str
    head: int
    base: dict[str, bytes]
    tree: dict[str, bytes]
    claimed: set[str]  # files only the side branch edits while it lives (main keeps off them)
    commit_at: set[int]
    merge_at: int
    prepends: dict[str, bytes] = field(default_factory=dict)  # merged over main's version of the file


@dataclass
class ChurnRepo:
    repo: Path
    commits: int
    main_commits: int
    merges: int
    files_final: int
    planted: list[PlantedSecret]
    seconds: float = 0.0  # generation time, set by the caller


Change = tuple[str, ...] | tuple[str, str, bytes]


class ChurnBuilder:
    """Writes the churn history; ``events`` maps a main-branch step to the scripted changes at that step
    (planted secrets and what later happens to them), which replace that step's random changes."""

    def __init__(
        self, repo: Path, donors: list[tuple[str, bytes]], seed: int, steps: int, merge_every: int = 200
    ) -> None:
        self.rng = random.Random(seed)
        self.stream = FastImport(repo)
        self.steps = steps
        self.merge_every = merge_every
        order = list(range(len(donors)))
        self.rng.shuffle(order)
        initial = min(len(donors) * 3 // 4, 1200)
        self.tree = {donors[i][0]: donors[i][1] for i in order[:initial]}
        self.reserve = [donors[i] for i in order[initial:]]  # files added by later commits
        self.donors = donors
        self.weights = {path: self._weight() for path in self.tree}
        self.protected: set[str] = set()
        self.planted: list[PlantedSecret] = []
        self.head = 0
        self.when = START_TIME
        self.side: SideBranch | None = None
        self.merges = 0
        self.events: dict[int, list[Callable[[], list[Change]]]] = {}
        # Side-branch events, by branch number; they run in that branch's first commit.
        self.side_events: dict[int, list[Callable[[SideBranch], list[Change]]]] = {}
        self._pending_side: list[Callable[[SideBranch], list[Change]]] = []

    # Hot files: a heavy-tailed weight, so a few files take most of the edits, as in real projects.
    def _weight(self) -> float:
        return self.rng.paretovariate(1.1)

    def _author(self) -> str:
        return AUTHORS[min(int(self.rng.expovariate(0.6)), len(AUTHORS) - 1)]

    def _tick(self) -> int:
        self.when += self.rng.randrange(20 * 60, 10 * 3600)
        return self.when

    # -- content edits --

    def _donor_lines(self, count: int) -> list[bytes]:
        _, data = self.donors[self.rng.randrange(len(self.donors))]
        lines = data.splitlines(keepends=True) or [b"\n"]
        start = self.rng.randrange(len(lines))
        return lines[start : start + count] or [b"\n"]

    def small_edit(self, data: bytes) -> bytes:
        """One to three hunks: insert, replace or delete a few lines, with lines of other real files."""
        lines = data.splitlines(keepends=True)
        for _ in range(1 + (self.rng.random() < 0.4) + (self.rng.random() < 0.15)):
            at = self.rng.randrange(len(lines) + 1)
            action = self.rng.random()
            if action < 0.45 or not lines:
                lines[at:at] = self._donor_lines(self.rng.randrange(1, 7))
            elif action < 0.8:
                lines[at : at + self.rng.randrange(1, 4)] = self._donor_lines(self.rng.randrange(1, 4))
            else:
                del lines[at : at + self.rng.randrange(1, 4)]
        if lines and not lines[-1].endswith(b"\n"):
            lines[-1] += b"\n"
        return b"".join(lines) or b"\n"

    def _pick(self, avoid: set[str]) -> str | None:
        paths = [p for p in self.tree if p not in avoid]
        if not paths:
            return None
        return self.rng.choices(paths, weights=[self.weights[p] for p in paths])[0]

    def random_changes(self) -> list[Change]:
        """A typical commit: edits to one to four files, now and then an addition, deletion or rename."""
        avoid = self.protected | (self.side.claimed if self.side else set())
        changes: list[Change] = []
        touched: set[str] = set()
        for _ in range(
            1 + (self.rng.random() < 0.5) + (self.rng.random() < 0.25) + (self.rng.random() < 0.1)
        ):
            path = self._pick(avoid | touched)
            if path is None:
                break
            touched.add(path)
            self.tree[path] = self.small_edit(self.tree[path])
            changes.append(("M", path, self.tree[path]))
        roll = self.rng.random()
        if roll < 0.04 and self.reserve:
            path, data = self.reserve.pop()
            if path not in self.tree:
                self.tree[path], self.weights[path] = data, self._weight()
                changes.append(("M", path, data))
        elif roll < 0.055:
            path = self._pick(avoid | touched)
            if path is not None:
                del self.tree[path]
                changes.append(("D", path))
        elif roll < 0.065:
            path = self._pick(avoid | touched)
            if path is not None:
                new = _renamed(path, self.rng)
                if new not in self.tree:
                    self.tree[new] = self.tree.pop(path)
                    self.weights[new] = self.weights[path]
                    changes.append(("R", path, new))
        return changes

    # -- side branches --

    def branch_after(self, step: int) -> int:
        """The number of the first side branch forked at or after ``step``."""
        half = self.merge_every // 2
        return max(0, -(-(step - half) // self.merge_every)) + 1

    def _forks_at(self, step: int) -> bool:
        return step % self.merge_every == self.merge_every // 2 and step + 40 < self.steps

    def _fork(self, step: int, length: int) -> None:
        commit_at = set(self.rng.sample(range(step + 1, step + length), self.rng.randrange(4, 10)))
        claimed: set[str] = set()
        for _ in range(self.rng.randrange(3, 8)):
            path = self._pick(self.protected | claimed)
            if path is not None:
                claimed.add(path)
        number = self.merges + 1
        self.side = SideBranch(
            f"refs/heads/feature-{number:02d}",
            self.head,
            dict(self.tree),
            dict(self.tree),
            claimed,
            commit_at,
            step + length,
        )
        self._pending_side = self.side_events.pop(number, [])

    def _side_commit(self, step: int) -> None:
        side = self.side
        assert side is not None
        changes: list[Change] = []
        for event in self._pending_side:
            changes += event(side)
        self._pending_side = []
        if not changes:
            for path in self.rng.sample(
                sorted(side.claimed), min(len(side.claimed), self.rng.randrange(1, 3))
            ):
                side.tree[path] = self.small_edit(side.tree[path])
                changes.append(("M", path, side.tree[path]))
        side.head = self.stream.commit(
            side.ref, self._author(), self._tick(), f"feature work ({len(changes)} files)", changes, side.head
        )

    def _merge_changes(self) -> list[Change]:
        """Main's tree plus what the side branch changed; a file changed on both sides gets the side's
        prepended lines over main's version (the only kind of overlap the script creates)."""
        side = self.side
        assert side is not None
        changes: list[Change] = []
        for path in sorted(set(side.tree) | set(side.base)):
            if side.tree.get(path) == side.base.get(path):
                continue
            if path not in side.tree:
                if path in self.tree:
                    del self.tree[path]
                    changes.append(("D", path))
                continue
            merged = side.tree[path]
            if path in side.prepends and self.tree.get(path) != side.base.get(path):
                merged = side.prepends[path] + self.tree[path]
            self.tree[path] = merged
            self.weights.setdefault(path, self._weight())
            changes.append(("M", path, merged))
        return changes

    # -- the run --

    def build(self) -> ChurnRepo:
        self.head = self.stream.commit(
            "refs/heads/main",
            AUTHORS[0],
            self._tick(),
            "Initial import",
            [("M", p, d) for p, d in sorted(self.tree.items())],
        )
        main_commits = 1
        for step in range(1, self.steps):
            if self.side is None and self._forks_at(step):
                self._fork(step, self.rng.randrange(20, 40))
            if self.side is not None and step in self.side.commit_at:
                self._side_commit(step)
            changes: list[Change] = []
            for event in self.events.pop(step, []):
                changes += event()
            merge = None
            message = ""
            if self.side is not None and step == self.side.merge_at:
                changes += self._merge_changes()
                merge, message = self.side.head, f"Merge branch '{self.side.ref[11:]}'"
                self.merges += 1
                self.side = None
            if not changes and merge is None:
                changes = self.random_changes()
            if not message:
                message = _message(changes)
            self.head = self.stream.commit(
                "refs/heads/main", self._author(), self._tick(), message, changes, self.head, merge
            )
            main_commits += 1
        marks = self.stream.close()
        for plant in self.planted:
            plant.commit = marks[plant.mark]
        return ChurnRepo(
            self.stream.repo, self.stream.commits, main_commits, self.merges, len(self.tree), self.planted
        )


def _renamed(path: str, rng: random.Random) -> str:
    folder, _, name = path.rpartition("/")
    target = rng.choice(["legacy", "core", "compat", "internal"])
    return f"{folder}/{target}/{name}" if folder else f"{target}/{name}"


def _message(changes: list[Change]) -> str:
    if not changes:
        return "Empty commit"
    kind, path = changes[0][0], str(changes[0][1])
    verb = {"M": "Update", "D": "Remove", "R": "Move"}[kind]
    more = f" and {len(changes) - 1} more" if len(changes) > 1 else ""
    return f"{verb} {path}{more}"


# --- planted secrets -----------------------------------------------------------------------------

KINDS = {spec.name: spec for spec in POSITIVES}
# (lines before the secret, lines after it) per file style; the secret's line number follows from them.
FRAMES: dict[str, tuple[bytes, bytes]] = {
    "py": (b"".join(FILLER), b"".join(FILLER[:2])),
    "env": (b"# production settings\nDEBUG=false\n", b"LOG_LEVEL=info\n"),
    "yaml": (
        b"services:\n  api:\n    image: acme/api:2.4\n    environment:\n",
        b"    ports:\n      - 8080:8080\n",
    ),
    "json": (b'{\n  "service": "api",\n  "region": "eu-west-1",\n', b"}\n"),
    "sh": (b"#!/bin/sh\nset -eu\n", b"git push --tags\n"),
}


def secret_value(kind: str, rng: random.Random) -> tuple[str, str]:
    """(variable name, value) of a freshly generated fake credential that no placeholder rule rejects."""
    while True:
        plant = KINDS[kind].make(rng)
        if not is_placeholder(plant.value):
            return plant.names[0], plant.value


def assignment(name: str, value: str, style: str) -> bytes:
    line = {
        "env": f"{name}={value}",
        "yaml": f'      {name}: "{value}"',
        "json": f'  "{name}": "{value}"',
        "sh": f'export {name}="{value}"',
    }.get(style, f'{name} = "{value}"')
    return line.encode() + b"\n"


@dataclass
class InsertedLine:
    """A secret line put into a file main already has (the file is chosen when the commit is made)."""

    line: bytes
    path: str = ""


class Planter:
    """Schedules planted secrets and the later events around them on a ``ChurnBuilder``."""

    def __init__(self, builder: ChurnBuilder, rng: random.Random) -> None:
        self.builder = builder
        self.rng = rng

    def _on(self, step: int, event: Callable[[], list[Change]]) -> None:
        self.builder.events.setdefault(step, []).append(event)

    def _record(self, scenario: str, kind: str, path: str, line: int, required: bool = True) -> None:
        builder = self.builder
        builder.protected.add(path)
        builder.planted.append(PlantedSecret(scenario, kind, path, line, builder.stream.next_mark, required))

    def new_file(self, step: int, scenario: str, kind: str, path: str, style: str = "py") -> None:
        name, value = secret_value(kind, self.rng)
        before, after = FRAMES[style]
        content = before + assignment(name, value, style) + after

        def event() -> list[Change]:
            self.builder.tree[path] = content
            self._record(scenario, kind, path, before.count(b"\n") + 1)
            return [("M", path, content)]

        self._on(step, event)

    def paste(self, step: int, scenario: str, kind: str, path: str, line: bytes, before: bytes) -> None:
        """A file holding ``line`` (a secret already used elsewhere) after the lines ``before``."""

        def event() -> list[Change]:
            self.builder.tree[path] = before + line
            self._record(scenario, kind, path, before.count(b"\n") + 1)
            return [("M", path, self.builder.tree[path])]

        self._on(step, event)

    def copy(self, step: int, scenario: str, kind: str, source: str, path: str, line: int) -> None:
        """A verbatim copy of a planted file: the same blob at a second path."""

        def event() -> list[Change]:
            self.builder.tree[path] = self.builder.tree[source]
            self._record(scenario, kind, path, line, required=False)
            return [("M", path, self.builder.tree[path])]

        self._on(step, event)

    def insert(self, step: int, scenario: str, kind: str) -> InsertedLine:
        """The secret in the middle of an existing file (a hot one, most likely: the choice is weighted)."""
        name, value = secret_value(kind, self.rng)
        inserted = InsertedLine(assignment(name, value, "py"))

        def event() -> list[Change]:
            builder = self.builder
            path = builder._pick(builder.protected | (builder.side.claimed if builder.side else set()))
            assert path is not None
            lines = builder.tree[path].splitlines(keepends=True)
            middle = len(lines) // 2
            lines.insert(middle, inserted.line)
            builder.tree[path] = b"".join(lines)
            inserted.path = path
            self._record(scenario, kind, path, middle + 1)
            return [("M", path, builder.tree[path])]

        self._on(step, event)
        return inserted

    def rewrite(self, step: int, path_of: Callable[[], str], change: Callable[[bytes], bytes]) -> None:
        def event() -> list[Change]:
            path = path_of()
            self.builder.tree[path] = change(self.builder.tree[path])
            return [("M", path, self.builder.tree[path])]

        self._on(step, event)

    def edit_above(self, step: int, path_of: Callable[[], str]) -> None:
        """Filler lines inserted at the top of a planted file: the secret moves down, its blob changes."""
        self.rewrite(step, path_of, lambda data: b"".join(FILLER[:3]) + data)

    def drop_line(self, step: int, inserted: InsertedLine) -> None:
        self.rewrite(step, lambda: inserted.path, lambda data: data.replace(inserted.line, b"", 1))

    def readd_line(self, step: int, inserted: InsertedLine) -> None:
        self.rewrite(step, lambda: inserted.path, lambda data: inserted.line + data)

    def delete(self, step: int, path: str) -> None:
        def event() -> list[Change]:
            del self.builder.tree[path]
            return [("D", path)]

        self._on(step, event)

    def rename(self, step: int, scenario: str, kind: str, old: str, new: str, line: int) -> None:
        """A pure rename of a planted file: the same blob under a new path."""

        def event() -> list[Change]:
            self.builder.tree[new] = self.builder.tree.pop(old)
            self._record(scenario, kind, new, line, required=False)
            return [("R", old, new)]

        self._on(step, event)

    def private_key(self, step: int, scenario: str, path: str) -> None:
        block = "\n".join(private_key_block(self.rng)).encode() + b"\n"

        def event() -> list[Change]:
            self.builder.tree[path] = block
            self._record(scenario, "private-key", path, 1)
            return [("M", path, block)]

        self._on(step, event)

    def side_new_file(self, step: int, scenario: str, kind: str, path: str, style: str) -> None:
        """A new file with a secret on the side branch forked nearest after ``step``; merged cleanly."""
        name, value = secret_value(kind, self.rng)
        before, after = FRAMES[style]
        content = before + assignment(name, value, style) + after

        def hook(side: SideBranch) -> list[Change]:
            side.tree[path] = content
            self._record(scenario, kind, path, before.count(b"\n") + 1)
            return [("M", path, content)]

        self.builder.side_events.setdefault(self.builder.branch_after(step), []).append(hook)

    def side_prepend(self, step: int, scenario: str, kind: str) -> None:
        """A secret line prepended on a side branch to a file main also edits before the merge, so the
        merge commit holds a new blob with the secret (blamed on the side commit all the same)."""
        name, value = secret_value(kind, self.rng)
        line = assignment(name, value, "py")

        def hook(side: SideBranch) -> list[Change]:
            path = sorted(side.claimed)[0]
            side.tree[path] = line + side.tree[path]
            side.prepends[path] = line
            self._record(scenario, kind, path, 1)
            self.rewrite(side.merge_at - 1, lambda: path, lambda data: data + FILLER[3])
            return [("M", path, side.tree[path])]

        self.builder.side_events.setdefault(self.builder.branch_after(step), []).append(hook)


def plant_scenarios(builder: ChurnBuilder, rng: random.Random) -> None:
    """Schedule 14 planted secrets (13 values), each in a situation a history scan meets: kept and edited
    around, removed a few commits later, its file deleted, introduced on a side branch (merged cleanly, or
    merged over a main-line edit of the same file), pasted into another file later, removed and re-added;
    plus three paths that first hold an already-committed blob (a verbatim copy, a pure rename, a rename
    edited later). Steps are fractions of the run, so any length works."""
    n = builder.steps
    plant = Planter(builder, rng)

    def at(fraction: float) -> int:
        return max(2, int(n * fraction))

    settings = "services/billing/settings_prod.py"
    plant.new_file(at(0.08), "new file, kept; lines added above the key twice", "openai-project-74", settings)
    plant.edit_above(at(0.08) + 10, lambda: settings)
    plant.edit_above(at(0.36), lambda: settings)
    hot = plant.insert(
        at(0.18), "inserted mid-file into an existing file, kept; edited later", "openai-svcacct-74"
    )
    plant.edit_above(at(0.18) + 5, lambda: hot.path)
    plant.edit_above(at(0.40), lambda: hot.path)
    removed = plant.insert(
        at(0.26), "inserted into an existing file, line removed 3 commits later", "anthropic-api-key"
    )
    plant.drop_line(at(0.26) + 3, removed)
    client = "app/clients/llm.py"
    plant.new_file(at(0.30), "new file, renamed 20 commits later", "openai-service-74", client)
    plant.rename(
        at(0.30) + 20,
        "that file after its rename (same blob), edited 5 commits after the rename",
        "openai-service-74",
        client,
        "app/llm/client.py",
        FRAMES["py"][0].count(b"\n") + 1,
    )
    plant.edit_above(at(0.30) + 25, lambda: "app/llm/client.py")
    plant.new_file(
        at(0.34), "new .env file, deleted 5 commits later", "stripe-live-secret", ".env.production", "env"
    )
    plant.copy(
        at(0.34) + 1,
        "verbatim copy of that .env file (same blob), deleted with it",
        "stripe-live-secret",
        ".env.production",
        ".env.production.bak",
        FRAMES["env"][0].count(b"\n") + 1,
    )
    plant.delete(at(0.34) + 5, ".env.production")
    plant.delete(at(0.34) + 5, ".env.production.bak")
    plant.side_new_file(
        at(0.44), "new file on a side branch, merged", "github-pat-classic", "scripts/release.sh", "sh"
    )
    plant.private_key(at(0.52), "private key file, renamed 10 commits later, then deleted", "deploy/tls.key")
    plant.rename(
        at(0.52) + 10,
        "the same key file after a pure rename (same blob)",
        "private-key",
        "deploy/tls.key",
        "deploy/certs/tls.key",
        1,
    )
    plant.delete(at(0.60), "deploy/certs/tls.key")
    name, value = secret_value("openai-admin-58", rng)
    admin = assignment(name, value, "py")
    plant.paste(
        at(0.62),
        "admin key in a new file",
        "openai-admin-58",
        "tools/admin_report.py",
        admin,
        b"".join(FILLER),
    )
    plant.paste(
        at(0.68),
        "same admin key pasted into another file later",
        "openai-admin-58",
        "tools/usage_export.py",
        admin,
        b"import csv\nimport sys\n\nFIELDS = ['day', 'tokens']\n",
    )
    readded = plant.insert(
        at(0.70), "inserted, removed 2 commits later, re-added later", "openai-user-legacy"
    )
    plant.drop_line(at(0.70) + 2, readded)
    plant.readd_line(at(0.74), readded)
    plant.side_prepend(
        at(0.80), "prepended on a side branch, main edits the file too, merged", "slack-bot-token"
    )
    plant.new_file(
        at(0.88),
        "database URL in a new YAML file, kept",
        "db-url-password",
        "deploy/compose.prod.yml",
        "yaml",
    )
    plant.new_file(
        at(0.96), "project key in a new JSON file, kept", "openai-project-58", "config/app.prod.json", "json"
    )
    plant.new_file(
        n - 12, "new file near the end, deleted 5 commits later", "openai-project-74", "scripts/smoke_test.py"
    )
    plant.delete(n - 7, "scripts/smoke_test.py")


def build_churn_repo(repo: Path, donors: list[tuple[str, bytes]], seed: int, steps: int) -> ChurnRepo:
    builder = ChurnBuilder(repo, donors, seed, steps)
    plant_scenarios(builder, random.Random(seed + 1))
    result = builder.build()
    if builder.side_events:
        raise SystemExit(f"side-branch scenarios never ran (branches {sorted(builder.side_events)})")
    return result


# --- flat and release repositories ---------------------------------------------------------------


def build_flat_repo(repo: Path, files: list[tuple[str, bytes]]) -> None:
    """One commit holding ``files``, checked out."""
    stream = FastImport(repo)
    stream.commit("refs/heads/main", AUTHORS[0], START_TIME, "Import", [("M", p, d) for p, d in files])
    stream.close()


def sdist_members(archive: Path) -> Iterator[tuple[str, bytes]]:
    """Regular files of an sdist, without its top-level ``name-version/`` folder."""
    with tarfile.open(archive) as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            if not member.isfile():
                continue
            _, _, inner = member.name.partition("/")
            if not inner or any(c in inner for c in ' "\\\n'):
                continue
            handle = tar.extractfile(member)
            if handle is not None:
                yield inner, handle.read()


def build_release_repo(repo: Path, archives: list[tuple[str, Path]]) -> int:
    """One commit per (version, sdist), oldest first, each replacing the whole tree; returns commits."""
    stream = FastImport(repo)
    head = None
    for number, (version, archive) in enumerate(archives):
        files = list(sdist_members(archive))
        head = stream.commit(
            "refs/heads/main",
            AUTHORS[number % len(AUTHORS)],
            START_TIME + number * 7 * 86400,
            f"Release {version}",
            [("M", p, d) for p, d in files],
            head,
            deleteall=True,
        )
    stream.close()
    return stream.commits
