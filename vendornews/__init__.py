"""vendornews: clean news records from Chinese vendor-site pages.

The core is pure: bytes + URL (+ headers) -> :class:`Record`. Nothing here imports Scrapy.
``vendornews.load`` (in :mod:`vendornews.loader`: pandas, pyarrow) is imported on first use,
so that extraction and the crawl do not pay half a second for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vendornews.extract import extract, extract_article
from vendornews.record import FetchedPage, NotArticle, Record

if TYPE_CHECKING:
    from vendornews.loader import load

__all__ = ["FetchedPage", "NotArticle", "Record", "extract", "extract_article", "load"]


def __getattr__(name: str) -> Any:
    if name == "load":
        from vendornews.loader import load

        globals()["load"] = load
        return load
    raise AttributeError(f"module 'vendornews' has no attribute {name!r}")
