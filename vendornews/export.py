"""Record dicts as the analyst files hold them: CSV cells and Parquet rows.

Pure functions (no Scrapy): the exporters in ``pipelines/exporters.py`` and the loader in
:mod:`vendornews.loader` share them, so what is written is exactly what is read back.

CSV (opened by people in Excel, WPS or LibreOffice):

* list fields are joined with ``"; "`` (readable, and jieba keywords never contain it);
* a cell that a spreadsheet would run as a formula (first character ``= + - @``, tab or CR)
  gets a leading ``'`` (OWASP "CSV injection"); a cell that already starts with ``'`` gets
  one too, so reading back is unambiguous: drop one leading ``'`` when present
  (:func:`read_csv_cell`);
* a cell is cut to Excel's 32,767-character limit (Excel would spill the rest into the next
  row and shift every row after it); JSONL and Parquet keep the whole text.

Parquet: ``published`` and ``crawled_at`` are real timestamps. ``published`` keeps the page's
wall-clock time (no time zone: pages rarely state one); a date-only ``published``
("YYYY-MM-DD") becomes that day's first instant with ``published_is_date_only`` true, so
"00:00 on that day" and "some time that day" stay apart. ``crawled_at`` is UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from vendornews.record import CSV_FIELDS, FIELD_DOCS

# Fields added to records after extraction (by pipelines), exported when not yet documented.
EXTRA_FIELDS = ("dup_group",)
# Every field of an exported record, in documentation order.
RECORD_FIELDS = (*FIELD_DOCS, *(name for name in EXTRA_FIELDS if name not in FIELD_DOCS))
# Columns of the CSV export: the documented CSV fields plus the pipeline-added ones.
CSV_COLUMNS = (*CSV_FIELDS, *(name for name in EXTRA_FIELDS if name not in CSV_FIELDS))
# Flag column written next to ``published`` (Parquet) and added by the loader.
DATE_ONLY = "published_is_date_only"

LIST_JOIN = "; "
# First characters that make Excel/LibreOffice/WPS evaluate a cell (OWASP CSV injection),
# plus the quote itself so that the escape can be undone without ambiguity.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"
# Excel's maximum characters in one cell (counted in UTF-16 code units).
EXCEL_CELL_LIMIT = 32767
_CUT_MARK = "…"


def _excel_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cut_to_excel(text: str) -> str:
    """``text`` shortened (ending in …) so that it fits in one Excel cell."""
    if _excel_length(text) <= EXCEL_CELL_LIMIT:
        return text
    budget = EXCEL_CELL_LIMIT - 1
    kept: list[str] = []
    for char in text:
        budget -= 2 if ord(char) > 0xFFFF else 1
        if budget < 0:
            break
        kept.append(char)
    return "".join(kept) + _CUT_MARK


def csv_cell(value: Any) -> str:
    """One CSV cell: lists joined, ``None`` empty, formulas neutralized, Excel-sized."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        text = LIST_JOIN.join(str(item) for item in value)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if text.startswith((*FORMULA_STARTS, _ESCAPE)):
        text = _ESCAPE + text
    return _cut_to_excel(text)


def read_csv_cell(cell: str) -> str:
    """Undo :func:`csv_cell`'s formula escape (the cut of over-long cells cannot be undone)."""
    return cell[1:] if cell.startswith(_ESCAPE) else cell


def split_list_cell(cell: str) -> list[str]:
    """A list field back from its CSV cell (after :func:`read_csv_cell`)."""
    return cell.split(LIST_JOIN) if cell else []


def flat_row(record: Mapping[str, Any]) -> dict[str, str]:
    """A record dict as one CSV row: :data:`CSV_COLUMNS`, each cell made safe."""
    return {name: csv_cell(record.get(name)) for name in CSV_COLUMNS}


def parse_published(value: str | None) -> tuple[datetime | None, bool]:
    """``(timestamp, is_date_only)`` of a ``published`` string; ``(None, False)`` when unusable.

    The page's wall-clock time is kept: a time-zone offset, if ever present, is dropped
    rather than converted, as the text stated the local time.
    """
    if not value:
        return None, False
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time()), True
        return datetime.fromisoformat(text).replace(tzinfo=None), False
    except ValueError:
        return None, False


def parse_crawled_at(value: str | datetime | None) -> datetime | None:
    """``crawled_at`` as an aware UTC datetime (a naive value is taken to be UTC)."""
    if value is None or value == "":
        return None
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        return stamp.replace(tzinfo=UTC)
    return stamp.astimezone(UTC)


_REMOVAL = pa.struct([("rule", pa.string()), ("text", pa.string())])
_PARQUET_TYPES: dict[str, pa.DataType] = {
    "published": pa.timestamp("us"),
    DATE_ONLY: pa.bool_(),
    "keywords": pa.list_(pa.string()),
    "pages": pa.int64(),
    "crawled_at": pa.timestamp("us", tz="UTC"),
    "removed": pa.list_(_REMOVAL),
}


def parquet_columns() -> tuple[str, ...]:
    """Columns of the Parquet export: every record field, the date-only flag after ``published``."""
    columns: list[str] = []
    for name in RECORD_FIELDS:
        columns.append(name)
        if name == "published":
            columns.append(DATE_ONLY)
    return tuple(columns)


def parquet_schema() -> pa.Schema:
    """Arrow schema of the Parquet export; fields without a special type are strings.

    The field descriptions of :data:`FIELD_DOCS` travel along as field metadata.
    """
    fields = []
    for name in parquet_columns():
        doc = FIELD_DOCS.get(name)
        if name == DATE_ONLY:
            doc = "True when the page stated only a date: published is that day's 00:00."
        fields.append(
            pa.field(
                name,
                _PARQUET_TYPES.get(name, pa.string()),
                nullable=True,
                metadata={"doc": doc} if doc else None,
            )
        )
    return pa.schema(fields)


def _removals(value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    out = []
    for removal in value:
        if isinstance(removal, Mapping):
            out.append({"rule": removal.get("rule"), "text": removal.get("text")})
        else:  # a vendornews.record.Removal
            out.append({"rule": removal.rule, "text": removal.text})
    return out


def parquet_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record dict as a row matching :func:`parquet_schema` (missing fields are null)."""
    row: dict[str, Any] = {name: record.get(name) for name in parquet_columns()}
    row["published"], row[DATE_ONLY] = parse_published(record.get("published"))
    row["crawled_at"] = parse_crawled_at(record.get("crawled_at"))
    if row["keywords"] is not None:
        row["keywords"] = [str(keyword) for keyword in row["keywords"]]
    row["removed"] = _removals(row["removed"])
    return row
