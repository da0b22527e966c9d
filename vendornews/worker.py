"""Extraction in worker processes: one learned template per site, jieba loaded once.

The crawl (``pipelines/extract.py``) and ``vendornews clean`` (:mod:`vendornews.warc`) both
hand articles to worker processes. A worker keeps one :class:`SiteExtractor`, so the pages of
a site it is given (in order) teach it that site's template. This module imports nothing
of Scrapy: a spawned worker starts in well under a second before jieba's tables load.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from vendornews import keywords
from vendornews.extract import extract_article
from vendornews.record import FetchedPage, NotArticle
from vendornews.template import TemplateBook


class SiteExtractor:
    """:func:`extract_article` with one learned template per site (host and port)."""

    def __init__(self, templates: TemplateBook | None = None) -> None:
        self.templates = templates if templates is not None else TemplateBook()

    def extract(self, pages: Sequence[FetchedPage], crawled_at: str | None = None,
                hints: Sequence[str] = ()) -> dict[str, object] | NotArticle:
        """The record as a dict (what the crawl and ``clean`` write, and cheaper to send
        between processes), or why the pages are no article."""
        site = urlsplit(pages[0].url).netloc
        result = extract_article(pages, crawled_at=crawled_at or None, hints=hints,
                                 template=self.templates.for_site(site))
        return result if isinstance(result, NotArticle) else result.to_dict()


# In a worker process: its extractor, made by start().
_EXTRACTOR: SiteExtractor | None = None


def start(parent: int) -> None:
    """Initializer of a worker process; ``parent`` is the pid of the process that started
    it (the crawl, ``vendornews clean``)."""
    global _EXTRACTOR
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    _EXTRACTOR = SiteExtractor()
    keywords.load()  # jieba's tables load here, not on the first article


def _exit_with_parent(parent: int) -> None:
    """End this worker when its parent dies (SIGKILL): a spawned worker holds both ends of
    its task queue, so it would otherwise wait forever, holding its memory."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def use(templates: TemplateBook) -> None:
    """Go on from these learned templates (a batch of pages handed from worker to worker)."""
    global _EXTRACTOR
    _EXTRACTOR = SiteExtractor(templates)


def templates() -> TemplateBook:
    """The templates learned so far, to hand on with the next batch."""
    assert _EXTRACTOR is not None, "vendornews.worker.start (or use) not called"
    return _EXTRACTOR.templates


def ready() -> bool:
    """Whether :func:`start` has run in this process."""
    return _EXTRACTOR is not None


def extract(pages: Sequence[FetchedPage], crawled_at: str | None = None,
            hints: Sequence[str] = ()) -> dict[str, object] | NotArticle:
    """Extract one article in a worker (:meth:`SiteExtractor.extract`)."""
    assert _EXTRACTOR is not None, "vendornews.worker.start (or use) not called"
    return _EXTRACTOR.extract(pages, crawled_at, hints)
