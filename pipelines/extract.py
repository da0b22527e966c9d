"""Turn a fetched article (one or more pages) into a clean record via the core."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from vendornews import FetchedPage, NotArticle, extract_article
from vendornews.keywords import top_keywords
from vendornews.template import TemplateBook


class ExtractPipeline:
    """Calls :func:`vendornews.extract_article` on each item the spider yields.

    The spider yields ``{"pages": [FetchedPage, ...], "crawled_at": str, "anchors": [str]}``
    (``anchors``: texts of the links that led to the article, optional); this stage returns
    the record dict, or drops the item (counted by reason) when the core says the page is
    not an article. Lines repeated across one site's pages are learned per site as the
    crawl goes (:class:`vendornews.template.TemplateBook`).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
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
        assert self.stats is not None
        if isinstance(result, NotArticle):
            self.stats.inc_value(f"vendornews/not_article/{result.reason}")
            raise DropItem(f"not an article ({result.reason}): {result.url}")
        self.stats.inc_value("vendornews/articles")
        return result.to_dict()
