"""The distribution's layout: four folders mapped into the ``prodguard`` namespace, every subpackage
found by setuptools' discovery from that mapping alone (a new subpackage needs no packaging change), the
rule packs and the ``py.typed`` marker shipped as package data."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from setuptools.dist import Distribution

from tests.conftest import REPO_ROOT

CONFIG = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def _packages_on_disk(mapping: dict[str, str]) -> set[str]:
    found = set()
    for package, folder in mapping.items():
        root = REPO_ROOT / folder
        for init in root.rglob("__init__.py"):
            relative = init.parent.relative_to(root)
            if "__pycache__" not in relative.parts:
                found.add(".".join([package, *relative.parts]))
    return found


def test_the_package_dir_table_maps_the_four_folders() -> None:
    assert CONFIG["package-dir"] == {
        "prodguard": "core",
        "prodguard.rules": "rules",
        "prodguard.scanner": "scanner",
        "prodguard.guard": "guard",
    }
    assert "packages" not in CONFIG  # discovered, not listed


def test_setuptools_discovers_every_subpackage() -> None:
    dist = Distribution({"name": "prodguard", "package_dir": CONFIG["package-dir"], "py_modules": None})
    dist.set_defaults(name=False)
    discovered = set(dist.packages or [])
    assert discovered == _packages_on_disk(CONFIG["package-dir"])
    assert {"prodguard.scanner.reports", "prodguard.rules.packs", "prodguard.guard.testing"} <= discovered


def test_package_data() -> None:
    assert CONFIG["package-data"]["prodguard"] == ["py.typed"]
    assert (REPO_ROOT / "core" / "py.typed").is_file()
    assert list((REPO_ROOT / "rules" / "packs").glob("*.toml"))
    import importlib.resources

    assert importlib.resources.files("prodguard").joinpath("py.typed").is_file()


def test_importing_the_guard_or_running_report_does_not_load_presidio_or_spacy() -> None:
    # Presidio and spaCy take about a second to import; they are loaded by the first guarded call that
    # analyses personal data, not by ``import prodguard.guard`` (scanner commands such as ``report`` read
    # the guard's policy and must not pay for them).
    code = (
        "import sys, prodguard.guard, prodguard.scanner.readiness.assess\n"
        "print(sorted(m for m in ('presidio_analyzer', 'spacy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
