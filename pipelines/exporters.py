"""Feed exporters for analysts, and the one place that says which files a crawl writes.

* ``csv`` (:class:`SafeCsvItemExporter`, replacing Scrapy's): UTF-8 with BOM so Excel
  detects the encoding, list fields joined with "; ", ``removed`` left out, formula-looking
  cells neutralized (see :mod:`vendornews.export`).
* ``parquet`` (:class:`ParquetItemExporter`): typed columns (timestamps, list<string>,
  list<struct<rule,text>>) for pandas/DuckDB/Spark.
* ``jsonlines`` stays Scrapy's: with ``encoding: utf8`` it writes one UTF-8 record per line,
  every field, no ``\\u`` escapes.

``spiders/settings.py`` uses ``FEEDS = default_feeds()`` and ``FEED_EXPORTERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import IO, Any, Self
from weakref import WeakKeyDictionary

import pyarrow as pa
import pyarrow.parquet as pq
from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy import exporters as scrapy_exporters
from scrapy.crawler import Crawler
from scrapy.exporters import BaseItemExporter, CsvItemExporter
from scrapy.statscollectors import StatsCollector

from vendornews.export import CSV_COLUMNS, csv_cell, parquet_row, parquet_schema

logger = logging.getLogger(__name__)

# Format names for FEEDS / -o: "csv" overrides Scrapy's CSV exporter, and the JSON formats
# are Scrapy's with failures counted.
FEED_EXPORTERS: dict[str, str] = {
    "csv": "pipelines.exporters.SafeCsvItemExporter",
    "parquet": "pipelines.exporters.ParquetItemExporter",
    "jsonlines": "pipelines.exporters.JsonLinesItemExporter",
    "jsonl": "pipelines.exporters.JsonLinesItemExporter",
    "json": "pipelines.exporters.JsonItemExporter",
}


# Start time of each running spider, as the feed URIs show it.
_RUN_TIMES: WeakKeyDictionary[Spider, str] = WeakKeyDictionary()


def run_uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """Feed URI params with one ``%(time)s`` per crawl.

    Scrapy computes ``time`` anew for every feed, so the three files of a run could straddle
    a second and get different names; the loader tells runs apart by name.
    """
    params["time"] = _RUN_TIMES.setdefault(spider, params["time"])
    return params


def default_feeds(output_dir: str = "%(output_dir)s") -> dict[str, dict[str, Any]]:
    """FEEDS for a crawl: JSONL, CSV and Parquet of the same records, one set per run.

    ``%(time)s`` (UTC start of the crawl) makes new file names per run: the loader reads a
    folder of runs, one format per run, and keeps the latest version of each article. The
    default folder is the ``vendor_news`` spider's ``output_dir`` argument (default
    "output"); pass a path to fix it instead.
    """
    base = f"{output_dir}/news-%(time)s"
    common = {"uri_params": "pipelines.exporters.run_uri_params"}
    return {
        f"{base}.jsonl": {"format": "jsonlines", "encoding": "utf8", **common},
        f"{base}.csv": {
            "format": "csv",
            "encoding": "utf-8-sig",
            "fields": list(CSV_COLUMNS),
            **common,
        },
        f"{base}.parquet": {"format": "parquet", **common},
    }


class CountedExport:
    """An exporter whose failure on one record is counted and does not stop the feed.

    Scrapy writes a record to each feed in turn and only logs an exception from an exporter:
    that record then misses this feed and every later one, uncounted. Here the failure is
    logged with the record's URL and counted in ``vendornews/export_failed/<format>/<Exception>``;
    the other feeds and records go on (the run's JSONL journal has the record either way).
    """

    format_name = "feed"
    stats: StatsCollector | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        exporter = cls(*args, **kwargs)
        exporter.stats = crawler.stats
        return exporter

    def export_item(self, item: Any) -> Any:
        try:
            # The mixin always precedes a concrete exporter in the class's bases.
            return super().export_item(item)  # type: ignore[misc]
        except Exception as exc:
            url = ItemAdapter(item).get("url") if ItemAdapter.is_item(item) else None
            logger.error("%s feed could not write %s: %r", self.format_name, url, exc,
                         exc_info=True)
            if self.stats is not None:
                self.stats.inc_value(
                    f"vendornews/export_failed/{self.format_name}/{type(exc).__name__}")
            return None


class JsonLinesItemExporter(CountedExport, scrapy_exporters.JsonLinesItemExporter):
    """Scrapy's JSON lines exporter, failures counted (:class:`CountedExport`)."""

    format_name = "jsonlines"


class JsonItemExporter(CountedExport, scrapy_exporters.JsonItemExporter):
    """Scrapy's JSON array exporter, failures counted (:class:`CountedExport`)."""

    format_name = "json"


class SafeCsvItemExporter(CountedExport, CsvItemExporter):
    """Scrapy's CSV exporter with cells made safe and readable by :func:`csv_cell`.

    Without explicit fields it writes :data:`CSV_COLUMNS` (not every key of the first item,
    which would include ``removed``). A plain UTF-8 encoding becomes UTF-8 with BOM: without
    the BOM Excel reads the file as the ANSI code page and garbles Chinese.
    """

    format_name = "csv"

    def __init__(self, file: Any, **kwargs: Any) -> None:
        encoding = kwargs.get("encoding")
        if encoding is None or encoding.replace("-", "").replace("_", "").lower() == "utf8":
            kwargs["encoding"] = "utf-8-sig"
        if not kwargs.get("fields_to_export"):
            kwargs["fields_to_export"] = list(CSV_COLUMNS)
        super().__init__(file, **kwargs)

    def serialize_field(self, field: Mapping[str, Any], name: str, value: Any) -> Any:
        serializer = field.get("serializer")
        return csv_cell(serializer(value) if serializer else value)


class _ParquetRows(BaseItemExporter):
    """Writes items as Parquet row groups of ``row_group_size`` rows.

    Rows are buffered and flushed a row group at a time (bounded memory on long crawls);
    :meth:`finish_exporting` writes the rest and the footer, so the file is valid even with
    no item. The storage's file is left open: Scrapy closes or uploads it afterwards.
    Parquet cannot be appended to: use a new file name per run (``%(time)s``). The columns
    are always those of :func:`~vendornews.export.parquet_schema` (``fields`` is ignored).
    """

    def __init__(self, file: IO[bytes], row_group_size: int = 1000, **kwargs: Any) -> None:
        super().__init__(dont_fail=True, **kwargs)
        self.file = file
        self.row_group_size = row_group_size
        self.schema = parquet_schema()
        self._rows: list[dict[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None

    def start_exporting(self) -> None:
        try:
            position = self.file.tell()
        except (OSError, ValueError):  # a pipe (stdout): nothing was written before
            position = 0
        if position:
            raise ValueError(
                "cannot append Parquet to a non-empty file: use a new file name per run "
                "(%(time)s) or the feed option overwrite=True"
            )
        # Given a Python file object, pyarrow writes to it and leaves it open.
        self._writer = pq.ParquetWriter(self.file, self.schema)

    def export_item(self, item: Any) -> None:
        self._rows.append(parquet_row(ItemAdapter(item).asdict()))
        if len(self._rows) >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if self._writer is None:
            self.start_exporting()
        assert self._writer is not None
        if self._rows:
            self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def finish_exporting(self) -> None:
        self._flush()
        assert self._writer is not None
        self._writer.close()
        self._writer = None


class ParquetItemExporter(CountedExport, _ParquetRows):
    """The Parquet feed: a record that cannot be converted is counted and left out."""

    format_name = "parquet"
