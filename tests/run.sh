#!/usr/bin/env bash
# The README's test command: installs what the suite needs (venv, packages) and runs lint, types and tests.
# Safe to run on a fresh machine and again on a prepared one.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${PRODGUARD_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "== ruff"
"$VENV/bin/ruff" check core rules scanner guard tests bench
echo "== mypy"
bash tests/typecheck.sh "$VENV/bin/mypy"
echo "== pytest"
"$VENV/bin/pytest" -q "$@"
