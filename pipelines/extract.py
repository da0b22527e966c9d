"""Turn a fetched article (one or more pages) into a clean record via the core."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler

from pipelines.accounting import Dropped
from vendornews import FetchedPage, NotArticle, extract_article
from vendornews.keywords import top_keywords
from vendornews.template import TemplateBook


class ExtractPipeline:
    """Calls :func:`vendornews.extract_article` on each item the spider yields.

    The spider yields ``{"pages": [FetchedPage, ...], "crawled_at": str, "anchors": [str]}``
    (``anchors``: texts of the links that led to the article, optional); this stage returns
    the record dict, or drops the item when the core says the page is not an article
    (counted by reason, see :mod:`pipelines.accounting`). Lines repeated across one site's
    pages are learned per site as the crawl goes (:class:`vendornews.template.TemplateBook`).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.templates = TemplateBook()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self, spider: object = None) -> None:
        """Load jieba's dictionary now, before any request is in flight.

        Loading it takes seconds and blocks the reactor; done lazily on the first article,
        downloads already running would time out spuriously under a short DOWNLOAD_TIMEOUT.
        """
        top_keywords("预热", "加载词典")

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        pages: list[FetchedPage] = item["pages"]
        site = urlsplit(pages[0].url).netloc  # host and port: one template per site
        result = extract_article(
            pages,
            crawled_at=item.get("crawled_at"),
            hints=item.get("anchors", ()),
            template=self.templates.for_site(site),
        )
        if isinstance(result, NotArticle):
            raise Dropped(f"not_article/{result.reason}",
                          f"not an article ({result.reason}): {result.url}")
        return result.to_dict()
