#!/usr/bin/env bash
# Long fuzz run of the extraction core: tests/test_fuzz.py with the "long" hypothesis
# profile. CI runs the same tests with about 2,200 deterministic cases (under a minute);
# this runs every fuzz test with 45x the examples (about 100,000 cases, randomized, with an
# example database so a failure found once is replayed first next time).
#
# Usage:
#   scripts/fuzz_long.sh                    # one pass, about 100,000 cases (~20-30 min CPU)
#   FUZZ_MINUTES=120 scripts/fuzz_long.sh   # repeat randomized passes for 2 hours
#   VENDORNEWS_FUZZ_SCALE=5 scripts/fuzz_long.sh   # a shorter pass (5x CI, ~11,000 cases)
#   scripts/fuzz_long.sh --known            # also run the still-open issue cases (K7, K11
#                                           # in tests/test_fuzz.py; they fail until fixed)
#   scripts/fuzz_long.sh -x -k mutated      # extra arguments go to pytest
#
# Environment:
#   PYTHON                  interpreter (default: .venv/bin/python)
#   VENDORNEWS_FUZZ_SCALE   example multiplier over the CI counts (default 45)
#   VENDORNEWS_FUZZ_DB      hypothesis example database directory
#                           (default: ${XDG_CACHE_HOME:-~/.cache}/vendornews-fuzz, outside
#                           the checkout)
#   VENDORNEWS_FUZZ_SAVE    directory where failing inputs are written as files
#                           (default: $VENDORNEWS_FUZZ_DB/failures; one <hash>.json per
#                           input -- url, headers, error -- next to its <hash>-<n>.bin bodies;
#                           shrinking writes several, the newest is usually the smallest)
#   FUZZ_MINUTES            keep running passes until this many minutes have passed
#
# A failure prints the falsifying input and a @reproduce_failure(...) line to paste on the
# test; every single extraction is limited to 10 s of CPU time (a longer one is a hang).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export HYPOTHESIS_PROFILE=long
export VENDORNEWS_FUZZ_SCALE=${VENDORNEWS_FUZZ_SCALE:-45}
export VENDORNEWS_FUZZ_DB=${VENDORNEWS_FUZZ_DB:-${XDG_CACHE_HOME:-$HOME/.cache}/vendornews-fuzz}
export VENDORNEWS_FUZZ_SAVE=${VENDORNEWS_FUZZ_SAVE:-$VENDORNEWS_FUZZ_DB/failures}
mkdir -p "$VENDORNEWS_FUZZ_DB"

args=()
for arg in "$@"; do
    if [[ $arg == --known ]]; then
        export VENDORNEWS_FUZZ_KNOWN=1
    else
        args+=("$arg")
    fi
done

run_pass() {
    "$PYTHON" -m pytest tests/test_fuzz.py -p no:cacheprovider -rs \
        --hypothesis-show-statistics --durations=10 ${args[@]+"${args[@]}"}
}

if [[ -z ${FUZZ_MINUTES:-} ]]; then
    run_pass
    exit
fi

deadline=$(( $(date +%s) + FUZZ_MINUTES * 60 ))
pass=1
while (( $(date +%s) < deadline )); do
    echo "== fuzz pass $pass ($(date -u +%H:%M:%S) UTC, until $(date -u -d @"$deadline" +%H:%M:%S))"
    run_pass
    pass=$(( pass + 1 ))
done
