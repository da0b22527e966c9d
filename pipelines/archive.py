"""Raw archive of a crawl: every downloaded response in ``<VENDORNEWS_WARC_DIR>/<run>.warc.gz``.

* :class:`WarcArchiveMiddleware` (downloader middleware, next to the downloader: it sees
  every response as received — redirects, 503s and robots.txt included — before redirects
  are followed and bodies decompressed) writes a response record and its request record,
  with ``WARC-Vendornews-Role`` (and ``WARC-Vendornews-Article`` on continuation pages)
  from the request's ``vendornews_role`` / ``vendornews_article`` meta. It also stamps
  ``vendornews_fetched_at`` (the record's WARC-Date) into the request's meta: the spider
  uses it as ``crawled_at``.
* :class:`WarcItemPipeline` (first item pipeline) writes the item manifest of every
  article the spider hands to extraction: its pages' record ids, ``crawled_at`` and anchor
  texts, in extraction order, so that ``vendornews clean`` can redo the crawl's cleaning.

``VENDORNEWS_WARC_DIR`` (default ``%(output_dir)s/warc``) names the folder; an empty value
turns archiving off. The file is opened at the first record and named after the run's
stamp (the same as its ``news-<time>.*`` exports). See :mod:`vendornews.warc`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

import scrapy
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Request, Response

from pipelines.state import archive_dir, run_stamp
from vendornews.warc import WarcArchive

logger = logging.getLogger(__name__)

_ARCHIVES: WeakKeyDictionary[Crawler, CrawlArchive] = WeakKeyDictionary()


def _version() -> str:
    try:
        return metadata.version("vendornews")
    except metadata.PackageNotFoundError:
        return "dev"


def _pairs(headers: Headers) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1"))
            for name, values in headers.items() for value in values]


class CrawlArchive:
    """The run's WARC file, opened at the first record; one per crawler (:meth:`of`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.archive: WarcArchive | None = None
        self.fsync = crawler.settings.getbool("VENDORNEWS_WARC_FSYNC", False)
        # Final URL -> record id of its latest response: the page the spider was given.
        self.latest: dict[str, str] = {}
        self.closed = False
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlArchive:
        if crawler not in _ARCHIVES:
            _ARCHIVES[crawler] = cls(crawler)
        return _ARCHIVES[crawler]

    def _open(self) -> WarcArchive:
        if self.archive is None:
            spider = self.crawler.spider
            folder = archive_dir(self.crawler)
            assert spider is not None and folder is not None
            path = folder / f"{run_stamp(spider)}.warc.gz"
            self.archive = WarcArchive(path, info={
                "software": f"vendornews/{_version()} (Scrapy {scrapy.__version__})",
                "format": "WARC File Format 1.1",
                "vendornews-run": run_stamp(spider),
                "vendornews-start-urls": " ".join(getattr(spider, "site_starts", ())),
            }, fsync=self.fsync)
            logger.info("archiving responses to %s", path)
        return self.archive

    def response(self, request: Request, response: Response, fetched_at: datetime) -> None:
        if self.closed:
            return
        role = request.meta.get("vendornews_role")
        if role is None:
            role = "robots" if urlsplit(response.url).path == "/robots.txt" else "other"
        record_id = self._open().write_response(
            response.url, response.status, _pairs(response.headers), response.body,
            date=fetched_at, role=role, article=request.meta.get("vendornews_article"),
            request_headers=_pairs(request.headers), method=request.method)
        self.latest[response.url] = record_id
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("vendornews/warc/responses")

    def item(self, pages: Sequence[Any], crawled_at: str, anchors: Sequence[str]) -> None:
        if self.closed:
            return
        self._open().write_item([(page.url, self.latest.get(page.url)) for page in pages],
                                crawled_at, anchors)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("vendornews/warc/items")

    def close(self, spider: Spider, reason: str) -> None:
        self.closed = True
        if self.archive is not None:
            self.archive.close()
            logger.info("archived %d WARC records to %s", self.archive.records, self.archive.path)


class WarcArchiveMiddleware:
    """Downloader middleware: archive every response as received."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        if not crawler.settings.get("VENDORNEWS_WARC_DIR"):
            raise NotConfigured("VENDORNEWS_WARC_DIR is empty: no archive")
        return cls(crawler)

    def process_response(self, request: Request, response: Response,
                         spider: Spider | None = None) -> Response:
        fetched_at = datetime.now(UTC).replace(microsecond=0)
        request.meta["vendornews_fetched_at"] = fetched_at.strftime("%Y-%m-%dT%H:%M:%S")
        CrawlArchive.of(self.crawler).response(request, response, fetched_at)
        return response


class WarcItemPipeline:
    """First item pipeline: the manifest of each article on its way to extraction."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcItemPipeline:
        if not crawler.settings.get("VENDORNEWS_WARC_DIR"):
            raise NotConfigured("VENDORNEWS_WARC_DIR is empty: no archive")
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, dict) and item.get("pages"):
            CrawlArchive.of(self.crawler).item(item["pages"], item.get("crawled_at") or "",
                                               item.get("anchors") or ())
        return item
