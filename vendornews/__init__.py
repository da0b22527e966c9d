"""vendornews: clean news records from Chinese vendor-site pages.

The core is pure: bytes + URL (+ headers) -> :class:`Record`. Nothing here imports Scrapy.
"""

from vendornews.extract import extract, extract_article
from vendornews.load import load
from vendornews.record import FetchedPage, NotArticle, Record

__all__ = ["FetchedPage", "NotArticle", "Record", "extract", "extract_article", "load"]
