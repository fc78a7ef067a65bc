#!/usr/bin/env bash
# mypy does not follow setuptools' package-dir mapping, so it checks a tree of symbolic links shaped like
# the installed ``prodguard`` package, built from the [tool.setuptools.package-dir] table itself.
# (A strict editable install, `pip install -e . --config-settings editable_mode=strict`, gives mypy the
# same tree, but links files one by one: a module added later stays invisible, to mypy and to imports,
# until the next install. The lenient editable install plus this tree has no such trap.)
set -euo pipefail
cd "$(dirname "$0")/.."
MYPY="${1:-mypy}"
PYTHON="$(dirname "$MYPY")/python"
[ -x "$PYTHON" ] || PYTHON=python3
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree"
"$PYTHON" - "$tree" <<'PY'
import os, sys, tomllib
tree = sys.argv[1]
mapping = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]
# Parents first, so that a subpackage's link is made inside its parent's real folder.
for package, folder in sorted(mapping.items(), key=lambda item: item[0].count(".")):
    target = os.path.join(tree, *package.split("."))
    if package.count(".") == 0:
        os.makedirs(target)
        for name in os.listdir(folder):
            if name.endswith((".py", ".typed")):
                os.symlink(os.path.abspath(os.path.join(folder, name)), os.path.join(target, name))
    else:
        os.symlink(os.path.abspath(folder), target)
PY
MYPYPATH="$tree" "$MYPY" -p prodguard
