"""Load crawl exports into one pandas DataFrame: one row per article, its latest version.

``load(path)`` takes a JSONL, CSV or Parquet export, a folder of runs, a glob, or a list of
any of these. A crawl writes each run in several formats (``news-<time>.jsonl|csv|parquet``):
only one file per run is read (Parquet, else JSONL, else CSV: the CSV lacks ``removed`` and
cuts cells longer than Excel allows), so a run is not counted three times. Articles crawled
again in later runs appear once, in their latest version by ``crawled_at``.

Whatever the format, the frame has the same columns and dtypes:

* text fields: pandas' string dtype (missing values NaN; NA on pandas < 2.3);
* ``published``: ``datetime64[us]``, the page's wall-clock time; a date-only value is that
  day's 00:00 with ``published_is_date_only`` (bool) true; unknown → NaT (flag false);
* ``crawled_at``: ``datetime64[us]`` in UTC (naive, so it compares with ``published``);
* ``keywords``: Python lists of str; ``pages``: int64;
* ``removed``: lists of ``{"rule", "text"}`` dicts, ``None`` for rows read from CSV;
* ``dup_group``: string, NA when the crawl had no dedup stage.

Rows are ordered by ``crawled_at`` then ``url``.
"""

from __future__ import annotations

import csv
import glob
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vendornews.export import (
    DATE_ONLY,
    parquet_columns,
    parse_crawled_at,
    parse_published,
    read_csv_cell,
    split_list_cell,
)
from vendornews.record import LIST_FIELDS

# Readable formats by suffix, best first: the one kept when a run was written in several.
FORMATS = (".parquet", ".jsonl", ".jl", ".csv")
COLUMNS = parquet_columns()
DATETIME = "datetime64[us]"
# Text fields that are never null in a record (an empty CSV cell stays "").
_REQUIRED_TEXT = frozenset({"url", "site", "body", "lang", "content_hash"})
_TYPED = frozenset({"published", DATE_ONLY, "crawled_at", "pages", "removed", *LIST_FIELDS})


def _string_dtype() -> pd.StringDtype:
    """pandas' default string dtype (NaN for missing) where available (pandas >= 2.3)."""
    try:
        return pd.StringDtype(na_value=np.nan)  # type: ignore[call-arg,unused-ignore]
    except TypeError:
        return pd.StringDtype()


STRING = _string_dtype()


def _is_pattern(text: str) -> bool:
    return any(char in text for char in "*?[")


def _exports_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in FORMATS)


def _expand(source: str | Path) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        return _exports_in(path)
    if path.is_file():
        if path.suffix not in FORMATS:
            raise ValueError(f"not an export (want {', '.join(FORMATS)}): {path}")
        return [path]
    if _is_pattern(str(source)):
        # A pattern may name files or folders of runs ("output/*/": every worker's folder).
        matches = [Path(m) for m in sorted(glob.glob(str(source), recursive=True))]
        found = [f for p in matches
                 for f in (_exports_in(p) if p.is_dir() else [p] if p.suffix in FORMATS else [])]
        if not found:
            raise FileNotFoundError(f"no export matches {source}")
        return found
    raise FileNotFoundError(source)


def run_files(source: str | Path | Iterable[str | Path]) -> list[Path]:
    """The files :func:`load` reads: one per run (same folder and name stem), best format."""
    sources = [source] if isinstance(source, str | Path) else list(source)
    best: dict[Path, Path] = {}
    for item in sources:
        for path in _expand(item):
            run = path.with_suffix("")
            kept = best.get(run)
            if kept is None or FORMATS.index(path.suffix) < FORMATS.index(kept.suffix):
                best[run] = path
    return sorted(best.values())


def _jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8-sig") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _csv_rows(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a CSV export with cells decoded back to record values."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for cells in csv.DictReader(handle):
            row: dict[str, Any] = {}
            for name, cell in cells.items():
                if name is None:  # surplus cells of a malformed row
                    continue
                text = read_csv_cell(cell or "")
                if name in LIST_FIELDS:
                    row[name] = split_list_cell(text)
                elif text or name in _REQUIRED_TEXT:
                    row[name] = text
                else:
                    row[name] = None
            yield row


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    yield from pq.read_table(path).to_pylist()


def _published(row: Mapping[str, Any]) -> tuple[datetime | None, bool]:
    value = row.get("published")
    if isinstance(value, datetime):  # Parquet: already a timestamp, flag beside it
        return pd.Timestamp(value).to_pydatetime().replace(tzinfo=None), bool(row.get(DATE_ONLY))
    return parse_published(value)


def _canonical(row: Mapping[str, Any]) -> dict[str, Any]:
    """One record in the loader's value types, whatever file it came from."""
    out = dict(row)
    out["published"], out[DATE_ONLY] = _published(row)
    crawled = parse_crawled_at(row.get("crawled_at"))
    out["crawled_at"] = None if crawled is None else crawled.replace(tzinfo=None)
    for name in LIST_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            value = split_list_cell(value)
        out[name] = [str(item) for item in value] if value is not None else []
    pages = row.get("pages")
    # Every record has at least its first page.
    out["pages"] = int(pages) if pages is not None else 1
    removed = row.get("removed")
    out["removed"] = None if removed is None else [dict(entry) for entry in removed]
    return out


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Records of one export file, as :func:`_canonical` dicts (all versions kept)."""
    path = Path(path)
    if path.suffix == ".parquet":
        raw: Iterable[dict[str, Any]] = _parquet_rows(path)
    elif path.suffix == ".csv":
        raw = _csv_rows(path)
    else:
        raw = _jsonl_rows(path)
    return [_canonical(row) for row in raw]


def frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The loader's DataFrame of canonical rows (every column typed, even with no row)."""
    extras = [name for row in rows for name in row if name not in COLUMNS]
    columns: dict[str, pd.Series] = {}
    for name in (*COLUMNS, *dict.fromkeys(extras)):
        values = [row.get(name) for row in rows]
        if name in ("published", "crawled_at"):
            series = pd.Series(values, dtype=DATETIME)
        elif name == DATE_ONLY:
            series = pd.Series([bool(value) for value in values], dtype=bool)
        elif name == "pages":
            series = pd.Series(values, dtype="int64")
        elif name in _TYPED or name not in COLUMNS:
            series = pd.Series(values, dtype=object)
        else:
            series = pd.Series(values, dtype=STRING)
        columns[name] = series
    return pd.DataFrame(columns)


def latest_per_url(df: pd.DataFrame) -> pd.DataFrame:
    """One row per ``url``: the one crawled last (later file wins a tie), ordered by time."""
    ordered = df.sort_values("crawled_at", kind="stable", na_position="first")
    latest = ordered.drop_duplicates("url", keep="last")
    return latest.sort_values(["crawled_at", "url"], kind="stable").reset_index(drop=True)


def load(path: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Exports at ``path`` (file, folder, glob or list of them) as one typed DataFrame."""
    rows: list[dict[str, Any]] = []
    for file in run_files(path):
        rows.extend(read_rows(file))
    return latest_per_url(frame(rows))
