"""Bad servers: one ``scrapy crawl`` of a vendor site whose news list leads to every fault.

``scripts/fault_server.py`` serves ``tests/fixtures/faults/`` on 127.0.0.1 and misbehaves on
purpose (``faults.json``): 5xx answers, TCP resets, stalls, a body shorter than its
Content-Length, 50 MB pages, a gzip bomb, redirect loops and chains, redirects to another
host, a robots.txt-disallowed section, a lying charset and an endless pagination. A second
server stands for "another host" (``__OTHER__`` = ``http://localhost:PORT``) and for another
port of the same host (``__OTHER_PORT__`` = ``http://127.0.0.1:PORT``).

The crawl must finish, export exactly the good articles, count every fault in its stats
(read from the log's "Dumping Scrapy stats" block) and remember only the permanent failures
(404, robots.txt) in its state, so that a later run tries the others again. One crawl (about
15 s: the timeouts dominate) feeds these tests and ``tests/test_security.py``; it runs from
an empty working directory so that the security tests can see every file it writes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import pytest
from sitefarm import ROOT, parse_stats

from spiders import settings as project_settings
from spiders.vendor_news import VendorNewsSpider
from vendornews.state import SqliteCrawlState

FAULTS = Path(__file__).parent / "fixtures" / "faults"
SITE = FAULTS / "site"

# Test-speed overrides; everything else (retries, max size, redirects, robots) is the
# project's settings.
TIMEOUT = 2
PAGE_CAP = 80
# List pages per section (VENDORNEWS_MAX_LIST_PAGES_PER_SECTION).
SECTION_CAP = 20
RETRIES = project_settings.RETRY_TIMES
MAXSIZE = project_settings.DOWNLOAD_MAXSIZE
# Credential-looking values passed with -s: FTP_PASSWORD is a Scrapy setting used only for
# ftp:// URLs (none here); the other is a project-style name no code reads.
FTP_SECRET = "s3cret-ftp-Zq81"
PROJECT_SECRET = "redis://:s3cret-redis-Xk42@127.0.0.1:1/0"

# The articles the crawl must export (request targets), and nothing else.
GOOD = {
    "/news/101.html",  # plain
    "/news/102.html",  # plain (also linked from the home page)
    "/news/103.html",  # 503, 503, then 200
    "/news/104.html",  # 500, then 200
    "/news/105.html",  # reset mid-body once, then 200
    "/news/106.html",  # GBK bytes, header says charset=utf-8
    "/news/107.html",  # title is a spreadsheet formula
    "/news/108.html",  # <base href> pointing to another host
    "/news/109.html",  # linked only from the (hostile) sitemap
    "/news/111.html",  # its page 2 redirects to another host
    "/news/%2e%2e/%2e%2e/%2e%2e/etc/112.html",  # dot-dot segments in the URL
}


def _load_fault_server() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_server",
                                                  ROOT / "scripts" / "fault_server.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fault_server = _load_fault_server()


def target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@dataclass
class FaultCrawl:
    returncode: int
    log: str
    stats: dict[str, Any]
    records: list[dict[str, Any]]
    out: Path  # the crawl's output_dir
    tmp: Path  # everything the crawl was given: out/, work/ (its cwd), state.sqlite
    origin: str  # the fault site
    site_requests: list[tuple[str, str]]  # (Host header, target) received by the fault site
    other_requests: list[tuple[str, str]]  # ... by the "other host" server
    other_origin: str  # http://127.0.0.1:PORT of the other server (localhost:PORT: same)
    seconds: float

    def hits(self, path: str) -> int:
        return [t for _, t in self.site_requests].count(path)

    def by_target(self) -> dict[str, dict[str, Any]]:
        return {target(r["url"]): r for r in self.records}


def _run(tmp: Path) -> FaultCrawl:
    work, other_root = tmp / "work", tmp / "other"
    work.mkdir()
    other_root.mkdir()
    other = fault_server.make_server(other_root)
    with fault_server.serving(other_root, server=other):
        replacements = {"__OTHER__": other.origin.replace("127.0.0.1", "localhost"),
                        "__OTHER_PORT__": other.origin}
        with fault_server.serving(FAULTS, replacements) as site:
            env = dict(os.environ, SCRAPY_SETTINGS_MODULE="spiders.settings",
                       PYTHONPATH=str(ROOT))
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "scrapy", "crawl", "vendor_news",
                 "-a", f"start_urls={site.origin}/", "-a", f"output_dir={tmp / 'out'}",
                 "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
                 "-s", f"DOWNLOAD_TIMEOUT={TIMEOUT}",
                 # One host serves every fault: let the slow ones not queue the rest.
                 "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
                 "-s", f"VENDORNEWS_MAX_PAGES_PER_SITE={PAGE_CAP}",
                 "-s", f"VENDORNEWS_MAX_LIST_PAGES_PER_SECTION={SECTION_CAP}",
                 "-s", f"VENDORNEWS_STATE={tmp / 'state.sqlite'}",
                 "-s", f"FTP_PASSWORD={FTP_SECRET}", "-s", f"VENDORNEWS_TEST_DSN={PROJECT_SECRET}"],
                cwd=work, env=env, capture_output=True, text=True, timeout=150)
            seconds = time.monotonic() - started
            site_requests, origin = list(site.requests), site.origin
        other_requests = list(other.requests)
    out = tmp / "out"
    records = []
    for jsonl in out.glob("news-*.jsonl"):
        records += [json.loads(line) for line in jsonl.read_text("utf-8").splitlines() if line]
    return FaultCrawl(done.returncode, done.stderr, parse_stats(done.stderr), records, out, tmp,
                      origin, site_requests, other_requests, other.origin, seconds)


_CRAWL: dict[str, FaultCrawl] = {}


def shared_fault_crawl(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    """The one fault crawl of the session (test_faults and test_security share it)."""
    if "crawl" not in _CRAWL:
        _CRAWL["crawl"] = _run(tmp_path_factory.mktemp("faults"))
    return _CRAWL["crawl"]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    return shared_fault_crawl(tmp_path_factory)


# --------------------------------------------------------------------------- the crawl as a whole

def test_crawl_finishes_despite_every_fault(crawl: FaultCrawl) -> None:
    assert crawl.returncode == 0, crawl.log[-3000:]
    assert crawl.stats["finish_reason"] == "finished"
    assert crawl.seconds < 60


def test_exactly_the_good_articles_are_exported(crawl: FaultCrawl) -> None:
    urls = [target(r["url"]) for r in crawl.records]
    assert sorted(urls) == sorted(GOOD)
    assert crawl.stats["item_scraped_count"] == len(GOOD)
    for record in crawl.records:
        assert record["url"].startswith(crawl.origin + "/")
        assert record["title"] and len(record["body"]) > 100, record["url"]


# --------------------------------------------------------------------------- 5xx

def test_5xx_answers_are_retried_until_they_succeed(crawl: FaultCrawl) -> None:
    assert crawl.hits("/news/103.html") == 3  # 503, 503, 200
    assert crawl.hits("/news/104.html") == 2  # 500, 200
    assert {"/news/103.html", "/news/104.html"} <= set(crawl.by_target())
    stats = crawl.stats
    # 103 twice, 201 (503 for ever) on each of its retries.
    assert stats["retry/reason_count/503 Service Unavailable"] == 2 + RETRIES
    assert stats["retry/reason_count/500 Internal Server Error"] == 1
    assert stats["downloader/response_status_count/503"] == 2 + (RETRIES + 1)
    assert stats["downloader/response_status_count/500"] == 1


def test_a_page_that_always_fails_is_given_up_after_the_retries(crawl: FaultCrawl) -> None:
    assert crawl.hits("/news/201.html") == RETRIES + 1
    assert re.search(r"Gave up retrying <GET \S+/news/201\.html> \(failed 4 times\): 503",
                     crawl.log)
    # Given up: 201 (503), 202 (reset), 203 (stall), 204 (trickle), 205 (short body).
    assert crawl.stats["retry/max_reached"] == 5


# --------------------------------------------------------------------------- broken connections

def test_connection_reset_mid_response_is_retried(crawl: FaultCrawl) -> None:
    assert crawl.hits("/news/105.html") == 2  # RST after half the body, then 200
    assert "/news/105.html" in crawl.by_target()
    assert crawl.hits("/news/202.html") == RETRIES + 1  # RST every time: dropped
    # A reset after the headers loses data: counted with the short body's data losses.
    resets, shorts = 1 + (RETRIES + 1), RETRIES + 1
    key = "downloader/exception_type_count/scrapy.exceptions.ResponseDataLossError"
    assert crawl.stats[key] == resets + shorts
    assert crawl.stats["retry/reason_count/scrapy.exceptions.ResponseDataLossError"] == \
        1 + RETRIES + RETRIES


def test_body_shorter_than_its_content_length_is_not_exported(crawl: FaultCrawl) -> None:
    assert crawl.hits("/news/205.html") == RETRIES + 1
    assert "/news/205.html" not in crawl.by_target()
    assert re.search(r"Got data loss in \S+/news/205\.html", crawl.log)


def test_pages_slower_than_the_timeout_are_abandoned(crawl: FaultCrawl) -> None:
    # 203 never answers; 204 answers its headers then one byte every half second.
    assert crawl.hits("/news/203.html") == RETRIES + 1
    assert crawl.hits("/news/204.html") == RETRIES + 1
    # On a loaded machine streaming 20 MB of 207 can outlast the 2-s timeout too, and is
    # then tried again: one more timeout per extra attempt.
    extra = crawl.hits("/news/207.html") - 1
    stats = crawl.stats
    assert stats["downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError"] == \
        2 * (RETRIES + 1) + extra
    assert stats["retry/reason_count/scrapy.exceptions.DownloadTimeoutError"] == \
        2 * RETRIES + extra
    assert f"took longer than {float(TIMEOUT)} seconds" in crawl.log


# --------------------------------------------------------------------------- size limits

def test_50_mb_pages_are_cut_at_download_maxsize(crawl: FaultCrawl) -> None:
    # With a Content-Length (refused before the body) and without one (cut mid-stream):
    # not retried, not exported.
    assert crawl.hits("/news/206.html") == 1
    assert 1 <= crawl.hits("/news/207.html") <= RETRIES + 1  # see the timeout test
    assert not {"/news/206.html", "/news/207.html"} & set(crawl.by_target())
    assert crawl.stats[
        "downloader/exception_type_count/scrapy.exceptions.DownloadCancelledError"] == 2
    assert re.search(r"Expected to receive 52428800 bytes which is larger than download max "
                     rf"size \({MAXSIZE}\) in request <GET \S+/news/206\.html>", crawl.log)
    assert re.search(rf"Received \d+ bytes which is larger than download max size \({MAXSIZE}\)"
                     r" in request <GET \S+/news/207\.html>", crawl.log)


def test_gzip_bomb_is_cut_at_download_maxsize_after_decompression(crawl: FaultCrawl) -> None:
    # ~100 KB on the wire inflating to 100 MB: DOWNLOAD_MAXSIZE bounds the inflated size.
    assert crawl.hits("/news/208.html") == 1
    match = re.search(r"Ignored response <200 \S+/news/208\.html> because its body \((\d+) B "
                      r"compressed, (\d+) B decompressed so far\) exceeded DOWNLOAD_MAXSIZE "
                      rf"\({MAXSIZE} B\) during decompression", crawl.log)
    assert match, "gzip bomb not refused"
    compressed, inflated = int(match.group(1)), int(match.group(2))
    assert compressed < 1024 * 1024 and MAXSIZE < inflated < MAXSIZE + 2 * 1024 * 1024
    assert "/news/208.html" not in crawl.by_target()


# --------------------------------------------------------------------------- redirects

def test_redirect_loop_ends(crawl: FaultCrawl) -> None:
    # 209 -> 209b -> 209: the second visit of 209 is a duplicate request, filtered.
    assert crawl.hits("/news/209.html") == 1
    assert crawl.hits("/news/209b.html") == 1
    assert crawl.stats["dupefilter/filtered"] >= 1


def test_endless_redirect_chain_stops_at_redirect_max_times(crawl: FaultCrawl) -> None:
    chain = [t for _, t in crawl.site_requests if t.startswith("/news/chain/")]
    hops = project_settings.REDIRECT_MAX_TIMES
    assert chain == [f"/news/chain/{n}.html" for n in range(1, hops + 1)]
    assert "/news/210.html" not in crawl.by_target()
    # 301s received: loop 2, chain 1 + 5, other host 1, other port 1, article page 2 1.
    assert crawl.stats["downloader/response_status_count/301"] == 2 + 1 + hops + 3


def test_redirect_to_another_host_is_filtered(crawl: FaultCrawl) -> None:
    assert crawl.hits("/news/211.html") == 1
    assert "/news/211.html" not in [t for _, t in crawl.other_requests]
    # 211 (301) and 114 (meta refresh) to localhost.
    assert crawl.stats["offsite/filtered"] == 2
    assert crawl.stats["offsite/domains"] == 1


# --------------------------------------------------------------------------- robots, charset, traps

def test_robots_txt_disallowed_section_is_never_fetched(crawl: FaultCrawl) -> None:
    assert crawl.hits("/robots.txt") >= 1
    assert not [t for _, t in crawl.site_requests if t.startswith("/private/")]
    assert crawl.stats["robotstxt/forbidden"] == 1


def test_gbk_page_sent_as_utf8_keeps_its_chinese(crawl: FaultCrawl) -> None:
    page = (SITE / "news" / "106.html").read_bytes().decode("gbk")
    assert "charset" not in page.lower()  # only the (lying) header names a charset
    title = re.search(r"<h1>(.*?)</h1>", page)
    assert title
    record = crawl.by_target()["/news/106.html"]
    assert record["title"] == title.group(1)
    content = re.search(r'<div class="content">(.*?)</div>', page, re.S)
    assert content
    paragraphs = re.findall(r"<p>(.*?)</p>", content.group(1))
    assert len(paragraphs) >= 3
    assert record["body"].split("\n") == paragraphs
    assert not any("\ufffd" in (r["title"] + r["body"]) for r in crawl.records)


def test_pagination_trap_gets_exactly_the_section_cap(crawl: FaultCrawl) -> None:
    lists = [t for _, t in crawl.site_requests if re.fullmatch(r"/news/list_\d+\.html", t)]
    assert len(lists) == len(set(lists))
    # Pagination resets the depth, so DEPTH_LIMIT does not bound the trap: the section cap
    # does, and it counts each list page once (list_1.html is linked from every page).
    assert crawl.stats["request_depth_max"] < len(lists)
    assert len(lists) == SECTION_CAP
    assert f"list page cap ({SECTION_CAP}) reached for section" in crawl.log
    assert crawl.stats["vendornews/trap/section_cap"] >= 1


def test_caps_count_each_url_once() -> None:
    spider = VendorNewsSpider(start_urls="http://a.example/")
    spider.crawler = SimpleNamespace(stats=None)  # type: ignore[assignment]
    spider.max_pages = 3
    spider.max_section_pages = 2
    for _ in range(5):  # the news list, linked from every article's navigation bar
        spider._request("http://a.example/news/list_1.html", "list", spider.parse_list)
    assert spider._request("http://a.example/news/list_2.html", "list", spider.parse_list)
    assert spider._request("http://a.example/news/1.html", "article", spider.parse_article)
    # Three URLs requested: the site's cap is reached.
    assert spider._request("http://a.example/news/2.html", "article", spider.parse_article) \
        is None


# --------------------------------------------------------------------------- failures by cause

def test_failed_articles_are_counted_by_cause(crawl: FaultCrawl) -> None:
    prefix = "vendornews/article_failed/"
    failed = {k[len(prefix):]: v for k, v in crawl.stats.items() if k.startswith(prefix)}
    assert failed == {
        "http_503": 1,  # 201
        "ResponseDataLossError": 2,  # 202 (reset), 205 (short body)
        "DownloadTimeoutError": 2,  # 203 (stall), 204 (trickle)
        "maxsize": 3,  # 206, 207 (50 MB), 208 (gzip bomb)
        "max_redirects": 1,  # 210
        "robots": 1,  # /private/113.html
        "offsite_redirect": 1,  # 212 (211 and 114 leave for another host: never scheduled)
        "http_404": 3,  # the sitemap's 401-403, their entities emptied
    }
    assert crawl.stats["vendornews/offsite/refused"] == 2  # 212, and page 2 of 111


def test_only_permanent_failures_are_remembered(crawl: FaultCrawl) -> None:
    """404 and robots.txt are the site's answer: remembered as "not an article", so that a
    list page linking to them can count as seen. Server errors, timeouts, size and redirect
    limits and off-site redirects may pass: the next run tries those pages again."""
    state = SqliteCrawlState(crawl.tmp / "state.sqlite")
    try:
        for path in ("/news/401.html?leak=", "/news/402.html?leak=", "/news/403.html?lol=",
                     "/private/113.html"):
            assert state.seen(crawl.origin + path) == "", path
        for number in (201, 202, 203, 204, 205, 206, 207, 208, 210, 212):
            assert state.seen(f"{crawl.origin}/news/{number}.html") is None, number
    finally:
        state.close()


def test_every_request_is_accounted_for(crawl: FaultCrawl) -> None:
    """The fault site saw nothing the tests above do not explain."""
    known = re.compile(r"/(?:robots\.txt|sitemap\.xml|news/list_\d+\.html|news/chain/\d+\.html"
                       r"|news/\d{3}b?\.html|news/111_2\.html|news/40[123]\.html\?\w+=|news/404\.html)?$")
    seen = Counter(t for _, t in crawl.site_requests)
    unexplained = [t for t in seen if not known.fullmatch(t) and t not in GOOD]
    assert unexplained == []
    assert all(host == urlsplit(crawl.origin).netloc for host, _ in crawl.site_requests)
