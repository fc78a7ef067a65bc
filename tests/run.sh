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
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[all,test]'
# The budget, rate-limit and cache tests start their own redis-server (tests/redis_server.py) on a free
# loopback port; only the binary is needed. Debian/Ubuntu package, installed when missing.
if ! command -v redis-server >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
    # The package also starts a system service on port 6379; the tests do not use it.
fi
# The HTML report's tests render it in headless Chromium (tests/chromium.py); a missing browser fails
# them. Debian package, installed when missing.
if ! command -v chromium >/dev/null 2>&1 && [ -z "${PRODGUARD_CHROMIUM:-}" ]; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
echo "== ruff"
"$VENV/bin/ruff" check .
echo "== mypy"
bash tests/typecheck.sh "$VENV/bin/mypy"
echo "== pytest"
"$VENV/bin/pytest" -q "$@"
