#!/usr/bin/env bash
# One incremental crawl of a sites file, for cron or a systemd timer:
#
#   ./scripts/daily_crawl.sh SITES_FILE [scrapy crawl options, e.g. -s VENDORNEWS_REFRESH_DAYS=7]
#
# Writes output/news-<time>.{jsonl,csv,parquet} (new and changed articles only),
# output/warc/<time>.warc.gz and the full Scrapy log output/logs/crawl-<time>.log, keeps its
# state in output/state.sqlite, and prints a few summary lines (for cron's mail or log).
# VENDORNEWS_OUTPUT_DIR names another folder. A crawl killed half-way (reboot, OOM, kill -9)
# is finished by the next run of the same command. Runs never overlap: a run that finds the
# previous one still going says so and exits 0. Exit status 1 when the crawl did not finish.
set -uo pipefail
if [ $# -lt 1 ]; then
    echo "usage: $0 SITES_FILE [scrapy crawl options]" >&2
    exit 2
fi
sites="$(realpath "$1")" || exit 2
shift
[ -f "$sites" ] || { echo "$0: $sites: no such file" >&2; exit 2; }
cd "$(dirname "$0")/.." || exit 2
out="$(realpath -m "${VENDORNEWS_OUTPUT_DIR:-output}")"
mkdir -p "$out/logs"
exec 9>"$out/.daily_crawl.lock"
if ! flock -n 9; then
    echo "$(date -u +%FT%TZ) a crawl into $out is still running: this run is skipped"
    exit 0
fi
log="$out/logs/crawl-$(date -u +%Y%m%dT%H%M%SZ).log"
echo "$(date -u +%FT%TZ) crawl of $sites into $out (log: $log)"
.venv/bin/scrapy crawl vendor_news -a sites_file="$sites" -a output_dir="$out" \
    -s VENDORNEWS_STATE="$out/state.sqlite" -s LOG_FILE="$log" "$@"
status=$?
grep -E "repaired killed run|resuming |exported [0-9]+ records|nothing new|no new or changed|\
 ERROR: |Spider closed" "$log" | sed -E 's/^[0-9-]+ [0-9:]+ \[[^]]*\] [A-Z]+: //'
if [ "$status" -ne 0 ] || ! grep -q "Spider closed (finished)" "$log"; then
    echo "$(date -u +%FT%TZ) the crawl did not finish (scrapy exit status $status): see $log"
    exit 1
fi
echo "$(date -u +%FT%TZ) done"
