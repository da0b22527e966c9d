"""Scrapy settings for vendornews: plain constants, one documented choice each.

Everything here can be overridden per run with ``-s NAME=VALUE`` (tests crawl fast with
``-s AUTOTHROTTLE_ENABLED=0 -s DOWNLOAD_DELAY=0``).
"""

from pipelines import exporters
from vendornews.dedup import DEFAULT_THRESHOLD

# Project name, used in the default log lines and stats.
BOT_NAME = "vendornews"

# Where Scrapy looks for spiders; the package is importable from the checkout and when installed.
SPIDER_MODULES = ["spiders"]
# `scrapy genspider` writes new spiders here.
NEWSPIDER_MODULE = "spiders"

# Identify honestly: vendor sites see who crawls them and can block the token in robots.txt.
USER_AGENT = "vendornews/0.1 (news crawler for vendor sites; obeys robots.txt)"

# Never fetch what a site's robots.txt disallows (decoy / admin / preview paths).
ROBOTSTXT_OBEY = True

# The spider yields raw pages: extraction turns them into records (or drops non-articles),
# then dedup gives each record its near-duplicate group.
# First the raw item goes to the archive (its WARC item manifest); last the state stage marks
# each record new or changed, drops unchanged ones and journals the rest (the run's JSONL).
ITEM_PIPELINES = {
    "pipelines.archive.WarcItemPipeline": 100,
    "pipelines.extract.ExtractPipeline": 300,
    "pipelines.dedup.DedupPipeline": 400,
    "pipelines.state.StatePipeline": 900,
}
# Worker processes extracting articles off the reactor thread (a site's pages always go to
# the same worker, which learns its template). None: cores - 1, between 1 and 4; 0: extract
# on the reactor thread.
VENDORNEWS_EXTRACT_WORKERS = None
# Count where every article went (exported, dropped and why, lost to an error) in the stats
# and one closing log line (pipelines/accounting.py).
EXTENSIONS = {"pipelines.accounting.ItemAccounting": 0}
# SQLite state kept across runs (seen articles, run history, near-duplicate index), relative
# to the working directory. On a Redis frontier (REDIS_URL) all of it lives in that Redis,
# shared by the workers, and this file is not used.
VENDORNEWS_STATE = "output/state.sqlite"
# Jaccard similarity of body shingles above which two records are the same story.
VENDORNEWS_DUP_THRESHOLD = DEFAULT_THRESHOLD

# Exports of every crawl under the spider's `output_dir` argument (default "output"), one
# set per run: news-<time>.jsonl (all fields), .csv (UTF-8 with BOM for Excel, list fields
# joined) and .parquet (typed columns). The JSONL is not a feed: the state pipeline writes it
# as the run's journal (one fsync'ed line per record before the record counts as exported)
# so that a killed crawl loses no record; a killed run's CSV and Parquet are rebuilt from it
# by the next run. All three carry the run's stamp (pipelines.state.run_uri_params).
FEEDS = {
    uri: {**options, "uri_params": "pipelines.state.run_uri_params"}
    for uri, options in exporters.default_feeds().items()
    if options["format"] != "jsonlines"
}
# The Excel-safe CSV exporter (replaces Scrapy's) and the Parquet exporter.
FEED_EXPORTERS = exporters.FEED_EXPORTERS
# Feeds given on the command line (-o/-O) write real characters, not \u escapes.
FEED_EXPORT_ENCODING = "utf-8"

# Politeness: small vendor hosts on shared hosting fall over under parallel crawling.
# Total parallel requests over all sites.
CONCURRENT_REQUESTS = 16
# Parallel requests per site: per download slot, one slot per site (see DOWNLOADER).
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy's downloader with two fixes to the per-site limit above (spiders/downloader.py): one
# download slot per site (host without www., and a non-default port; Scrapy's is the host
# name alone, so sites on several ports of one host shared 2 requests), and the limit holds
# without a download delay (Scrapy 2.19 on the asyncio reactor started every request queued
# in a slot at once: with DOWNLOAD_DELAY=0 a slot of 2 ran up to 16 downloads in bursts).
DOWNLOADER = "spiders.downloader.SiteDownloader"
# Base delay between requests to one site, randomised 0.5x-1.5x; AutoThrottle adjusts from here.
DOWNLOAD_DELAY = 0.5
# Adapt the delay to the site's response times instead of a fixed rate.
AUTOTHROTTLE_ENABLED = True
# First delay AutoThrottle uses (seconds).
AUTOTHROTTLE_START_DELAY = 1.0
# Upper bound of the adaptive delay when a site is slow (seconds).
AUTOTHROTTLE_MAX_DELAY = 30.0
# Average parallel requests AutoThrottle aims for per site.
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

# Retry transient failures (5xx, 408, 429, timeouts, dropped connections) a few times:
# small hosts often answer 503 under load.
RETRY_ENABLED = True
# Retries per request after the first attempt.
RETRY_TIMES = 3
# Status codes worth retrying.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]

# Seconds before a request times out (then it is retried).
DOWNLOAD_TIMEOUT = 30
# Refuse bodies above 20 MB: no news page is that big; protects memory.
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
# Log a warning for bodies above 5 MB.
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024

# Follow redirects (old article URLs 301 to new ones); the final URL is recorded.
REDIRECT_ENABLED = True
# Give up after this many hops (redirect loops).
REDIRECT_MAX_TIMES = 5

# Link hops from a start page (home -> section -> list -> article -> related ...). List
# pagination does not count (the spider resets depth there), so long archives stay reachable;
# the per-site page cap below bounds them instead.
DEPTH_LIMIT = 8
# At most this many requests per site per crawl (continuation pages of an article in
# progress are always fetched, so no article is cut in half).
VENDORNEWS_MAX_PAGES_PER_SITE = 5000
# At most this many list pages per section (a list and its pagination, whatever the query
# string; see vendornews.urls.section_key): bounds endless pagination and calendars.
VENDORNEWS_MAX_LIST_PAGES_PER_SECTION = 200

# Incremental crawls (state in VENDORNEWS_STATE, tables crawl_*). An article exported by an
# earlier run is not fetched again; a list page whose articles were all fetched before leads
# to no further list pages (not on a site whose last run was killed or capped: that run is
# finished first).
VENDORNEWS_STOP_ON_SEEN_PAGE = True
# Fetch a seen article again when its last fetch is more than this many days old, and export
# it when its content hash changed (change = "changed"); 0 = never (a changed article is
# then only seen by a full recrawl).
VENDORNEWS_REFRESH_DAYS = 0
# Fetch and export everything, as a first run does (or -a full=1); records carry
# change = "new", "changed" or "unchanged".
VENDORNEWS_FULL = False
# fsync each journal line before the record counts as exported (off only for benchmarks).
VENDORNEWS_JOURNAL_FSYNC = True

# Raw archive: every downloaded response in <dir>/<run>.warc.gz (WARC 1.1, gzip per record),
# for `vendornews clean`; %(output_dir)s is the spider's output_dir. Empty: no archive.
VENDORNEWS_WARC_DIR = "%(output_dir)s/warc"
# fsync the archive after each record (power loss); a killed crawl needs only the flush.
VENDORNEWS_WARC_FSYNC = False
# First (40, before OffsiteMiddleware and robots.txt): only the start sites' hosts and ports
# are fetched, redirects and continuation pages included. Next to the downloader (610): the
# archive sees responses as received (redirects, retries).
DOWNLOADER_MIDDLEWARES = {
    "spiders.vendor_news.SameSiteMiddleware": 40,
    "pipelines.archive.WarcArchiveMiddleware": 610,
}

# Optional TOML file of per-site overrides; None = the bundled vendornews/overrides.toml.
VENDORNEWS_OVERRIDES_FILE = None

# Scrapy's asyncio reactor (needed for `async def start`).
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Log dropped non-articles as one INFO line (Scrapy's default dumps the whole item, page bytes
# included, as a WARNING).
LOG_FORMATTER = "spiders.vendor_news.LogFormatter"

# INFO: one line per crawl stage and the final stats, not one per request.
LOG_LEVEL = "INFO"

# No telnet console: a control channel into the running crawl, and it logs its password.
TELNETCONSOLE_ENABLED = False
# No remote-control HTTP server (Scrapy 2.19 starts one by default): it runs posted Python code.
REMOTE_CONTROL_ENABLED = False
