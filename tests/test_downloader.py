"""Per-site politeness holds: at most CONCURRENT_REQUESTS_PER_DOMAIN requests in flight per
site, one download slot per site (``spiders/downloader.py``), even with no download delay.

Two "sites" on one host, on two ports of 127.0.0.1, answer every page after 0.2 s and count
how many of their requests are in flight at once. Scrapy 2.19's own downloader runs every
queued request of a slot at once when ``DOWNLOAD_DELAY`` is 0, and keys slots on the host
alone: run with ``-s DOWNLOADER=scrapy.core.downloader.Downloader`` these tests saw 9 and 4
requests at once on the two sites, 13 over both.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sitefarm import ROOT

PAGES_PER_SITE = 12
LATENCY = 0.2


class Both:
    """Requests in flight over both sites."""

    lock = threading.Lock()
    in_flight = 0
    most = 0


class Counting(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.served = 0


class _Handler(BaseHTTPRequestHandler):
    server: Counting

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with self.server.lock, Both.lock:
            self.server.in_flight += 1
            self.server.most = max(self.server.most, self.server.in_flight)
            Both.in_flight += 1
            Both.most = max(Both.most, Both.in_flight)
        time.sleep(LATENCY)
        with self.server.lock, Both.lock:
            self.server.in_flight -= 1
            self.server.served += 1
            Both.in_flight -= 1
        body = b"<html><body><p>page</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def sites() -> Iterator[list[Counting]]:
    servers = [Counting(), Counting()]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                                daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    urls = [f"http://127.0.0.1:{s.server_address[1]}/news/{i}.html"
            for i in range(PAGES_PER_SITE) for s in servers]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(Path(__file__).parent / "slot_spider.py"),
         "-a", f"urls={','.join(urls)}", "-s", "DOWNLOAD_DELAY=0",
         "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS=16",
         "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2", "-s", "VENDORNEWS_WARC_DIR=",
         "-s", "LOG_LEVEL=INFO"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    elapsed = time.monotonic() - started
    for server in servers:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr[-3000:]
    assert elapsed < 60
    yield servers


def test_every_page_is_fetched(sites: list[Counting]) -> None:
    assert [s.served for s in sites] == [PAGES_PER_SITE, PAGES_PER_SITE]


def test_never_more_than_two_requests_in_flight_per_site(sites: list[Counting]) -> None:
    assert [s.most for s in sites] == [2, 2]


def test_the_two_sites_are_fetched_side_by_side(sites: list[Counting]) -> None:
    """One slot per site, not one per host: both ports had their two requests at once."""
    assert Both.most == 4
