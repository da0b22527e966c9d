"""End to end: a real ``scrapy crawl vendor_news`` of the demo sites served on 127.0.0.1.

One crawl (a subprocess, as a user runs it) feeds every test here; the demo server's request
log shows what was fetched. Extraction quality is the core's business and is tested
elsewhere: records are checked loosely (non-empty title and body).
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sitefarm import DEMO, ROOT, serving

from spiders.vendor_news import VendorNewsSpider
from vendornews.export import CSV_COLUMNS
from vendornews.urls import read_sites_file

EXPECTED = {line.strip() for line in (DEMO / "expected_urls.txt").read_text("utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


def target(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


@dataclass
class Crawl:
    records: list[dict[str, Any]]
    csv_bytes: bytes
    demo_requests: list[str]
    moved_requests: list[str]
    demo_origin: str
    log: str


@pytest.fixture(scope="module")
def crawl(demo_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    tmp = tmp_path_factory.mktemp("crawl")
    # A second site whose only article has moved to another host: never followed.
    moved = tmp / "moved-site"
    (moved / "moved").mkdir(parents=True)
    (moved / "moved" / "index.html").write_text(
        '<html><body><div class="newslist"><h2>新闻中心</h2><ul><li>'
        '<a href="/moved/a/news/1.html">本公司网站已迁移至新域名的通知</a><span>2023-06-01</span>'
        "</li></ul></div></body></html>", encoding="utf-8")
    offsite = demo_server.origin.replace("127.0.0.1", "localhost") + "/elsewhere/1.html"
    (moved / "server.json").write_text(json.dumps({"redirects": {"/moved/a/news/1.html": offsite}}))
    with serving(moved) as moved_server:
        sites = tmp / "sites.txt"
        demo_sites = "".join(f"{url}\n\n" for url in demo_server.sites().values())
        sites.write_text(f"# demo sites\n{demo_sites}{moved_server.origin}/moved/  # moved away\n",
                         encoding="utf-8")
        before = len(demo_server.requests)
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "vendor_news", "-a", f"sites_file={sites}",
             "-a", f"output_dir={tmp / 'out'}", "-s", "AUTOTHROTTLE_ENABLED=0",
             "-s", "DOWNLOAD_DELAY=0",
             # Articles sit at depth 2 (home, list, article): their page 2 and 3 are deeper
             # than the limit and must be fetched all the same.
             "-s", "DEPTH_LIMIT=2", "-s", f"VENDORNEWS_STATE={tmp / 'state.sqlite'}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
        moved_requests = list(moved_server.requests)
    assert done.returncode == 0, done.stderr[-3000:]
    (jsonl,) = (tmp / "out").glob("news-*.jsonl")
    (csv_file,) = (tmp / "out").glob("news-*.csv")
    records = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines() if line]
    return Crawl(records, csv_file.read_bytes(), demo_server.requests[before:], moved_requests,
                 demo_server.origin, done.stderr)


def test_exports_each_article_once_and_nothing_else(crawl: Crawl) -> None:
    urls = [target(r["url"]) for r in crawl.records]
    assert len(urls) == len(set(urls)) == 22
    assert set(urls) == EXPECTED  # no list, home, product, about, contact or page-2 record
    assert "/lixin/archives/37/" in urls  # linked from no list: found through the sitemap
    assert all(r["url"].startswith(crawl.demo_origin + "/") for r in crawl.records)


def test_records_have_content(crawl: Crawl) -> None:
    for record in crawl.records:
        assert record["title"] and len(record["body"]) > 40, record["url"]
        assert record["crawled_at"][:2] == "20"


def test_multipage_articles_are_merged(crawl: Crawl) -> None:
    by_target = {target(r["url"]): r for r in crawl.records}
    assert by_target["/hengtong/a/news/104.html"]["pages"] == 3
    assert "冬季停用的泵" in by_target["/hengtong/a/news/104.html"]["body"]  # from page 3
    assert by_target["/lixin/archives/34/"]["pages"] == 2
    assert crawl.demo_requests.count("/hengtong/a/news/104_2.html") == 1
    assert crawl.demo_requests.count("/hengtong/a/news/104_3.html") == 1


def test_robots_txt_is_obeyed(crawl: Crawl) -> None:
    assert "/robots.txt" in crawl.demo_requests
    assert not [t for t in crawl.demo_requests if t.startswith("/hengtong/plus/")]


def test_spam_links_are_not_fetched(crawl: Crawl) -> None:
    assert not [t for t in crawl.demo_requests if "/yy/" in t or "/zl/" in t]


def test_503_is_retried(crawl: Crawl) -> None:
    assert crawl.demo_requests.count("/hengtong/a/news/103.html") == 2
    assert "/hengtong/a/news/103.html" in {target(r["url"]) for r in crawl.records}


def test_301_is_followed_and_the_final_url_recorded(crawl: Crawl) -> None:
    assert "/hengtong/html/news/20230512/105.html" in crawl.demo_requests
    urls = {target(r["url"]) for r in crawl.records}
    assert "/hengtong/a/news/105.html" in urls
    assert "/hengtong/html/news/20230512/105.html" not in urls


def test_redirect_to_another_host_is_not_followed(crawl: Crawl) -> None:
    assert "/moved/a/news/1.html" in crawl.moved_requests
    assert "/elsewhere/1.html" not in crawl.demo_requests


def test_csv_export_is_utf8_with_bom(crawl: Crawl) -> None:
    assert crawl.csv_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(crawl.csv_bytes.decode("utf-8-sig").splitlines()))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert {target(row[0]) for row in rows[1:]} == EXPECTED


def test_sites_file(tmp_path: Path) -> None:
    file = tmp_path / "sites.txt"
    file.write_text("\ufeff# vendors\n\nhttp://a.example/\n  http://b.example/news/  # list page\n"
                    "#http://c.example/\n", encoding="utf-8")
    assert read_sites_file(file) == ["http://a.example/", "http://b.example/news/"]
    spider = VendorNewsSpider(start_urls="www.a.example,http://a.example/", sites_file=str(file))
    assert spider.site_starts == ["http://www.a.example", "http://a.example/",
                                  "http://b.example/news/"]
    assert spider.allowed_domains == ["a.example", "b.example"]


def test_no_start_url_is_an_error() -> None:
    with pytest.raises(ValueError, match="start_urls"):
        VendorNewsSpider()
