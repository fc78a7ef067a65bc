"""Which files are test code, judged on the path relative to the repository root — never on the path as
it was typed — so ``scan .`` inside a folder, ``scan folder`` and an absolute path agree.

The root is the configuration file's folder when a configuration exists, else the top level of the git
repository that holds the file (the nearest folder with a ``.git`` entry), else the current folder. The
patterns are gitignore-style (``test_paths`` in ``[tool.prodguard]`` replaces the defaults).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

import pathspec

DEFAULT_TEST_PATHS: tuple[str, ...] = (
    "test/", "tests/", "testing/", "__tests__/", "__mocks__/", "fixtures/", "e2e/",
    # Suites named for what they test: ``ecosystem-tests/``, ``integration_tests/``, ``e2e-tests/``.
    "*-tests/", "*_tests/",
    "test_*.py", "*_test.py", "*_tests.py", "conftest.py",
    "*.test.js", "*.test.jsx", "*.test.ts", "*.test.tsx", "*.test.mjs", "*.test.cjs", "*.test.mts",
    "*.spec.js", "*.spec.jsx", "*.spec.ts", "*.spec.tsx", "*.spec.mjs", "*.spec.cjs", "*.spec.mts",
)  # fmt: skip


@lru_cache(maxsize=4096)
def _git_top(directory: str) -> str | None:
    """The nearest folder at or above ``directory`` holding ``.git`` (a repository or a worktree)."""
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


@lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    # The plain backend: a Hyperscan database (pathspec's default) costs ~50 ms per pattern set.
    return pathspec.GitIgnoreSpec.from_lines(patterns, backend="simple")


@dataclass(frozen=True)
class TestPaths:
    """How to tell test code from the rest. ``root`` is the configuration root (``None``: no
    configuration file, use each file's git top level); picklable, so it crosses to worker processes."""

    __test__ = False  # not a pytest test class

    patterns: tuple[str, ...] = DEFAULT_TEST_PATHS
    root: str | None = None
    cwd: str = field(default_factory=os.getcwd)

    def relative(self, path: str) -> str:
        """``path`` (as reported: relative to the current folder, or absolute) relative to its root."""
        absolute = os.path.normpath(os.path.join(self.cwd, path))
        root = self.root
        if root is None or not _is_below(absolute, root):
            root = _git_top(os.path.dirname(absolute)) or self.cwd
        if not _is_below(absolute, root):
            return path.replace(os.sep, "/")
        return os.path.relpath(absolute, root).replace(os.sep, "/")

    def matching(self, path: str) -> str | None:
        """The first pattern that makes ``path`` test code, or ``None``."""
        if not self.patterns:
            return None
        # A path git stores in another encoding than UTF-8 arrives with surrogate escapes, which pathspec
        # cannot encode; the patterns are ASCII, so a replacement character matches as the byte did.
        relative = self.relative(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        spec = _spec(self.patterns)
        if not spec.match_file(relative):
            return None
        for pattern in self.patterns:
            if _spec((pattern,)).match_file(relative):
                return pattern
        return self.patterns[0]


def _is_below(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
