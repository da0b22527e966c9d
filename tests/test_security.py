"""Security: the crawler stays on the start site, runs no JavaScript, expands no XML entity,
makes no file name of a URL, writes Excel-safe CSV and leaks no credential.

Most cases read the fault crawl of ``tests/test_faults.py`` (one crawl for both files): a
second server stands for another host (``http://localhost:PORT``) and another port of the
same host (``http://127.0.0.1:PORT``); what it received shows what escaped the site. The XML
and link cases also call :mod:`vendornews.discover` directly.
"""

from __future__ import annotations

import configparser
import contextlib
import csv
import gzip
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sitefarm import ROOT, parse_stats
from test_faults import (
    FTP_SECRET,
    PROJECT_SECRET,
    SITE,
    FaultCrawl,
    fault_server,
    shared_fault_crawl,
    target,
)

from spiders.logsafe import mask
from spiders.vendor_news import VendorNewsSpider
from vendornews.discover import LinkKind, extract_links, parse_html, parse_sitemap
from vendornews.export import FORMULA_STARTS, csv_cell, read_csv_cell

# Every file a crawl may write under its output_dir, by path: none is made of a URL, a host
# or page text, only of the run's time stamp. A new kind of output needs its pattern here.
_STAMP = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\+00-00"
OUTPUT_FILES = re.compile(rf"news-{_STAMP}\.(?:jsonl|csv|parquet)|warc/{_STAMP}\.warc\.gz")

HERE, OTHER, OTHER_PORT = "http://127.0.0.1:8000", "http://localhost:8001", "http://127.0.0.1:8001"


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> FaultCrawl:
    return shared_fault_crawl(tmp_path_factory)


def fixture_text(path: str) -> str:
    text = (SITE / path).read_text("utf-8")
    return text.replace("__OTHER_PORT__", OTHER_PORT).replace("__OTHER__", OTHER) \
        .replace("__ORIGIN__", HERE)


# --------------------------------------------------------------------------- staying on the site

def test_no_link_sitemap_or_redirect_reaches_another_host(crawl: FaultCrawl) -> None:
    reached = {t for _, t in crawl.other_requests}
    never = {
        "/news/301.html",  # a link to another host
        "/news/302.html",  # a link to another port of the same host
        "/sitemap.xml",  # robots.txt: "Sitemap: <other host>"
        "/news/303.html",  # a sitemap entry on another host
        "/news/211.html",  # a 301 to another host
        "/news/114.html",  # a meta refresh to another host
        "/news/108-related.html", "/news/1081.html",  # relative links under <base href=other>
    }
    assert not reached & never
    assert not [t for t in reached if t.startswith("/xxe/")]  # sitemap entities
    # The links were there to follow: their page was crawled.
    assert crawl.hits("/news/list_1.html") == 1 and crawl.hits("/news/108.html") == 1


def test_nothing_at_all_is_fetched_from_other_origins(crawl: FaultCrawl) -> None:
    # Not 212's redirect target on another port of the start host, not that port's
    # robots.txt, not 111's page 2 redirected to another host (a continuation page, which
    # Scrapy's OffsiteMiddleware lets through): SameSiteMiddleware refuses them.
    assert crawl.other_requests == []


def test_records_come_only_from_the_start_site(crawl: FaultCrawl) -> None:
    assert crawl.records
    assert all(r["url"].startswith(crawl.origin + "/") for r in crawl.records)
    assert {r["site"] for r in crawl.records} == {"127.0.0.1"}


def test_links_to_other_hosts_and_ports_are_not_followed() -> None:
    links = extract_links(fixture_text("news/list_1.html"), f"{HERE}/news/list_1.html",
                          page_kind=LinkKind.LIST)
    offsite = [link for link in links if not link.url.startswith(HERE + "/")]
    assert {link.url for link in offsite} >= {f"{OTHER}/news/301.html",
                                             f"{OTHER_PORT}/news/302.html"}
    assert {link.kind for link in offsite} == {LinkKind.OTHER}
    # <base href="other host/">: every relative link resolves off the site and is dropped.
    links = extract_links(fixture_text("news/108.html"), f"{HERE}/news/108.html",
                          page_kind=LinkKind.ARTICLE)
    assert f"{OTHER}/news/1081.html" in {link.url for link in links}
    assert all(link.kind is LinkKind.OTHER for link in links if link.url.startswith(OTHER))
    # The spider itself refuses requests off its start sites (host and port).
    spider = VendorNewsSpider(start_urls=f"{HERE}/")
    for url in (f"{OTHER}/news/1.html", f"{OTHER_PORT}/news/1.html",
                "http://127.0.0.1.evil.example:8000/news/1.html"):
        assert spider._request(url, "article", spider.parse_article) is None
    assert spider._request(f"{HERE}/news/1.html", "article", spider.parse_article) is not None


# --------------------------------------------------------------------------- no JavaScript

def test_no_javascript_runs(crawl: FaultCrawl) -> None:
    # 115's article exists only in a script that would write it into the page.
    assert crawl.hits("/news/115.html") == 1
    assert "/news/115.html" not in {target(r["url"]) for r in crawl.records}
    assert f"Dropped: not an article (no-body): {crawl.origin}/news/115.html" in crawl.log
    # Links made by document.write, a javascript: URL and an onclick handler.
    for path in ("/news/116.html", "/news/117.html", "/news/118.html"):
        assert crawl.hits(path) == 0, path
    # No browser-backed download handler or middleware is enabled.
    assert not re.search(r"playwright|splash|selenium|pyppeteer|browser", crawl.log, re.I)


def test_script_links_are_not_extracted() -> None:
    links = extract_links(fixture_text("news/list_1.html"), f"{HERE}/news/list_1.html",
                          page_kind=LinkKind.LIST)
    urls = {link.url for link in links}
    assert f"{HERE}/news/101.html" in urls
    assert not {u for u in urls if re.search(r"/news/11[678]\.html", u)}


# --------------------------------------------------------------------------- XML entities

def _sitemap(entities: str, locs: list[str]) -> bytes:
    body = "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE urlset [\n{entities}\n]>\n'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'
            ).encode()


def test_sitemap_external_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-7781\n")
    (tmp_path / "www").mkdir()
    with fault_server.serving(tmp_path / "www") as listener:
        body = _sitemap(
            f'<!ENTITY file SYSTEM "file://{secret}">\n'
            f'<!ENTITY net SYSTEM "{listener.origin}/entity">\n'
            f'<!ENTITY % dtd SYSTEM "{listener.origin}/dtd"> %dtd;\n'
            '<!ENTITY home "http://a.example/internal-entity">',
            ["http://a.example/1.html?x=&file;", "http://a.example/2.html?x=&net;", "&home;",
             "http://a.example/3.html?a=1&amp;b=2"])
        pages, children = parse_sitemap(body)
        time.sleep(0.2)
        assert listener.requests == []  # no DTD or entity fetched
    assert pages == ["http://a.example/1.html?x=", "http://a.example/2.html?x=",
                     "http://a.example/3.html?a=1&b=2"]
    assert children == []


def test_sitemap_billion_laughs_is_not_expanded() -> None:
    body = fixture_text("sitemap.xml").encode()
    assert b"&lol9;" in body and b'<!ENTITY passwd SYSTEM "file:///etc/passwd">' in body
    started = time.monotonic()
    pages, _ = parse_sitemap(body)
    assert time.monotonic() - started < 2
    assert pages[:5] == [f"{HERE}/news/109.html", f"{HERE}/news/401.html?leak=",
                         f"{HERE}/news/402.html?leak=", f"{OTHER}/news/303.html",
                         f"{HERE}/news/403.html?lol="]
    # libxml2 gives up at the bomb (its entity amplification limit): what follows is lost,
    # nothing is expanded either way.
    assert pages[5:] in ([], [f"{HERE}/news/404.html"])


def test_gzipped_sitemap_bomb_is_read_only_up_to_a_bound() -> None:
    # 4 GiB of blanks in ~4 MB: a full flush per MiB makes each MiB the same compressed bytes.
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = packer.compress(b'<?xml version="1.0"?><urlset><url><loc>http://a.example/1.html'
                           b"</loc></url>") + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    assert block == packer.compress(b" " * (1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    bomb = head + block * 4096 + packer.flush()
    started = time.monotonic()
    pages, children = parse_sitemap(bomb)
    assert time.monotonic() - started < 10
    assert pages == ["http://a.example/1.html"] and children == []


def test_html_doctype_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET-7781\n")
    page = (f'<!DOCTYPE html [<!ENTITY file SYSTEM "file://{secret}">]>'
            '<html><body><p>before &file; after</p><a href="/news/&file;.html">x</a></body></html>')
    tree = parse_html(page.encode())
    assert "TOPSECRET" not in tree.text_content()
    assert not [link for link in extract_links(tree, f"{HERE}/") if "TOPSECRET" in link.url]


def test_hostile_sitemap_in_a_crawl(crawl: FaultCrawl) -> None:
    # The sitemap (XXE to /etc/passwd and to the other host, billion laughs) is parsed: its
    # one real entry is exported, its entity entries come out empty.
    assert "/news/109.html" in {target(r["url"]) for r in crawl.records}
    for path in ("/news/401.html?leak=", "/news/402.html?leak=", "/news/403.html?lol="):
        assert crawl.hits(path) == 1, path
    every = [t for _, t in crawl.site_requests + crawl.other_requests]
    assert not [t for t in every if re.search(r"root|passwd|lollol|xxe", t)]


# --------------------------------------------------------------------------- file names

def test_no_file_name_comes_from_a_url(crawl: FaultCrawl) -> None:
    # The crawl fetched an article under /news/%2e%2e/%2e%2e/%2e%2e/etc/ and ran from an
    # empty directory: it wrote its exports and its state file, nothing else.
    assert "/news/%2e%2e/%2e%2e/%2e%2e/etc/112.html" in {target(r["url"]) for r in crawl.records}
    assert list((crawl.tmp / "work").iterdir()) == []
    assert list((crawl.tmp / "other").iterdir()) == []
    outputs = sorted(p.relative_to(crawl.out).as_posix() for p in crawl.out.rglob("*")
                     if p.is_file())
    assert all(OUTPUT_FILES.fullmatch(name) for name in outputs), outputs
    assert len([name for name in outputs if name.startswith("news-")]) == 3
    state = [p.name for p in crawl.tmp.iterdir() if p.is_file()]
    assert set(state) <= {"state.sqlite", "state.sqlite-journal", "state.sqlite-wal",
                          "state.sqlite-shm"}, state
    # Nothing anywhere in the test session's temporary tree is named after a URL part.
    named = [p for p in crawl.tmp.parent.rglob("*")
             if p.name in ("etc", "passwd", "112.html") or "%2e" in p.name.lower()]
    assert named == []


# --------------------------------------------------------------------------- CSV injection

@pytest.mark.parametrize("text", ['=HYPERLINK("http://evil.example/","x")', "+1+cmd|' /C calc'!A0",
                                  "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "'=already quoted"])
def test_csv_cell_neutralizes_formulas(text: str) -> None:
    cell = csv_cell(text)
    assert cell == "'" + text
    assert read_csv_cell(cell) == text


def test_formula_title_is_neutralized_in_the_crawl_csv(crawl: FaultCrawl) -> None:
    record = {target(r["url"]): r for r in crawl.records}["/news/107.html"]
    assert record["title"].startswith('=HYPERLINK("http://evil.example/"')  # as on the page
    (csv_file,) = crawl.out.glob("news-*.csv")
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text("utf-8-sig"))))
    row = next(r for r in rows if target(r["url"]) == "/news/107.html")
    assert row["title"] == "'" + record["title"]
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(FORMULA_STARTS), value


# --------------------------------------------------------------------------- credentials

def test_credentials_given_to_a_crawl_are_not_exported(crawl: FaultCrawl) -> None:
    files = [p for p in crawl.tmp.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files)
    for file in files:
        data = file.read_bytes()
        for secret in (FTP_SECRET, PROJECT_SECRET, "s3cret"):
            assert secret.encode() not in data, (file, secret)


def test_project_setting_values_are_not_logged(crawl: FaultCrawl) -> None:
    # -s VENDORNEWS_TEST_DSN=redis://:password@… : Scrapy's "Overridden settings" lists only
    # its own setting names, and nothing of the project logs its settings.
    assert "Overridden settings" in crawl.log
    assert PROJECT_SECRET not in crawl.log
    assert "s3cret-redis" not in crawl.log


def test_credentials_are_not_logged(crawl: FaultCrawl) -> None:
    assert "'FTP_PASSWORD': '***'" in crawl.log  # "Overridden settings:" prints -s settings
    assert FTP_SECRET not in crawl.log
    # No control channel: the telnet console (and its password), the remote-control server.
    assert "Telnet Password" not in crawl.log
    assert "Telnet console listening" not in crawl.log
    assert "Remote control HTTP server listening" not in crawl.log


@pytest.mark.parametrize(("line", "shown"), [
    (" 'FTP_PASSWORD': 's3cret',", " 'FTP_PASSWORD': '***',"),
    ("{'AWS_SECRET_ACCESS_KEY': \"a'b\", 'LOG_LEVEL': 'INFO'}",
     "{'AWS_SECRET_ACCESS_KEY': \"***\", 'LOG_LEVEL': 'INFO'}"),
    ("-s API_TOKEN=abc -s HTTPAUTH_PASS=x", "-s API_TOKEN=*** -s HTTPAUTH_PASS=***"),
    ("Crawled (200) <GET http://user:pw@a.example/news/1.html>",
     "Crawled (200) <GET http://user:***@a.example/news/1.html>"),
    ("to redis://:s3cret@127.0.0.1:6379/0", "to redis://:***@127.0.0.1:6379/0"),
    ("page cap (80) reached for 127.0.0.1:8000", "page cap (80) reached for 127.0.0.1:8000"),
    ("author: 张三 <a href='mailto:x@a.example'>", "author: 张三 <a href='mailto:x@a.example'>"),
])
def test_log_lines_lose_their_secrets(line: str, shown: str) -> None:
    assert mask(line) == shown


def test_scrapy_cfg_holds_no_credentials() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "scrapy.cfg", encoding="utf-8")
    for section in config.sections():
        for option, value in config.items(section):
            assert option not in ("username", "password", "passwd", "token"), (section, option)
            assert not re.search(r"://[^/@\s]+:[^/@\s]*@", value), (section, option)


REDIS_PASSWORD = "s3cret-redis-Xk42"


def _file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":  # the WARC archive: gzip per record
        with contextlib.suppress(OSError, EOFError):
            data = gzip.decompress(data)
    return data


@pytest.fixture(scope="module")
def redis_with_password(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throw-away redis-server that wants a password, and its URL with the password."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server missing (scripts/install_redis.sh)")
    redis = pytest.importorskip("redis")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path_factory.mktemp("redis")), "--requirepass", REDIS_PASSWORD,
         "--loglevel", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if redis.Redis.from_url(url).ping():
                    break
            assert time.monotonic() < deadline and process.poll() is None, "no redis-server"
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def test_redis_password_is_not_logged_or_exported(demo_server: Any, redis_with_password: str,
                                                  tmp_path: Path) -> None:
    start = demo_server.sites()["hengtong"]
    (tmp_path / "work").mkdir()
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="spiders.settings", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "vendor_news", "-a", f"start_urls={start}",
         "-a", f"output_dir={tmp_path / 'out'}", "-s", "AUTOTHROTTLE_ENABLED=0",
         "-s", "DOWNLOAD_DELAY=0", "-s", "DEPTH_LIMIT=2",
         "-s", f"VENDORNEWS_STATE={tmp_path / 'state.sqlite'}",
         "-s", f"REDIS_URL={redis_with_password}", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=1",
         "-s", "REDIS_START_POLL_INTERVAL=0.2"],
        cwd=tmp_path / "work", env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Redis frontier" in done.stderr  # the crawl did go through Redis
    assert parse_stats(done.stderr)["item_scraped_count"] > 0
    assert REDIS_PASSWORD not in done.stderr + done.stdout
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".csv" for p in files)
    for file in files:
        assert REDIS_PASSWORD.encode() not in _file_bytes(file), file
    # The frontier commands, with the right password and with a wrong one (which contains
    # the right one: echoing the URL would show it).
    wrong = redis_with_password.replace(REDIS_PASSWORD, "wrong-" + REDIS_PASSWORD)
    for command in (["enqueue", "--redis", redis_with_password, start],
                    ["frontier", "--redis", wrong]):
        shown = subprocess.run([sys.executable, "-m", "vendornews.cli", *command], env=env,
                               capture_output=True, text=True, timeout=60)
        assert REDIS_PASSWORD not in shown.stdout + shown.stderr, command
        assert shown.stdout or shown.stderr
