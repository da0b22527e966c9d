#!/usr/bin/env bash
# Crawl the bundled demo sites end to end, offline:
#   1. serve demo/ on a free 127.0.0.1 port (scripts/serve_demo.py, in the background),
#   2. run `scrapy crawl vendor_news` on every demo site's home page; the records land in
#      output/news-<time>.jsonl and .csv (the FEEDS setting),
#   3. stop the server.
# The demo server is local, so politeness delays are off; extra arguments go to
# `scrapy crawl` after these (e.g. -s AUTOTHROTTLE_ENABLED=1 to see the polite pace).
# Assumes the project venv exists (PYTHON defaults to .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

log="$(mktemp)"
"$PYTHON" scripts/serve_demo.py demo --port 0 >"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 100); do
    grep -q '^site ' "$log" && break
    sleep 0.1
done
start_urls="$(awk '/^site /{print $3}' "$log" | paste -sd, -)"
if [ -z "$start_urls" ]; then
    echo "demo server did not start:" >&2
    cat "$log" >&2
    exit 1
fi
echo "crawling $start_urls"
"$PYTHON" -m scrapy crawl vendor_news -a start_urls="$start_urls" \
    -s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0 "$@"
