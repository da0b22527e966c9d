"""The HTML report: its numbers, its escaping, its loaders and CLI, and how Chromium shows it.

Fixture: ``fixtures/report/records.jsonl``, real extractions of dev-farm pages of
``fixtures/farm`` (``fixtures/report/make_records.py`` regenerates it). Expected
numbers are counted here from the records, independently of the report's own counting,
and compared with the ``data-*`` hooks of every chart and table.

The browser tests need Debian's chromium (``scripts/install_chromium.sh``, which
``scripts/setup.sh`` runs); they fail, not skip, when it is missing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import shutil
import subprocess
import sys
from collections import Counter
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vendornews.record import CSV_FIELDS, FIELD_DOCS
from vendornews.report import ReportInputError, build_report, register, write_report

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECORDS = HERE / "fixtures" / "report" / "records.jsonl"
CHROMIUM = Path("/usr/bin/chromium")
CHARTS = ("per-site", "timeline", "coverage", "removed", "dup-clusters")

HOSTILE_TITLE = '</svg></table><script>alert("t")</script><img src=x onerror=alert(1)>'


def load_fixture() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDS.read_text("utf-8").splitlines() if line]


def hostile_record() -> dict[str, Any]:
    """A record as a hostile page could make it: markup in every text field."""
    return {
        "url": "javascript:alert(document.cookie)",
        "site": '"><script>alert("site")</script>',
        "title": HOSTILE_TITLE,
        "published": "2021-01-02",
        "source": "<b>来源</b>",
        "author": "<i onmouseover=alert(2)>作者</i>",
        "editor": None,
        "body": "<script>alert('body')</script>正文" * 5,
        "category": None,
        "keywords": ["<x>"],
        "lang": "zh",
        "pages": 1,
        "crawled_at": "2024-06-01T08:00:00+00:00",
        "content_hash": "0" * 40,
        "removed": [{"rule": "<script>rule</script>", "text": "</td><script>x</script>"}],
        "dup_group": '"><script>alert("g")</script>',
    }


# --------------------------------------------------------------------------- reading HTML


class Hooks(HTMLParser):
    """Collects the chart and table hooks of a report (or of Chromium's DOM dump)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: dict[str, list[dict[str, str]]] = {}
        self.tables: dict[str, list[dict[str, Any]]] = {}
        self.tags: Counter[str] = Counter()
        self.summary: dict[str, str] = {}
        self._chart: str | None = None
        self._table: str | None = None
        self._row: dict[str, Any] | None = None
        self._cell: str | None = None
        self._link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] += 1
        classes = a.get("class", "").split()
        if tag == "svg" and "chart" in classes:
            self._chart = a["data-chart"]
            self.charts[self._chart] = []
        elif tag == "rect" and "bar" in classes and self._chart:
            self.charts[self._chart].append(a)
        elif tag == "table" and "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": {}, "texts": [], "links": {}}
        elif tag == "td" and self._row is not None:
            self._cell = a.get("data-field", str(len(self._row["texts"])))
            self._row["texts"].append("")
        elif tag == "a" and self._cell is not None:
            self._link = a.get("href")
        elif tag == "br" and self._row is not None and self._cell is not None:
            self._row["texts"][-1] += "\n"
        elif tag == "p" and "summary" in classes:
            self.summary = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table:
            if self._row["texts"]:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row["cells"][self._cell] = self._row["texts"][-1]
            if self._link is not None:
                self._row["links"][self._cell] = self._link
            self._cell = self._link = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell is not None:
            self._row["texts"][-1] += data


def hooks(document: str) -> Hooks:
    parser = Hooks()
    parser.feed(document)
    parser.close()
    return parser


def bars(parsed: Hooks, chart: str) -> dict[str, int]:
    """label → value of one chart; labels are unique within a chart."""
    found = parsed.charts[chart]
    labels = [b["data-label"] for b in found]
    assert len(labels) == len(set(labels)), f"{chart}: repeated bar labels"
    return {b["data-label"]: int(b["data-value"]) for b in found}


def filled(value: Any) -> bool:
    """Non-empty as the report counts it: blank text is empty too."""
    if isinstance(value, str):
        return bool(value.strip())
    return value not in (None, [], {})


# --------------------------------------------------------------------------- numbers


def test_every_chart_matches_counts_from_the_records() -> None:
    records = load_fixture()
    assert len(records) >= 10
    parsed = hooks(build_report(records))
    assert set(CHARTS) <= set(parsed.charts)
    assert parsed.summary["data-records"] == str(len(records))

    assert bars(parsed, "per-site") == Counter(r["site"] for r in records)
    site_order = [int(b["data-value"]) for b in parsed.charts["per-site"]]
    assert site_order == sorted(site_order, reverse=True)

    by_month = Counter(r["published"][:7] for r in records if r["published"])
    timeline = bars(parsed, "timeline")
    assert {k: v for k, v in timeline.items() if v} == by_month
    months = list(timeline)
    assert months[0] == min(by_month) and months[-1] == max(by_month)
    year, month = map(int, months[0].split("-"))
    for label in months:  # every month in between, empty ones too
        assert label == f"{year:04d}-{month:02d}"
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    fields = list(FIELD_DOCS)
    coverage = parsed.charts["coverage"]
    assert [b["data-label"] for b in coverage] == fields
    for bar in coverage:
        assert int(bar["data-value"]) == sum(filled(r.get(bar["data-label"])) for r in records)
        assert bar["data-total"] == str(len(records))
    # the fixture has gaps worth showing
    assert 0 < bars(parsed, "coverage")["author"] < len(records)

    rules = Counter(entry["rule"] for r in records for entry in r["removed"])
    assert rules and bars(parsed, "removed") == rules
    table = {row["cells"]["0"]: int(row["cells"]["1"]) for row in parsed.tables["removed"]}
    assert table == rules


def test_duplicate_clusters_list_sizes_titles_and_sites() -> None:
    records = load_fixture()
    parsed = hooks(build_report(records))
    sizes = Counter(r["dup_group"] for r in records if r.get("dup_group"))
    clusters = {g: n for g, n in sizes.items() if n >= 2}
    assert len(clusters) >= 2 and len(sizes) > len(clusters)  # singletons have a group too
    assert bars(parsed, "dup-clusters") == clusters
    values = [int(b["data-value"]) for b in parsed.charts["dup-clusters"]]
    assert values == sorted(values, reverse=True)
    rows = parsed.tables["dup-clusters"]
    assert [r["attrs"]["data-group"] for r in rows] == [b["data-label"]
                                                          for b in parsed.charts["dup-clusters"]]
    for row in rows:
        group = row["attrs"]["data-group"]
        members = [r for r in records if r.get("dup_group") == group]
        assert row["attrs"]["data-size"] == str(len(members))
        assert set(row["cells"]["2"].split("\n")) == {m["title"] for m in members}
        for member in members:
            assert member["site"] in row["cells"]["3"]


def test_sample_table_shows_the_records() -> None:
    records = load_fixture()
    rows = hooks(build_report(records)).tables["sample"]
    assert len(rows) == len(records)  # fewer than the sample size: all of them, in order
    for row, record in zip(rows, records, strict=True):
        cells = row["cells"]
        for field in ("title", "site", "published", "source", "author"):
            assert cells[field] == (record[field] or "")
        assert cells["body"] == " ".join(record["body"][:80].split())
        assert row["links"]["title"] == record["url"]


def test_sample_of_many_records_is_spread_and_bounded() -> None:
    records = [dict(load_fixture()[0], title=f"t{i}") for i in range(101)]
    rows = hooks(build_report(records)).tables["sample"]
    titles = [row["cells"]["title"] for row in rows]
    assert len(titles) == 20 and titles[0] == "t0" and titles[-1] == "t100"
    assert len(set(titles)) == 20


def test_timeline_uses_days_for_a_short_span_and_years_for_a_long_one() -> None:
    base = load_fixture()[0]
    short = [dict(base, published=p) for p in ("2024-03-01T10:00", "2024-03-03", "2024-03-03",
                                                "2024-05-30T23:59:59", "garbled", "2024-02-30",
                                                None)]
    parsed = hooks(build_report(short))
    days = bars(parsed, "timeline")
    assert len(days) == 91 and sum(days.values()) == 4
    assert days["2024-03-01"] == 1 and days["2024-03-02"] == 0 and days["2024-03-03"] == 2
    assert days["2024-05-30"] == 1
    assert "3 records without a usable date" in build_report(short)
    long = [dict(base, published=p) for p in ("2001-05-05", "2020-01-01", "2020-12-31")]
    years = bars(hooks(build_report(long)), "timeline")
    assert len(years) == 20 and years["2020"] == 2 and years["2001"] == 1 and years["2010"] == 0


def test_sites_past_the_top_forty_share_one_bar() -> None:
    base = load_fixture()[0]
    records = [dict(base, site=f"s{i:02d}.example") for i in range(45) for _ in range(50 - i)]
    sites = bars(hooks(build_report(records)), "per-site")
    assert len(sites) == 41 and sites["s00.example"] == 50 and sites["s39.example"] == 11
    assert sites["(5 other sites)"] == 10 + 9 + 8 + 7 + 6
    assert sum(sites.values()) == len(records)


def test_coverage_counts_blank_text_and_empty_lists_as_missing() -> None:
    base = load_fixture()[0]
    records = [dict(base, author=a, keywords=k, pages=p)
               for a, k, p in (("  \n", [], 0), ("", ["x"], 1), ("张三", [], None), (None, [], 2))]
    coverage = bars(hooks(build_report(records)), "coverage")
    assert coverage["author"] == 1 and coverage["keywords"] == 1 and coverage["pages"] == 3
    assert coverage["title"] == 4


def test_no_records_still_gives_every_chart() -> None:
    parsed = hooks(build_report([]))
    assert set(CHARTS) <= set(parsed.charts)
    assert all(not parsed.charts[c] for c in CHARTS if c != "coverage")


# --------------------------------------------------------------------------- escaping


def test_record_text_is_escaped_everywhere() -> None:
    document = build_report([*load_fixture(), hostile_record()])
    assert "<script" not in document.lower()
    assert "<img" not in document.lower() and "<b>" not in document and "<i " not in document
    assert 'href="javascript' not in document
    parsed = hooks(document)
    assert parsed.tags["script"] == 0 and parsed.tags["img"] == 0
    hostile = [r for r in parsed.tables["sample"] if r["cells"]["title"] == HOSTILE_TITLE]
    assert len(hostile) == 1  # shown as text, intact
    assert "title" not in hostile[0]["links"]  # a javascript: URL is not linked
    assert bars(parsed, "per-site")['"><script>alert("site")</script>'] == 1
    assert bars(parsed, "removed")["<script>rule</script>"] == 1
    assert 'Content-Security-Policy' in document and "default-src 'none'" in document


# --------------------------------------------------------------------------- files and CLI


def test_csv_parquet_and_gzip_exports_give_the_same_counts(tmp_path: Path) -> None:
    records = load_fixture()
    expected = hooks(build_report(records))

    gz = tmp_path / "records.jsonl.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    parquet = tmp_path / "records.parquet"  # the Parquet export types its dates
    typed = [{**r, "published": datetime.fromisoformat(r["published"]),
              "published_is_date_only": len(r["published"]) == 10,
              "crawled_at": datetime.fromisoformat(r["crawled_at"])} for r in records]
    pq.write_table(pa.Table.from_pylist(typed), parquet)
    for path in (gz, parquet):
        out = tmp_path / f"{path.name}.html"
        assert write_report([path], out) == len(records)
        got = hooks(out.read_text("utf-8"))
        for chart in CHARTS:
            assert bars(got, chart) == bars(expected, chart), (path.name, chart)
        published = [row["cells"]["published"] for row in got.tables["sample"]]
        assert [p[:16] for p in published] == [r["published"][:16] for r in records]

    # as the CSV export writes it: lists joined with "; ", no removed, a ' before formulas
    table = tmp_path / "records.csv"
    rows = [{**r, "keywords": "; ".join(r["keywords"])} for r in records]
    rows[0]["title"] = "'=HYPERLINK(1)"
    rows[1]["title"] = "''quoted"
    with table.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*CSV_FIELDS, "dup_group"],
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "csv.html"
    write_report([table], out)
    got = hooks(out.read_text("utf-8"))
    for chart in ("per-site", "timeline", "dup-clusters"):
        assert bars(got, chart) == bars(expected, chart)
    assert bars(got, "removed") == {}
    coverage = bars(got, "coverage")
    assert coverage["removed"] == 0
    assert {k: v for k, v in coverage.items() if k != "removed"} == {
        k: v for k, v in bars(expected, "coverage").items() if k != "removed"}
    titles = [row["cells"]["title"] for row in got.tables["sample"]]
    assert titles[:2] == ["=HYPERLINK(1)", "'quoted"]


def test_several_files_add_up(tmp_path: Path) -> None:
    records = load_fixture()
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records[:5]), "utf-8")
    second.write_text("\n" + "".join(json.dumps(r) + "\n" for r in records[5:]), "utf-8")
    out = tmp_path / "deep" / "dir" / "report.html"
    assert write_report([first, second], out) == len(records)
    assert bars(hooks(out.read_text("utf-8")), "per-site") == Counter(r["site"] for r in records)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("<html><body>not records</body></html>\n", "records.jsonl:1: not JSONL"),
        ('{"title": "ok"}\n[1, 2]\n', "records.jsonl:2: not JSONL"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_bad_input_is_one_line_value_error(tmp_path: Path, content: str | bytes | None,
                                           message: str) -> None:
    path = tmp_path / "records.jsonl"
    if isinstance(content, str):
        path.write_text(content, "utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as caught:
        write_report([path], tmp_path / "r.html")
    assert isinstance(caught.value, ReportInputError)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "r.html").exists()


def test_directory_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ReportInputError, match="is a directory"):
        write_report([tmp_path], tmp_path / "r.html")
    with pytest.raises(ReportInputError, match="is a directory"):
        write_report([RECORDS], tmp_path)


def test_register_adds_the_report_subcommand(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="vendornews")
    register(parser.add_subparsers(dest="command", required=True))
    out = tmp_path / "report.html"
    args = parser.parse_args(["report", str(RECORDS), "-o", str(out)])
    assert args.run(args) == 0
    assert hooks(out.read_text("utf-8")).summary["data-records"] == str(len(load_fixture()))
    err = capsys.readouterr().err
    assert err.strip() == f"{out}: report of {len(load_fixture())} records"  # no bar in a pipe
    assert parser.parse_args(["report", str(RECORDS)]).output == "report.html"


def test_progress_bar_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="vendornews")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", str(RECORDS), "-o", str(tmp_path / "r.html")])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert args.run(args) == 0
    assert "reading records" in capsys.readouterr().err


# --------------------------------------------------------------------------- browser


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium offline, with a throwaway profile."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: run scripts/install_chromium.sh (scripts/setup.sh does)")
    profile = tmp_path / "profile"
    command = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    shutil.rmtree(profile, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@pytest.fixture(scope="module")
def browser_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    records = [*load_fixture(), hostile_record()]
    document = build_report(records)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(document, "utf-8")
    return path, document


def test_chromium_renders_every_chart(browser_report: tuple[Path, str], tmp_path: Path) -> None:
    path, document = browser_report
    dom = chromium(tmp_path, "--dump-dom", path.as_uri()).stdout
    rendered, built = hooks(dom), hooks(document)
    assert set(CHARTS) <= set(rendered.charts)
    for chart in CHARTS:
        assert rendered.charts[chart], chart
        assert bars(rendered, chart) == bars(built, chart), chart
    assert len(rendered.tables["sample"]) == len(built.tables["sample"])
    assert rendered.tags["script"] == 0 and rendered.tags["img"] == 0
    assert any(r["cells"]["title"] == HOSTILE_TITLE for r in rendered.tables["sample"])


def test_chromium_screenshot_is_not_blank(browser_report: tuple[Path, str],
                                          tmp_path: Path) -> None:
    from PIL import Image

    path, _ = browser_report
    png = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,3000", path.as_uri())
    with Image.open(png) as image:
        rgb = image.convert("RGB")
    assert rgb.size == (1200, 3000)
    colors = rgb.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50, "screenshot is (nearly) one color"
    # ink on every screen-high band of the first two: charts, not just a heading
    for top in range(0, 2000, 250):
        band = rgb.crop((0, top, 1200, top + 250))
        darkest, _ = cast(tuple[int, int], band.convert("L").getextrema())
        assert darkest < 200, f"blank band at y={top}"


def test_a_cjk_font_is_installed_for_chromium() -> None:
    """Without one, Chinese titles render as boxes (install_chromium.sh adds Noto CJK)."""
    fc_list = shutil.which("fc-list")
    assert fc_list, "fontconfig missing: run scripts/install_chromium.sh"
    fonts = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True,
                           check=True).stdout
    assert fonts.strip(), "no Chinese font installed: run scripts/install_chromium.sh"
