#!/usr/bin/env bash
# Scrapyd (the job server) and scrapyd-client (scrapyd-deploy) in the project venv, for
# scheduled runs and tests/test_scrapyd.py. Idempotent; pip is quiet when they are there.
# (Once pyproject.toml lists them in the dev extras, scripts/setup.sh installs them and
# this script is only needed on a machine set up before that.)
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pip install --quiet "scrapyd>=1.5" "scrapyd-client>=2.0"
