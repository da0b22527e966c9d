"""Components that fail on one chosen article, for the "no data lost" crawl test.

Loaded by the crawl subprocess of ``tests/test_accounting.py`` (``tests/`` on PYTHONPATH);
they stand for a buggy pipeline step and a feed exporter that cannot write one record. The
article each fails on comes from the settings the test passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scrapy.crawler import Crawler

from pipelines.exporters import SafeCsvItemExporter

# The CSV feed cannot write the record of this URL path (a class attribute: Scrapy builds
# exporters without settings).
CSV_FAILS_ON = "/dongfang/news_show.asp?id=12"


class RaisingPipeline:
    """Raises RuntimeError on the article whose URL ends with setting FAULTY_ARTICLE."""

    def __init__(self, suffix: str) -> None:
        self.suffix = suffix

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RaisingPipeline:
        return cls(crawler.settings.get("FAULTY_ARTICLE"))

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if item["url"].endswith(self.suffix):
            raise RuntimeError("a bug in a pipeline step")
        return item


class CsvFailingOnOne(SafeCsvItemExporter):
    """The project's CSV exporter, unable to serialize one record's URL."""

    def serialize_field(self, field: Mapping[str, Any], name: str, value: Any) -> Any:
        if name == "url" and str(value).endswith(CSV_FAILS_ON):
            raise ValueError("cannot write this cell")
        return super().serialize_field(field, name, value)
