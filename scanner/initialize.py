"""``prodguard init``: set a repository up in one step. It writes a commented ``[tool.prodguard]``
section (environments inferred from the repository's paths; identifiers and key fingerprints left for
the user and ``prodguard fingerprint``), a ``.pre-commit-config.yaml`` entry and a GitHub Actions
workflow that uploads SARIF to code scanning. An existing file or section is never overwritten without
``--force``; what was not written is printed, so it can be added by hand.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from prodguard import __version__
from prodguard.errors import UsageError
from prodguard.rules.environments import infer_from_name
from prodguard.scanner.filters import PathFilter
from prodguard.scanner.git import run_git, toplevel
from prodguard.scanner.sources import Listing, iter_paths

REPOSITORY_URL = "https://github.com/prodguard/prodguard"
PRE_COMMIT_CONFIG = ".pre-commit-config.yaml"
WORKFLOW = ".github/workflows/prodguard.yml"
# Environments in the order they are written; the inferred "test" context is staging-like for separation.
_ORDER = ("production", "staging", "development", "test")
_PATHS_PER_ENVIRONMENT = 8
_SECTION_HEADER = re.compile(r"^\s*\[\[?\s*tool\.prodguard(\.|\s*\])")
_ANY_HEADER = re.compile(r"^\s*\[")


@dataclass(frozen=True)
class Written:
    """One file ``init`` considered: what happened to it and, when it was left alone, what to add."""

    path: str
    action: str  # "created", "updated", "replaced", "skipped"
    note: str = ""
    snippet: str = ""


def infer_environment_paths(files: Iterable[str]) -> dict[str, list[str]]:
    """Environment name -> gitignore-style patterns, from the first path component (folder or file
    name) of each file that names an environment: ``deploy/prod/values.yaml`` gives ``deploy/prod/**``,
    ``.env.staging`` gives ``.env.staging``."""
    found: dict[str, set[str]] = {}
    for file in files:
        parts = file.split("/")
        for depth, part in enumerate(parts):
            environment = infer_from_name(part)
            if environment is None:
                continue
            is_folder = depth < len(parts) - 1
            pattern = "/".join(parts[: depth + 1]) + ("/**" if is_folder else "")
            found.setdefault(environment, set()).add(pattern)
            break
    ordered = sorted(found, key=lambda name: _ORDER.index(name) if name in _ORDER else len(_ORDER))
    return {name: sorted(found[name])[:_PATHS_PER_ENVIRONMENT] for name in ordered}


def config_section(environments: dict[str, list[str]], *, in_pyproject: bool) -> str:
    """The commented configuration, as a ``[tool.prodguard]`` section (pyproject) or top-level keys
    (prodguard.toml)."""
    prefix = "tool.prodguard." if in_pyproject else ""
    lines = []
    if in_pyproject:
        lines.append("[tool.prodguard]")
    lines += [
        f"# prodguard: leaked credentials and OpenAI production practices ({REPOSITORY_URL}).",
        "# Report findings at or above: info, low, medium, high, critical.",
        'min_severity = "low"',
        "# Paths to skip, gitignore-style, relative to this file.",
        '# exclude = ["tests/fixtures/", "*.min.js"]',
        "# Accepted findings (`prodguard baseline create`); .prodguard-baseline.json at the repository",
        "# root is used without this line.",
        '# baseline = ".prodguard-baseline.json"',
        "",
        f"[{prefix}rules]",
        "# Rule ids (PG102), families (PG3 = every PG3xx rule) or globs (PG30*).",
        "# disable = []",
    ]
    if environments:
        lines += [
            "",
            "# Environments inferred from this repository's paths by `prodguard init`: check the paths, then",
            "# add the identifiers each environment owns. A value declared by one environment is reported",
            "# (scanner) or refused (guard) in every other. Key fingerprints are hashes, never keys:",
            "#   pass show openai/production | prodguard fingerprint",
        ]
    for name, paths in environments.items():
        shown = ", ".join(f'"{p}"' for p in paths)
        lines += [
            "",
            f"[{prefix}environments.{name}]",
            f"paths = [{shown}]",
            '# organization = "org-..."',
            '# projects = ["proj_..."]',
            "# key_fingerprints = []   # `prodguard fingerprint` prints one",
        ]
    return "\n".join(lines) + "\n"


def pre_commit_config() -> str:
    return f"""# Hooks run by https://pre-commit.com. Install both stages with:
#   pre-commit install --hook-type pre-commit --hook-type pre-push
repos:
  - repo: {REPOSITORY_URL}
    rev: v{__version__}
    hooks:
      - id: prodguard              # blocks commits that add credentials
      # - id: prodguard-practices  # OpenAI practice findings on the lines a commit changes
      - id: prodguard-push         # what a push introduces, including secrets added then deleted
"""


def workflow(branch: str) -> str:
    return f"""# prodguard on every push to {branch} and every pull request; findings appear in the repository's
# code-scanning alerts (Security tab) and fail the job.
name: prodguard
on:
  push:
    branches: [{branch}]
  pull_request:
permissions:
  contents: read
  security-events: write
jobs:
  scan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: python -m pip install prodguard=={__version__}
      - name: Scan
        run: prodguard scan --format sarif --output prodguard.sarif
      - name: Upload to code scanning
        if: ${{{{ always() }}}}
        uses: github/codeql-action/upload-sarif@v3
        with:
          sarif_file: prodguard.sarif
          category: prodguard
"""


def init(directory: str, force: bool, out: TextIO) -> int:
    """Write the three files into the repository (or folder) at ``directory``; exit 0."""
    base = Path(directory)
    if not base.is_dir():
        raise UsageError(f"not a directory: {directory}")
    root = toplevel(base) or base.resolve()
    results = [
        _write_config(root, force),
        _write_file(root / PRE_COMMIT_CONFIG, pre_commit_config(), force),
        _write_file(root / WORKFLOW, workflow(_branch(root)), force),
    ]
    for item in results:
        shown = os.path.relpath(item.path)
        out.write(f"{item.action:<8} {shown}" + (f"  ({item.note})" if item.note else "") + "\n")
        if item.snippet:
            out.write("".join(f"    {line}\n" for line in item.snippet.splitlines()))
    return 0


def _write_config(root: Path, force: bool) -> Written:
    environments = infer_environment_paths(_files(root))
    own = root / "prodguard.toml"
    pyproject = root / "pyproject.toml"
    if own.exists() or not pyproject.exists():
        return _write_file(own, config_section(environments, in_pyproject=False), force)
    section = config_section(environments, in_pyproject=True)
    text = pyproject.read_text("utf-8")
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _SECTION_HEADER.match(line)]
    if not starts:
        separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        pyproject.write_text(text + separator + section, encoding="utf-8")
        return Written(str(pyproject), "updated", "added [tool.prodguard]")
    if not force:
        return Written(str(pyproject), "skipped", "[tool.prodguard] exists; --force replaces it", section)
    # Replace every [tool.prodguard...] table, keeping the rest of the file as it is.
    kept: list[str] = []
    inside = False
    for line in lines:
        if _ANY_HEADER.match(line):
            inside = bool(_SECTION_HEADER.match(line))
        if not inside:
            kept.append(line)
    rest = "".join(kept).rstrip("\n")
    pyproject.write_text((rest + "\n\n" if rest else "") + section, encoding="utf-8")
    return Written(str(pyproject), "replaced", "[tool.prodguard]")


def _write_file(path: Path, content: str, force: bool) -> Written:
    if path.exists() and not force:
        return Written(str(path), "skipped", "exists; --force replaces it", content)
    action = "replaced" if path.exists() else "created"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return Written(str(path), action)


def _files(root: Path) -> list[str]:
    """The repository's files (tracked and untracked, not ignored), relative to ``root``."""
    if toplevel(root) is not None:
        listed = run_git(root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        return sorted({os.fsdecode(p) for p in listed.split(b"\0") if p})
    listing = Listing()
    entries = iter_paths(
        [str(root)], listing, excludes=PathFilter(()), project_root=root, max_file_size=1 << 62
    )
    return sorted(os.path.relpath(e.location, root).replace(os.sep, "/") for e in entries)


def _branch(root: Path) -> str:
    if toplevel(root) is None:
        return "main"
    name = run_git(root, ["symbolic-ref", "-q", "--short", "HEAD"], check=False).decode().strip()
    return name or "main"
