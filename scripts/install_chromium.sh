#!/usr/bin/env bash
# Idempotent: install Debian's chromium, plus a CJK font so Chinese text renders, for the
# HTML-report browser test (tests/test_report.py). Needs root, as CI has. Does nothing
# when /usr/bin/chromium and the Noto CJK fonts are already there.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] && ls /usr/share/fonts/opentype/noto/*CJK* >/dev/null 2>&1 \
    || need+=(fonts-noto-cjk)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install_chromium.sh: needs root to apt-get install ${need[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
test -x /usr/bin/chromium
