"""Real git repositories for tests, built in ``tmp_path`` with pinned identities and dates so that
commits are reproducible and no user or system git configuration leaks in."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PINNED_ENV = {
    "GIT_AUTHOR_NAME": "Ada Tester",
    "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada Tester",
    "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git_environ() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PINNED_ENV)
    return env


class GitRepo:
    """A repository under test: write files, stage, commit with deterministic dates."""

    def __init__(self, path: Path, *, bare: bool = False) -> None:
        self.path = path
        self._tick = 0
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main", *(["--bare"] if bare else []))

    def git(self, *args: str, check: bool = True) -> str:
        completed = subprocess.run(
            ["git", *args], cwd=self.path, env=self._env(), capture_output=True, check=False
        )
        if check and completed.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {completed.stderr.decode(errors='replace')}")
        return completed.stdout.decode("utf-8", "replace")

    def _env(self) -> dict[str, str]:
        env = git_environ()
        date = f"2026-01-01T00:{self._tick // 60:02d}:{self._tick % 60:02d}+00:00"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        return env

    def write(self, name: str | bytes, content: str | bytes) -> Path:
        target = self.path / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return target

    def commit(self, message: str, *, add_all: bool = True) -> str:
        if add_all:
            self.git("add", "-A")
        self._tick += 1
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD").strip()
