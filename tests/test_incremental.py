"""Incremental crawls and crawl traps, end to end: real ``scrapy crawl vendor_news`` runs.

A generated news site (tmp folder, served on 127.0.0.1 by scripts/serve_demo.py) is crawled
several times while it changes: nothing new, new articles, an edited article, a full
recrawl. A second, dynamic site is a crawl trap (endless pagination, a calendar, session
ids in every link, one list under endless query strings).

:func:`build_site` and :func:`run_crawl` are shared with the resume, archive and Scrapyd
tests.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sitefarm import ROOT, parse_stats, serving

from vendornews import load
from vendornews.state import SqliteCrawlState

SITE = "corp"
CITIES = ("上海 北京 广州 深圳 杭州 南京 成都 武汉 西安 苏州 "
          "天津 重庆 青岛 宁波 厦门 郑州 长沙 合肥 济南 福州")
PRODUCTS = "球阀 闸阀 蝶阀 截止阀 止回阀 调节阀 安全阀 减压阀 电磁阀 隔膜阀 旋塞阀 排污阀"


def article_text(number: int, edit: str = "") -> tuple[str, list[str]]:
    """Title and paragraphs of article ``number``: distinct per number."""
    cities, products = CITIES.split(), PRODUCTS.split()
    city, product = cities[number % len(cities)], products[number % len(products)]
    title = f"华泰阀门第{number}期{product}技术交流会在{city}举行"
    paragraphs = [
        f"本报讯 第{number}期{product}技术交流会于近日在{city}召开，来自各地的{number + 40}"
        f"家用户单位代表参加了会议，围绕{product}的选型、安装与维护展开了深入交流。",
        f"会上，公司技术部介绍了{product}在石化、电力和水处理行业的{number % 7 + 3}个典型案例，"
        f"并现场演示了新一代密封结构在高温高压工况下的表现。{edit}",
        f"与会代表表示，此次交流会内容务实，对{city}地区的设备更新改造工作具有参考价值。"
        f"公司将于下一季度继续举办第{number + 1}期活动。",
    ]
    return title, paragraphs


_CHROME_TOP = (
    '<div class="top"><a href="/{site}/">首页</a>'
    ' <a href="/{site}/a/news/list_1_1.html">新闻中心</a>'
    ' <a href="/{site}/product/">产品中心</a> <a href="/{site}/about/">关于我们</a></div>'
)
_CHROME_BOTTOM = '<div class="footer">版权所有 华泰阀门有限公司 联系电话：0577-12345678</div>'


def _page(title: str, body: str, site: str) -> str:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{_CHROME_TOP.format(site=site)}{body}{_CHROME_BOTTOM}</body></html>")


def build_site(folder: Path, numbers: list[int], *, per_page: int = 5, site: str = SITE,
               edits: dict[int, str] | None = None, pages_of: dict[int, int] | None = None) -> None:
    """(Re)write a DedeCMS-like news site: home, list pages (newest first, a pager linking
    every page) and articles ``numbers``; ``edits`` change an article's text, ``pages_of``
    splits an article over N pages (``{id}_2.html`` …)."""
    root = folder / site
    news = root / "a" / "news"
    news.mkdir(parents=True, exist_ok=True)
    for old in news.glob("list_*.html"):
        old.unlink()
    edits, pages_of = edits or {}, pages_of or {}
    ordered = sorted(numbers, reverse=True)
    chunks = [ordered[i:i + per_page] for i in range(0, len(ordered), per_page)] or [[]]
    for index, chunk in enumerate(chunks, start=1):
        items = "".join(
            f'<li><a href="/{site}/a/news/{n}.html">{article_text(n)[0]}</a>'
            f"<span>2024-03-{n % 28 + 1:02d}</span></li>" for n in chunk)
        pager = " ".join(f'<a href="list_1_{i}.html">{i}</a>' for i in range(1, len(chunks) + 1))
        if index < len(chunks):
            pager += f' <a href="list_1_{index + 1}.html">下一页</a>'
        body = (f'<div class="newslist"><h2>新闻中心</h2><ul>{items}</ul>'
                f'<div class="pages">{pager}</div></div>')
        (news / f"list_1_{index}.html").write_text(_page("新闻中心", body, site), "utf-8")
    latest = "".join(f'<li><a href="/{site}/a/news/{n}.html">{article_text(n)[0]}</a>'
                     f"<span>2024-03-{n % 28 + 1:02d}</span></li>" for n in ordered[:3])
    (root / "index.html").write_text(_page(
        "华泰阀门有限公司", f'<div class="news"><h2>最新资讯</h2><ul>{latest}</ul>'
        f'<a href="/{site}/a/news/list_1_1.html">更多</a></div>', site), "utf-8")
    for n in numbers:
        title, paragraphs = article_text(n, edits.get(n, ""))
        pages = pages_of.get(n, 1)
        split = [paragraphs[i::pages] for i in range(pages)]
        for page in range(1, pages + 1):
            name = f"{n}.html" if page == 1 else f"{n}_{page}.html"
            pager = ""
            if pages > 1:
                pager = '<div class="pages">' + " ".join(
                    f'<a href="{n}.html">1</a>' if p == 1 else f'<a href="{n}_{p}.html">{p}</a>'
                    for p in range(1, pages + 1)) + "</div>"
            text = "".join(f"<p>{p}</p>" for p in split[page - 1])
            body = (f'<div class="article"><h1>{title}</h1><div class="info">发布时间：'
                    f"2024-03-{n % 28 + 1:02d} 来源：本站</div>"
                    f'<div class="content">{text}</div>{pager}</div>')
            (news / name).write_text(_page(f"{title}_华泰阀门", body, site), "utf-8")


@dataclass
class Run:
    records: list[dict[str, Any]]
    stats: dict[str, int]
    log: str
    returncode: int
    journal: Path | None


def crawl_command(start_urls: list[str], out: Path, state: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", "crawl", "vendor_news",
            "-a", f"start_urls={','.join(start_urls)}", "-a", f"output_dir={out}",
            "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
            "-s", f"VENDORNEWS_STATE={state}", *extra]


def run_crawl(start_urls: list[str], out: Path, state: Path, *extra: str,
              timeout: float = 120) -> Run:
    """One crawl as a user runs it; the records of the journal it wrote."""
    before = set(out.glob("news-*.jsonl")) if out.is_dir() else set()
    done = subprocess.run(crawl_command(start_urls, out, state, *extra), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    new = sorted(set(out.glob("news-*.jsonl")) - before)
    journal = new[-1] if new else None
    records = ([json.loads(line) for line in journal.read_text("utf-8").splitlines()]
               if journal else [])
    return Run(records, parse_stats(done.stderr), done.stderr, done.returncode, journal)


def number_of(url: str) -> int:
    return int(re.search(r"/(\d+)\.html", url).group(1))  # type: ignore[union-attr]


# --------------------------------------------------------------------------- incremental


@dataclass
class History:
    runs: dict[str, Run]
    requests: dict[str, list[str]]
    out: Path
    state: Path


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    tmp = tmp_path_factory.mktemp("incremental")
    site, out, state = tmp / "site", tmp / "out", tmp / "state.sqlite"
    numbers = list(range(1, 21))
    build_site(site, numbers)
    runs: dict[str, Run] = {}
    requests: dict[str, list[str]] = {}
    with serving(site) as server:
        start = [f"{server.origin}/{SITE}/"]

        def crawl(name: str, *extra: str) -> None:
            before = len(server.requests)
            runs[name] = run_crawl(start, out, state, *extra)
            assert runs[name].returncode == 0, runs[name].log[-3000:]
            requests[name] = server.requests[before:]

        crawl("first")
        crawl("unchanged")
        build_site(site, [*numbers, 21, 22], edits={18: "此次会议还发布了新的质保政策。"})
        crawl("two new")
        crawl("refresh", "-s", "VENDORNEWS_REFRESH_DAYS=0.000001")
        crawl("full", "-a", "full=1")
    return History(runs, requests, out, state)


def test_first_run_exports_every_article_as_new(history: History) -> None:
    run = history.runs["first"]
    assert sorted(number_of(r["url"]) for r in run.records) == list(range(1, 21))
    assert {r["change"] for r in run.records} == {"new"}
    assert run.stats["vendornews/incremental/new"] == 20


def test_a_run_over_an_unchanged_site_fetches_lists_only_and_exports_nothing(
        history: History) -> None:
    run = history.runs["unchanged"]
    assert run.records == [] and run.journal is not None  # an empty journal: the run's JSONL
    assert run.stats["vendornews/incremental/exported"] == 0
    assert run.stats["vendornews/incremental/sites_without_news"] == 1
    assert "nothing new: this run exported no record" in run.log
    assert "no new or changed article on 127.0.0.1:" in run.log
    fetched = history.requests["unchanged"]
    assert not [t for t in fetched if re.search(r"/a/news/\d+\.html", t)]  # no article
    assert [t for t in fetched if "list_1_" in t] == [f"/{SITE}/a/news/list_1_1.html"]
    assert run.stats["vendornews/incremental/pagination_stopped"] >= 1


def test_new_articles_are_exported_and_seen_ones_not_fetched(history: History) -> None:
    run = history.runs["two new"]
    assert sorted(number_of(r["url"]) for r in run.records) == [21, 22]
    assert {r["change"] for r in run.records} == {"new"}
    fetched = [number_of(t) for t in history.requests["two new"]
               if re.search(r"/a/news/\d+\.html", t)]
    assert sorted(fetched) == [21, 22]  # article 18 changed, but nobody refetched it


def test_refresh_finds_the_edited_article_and_drops_unchanged_ones(history: History) -> None:
    run = history.runs["refresh"]
    assert [(number_of(r["url"]), r["change"]) for r in run.records] == [(18, "changed")]
    assert "新的质保政策" in run.records[0]["body"]
    # 21 refetched and unchanged; the template learned in another order is no change
    assert run.stats["vendornews/incremental/unchanged"] == 21
    assert run.stats["vendornews/incremental/changed"] == 1
    assert run.stats["vendornews/items/dropped/unchanged"] == 21
    assert run.stats["vendornews/items/seen"] == 22


def test_full_recrawl_exports_everything_with_its_change(history: History) -> None:
    run = history.runs["full"]
    assert sorted(number_of(r["url"]) for r in run.records) == list(range(1, 23))
    assert {r["change"] for r in run.records} == {"unchanged"}


def test_cumulative_table_and_site_history(history: History) -> None:
    frame = load(history.out)  # every run's files, latest version per url
    assert len(frame) == 22 and frame["url"].is_unique
    edited = frame[frame["url"].str.endswith("/18.html")].iloc[0]
    assert "新的质保政策" in edited["body"]
    with SqliteCrawlState(history.state) as state:
        runs = state.site_history()
        assert [(r.new, r.changed, r.unchanged, r.status) for r in reversed(runs)] == [
            (20, 0, 0, "finished"), (0, 0, 0, "finished"), (2, 0, 0, "finished"),
            (0, 1, 21, "finished"), (0, 0, 22, "finished")]
        assert all(r.pages > 0 and r.ended for r in runs)
        assert runs[-1].pages > runs[-2].pages  # the first run read every list page


# --------------------------------------------------------------------------- traps


class TrapHandler(BaseHTTPRequestHandler):
    """A site that never ends: 30 real articles behind endless pagination, a calendar with
    a "下一页" to the next day forever, a session id in every link (new per response) and
    the news list under endless query strings."""

    protocol_version = "HTTP/1.1"
    log: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _session(self) -> str:
        return f";jsessionid={random.getrandbits(64):016X}"

    def _html(self, body: str) -> None:
        data = (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>测试</title></head>'
                f'<body><div class="nav"><a href="/news/list_1.html{self._session()}">新闻中心</a>'
                f' <a href="/news/calendar.php?date=2024-05-01&PHPSESSID='
                f'{random.getrandbits(80):020x}">新闻日历</a></div>{body}</body></html>'
                ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.log.append(self.path)
        parts = urlsplit(self.path)
        path = parts.path.split(";")[0]
        if path == "/robots.txt":
            data = b"User-agent: *\nAllow: /\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        elif path == "/":
            self._html(f'<div class="news"><h2>新闻动态</h2><a href="/news/list_1.html?sort=time&r='
                       f'{random.random()}">按时间排序</a></div>')
        elif m := re.fullmatch(r"/news/list_(\d+)\.html", path):
            page = int(m.group(1))
            numbers = range((page - 1) * 10 + 1, page * 10 + 1) if page <= 3 else []
            items = "".join(f'<li><a href="/news/{n}.html?sid={random.getrandbits(96):024x}">'
                            f"{article_text(n)[0]}</a><span>2024-05-{n % 28 + 1:02d}</span></li>"
                            for n in numbers)
            pager = (f'<a href="/news/list_{page + 1}.html{self._session()}">下一页</a> '
                     f'<a href="/news/list_{page}.html?order=desc&r={random.random()}">倒序</a>')
            self._html(f'<div class="newslist"><h2>新闻中心</h2><ul>{items}</ul>'
                       f'<div class="pages">{pager}</div></div>')
        elif m := re.fullmatch(r"/news/(\d+)\.html", path):
            number = int(m.group(1))
            if not 1 <= number <= 30:
                self.send_error(404)
                return
            title, paragraphs = article_text(number)
            self._html(f'<div class="article"><h1>{title}</h1><div class="info">发布时间：'
                       f"2024-05-{number % 28 + 1:02d}</div><div class=\"content\">"
                       + "".join(f"<p>{p}</p>" for p in paragraphs) + "</div></div>")
        elif path == "/news/calendar.php":
            day = int(parts.query.split("date=2024-05-")[1][:2]) if "date=2024-05-" in \
                parts.query else 1
            month, day = divmod(day, 28)
            self._html(f'<div class="calendar"><h2>新闻日历</h2><div class="pages">'
                       f'<a href="/news/calendar.php?date=2024-{5 + month:02d}-{day + 1:02d}'
                       f'&sid={random.getrandbits(96):024x}">下一页</a></div></div>')
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def trap_crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, list[str]]]:
    tmp = tmp_path_factory.mktemp("trap")
    log: list[str] = []
    handler = type("Handler", (TrapHandler,), {"log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        origin = f"http://127.0.0.1:{server.server_address[1]}"
        run = run_crawl([origin + "/"], tmp / "out", tmp / "state.sqlite",
                        "-s", "VENDORNEWS_MAX_LIST_PAGES_PER_SECTION=12", "-s", "DEPTH_LIMIT=4",
                        "-s", "VENDORNEWS_WARC_DIR=", timeout=90)
        assert not (tmp / "out" / "warc").exists()  # an empty VENDORNEWS_WARC_DIR: no archive
        yield run, list(log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_traps_are_bounded_and_every_real_article_is_exported_once(
        trap_crawl: tuple[Run, list[str]]) -> None:
    run, requests = trap_crawl
    assert run.returncode == 0, run.log[-3000:]
    urls = [r["url"] for r in run.records]
    assert sorted(number_of(u) for u in urls) == list(range(1, 31))
    assert len(set(urls)) == 30
    # session ids never reach a record, nor a request
    assert not [u for u in urls if "sid=" in u.lower() or "jsessionid" in u.lower()]
    assert not [t for t in requests if "jsessionid" in t.lower() or "sessid" in t.lower()
                or "sid=" in t]
    # each article fetched once, whatever session ids its links carried
    articles = [t for t in requests if re.fullmatch(r"/news/\d+\.html", t)]
    assert len(articles) == len(set(articles)) == 30
    assert len(requests) < 100


def test_trap_hits_are_counted(trap_crawl: tuple[Run, list[str]]) -> None:
    run, requests = trap_crawl
    assert run.stats["vendornews/trap/session_id"] > 0
    assert run.stats["vendornews/trap/section_cap"] > 0
    assert "list page cap (12) reached for section 127.0.0.1/news/list_#.html" in run.log
    assert len([t for t in requests if t.startswith("/news/list_")]) <= 12
    assert len([t for t in requests if t.startswith("/news/calendar.php")]) <= 12
