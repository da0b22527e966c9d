#!/usr/bin/env bash
# Idempotent set-up: a project venv in .venv with vendornews installed (editable) and its
# dev and bench extras. pip is upgraded first: pip 23.2 crashes resolving lxml[html-clean]
# when readability-lxml and trafilatura are installed together.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON_BOOTSTRAP:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.vendornews-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[dev,bench]"
    touch "$stamp"
fi
# Headless Chromium (and a CJK font) for the report's browser test.
./scripts/install_chromium.sh
# redis-server (Debian) for the shared-frontier test; tests start their own on a free port.
./scripts/install_redis.sh
