"""``prodguard`` run as a user runs it: a child process of this interpreter, colours off, debug tracebacks
off (so an error reads as the user would see it), output captured as text."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_prodguard(
    *args: str,
    cwd: Path,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 120,
    prefix: tuple[str, ...] = (),
    errors: str = "strict",
) -> subprocess.CompletedProcess[str]:
    """``prefix`` goes before the interpreter (a wrapper such as ``setpriv``); ``base_env`` replaces this
    process's environment (for pinned git identities)."""
    env = {**(os.environ if base_env is None else base_env), "NO_COLOR": "1"}
    env.pop("PRODGUARD_DEBUG", None)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "prodguard", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        errors=errors,
    )
