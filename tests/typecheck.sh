#!/usr/bin/env bash
# mypy does not follow setuptools' package-dir mapping, so it checks a tree of symbolic links shaped
# like the installed ``prodguard`` package.
set -euo pipefail
cd "$(dirname "$0")/.."
MYPY="${1:-mypy}"
tree=build/typecheck
rm -rf "$tree" && mkdir -p "$tree/prodguard"
for f in core/*.py; do ln -s "../../../$f" "$tree/prodguard/$(basename "$f")"; done
for d in rules scanner guard; do ln -s "../../../$d" "$tree/prodguard/$d"; done
MYPYPATH="$tree" "$MYPY" -p prodguard
