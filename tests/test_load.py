"""The loader: any export format, folders of runs and globs, to one typed DataFrame.

Exports are written by the real exporters (``write_export`` from ``test_export``) from
records the core extracted from real pages.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_export import CRAWLED_AT, HYPERLINK, article_records, write_export

from vendornews.loader import load, run_files

FORMATS = (".jsonl", ".csv", ".parquet")


def _loaded(records: list[dict[str, Any]], folder: Path) -> dict[str, pd.DataFrame]:
    folder.mkdir(parents=True, exist_ok=True)
    return {suffix: load(write_export(records, folder / f"news{suffix}")) for suffix in FORMATS}


def test_every_format_loads_to_the_same_frame(tmp_path: Path) -> None:
    records = article_records()
    frames = _loaded(records, tmp_path)
    pd.testing.assert_frame_equal(frames[".jsonl"], frames[".parquet"])
    # The CSV has every column but cannot carry `removed`: it loads as None.
    assert frames[".csv"]["removed"].isna().all()
    pd.testing.assert_frame_equal(
        frames[".csv"].drop(columns="removed"), frames[".jsonl"].drop(columns="removed")
    )
    assert list(frames[".csv"].columns) == list(frames[".jsonl"].columns)
    assert frames[".jsonl"]["removed"].tolist() == [
        r["removed"] for r in sorted(records, key=lambda r: r["url"])
    ]


def test_dtypes(tmp_path: Path) -> None:
    frame = load(write_export(article_records(), tmp_path / "news.jsonl"))
    assert frame["published"].dtype == "datetime64[us]"
    assert frame["crawled_at"].dtype == "datetime64[us]"
    assert frame["published_is_date_only"].dtype == bool
    assert frame["pages"].dtype == "int64"
    assert isinstance(frame["title"].dtype, pd.StringDtype)
    assert all(isinstance(keywords, list) for keywords in frame["keywords"])
    assert (frame["crawled_at"] == pd.Timestamp(CRAWLED_AT).tz_convert(None)).all()

    by_url = frame.set_index("url")
    two_pages = by_url.loc["http://farm.test/apsww/html/hangye/2797.htm"]
    assert two_pages["published"] == pd.Timestamp("2022-03-02")
    assert bool(two_pages["published_is_date_only"]) and two_pages["pages"] == 2
    minutes = by_url.loc["http://farm.test/bfzx/a/jishu/1749.html"]
    assert minutes["published"] == pd.Timestamp("2024-02-17 12:55")
    assert not minutes["published_is_date_only"]
    hostile = by_url.loc["http://www.example.com/news/2.html"]
    assert hostile["title"] == HYPERLINK  # the CSV escape is the CSV's business only
    assert hostile["keywords"] == ["=cmd|' /C calc'!A0", "@SUM(1)", "+86", "普通"]
    assert hostile["editor"] == "'单引号" and pd.isna(hostile["dup_group"])


def test_csv_round_trip_restores_neutralized_cells(tmp_path: Path) -> None:
    records = article_records()
    frame = load(write_export(records, tmp_path / "news.csv")).set_index("url")
    hostile = records[-1]
    row = frame.loc[hostile["url"]]
    for name in ("title", "body", "author", "source", "editor"):
        assert row[name] == hostile[name], name
    assert pd.isna(frame.loc["http://www.example.com/news/1.html", "author"])


def _run(
    folder: Path, stamp: str, records: list[dict[str, Any]], suffixes: tuple[str, ...]
) -> None:
    for suffix in suffixes:
        write_export(records, folder / f"news-{stamp}{suffix}")


def _recrawl(record: dict[str, Any], title: str, when: str) -> dict[str, Any]:
    return {**record, "title": title, "crawled_at": when, "content_hash": "f" * 40}


def test_folder_of_runs_keeps_the_latest_version_of_each_url(tmp_path: Path) -> None:
    first, second, *rest = article_records()
    later = "2024-05-02T08:00:00+00:00"
    _run(tmp_path, "2024-05-01T08-00-00", [first, second], FORMATS)
    _run(tmp_path, "2024-05-02T08-00-00", [_recrawl(first, "新标题", later), *rest], FORMATS)
    frame = load(tmp_path)
    assert len(frame) == 2 + len(rest)
    assert frame["url"].is_unique
    row = frame.set_index("url").loc[first["url"]]
    assert row["title"] == "新标题" and row["crawled_at"] == pd.Timestamp("2024-05-02 08:00")
    # one file per run, the richest format
    assert [p.name for p in run_files(tmp_path)] == [
        "news-2024-05-01T08-00-00.parquet", "news-2024-05-02T08-00-00.parquet"
    ]
    assert frame["removed"].notna().all()


def test_an_older_run_does_not_win_by_file_order(tmp_path: Path) -> None:
    first = article_records()[0]
    # the run named later holds the older crawl of the article
    _run(tmp_path, "b", [first], (".jsonl",))
    _run(tmp_path, "a", [_recrawl(first, "新标题", "2024-06-01T00:00:00+00:00")], (".csv",))
    assert load(tmp_path)["title"].tolist() == ["新标题"]


def test_runs_in_different_formats_are_all_read(tmp_path: Path) -> None:
    records = article_records()
    _run(tmp_path, "1", records[:2], (".csv",))
    _run(tmp_path, "2", records[2:4], (".jsonl",))
    _run(tmp_path, "3", records[4:], (".parquet",))
    frame = load(tmp_path)
    assert sorted(frame["url"]) == sorted(r["url"] for r in records)
    assert frame.set_index("url")["removed"].isna().sum() == 2  # the CSV run's rows


def test_glob_and_list_of_paths(tmp_path: Path) -> None:
    records = article_records()
    _run(tmp_path, "2024-05-01T08-00-00", records[:2], FORMATS)
    _run(tmp_path, "2024-05-02T08-00-00", records[2:4], FORMATS)
    _run(tmp_path, "2024-06-01T08-00-00", records[4:], FORMATS)
    may = load(str(tmp_path / "news-2024-05-*"))
    assert sorted(may["url"]) == sorted(r["url"] for r in records[:4])
    only_csv = load(str(tmp_path / "*.csv"))
    assert len(only_csv) == len(records) and only_csv["removed"].isna().all()
    june = tmp_path / "news-2024-06-01T08-00-00"
    listed = load([june.with_suffix(".jsonl"), june.with_suffix(".csv")])
    assert sorted(listed["url"]) == sorted(r["url"] for r in records[4:])
    assert listed["removed"].notna().all()  # the JSONL of the run, not its CSV


def test_a_glob_of_worker_folders(tmp_path: Path) -> None:
    """``load("output/*/")``: each worker's output folder, as the scale-out docs say."""
    records = article_records()
    for host in ("host-1", "host-2"):
        (tmp_path / host).mkdir()
    _run(tmp_path / "host-1", "2024-05-01T08-00-00", records[:3], FORMATS)
    _run(tmp_path / "host-2", "2024-05-01T08-00-00", records[3:], FORMATS)
    frame = load(f"{tmp_path}/*/")
    assert sorted(frame["url"]) == sorted(r["url"] for r in records)
    assert frame["removed"].notna().all()  # each run's JSONL


def test_empty_folder_gives_a_typed_empty_frame(tmp_path: Path) -> None:
    frame = load(tmp_path)
    full = load(write_export(article_records(), tmp_path / "news.jsonl"))
    assert frame.empty
    assert frame.dtypes.to_dict() == full.dtypes.to_dict()


def test_missing_paths_raise(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.jsonl")
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / "news-*.parquet"))
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError):
        load(tmp_path / "notes.txt")



def test_vendornews_load_is_the_function_whatever_was_imported_first() -> None:
    """The loader module is not named ``load``: importing it cannot shadow the function."""
    code = ("import vendornews.loader, vendornews; "
            "assert vendornews.load is vendornews.loader.load, vendornews.load")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
