"""Where every article went: seen, exported, dropped (and why) or lost to an error.

Every item the spider yields (a fetched article) ends in exactly one bucket, kept in the
crawl's stats and summed up in one log line when the spider closes:

* ``vendornews/items/exported``: it went through every pipeline (journaled as a record);
* ``vendornews/items/dropped/<reason>``: a pipeline decided against it on purpose
  (:class:`Dropped` gives the reason: ``not_article/<why>``, ``unchanged``, ...);
* ``vendornews/items/error/<Exception>``: a pipeline raised; Scrapy logs the traceback and
  goes on with the next item, this counts it;
* ``vendornews/items/seen``: the sum of the three, set at close.

A feed exporter that fails on one record (``vendornews/export_failed/<format>/<Exception>``)
is counted by :class:`pipelines.exporters.CountedExport`; the record stays in the run's JSONL
journal and in the other feeds.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector
from twisted.python.failure import Failure

logger = logging.getLogger(__name__)

PREFIX = "vendornews/items"


class Dropped(DropItem):
    """A deliberate drop, with a short machine-readable ``reason`` for the stats."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def drop_reason(exception: BaseException) -> str:
    """The stats key of a drop: :class:`Dropped`'s reason, else the exception's class."""
    return getattr(exception, "reason", None) or type(exception).__name__


class ItemAccounting:
    """Extension counting each item's fate (see the module docstring)."""

    def __init__(self, stats: StatsCollector) -> None:
        self.stats = stats
        self.dropped: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.exported = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ItemAccounting:
        assert crawler.stats is not None
        accounting = cls(crawler.stats)
        crawler.signals.connect(accounting.item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(accounting.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(accounting.item_error, signal=signals.item_error)
        crawler.signals.connect(accounting.spider_closed, signal=signals.spider_closed)
        return accounting

    def item_scraped(self, item: Any) -> None:
        self.exported += 1
        self.stats.inc_value(f"{PREFIX}/exported")

    def item_dropped(self, item: Any, exception: BaseException) -> None:
        reason = drop_reason(exception)
        self.dropped[reason] += 1
        self.stats.inc_value(f"{PREFIX}/dropped/{reason}")

    def item_error(self, item: Any, failure: Failure) -> None:
        name = type(failure.value).__name__
        self.errors[name] += 1
        self.stats.inc_value(f"{PREFIX}/error/{name}")

    def spider_closed(self, spider: Spider, reason: str) -> None:
        dropped, errors = self.dropped.total(), self.errors.total()
        seen = self.exported + dropped + errors
        self.stats.set_value(f"{PREFIX}/seen", seen)
        self.stats.set_value(f"{PREFIX}/dropped", dropped)
        self.stats.set_value(f"{PREFIX}/error", errors)
        logger.log(
            logging.ERROR if errors else logging.INFO,
            "articles: %d seen, %d exported, %d dropped%s, %d lost to errors%s",
            seen, self.exported, dropped, _breakdown(self.dropped), errors, _breakdown(self.errors),
        )


def _breakdown(counts: Counter[str]) -> str:
    return f" ({', '.join(f'{key} {n}' for key, n in counts.most_common())})" if counts else ""
