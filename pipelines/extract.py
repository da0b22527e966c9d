"""Turn a fetched article (one or more pages) into a clean record via the core."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from vendornews import FetchedPage, NotArticle, extract_article


class ExtractPipeline:
    """Calls :func:`vendornews.extract_article` on each item the spider yields.

    The spider yields ``{"pages": [FetchedPage, ...], "crawled_at": str}``; this stage
    replaces it with the record dict, or drops it (counted by reason) when the core says
    the page is not an article.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        pages: list[FetchedPage] = item["pages"]
        result = extract_article(pages, crawled_at=item.get("crawled_at"))
        if isinstance(result, NotArticle):
            assert self.stats is not None
            self.stats.inc_value(f"vendornews/not_article/{result.reason}")
            raise DropItem(f"not an article ({result.reason}): {result.url}")
        return result.to_dict()
