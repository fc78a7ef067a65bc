#!/usr/bin/env bash
# Install the peer scanners the benchmarks compare prodguard with, in their own virtualenv
# (bench/.peers, git-ignored) so their dependencies never mix with prodguard's.
#   detect-secrets, CredSweeper, trufflehog 2.2.1 (the last PyPI release) from PyPI; ripgrep from apt.
# Usage: bash bench/setup_peers.sh [PYTHON]   (default: python3 on PATH)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${1:-python3}"
venv="$here/.peers"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet detect-secrets credsweeper "trufflehog==2.2.1"

if ! command -v rg >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        apt-get install -y -qq ripgrep
    else
        echo "ripgrep (rg) is missing: install it with your package manager" >&2
        exit 2
    fi
fi

"$venv/bin/detect-secrets" --version
"$venv/bin/credsweeper" --version
"$venv/bin/python" -m pip show trufflehog | sed -n 's/^Version: /trufflehog /p'
rg --version | head -1
