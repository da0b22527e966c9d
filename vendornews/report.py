"""One self-contained HTML page that shows what a crawl produced.

``vendornews report RECORDS... -o report.html`` reads exported records (JSONL, CSV or
Parquet) and draws: articles per site, a publish-date timeline, field coverage, what
cleaning removed by rule, the largest duplicate clusters and a sample of records.

Charts are inline SVG written here, so the page needs no network and no JavaScript to
view (a Content-Security-Policy forbids both). Every piece of record text comes from
hostile pages and is escaped. Each chart carries stable hooks for tests and scripts:
``<svg class="chart" data-chart="NAME">`` with one ``<rect class="bar" data-label=…
data-value=…>`` per bar, and tables carry ``data-table="NAME"``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import html
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from tqdm import tqdm

from vendornews.record import FIELD_DOCS

FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", '
              '"Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", sans-serif')
COVERAGE_FIELDS: tuple[str, ...] = tuple(FIELD_DOCS)
TOP_SITES = 40
TOP_CLUSTERS = 10
SAMPLE_SIZE = 20
BODY_PREVIEW = 80
# The Parquet export stores ``published`` as a timestamp and flags date-only ones here.
DATE_ONLY = "published_is_date_only"
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PALETTE = ("#3b6fb6", "#d9822b", "#3d9970", "#b5485d", "#7b5ea7", "#6b8e23")

Record = dict[str, Any]


class ReportInputError(ValueError):
    """Bad input for the report (missing file, not JSONL …), in one line for the CLI."""


# --------------------------------------------------------------------------- loading


def load_records(path: Path, progress: tqdm | None = None) -> list[Record]:
    """Read one export file; the format follows the suffix (``.gz`` allowed for JSONL/CSV).

    Unknown suffixes are read as JSONL, the format every export has.
    """
    if not path.exists():
        raise ReportInputError(f"{path}: no such file")
    if path.is_dir():
        raise ReportInputError(f"{path}: is a directory, give record files")
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    kind = (suffixes[-2] if compressed and len(suffixes) > 1 else
            suffixes[-1] if suffixes and not compressed else "")
    if kind in (".parquet", ".pq"):
        records = _read_parquet(path)
        if progress is not None:
            progress.update(path.stat().st_size)
        return records
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            if kind == ".csv":
                records = _read_csv(handle)
                if progress is not None:
                    progress.update(path.stat().st_size)
                return records
            return list(_read_jsonl(path, handle, progress))
    except UnicodeDecodeError as error:
        raise ReportInputError(f"{path}: not UTF-8 text ({error.reason})") from None
    except (OSError, EOFError) as error:
        raise ReportInputError(f"{path}: cannot read ({error})") from None


def _read_jsonl(path: Path, handle: IO[str], progress: tqdm | None) -> Iterator[Record]:
    for number, line in enumerate(handle, start=1):
        if progress is not None:
            progress.update(len(line.encode("utf-8")))
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ReportInputError(f"{path}:{number}: not JSONL ({error.msg})") from None
        if not isinstance(value, dict):
            raise ReportInputError(f"{path}:{number}: not JSONL (a line is not a JSON object)")
        yield value


def _read_csv(handle: IO[str]) -> list[Record]:
    """CSV rows as records: empty cells are missing values, as in the JSONL export.

    The CSV export puts a ``'`` before a cell a spreadsheet would run as a formula (and
    before one that starts with ``'``); one leading ``'`` is dropped to undo that.
    """
    return [{key: _csv_cell(value) for key, value in row.items() if key}
            for row in csv.DictReader(handle)]


def _csv_cell(cell: str | None) -> str | None:
    if not cell:
        return None
    return cell[1:] if cell.startswith("'") else cell


def _read_parquet(path: Path) -> list[Record]:
    try:
        import pyarrow.parquet as pq

        return [dict(row) for row in pq.read_table(path).to_pylist()]
    except (OSError, ValueError) as error:
        raise ReportInputError(f"{path}: not a Parquet file ({error})") from None


# --------------------------------------------------------------------------- counting


def is_filled(value: Any) -> bool:
    """The coverage test: present and not blank (``None``, ``""``, ``[]`` count as empty)."""
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | dict | set):
        return len(value) > 0
    return True


def publish_date(record: Record) -> date | None:
    """The day an article was published, or None when missing or not a date."""
    match = _DATE.match(str(record.get("published") or ""))
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def removals(record: Record) -> list[dict[str, str]]:
    """The ``removed`` entries of a record, whether stored as a list or a JSON string."""
    value = record.get("removed")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return []
    if not isinstance(value, list):
        return []
    return [{"rule": str(r.get("rule") or "?"), "text": str(r.get("text") or "")}
            for r in value if isinstance(r, dict)]


def count_sites(records: Sequence[Record]) -> list[tuple[str, int]]:
    """Articles per site, largest first; records without a site count as ``(none)``."""
    counts = Counter(str(r.get("site") or "(none)") for r in records)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def timeline(records: Sequence[Record]) -> tuple[str, list[tuple[str, int]], int]:
    """Articles per day, month or year (whichever gives a readable number of bars).

    Returns the unit, every bucket from the first date to the last (empty ones too, so
    gaps show) and the number of records with no usable date.
    """
    days = [d for d in (publish_date(r) for r in records) if d is not None]
    undated = len(records) - len(days)
    if not days:
        return "month", [], undated
    first, last = min(days), max(days)
    months = (last.year - first.year) * 12 + last.month - first.month
    if (last - first).days <= 92:
        unit, key = "day", (lambda d: d.isoformat())
        labels = [date.fromordinal(n).isoformat()
                  for n in range(first.toordinal(), last.toordinal() + 1)]
    elif months <= 120:
        unit, key = "month", (lambda d: f"{d.year:04d}-{d.month:02d}")
        labels = [_month(first.year * 12 + first.month - 1 + i) for i in range(months + 1)]
    else:
        unit, key = "year", (lambda d: f"{d.year:04d}")
        labels = [f"{y:04d}" for y in range(first.year, last.year + 1)]
    counts = Counter(key(d) for d in days)
    return unit, [(label, counts.get(label, 0)) for label in labels], undated


def _month(index: int) -> str:
    """``YYYY-MM`` of a month counted from year 0 (index = year * 12 + month - 1)."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def coverage(records: Sequence[Record]) -> list[tuple[str, int]]:
    """For each record field, how many records have it filled, in schema order."""
    return [(name, sum(1 for r in records if is_filled(r.get(name)))) for name in COVERAGE_FIELDS]


def removed_by_rule(records: Sequence[Record]) -> list[tuple[str, int]]:
    """How many ``removed`` entries each cleaning rule produced, most first."""
    counts = Counter(entry["rule"] for r in records for entry in removals(r))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Cluster:
    """A near-duplicate cluster: its id and its member records in input order."""

    group: str
    members: tuple[Record, ...]


def dup_clusters(records: Sequence[Record], top: int = TOP_CLUSTERS) -> list[Cluster]:
    """The largest ``dup_group`` clusters with at least two members, largest first."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        group = record.get("dup_group")
        if is_filled(group):
            groups.setdefault(str(group), []).append(record)
    clusters = [Cluster(g, tuple(m)) for g, m in groups.items() if len(m) >= 2]
    clusters.sort(key=lambda c: (-len(c.members), c.group))
    return clusters[:top]


def sample(records: Sequence[Record], size: int = SAMPLE_SIZE) -> list[Record]:
    """Up to ``size`` records spread evenly over the input, first and last included."""
    if len(records) <= size:
        return list(records)
    step = (len(records) - 1) / (size - 1)
    return [records[round(i * step)] for i in range(size)]


def shown(value: Any) -> str:
    """A cell's text: dates and times (Parquet gives them typed) in ISO form."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep="T", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def body_preview(record: Record) -> str:
    """The first characters of the body on one line, as the sample table shows them."""
    body = str(record.get("body") or "")
    return " ".join(body[:BODY_PREVIEW].split())


# --------------------------------------------------------------------------- drawing


def _esc(value: Any) -> str:
    """Escape text for HTML content and attributes; drop control characters SVG rejects."""
    return html.escape(_CONTROL.sub("", "" if value is None else str(value)), quote=True)


def _text_width(text: str, size: float) -> float:
    """Rough rendered width: CJK glyphs are a full em, Latin about 0.6 em."""
    return sum(size if ord(ch) > 0x2E7F else size * 0.6 for ch in text)


def _fit(text: str, width: float, size: float) -> str:
    """Cut ``text`` with an ellipsis so it fits ``width`` pixels."""
    text = " ".join(text.split())
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


@dataclass(frozen=True)
class Bar:
    """One bar: its data label, its count, the text shown beside it and a tooltip."""

    label: str
    value: int
    shown: str = ""
    note: str = ""
    total: int | None = None


def hbar_chart(name: str, bars: Sequence[Bar], *, caption: str, width: int = 960,
               label_width: int = 300) -> str:
    """A horizontal bar chart; bars scale to the largest value (or ``total`` when given)."""
    if not bars:
        return _empty(name, caption)
    row, size = 24, 13.0
    top = 8
    height = top + row * len(bars) + 8
    value_room = max(_text_width(_value_text(b), size) for b in bars) + 16
    plot = width - label_width - value_room
    scale = max([b.total or b.value for b in bars] + [1])
    parts = [_svg_open(name, width, height, caption)]
    for i, bar in enumerate(bars):
        y = top + i * row
        length = plot * bar.value / scale
        label = bar.shown or bar.label
        total = f' data-total="{bar.total}"' if bar.total is not None else ""
        tip = f"{bar.label}: {bar.value}" + (f" — {bar.note}" if bar.note else "")
        parts.append(
            f'<text class="label" x="{label_width - 8}" y="{y + 16}" text-anchor="end">'
            f"{_esc(_fit(label, label_width - 12, size))}</text>"
        )
        if bar.total is not None:
            parts.append(f'<rect class="track" x="{label_width}" y="{y + 4}" '
                         f'width="{plot:.1f}" height="{row - 8}"/>')
        parts.append(
            f'<rect class="bar" data-label="{_esc(bar.label)}" data-value="{bar.value}"{total} '
            f'x="{label_width}" y="{y + 4}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{_PALETTE[i % len(_PALETTE)] if name == "per-site" else _PALETTE[0]}">'
            f"<title>{_esc(tip)}</title></rect>"
        )
        value_text = _value_text(bar)
        parts.append(f'<text class="value" x="{label_width + max(length, 0) + 6:.1f}" '
                     f'y="{y + 16}">{_esc(value_text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _value_text(bar: Bar) -> str:
    if bar.total is None:
        return str(bar.value)
    share = 100 * bar.value / bar.total if bar.total else 0
    return f"{share:.0f}%  ({bar.value}/{bar.total})"


def vbar_chart(name: str, bars: Sequence[tuple[str, int]], *, caption: str,
               width: int = 960, height: int = 260) -> str:
    """A vertical bar chart over ordered buckets, with about a dozen x labels at most."""
    if not bars:
        return _empty(name, caption)
    left, right, top, bottom = 40, 10, 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([v for _, v in bars] + [1])
    slot = plot_w / len(bars)
    every = max(1, math.ceil(len(bars) / 12))
    parts = [_svg_open(name, width, height, caption)]
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{tick}</text>')
    for i, (label, value) in enumerate(bars):
        x = left + i * slot
        h = plot_h * value / peak
        parts.append(
            f'<rect class="bar" data-label="{_esc(label)}" data-value="{value}" '
            f'x="{x + slot * 0.1:.1f}" y="{top + plot_h - h:.1f}" '
            f'width="{max(slot * 0.8, 1):.1f}" height="{h:.1f}" fill="{_PALETTE[0]}">'
            f"<title>{_esc(label)}: {value}</title></rect>"
        )
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + slot / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle">{_esc(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(name: str, width: int, height: int, caption: str) -> str:
    return (f'<svg class="chart" data-chart="{_esc(name)}" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
            f'aria-label="{_esc(caption)}">')


def _empty(name: str, caption: str) -> str:
    """An empty chart keeps its hook, so a reader (or a test) sees it was drawn."""
    return (_svg_open(name, 960, 40, caption) +
            '<text class="empty" x="10" y="25">no data</text></svg>')


# --------------------------------------------------------------------------- sections


def _section(anchor: str, heading: str, note: str, body: str) -> str:
    return (f'<section id="{anchor}"><h2>{_esc(heading)}</h2>'
            f'<p class="note">{_esc(note)}</p>{body}</section>')


def _site_section(records: Sequence[Record]) -> str:
    """One bar per site; past :data:`TOP_SITES`, the rest share one ``(N other sites)`` bar."""
    ranked = count_sites(records)
    bars = [Bar(site, n) for site, n in ranked[:TOP_SITES]]
    rest = ranked[TOP_SITES:]
    if rest:
        bars.append(Bar(f"({len(rest)} other sites)", sum(n for _, n in rest),
                        note=", ".join(site for site, _ in rest[:20])))
    return _section("per-site", "Articles per site", f"{len(ranked)} sites",
                    hbar_chart("per-site", bars, caption="Articles per site"))


def _timeline_section(records: Sequence[Record]) -> str:
    unit, buckets, undated = timeline(records)
    note = f"Articles per {unit} of publication; {undated} records without a usable date."
    return _section("timeline", "Publish dates", note,
                    vbar_chart("timeline", buckets, caption=f"Articles per {unit}"))


def _coverage_section(records: Sequence[Record]) -> str:
    total = len(records)
    bars = [Bar(name, n, total=total) for name, n in coverage(records)]
    return _section("coverage", "Field coverage",
                    "Share of records with each field non-empty.",
                    hbar_chart("coverage", bars, caption="Field coverage", label_width=160))


def _removed_section(records: Sequence[Record]) -> str:
    ranked = removed_by_rule(records)
    examples: dict[str, list[str]] = {}
    for record in records:
        for entry in removals(record):
            seen = examples.setdefault(entry["rule"], [])
            if len(seen) < 2 and entry["text"] not in seen:
                seen.append(entry["text"])
    bars = [Bar(rule, n, note=" | ".join(examples.get(rule, []))) for rule, n in ranked]
    rows = "".join(
        f'<tr data-rule="{_esc(rule)}"><td>{_esc(rule)}</td><td class="num">{n}</td>'
        f"<td>{'<br>'.join(_esc(_fit(t, 560, 13)) for t in examples.get(rule, []))}</td></tr>"
        for rule, n in ranked
    )
    table = (f'<table data-table="removed"><thead><tr><th>rule</th><th>entries</th>'
             f"<th>examples</th></tr></thead><tbody>{rows}</tbody></table>" if rows else "")
    total = sum(n for _, n in ranked)
    return _section("removed", "What cleaning removed",
                    f"{total} removed pieces of text, by the rule that dropped them.",
                    hbar_chart("removed", bars, caption="Removed entries per rule",
                               label_width=240) + table)


def _cluster_section(records: Sequence[Record]) -> str:
    clusters = dup_clusters(records)
    bars = [Bar(c.group, len(c.members), shown=str(c.members[0].get("title") or c.group))
            for c in clusters]
    rows = []
    for c in clusters:
        sites = Counter(str(m.get("site") or "(none)") for m in c.members)
        titles = list(dict.fromkeys(str(m.get("title") or "(no title)") for m in c.members))
        rows.append(
            f'<tr data-group="{_esc(c.group)}" data-size="{len(c.members)}">'
            f"<td>{_esc(c.group)}</td><td class=\"num\">{len(c.members)}</td>"
            f"<td>{'<br>'.join(_esc(t) for t in titles)}</td>"
            f"<td>{', '.join(_site_count(s, n) for s, n in sorted(sites.items()))}</td></tr>"
        )
    table = (f'<table data-table="dup-clusters"><thead><tr><th>group</th><th>size</th>'
             f"<th>titles</th><th>sites</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
             if rows else "")
    return _section("dup-clusters", "Largest duplicate clusters",
                    f"Up to {TOP_CLUSTERS} dup_group clusters with two or more members.",
                    hbar_chart("dup-clusters", bars, caption="Duplicate cluster sizes") + table)


def _site_count(site: str, count: int) -> str:
    return _esc(site) + (f" ×{count}" if count > 1 else "")


def _link(url: Any, text: str) -> str:
    """Link the title only to http(s) URLs: a ``javascript:`` URL stays plain text."""
    if isinstance(url, str) and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return f'<a href="{_esc(url.strip())}" rel="noopener noreferrer">{_esc(text)}</a>'
    return _esc(text)


def _cell(record: Record, field: str) -> str:
    """A sample-table cell; a Parquet date-only ``published`` shows as the date it was."""
    value = record.get(field)
    if field == "published" and isinstance(value, datetime) and record.get(DATE_ONLY):
        return value.date().isoformat()
    return shown(value)


def _sample_section(records: Sequence[Record]) -> str:
    chosen = sample(records)
    columns = ("title", "site", "published", "source", "author")
    rows = []
    for record in chosen:
        title = _link(record.get("url"), str(record.get("title") or ""))
        cells = [f'<td data-field="title">{title}</td>']
        cells += [f'<td data-field="{c}">{_esc(_cell(record, c))}</td>' for c in columns[1:]]
        cells.append(f'<td data-field="body">{_esc(body_preview(record))}</td>')
        rows.append(f"<tr>{''.join(cells)}</tr>")
    head = "".join(f"<th>{c}</th>" for c in (*columns, "body"))
    table = (f'<table data-table="sample"><thead><tr>{head}</tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>")
    return _section("sample", "Sample of records",
                    f"{len(chosen)} of {len(records)} records, spread over the input; "
                    f"body cut to {BODY_PREVIEW} characters.", table)


_CSS = f"""
body {{ font-family: {FONT_STACK}; margin: 24px auto; max-width: 1000px; color: #222;
        background: #fff; line-height: 1.45; }}
h1 {{ font-size: 24px; margin-bottom: 4px; }}
h2 {{ font-size: 18px; margin: 28px 0 4px; border-bottom: 1px solid #ddd; }}
.note, .summary {{ color: #555; font-size: 13px; margin: 4px 0 8px; }}
svg.chart {{ display: block; max-width: 100%; height: auto; }}
svg.chart text {{ font-family: {FONT_STACK}; font-size: 13px; fill: #333; }}
svg.chart text.axis {{ font-size: 11px; fill: #666; }}
svg.chart line.grid {{ stroke: #e4e4e4; }}
svg.chart rect.track {{ fill: #f0f0f0; }}
table {{ border-collapse: collapse; width: 100%; font-size: 13px; margin-top: 10px; }}
th, td {{ border: 1px solid #ddd; padding: 4px 6px; vertical-align: top; text-align: left; }}
th {{ background: #f5f5f5; }}
td.num {{ text-align: right; }}
td[data-field="body"] {{ color: #555; }}
td[data-field="published"] {{ white-space: nowrap; }}
a {{ color: #2a5db0; }}
"""

# No scripts, no fetches: the page is safe to open even if escaping ever failed.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def build_report(records: Sequence[Record], *, sources: Sequence[str] = ()) -> str:
    """The whole report as one HTML document (deterministic for the same input)."""
    days = [d for d in (publish_date(r) for r in records) if d is not None]
    span = f"{min(days).isoformat()} – {max(days).isoformat()}" if days else "no dates"
    summary = (f"{len(records)} records from {len(count_sites(records)) if records else 0} "
               f"sites; published {span}.")
    if sources:
        summary += " Read from: " + ", ".join(sources) + "."
    sections = [
        _site_section(records),
        _timeline_section(records),
        _coverage_section(records),
        _removed_section(records),
        _cluster_section(records),
        _sample_section(records),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>vendornews report</title><style>{_CSS}</style></head><body>"
        f'<h1>vendornews report</h1><p class="summary" data-records="{len(records)}">'
        f"{_esc(summary)}</p>{''.join(sections)}</body></html>\n"
    )


# --------------------------------------------------------------------------- files, CLI


def read_all(paths: Iterable[Path], progress: bool = False) -> list[Record]:
    """Records of all files in order; a progress bar in bytes when asked."""
    paths = list(paths)
    for path in paths:  # fail on a missing file before reading any
        if not path.exists():
            raise ReportInputError(f"{path}: no such file")
    total = sum(p.stat().st_size for p in paths if p.is_file())
    records: list[Record] = []
    with tqdm(total=total, unit="B", unit_scale=True, desc="reading records",
              disable=not progress, file=sys.stderr) as bar:
        for path in paths:
            records.extend(load_records(path, bar))
    return records


def write_report(paths: Sequence[str | Path], out_path: str | Path, progress: bool = False) -> int:
    """Read the record files, write the report to ``out_path``; returns the record count."""
    if not paths:
        raise ReportInputError("give at least one records file")
    out = Path(out_path)
    if out.is_dir():
        raise ReportInputError(f"{out}: is a directory, give the report's file name")
    records = read_all((Path(p) for p in paths), progress=progress)
    document = build_report(records, sources=[Path(p).name for p in paths])
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(document, encoding="utf-8")
    except OSError as error:
        raise ReportInputError(f"{out}: cannot write ({error.strerror or error})") from None
    return len(records)


def _cmd_report(args: argparse.Namespace) -> int:
    """Handler for ``vendornews report``: raises ReportInputError (a ValueError) on bad input."""
    count = write_report(args.records, args.output, progress=sys.stderr.isatty())
    print(f"{args.output}: report of {count} records", file=sys.stderr)
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``report RECORDS... -o report.html`` to the CLI's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report", help="write one self-contained HTML page of charts about exported records")
    parser.add_argument("records", nargs="+", metavar="RECORDS",
                        help="exported records: .jsonl (also .gz), .csv or .parquet")
    parser.add_argument("-o", "--output", default="report.html", metavar="HTML",
                        help="where to write the report (default: report.html)")
    parser.set_defaults(run=_cmd_report)
    return parser
