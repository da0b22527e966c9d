"""Turn a fetched article (one or more pages) into a clean record via the core.

Extraction is the crawl's main CPU cost. Scrapy runs pipelines on its reactor thread, where
it would hold up downloads and the spider's link discovery, so by default each article is
extracted in a worker process (setting ``VENDORNEWS_EXTRACT_WORKERS``): all pages of one
site go to the same worker, which keeps that site's learned template.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import zlib
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler

from pipelines.accounting import Dropped
from vendornews import NotArticle, keywords, worker

logger = logging.getLogger(__name__)


def default_workers() -> int:
    """One worker per core beyond the one the reactor needs (at least 1, at most 4)."""
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class ExtractPipeline:
    """Calls :func:`vendornews.extract_article` on each item the spider yields.

    The spider yields ``{"pages": [FetchedPage, ...], "crawled_at": str, "anchors": [str]}``
    (``anchors``: texts of the links that led to the article, optional); this stage returns
    the record dict, or drops the item when the core says the page is not an article
    (counted by reason, see :mod:`pipelines.accounting`). Lines repeated across one site's
    pages are learned per site as the crawl goes (:class:`vendornews.template.TemplateBook`).

    ``VENDORNEWS_EXTRACT_WORKERS`` (default: cores - 1, 1 to 4) worker processes, each a
    single-process pool so that a site always lands on the same one; 0 extracts on the
    reactor thread, in order. A worker that dies is replaced; the articles it held are
    counted as errors (``vendornews/items/error/BrokenProcessPool``) and, never recorded in
    the state, fetched again by the next run.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.local = worker.SiteExtractor()
        self.pools: list[Executor] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        setting = crawler.settings.get("VENDORNEWS_EXTRACT_WORKERS")
        workers = default_workers() if setting in (None, "") else int(setting)
        return cls(max(0, workers))

    def open_spider(self, spider: object = None) -> None:
        """Start the workers (or load jieba here) and wait until they are ready, before any
        request is in flight.

        Loading jieba takes seconds; done lazily on the first article, it would block the
        reactor (or hold up the first articles) while downloads run, and they would time out
        under a short DOWNLOAD_TIMEOUT.
        """
        if self.workers == 0:
            keywords.load()
        self.pools = [self._new_pool() for _ in range(self.workers)]
        for started in [pool.submit(worker.ready) for pool in self.pools]:
            started.result()

    def close_spider(self, spider: object = None) -> None:
        for pool in self.pools:
            pool.shutdown(wait=True, cancel_futures=True)
        self.pools = []

    @staticmethod
    def _new_pool() -> Executor:
        # spawn: a fork of a process running the reactor's threads could inherit held locks.
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker.start, initargs=(os.getpid(),))

    async def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        pages, crawled_at, hints = item["pages"], item.get("crawled_at"), item.get("anchors", ())
        if not self.pools:
            result = self.local.extract(pages, crawled_at, hints)
        else:
            site = urlsplit(pages[0].url).netloc
            slot = zlib.crc32(site.encode()) % len(self.pools)
            pool = self.pools[slot]
            try:
                result = await asyncio.get_running_loop().run_in_executor(
                    pool, worker.extract, pages, crawled_at, hints)
            except BrokenProcessPool:
                logger.error("extraction worker died on %s", pages[0].url)
                if self.pools[slot] is pool:  # the first of its articles to notice
                    pool.shutdown(wait=False, cancel_futures=True)
                    self.pools[slot] = self._new_pool()
                raise
        if isinstance(result, NotArticle):
            raise Dropped(f"not_article/{result.reason}",
                          f"not an article ({result.reason}): {result.url}")
        return result
