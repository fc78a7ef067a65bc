"""Helpers shared by the benchmark scripts: where the tools are, the machine description, RESULTS.md sections.

Each benchmark owns one section of bench/RESULTS.md, delimited by ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``; rewriting one section leaves the others (and anything outside markers) untouched.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / ".peers" / "bin"
RESULTS = BENCH / "RESULTS.md"


def prodguard_command() -> list[str]:
    """The prodguard CLI installed next to the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "prodguard"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("prodguard")
    if found:
        return [found]
    return [sys.executable, "-m", "prodguard"]


def peer(name: str) -> str:
    path = PEERS / name
    if not path.exists():
        raise SystemExit(f"{path} is missing: run bash bench/setup_peers.sh first")
    return str(path)


def version_of(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(handle.readline().split()[1])
            mem = f"{kib / 1048576:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{os.cpu_count()} CPUs (nproc), {cpu}, {mem} RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def today() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def update_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or append) the ``name`` section of RESULTS.md with ``body``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# prodguard benchmark results\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return "\n".join(lines)
