"""Accuracy of vendornews next to open extractors, on the same pages and the same text.

    .venv/bin/python -m bench.accuracy [--json] [--sets farm,zh,en,seed] [--tools ...]

Sets (from ``../shared`` beside the checkout unless ``--shared`` says otherwise; a set
whose folder is missing is skipped with a note):

* ``farm`` -- the dev farm's gold articles. vendornews gets page 1 and its continuation
  pages as one article; an anchor gets each page alone and the scorer joins the bodies.
  Scored by ``farm/score.py --mode pages``.
* ``zh``, ``en`` -- real Chinese and English pages, scored by ``corpus/score_real.py``.
* ``seed`` -- the seed page's HTML replica (and the seed text dump, through the
  ``vendornews extract`` command): exact title, published, source, author and body,
  compared here (``--seed DIR`` runs it on a copy such as ``tests/fixtures/seed_page``).

Every tool sees the same decoding: vendornews reads the bytes with the header a server
would send (the farm's recorded Content-Type, the corpus' ``charset_header``), and each
anchor gets the text :func:`vendornews.decode.decode_html` makes of those same bytes, so
the figures compare extraction only. The scorers are the data's own, run as
subprocesses on the records written to a temporary JSONL file.

Anchors are optional (the ``bench`` extras); a missing one gets a "not installed" row.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

from vendornews.decode import decode_html
from vendornews.extract import extract_article
from vendornews.record import FetchedPage, NotArticle

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = CHECKOUT.parent / "shared"
FIELDS = ("title", "published", "source", "author", "body")
CRAWLED_AT = "2026-01-01T00:00:00"
# serve.py replaces this placeholder (canonical links, …) with the origin it serves on.
FARM_PLACEHOLDER = b"__ORIGIN__"
FARM_ORIGIN = "http://127.0.0.1:8000"
SEED_DUMP = "vendor_page_dump.txt"

Fields = dict[str, Any]


# --------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page file as a crawler would receive it."""

    url: str
    body: bytes
    content_type: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type} if self.content_type else {}

    def text(self) -> str:
        """The page as vendornews decodes it: what every anchor is given."""
        return decode_html(self.body, self.content_type)[0]


@dataclass(frozen=True)
class Article:
    """Page 1 and its continuation pages (正文分页); ``url`` is page 1's."""

    pages: tuple[Page, ...]

    @property
    def url(self) -> str:
        return self.pages[0].url


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def load_farm(farm: Path) -> list[Article]:
    """Gold articles of a farm, each page with the Content-Type ``serve.py`` would send."""
    sites = json.loads((farm / "sites.json").read_text(encoding="utf-8"))["sites"]
    served = {path: info for site in sites for path, info in site["pages"].items()}

    def page(path: str) -> Page:
        info = served[path]
        body = (farm / info["file"]).read_bytes().replace(FARM_PLACEHOLDER, FARM_ORIGIN.encode())
        return Page(FARM_ORIGIN + path, body, info["content_type"])

    return [Article(tuple(page(p) for p in [g["url"], *g.get("parts", [])]))
            for g in read_jsonl(farm / "gold.jsonl")]


def load_real(set_dir: Path) -> list[Article]:
    """A corpus set (real_zh, real_en, seed_page): one page per gold line."""
    return [
        Article((Page(g["url"], (set_dir / g["file"]).read_bytes(),
                      f"text/html; charset={g['charset_header']}" if g.get("charset_header")
                      else None),))
        for g in read_jsonl(set_dir / "gold.jsonl")
    ]


# --------------------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------------------


class Miss(Exception):
    """The tool gave nothing for an article (not an article, empty output)."""


ArticleExtractor = Callable[[Article], list[Fields]]
PageExtractor = Callable[[str, str], Fields]


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    extract: ArticleExtractor | None  # None: not installed
    judged: bool = False  # its rows are checked against the targets


def vendornews_article(article: Article) -> list[Fields]:
    """One record for the whole article, as a crawl would export it."""
    pages = [FetchedPage(p.url, p.body, p.headers) for p in article.pages]
    result = extract_article(pages, crawled_at=CRAWLED_AT)
    if isinstance(result, NotArticle):
        raise Miss(f"not an article: {result.reason}")
    record = result.to_dict()
    return [{"url": article.url, **{name: record[name] for name in FIELDS}}]


def per_page(extract: PageExtractor) -> ArticleExtractor:
    """One record per page file; the farm scorer joins continuation bodies itself."""

    def run(article: Article) -> list[Fields]:
        return [{"url": page.url, **extract(page.text(), page.url)} for page in article.pages]

    return run


_LOOSE_DATE = re.compile(
    r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?"
    r"(?:\s*T?\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?(?:[.,]\d+)?\s*(Z|[+-]\d{2}:?\d{2})?)?")


def iso_date(value: object) -> str | None:
    """An anchor's date as ISO 8601 (``YYYY-MM-DD[THH:MM[:SS][tz]]``), the scorers' format.

    Only the precision the tool gave is kept: a day stays a day, not midnight.
    """
    match = _LOOSE_DATE.search(value) if isinstance(value, str) else None
    if not match:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    iso = f"{year}-{int(month):02d}-{int(day):02d}"
    if hour is not None:
        iso += f"T{int(hour):02d}:{minute}" + (f":{second}" if second else "") + (zone or "")
    return iso


def text_of(html: str) -> str:
    """Visible text of an HTML fragment, one text node a line."""
    from lxml import html as lxml_html

    tree = lxml_html.fromstring(html)
    return "\n".join(piece.strip() for piece in tree.itertext() if piece.strip())


def readability_page() -> PageExtractor:
    from readability import Document

    def run(text: str, url: str) -> Fields:
        document = Document(text, url=url)
        return {"title": document.short_title() or None, "body": text_of(document.summary())}

    return run


def trafilatura_page() -> PageExtractor:
    from trafilatura import bare_extraction

    def run(text: str, url: str) -> Fields:
        extracted = bare_extraction(text, url=url, with_metadata=True)
        if extracted is None:
            raise Miss("no output")
        document = extracted if isinstance(extracted, dict) else extracted.as_dict()
        author = document.get("author")
        return {
            "title": document.get("title"),
            "published": iso_date(document.get("date")),
            # trafilatura separates several authors with "; ", the gold with ", ".
            "author": author.replace("; ", ", ") if author else None,
            "body": document.get("text") or "",
        }

    return run


def gne_page() -> PageExtractor:
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()

    def run(text: str, url: str) -> Fields:
        found = extractor.extract(text)
        return {
            "title": found.get("title") or None,
            "published": iso_date(found.get("publish_time")),
            "author": found.get("author") or None,
            "body": found.get("content") or "",
        }

    return run


ANCHORS: dict[str, tuple[str, Callable[[], PageExtractor]]] = {
    "readability": ("readability-lxml", readability_page),
    "trafilatura": ("trafilatura", trafilatura_page),
    "gne": ("gne", gne_page),
}
TOOL_KEYS = ("vendornews", *ANCHORS)


def _label(distribution: str) -> str:
    try:
        return f"{distribution} {version(distribution)}"
    except PackageNotFoundError:
        return distribution


def load_tool(key: str) -> Tool:
    if key == "vendornews":
        return Tool(key, _label("vendornews"), vendornews_article, judged=True)
    distribution, make = ANCHORS[key]
    try:
        return Tool(key, _label(distribution), per_page(make()))
    except ImportError:
        return Tool(key, distribution, None)


def text_dump_tool(dump: Path) -> Tool:
    """vendornews on the seed's plain-text form, through the ``vendornews extract`` command.

    The dump stands for the seed page whatever article it is handed (the seed set has one).
    """

    def run(article: Article) -> list[Fields]:
        done = subprocess.run(
            [sys.executable, "-m", "vendornews.cli", "extract", str(dump), "--url", article.url],
            capture_output=True, text=True, check=False)
        if done.returncode:
            raise Miss(f"vendornews extract exited {done.returncode}: {done.stderr.strip()}")
        record = json.loads(done.stdout.splitlines()[0])
        if "not_article" in record:
            raise Miss(f"not an article: {record['not_article']}")
        return [{"url": article.url, **{name: record.get(name) for name in FIELDS}}]

    return Tool("vendornews-dump", "vendornews (text dump)", run, judged=True)


@dataclass(frozen=True)
class Failure:
    url: str
    reason: str


@dataclass
class Run:
    records: list[Fields] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def run_tool(extract: ArticleExtractor, articles: Sequence[Article]) -> Run:
    """Records of every article; a failed article leaves a record with its URL only.

    The empty record keeps a miss in the scores (as wrong on every field) instead of
    shrinking the set the figures are computed on.
    """
    run = Run()
    for article in articles:
        try:
            run.records += extract(article)
        except Exception as error:  # one page must not stop the benchmark
            reason = str(error) if isinstance(error, Miss) else f"{type(error).__name__}: {error}"
            run.failures.append(Failure(article.url, reason))
            run.records.append({"url": article.url})
    return run


# --------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------


def run_scorer(argv: Callable[[Path], list[str]], records: Sequence[Fields]) -> dict[str, Any]:
    """Write ``records`` to a JSONL file, run the scorer ``argv(file)``, read its JSON line."""
    with tempfile.TemporaryDirectory(prefix="vn-accuracy-") as tmp:
        path = Path(tmp) / "records.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
        done = subprocess.run([sys.executable, *argv(path)], capture_output=True, text=True,
                              check=False)
    if done.returncode:
        raise SystemExit(f"scorer {argv(path)[0]} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure_farm(farm: Path, run: Run) -> Fields:
    scores = run_scorer(
        lambda path: [str(farm.parent / "score.py"), str(farm / "gold.jsonl"), str(path),
                      "--mode", "pages", "--json", "--no-families"],
        run.records)
    keys = ("title", "date_day", "date_minute", "source", "author", "body_f1", "body_f1_p10")
    return {
        **{key: scores[key] for key in keys},
        "spam_leak_articles": scores["spam_leak_pages"],
        "noise_leak_share": (scores["noise_leak_pages"] / scores["matched"]
                             if scores["matched"] else None),
        "failed": len(run.failures),
    }


def measure_real(set_dir: Path, run: Run) -> Fields:
    scores = run_scorer(
        lambda path: [str(set_dir.parent / "score_real.py"), str(set_dir), str(path), "--json"],
        run.records)
    keys = ("title", "date_day", "source", "author", "body_f1", "body_f1_p10", "spam_leaks")
    return {**{key: scores[key] for key in keys}, "failed": len(run.failures)}


def measure_seed(seed_dir: Path, run: Run) -> Fields:
    """Share of gold pages whose fields equal the gold exactly, not even whitespace differing.

    No scorer is needed, so the seed set also runs from a copy (the tests' fixtures).
    """
    gold = {g["url"]: g for g in read_jsonl(seed_dir / "gold.jsonl")}
    records = [r for r in run.records if r["url"] in gold]
    exact = {
        f"{name}_exact": sum(r.get(name) == gold[r["url"]].get(name) for r in records) / len(gold)
        for name in FIELDS
    }
    return {**exact, "failed": len(run.failures)}


# --------------------------------------------------------------------------------------
# sets, columns and targets
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A bar for the judged rows: a fixed figure, or another tool's figure in this run."""

    at_least: bool
    value: float | None = None
    anchor: str | None = None

    def bar(self, rows: Sequence[Row], key: str) -> float | None:
        if self.anchor is None:
            return self.value
        return next((row.figures.get(key) for row in rows if row.tool.key == self.anchor), None)

    def met(self, figure: float | None, bar: float | None) -> bool | None:
        if figure is None or bar is None:
            return None
        return figure >= bar if self.at_least else figure <= bar


def at_least(value: float) -> Target:
    return Target(True, value)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Literal["ratio", "count", "share"] = "ratio"
    target: Target | None = None

    def show(self, figure: Any) -> str:
        if figure is None:
            return "n/a"
        if self.kind == "count":
            return str(figure)
        if self.kind == "share":
            return f"{figure:.1%}"
        return f"{figure:.3f}"


@dataclass(frozen=True)
class Paths:
    shared: Path
    seed: Path | None = None  # a seed page folder used instead of the shared one

    def seed_page(self) -> Path:
        return self.seed or self.shared / "corpus" / "seed_page"

    def seed_dump(self) -> Path:
        """The dump beside the seed page (test fixtures) or in ``shared/seed``."""
        beside = self.seed_page() / SEED_DUMP
        return beside if beside.exists() else self.shared / "seed" / SEED_DUMP


@dataclass(frozen=True)
class SetSpec:
    key: str
    title: str
    folder: Callable[[Paths], Path]
    load: Callable[[Path], list[Article]]
    measure: Callable[[Path, Run], Fields]
    columns: tuple[Column, ...]
    extra_tools: Callable[[Paths], list[Tool]] = lambda paths: []
    show_records: bool = False  # print the extracted fields (one-page sets)


FAILED = Column("failed", "failed", "count")
FARM = SetSpec(
    "farm", "Dev farm (score.py --mode pages)",
    lambda paths: paths.shared / "farm" / "dev", load_farm, measure_farm,
    (Column("title", "title", target=at_least(0.97)),
     Column("date_day", "date day", target=at_least(0.99)),
     Column("date_minute", "minute", target=at_least(0.97)),
     Column("source", "source", target=at_least(0.95)),
     Column("author", "author", target=at_least(0.90)),
     Column("body_f1", "body F1", target=at_least(0.98)),
     Column("body_f1_p10", "F1 p10", target=at_least(0.95)),
     Column("spam_leak_articles", "spam leaks (articles)", "count", Target(False, 0)),
     Column("noise_leak_share", "noise leaks (articles)", "share", Target(False, 0.01)),
     FAILED))
REAL_ZH = SetSpec(
    "zh", "Real Chinese pages (score_real.py)",
    lambda paths: paths.shared / "corpus" / "real_zh", load_real, measure_real,
    (Column("title", "title", target=at_least(0.90)),
     Column("date_day", "date day", target=at_least(0.95)),
     Column("source", "source", target=at_least(0.85)),
     Column("author", "author", target=at_least(0.80)),
     Column("body_f1", "body F1", target=at_least(0.92)),
     Column("body_f1_p10", "F1 p10", target=at_least(0.75)),
     FAILED))
REAL_EN = SetSpec(
    "en", "Real English pages (score_real.py)",
    lambda paths: paths.shared / "corpus" / "real_en", load_real, measure_real,
    (Column("body_f1", "body F1", target=Target(True, anchor="readability")),
     Column("body_f1_p10", "F1 p10"),
     Column("date_day", "date day", target=Target(True, anchor="trafilatura")),
     Column("author", "author", target=Target(True, anchor="trafilatura")),
     Column("title", "title"),
     FAILED))
SEED = SetSpec(
    "seed", "Seed page (exact match)",
    Paths.seed_page, load_real, measure_seed,
    (*(Column(f"{name}_exact", f"{name} exact", target=at_least(1.0)) for name in FIELDS),
     FAILED),
    extra_tools=lambda paths: ([text_dump_tool(paths.seed_dump())]
                               if paths.seed_dump().exists() else []),
    show_records=True)
SETS = {spec.key: spec for spec in (FARM, REAL_ZH, REAL_EN, SEED)}


@dataclass
class Row:
    tool: Tool
    figures: Fields = field(default_factory=dict)
    run: Run = field(default_factory=Run)


@dataclass
class SetResult:
    spec: SetSpec
    folder: Path
    skipped: str | None = None
    articles: int = 0
    pages: int = 0
    rows: list[Row] = field(default_factory=list)


def run_set(spec: SetSpec, paths: Paths, tools: Sequence[Tool]) -> SetResult:
    folder = spec.folder(paths)
    if not folder.is_dir():
        return SetResult(spec, folder, skipped=f"skipped: {folder} not found")
    articles = spec.load(folder)
    result = SetResult(spec, folder, articles=len(articles),
                       pages=sum(len(a.pages) for a in articles))
    judged = [tool for tool in tools if tool.judged]
    extras = spec.extra_tools(paths) if judged else []
    for tool in [*judged, *extras, *(tool for tool in tools if not tool.judged)]:
        row = Row(tool)
        if tool.extract is not None:
            row.run = run_tool(tool.extract, articles)
            row.figures = spec.measure(folder, row.run)
        result.rows.append(row)
    return result


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


def _cell(column: Column, row: Row, rows: Sequence[Row]) -> str:
    figure = row.figures.get(column.key)
    text = column.show(figure)
    if row.tool.judged and column.target is not None:
        met = column.target.met(figure, column.target.bar(rows, column.key))
        text += "" if met is None else (" ✓" if met else " ✗")
    return text


def _target_cell(column: Column, rows: Sequence[Row]) -> str:
    target = column.target
    if target is None:
        return ""
    sign = "≥" if target.at_least else "≤"
    bar = target.bar(rows, column.key)
    if target.anchor is None:
        return f"{sign} {column.show(bar)}"
    return f"{sign} {target.anchor} ({column.show(bar)})"


def markdown(result: SetResult) -> str:
    spec = result.spec
    head = f"### {spec.title}"
    if result.skipped:
        return f"{head}\n\n{result.skipped}\n"
    lines = [f"{head}: articles {result.articles}, page files {result.pages}, {result.folder}",
             "",
             "| tool | " + " | ".join(c.label for c in spec.columns) + " |",
             "|---|" + "---:|" * len(spec.columns)]
    for row in result.rows:
        cells = ([_cell(c, row, result.rows) for c in spec.columns] if row.tool.extract
                 else ["not installed", *[""] * (len(spec.columns) - 1)])
        lines.append(f"| {row.tool.label} | " + " | ".join(cells) + " |")
    lines.append("| target (✓/✗ on vendornews) | "
                 + " | ".join(_target_cell(c, result.rows) for c in spec.columns) + " |")
    for row in result.rows:
        if row.tool.judged and row.run.failures:
            lines.append("")
            lines.append(f"{row.tool.label} failed on:")
            lines += [f"- {f.url}: {f.reason}" for f in row.run.failures]
    return "\n".join(lines) + "\n"


def as_json(result: SetResult) -> Fields:
    if result.skipped:
        return {"skipped": result.skipped}
    tools: Fields = {}
    for row in result.rows:
        if row.tool.extract is None:
            tools[row.tool.key] = {"label": row.tool.label, "status": "not installed"}
            continue
        entry: Fields = {"label": row.tool.label, "figures": row.figures,
                         "failures": [vars(f) for f in row.run.failures]}
        if row.tool.judged:
            entry["pass"] = {
                c.key: c.target.met(row.figures.get(c.key), c.target.bar(result.rows, c.key))
                for c in result.spec.columns if c.target is not None}
        if result.spec.show_records:
            entry["records"] = row.run.records
        tools[row.tool.key] = entry
    return {"folder": str(result.folder), "articles": result.articles,
            "pages": result.pages, "tools": tools}


def _names(value: str, known: Sequence[str]) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.accuracy", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    parser.add_argument("--sets", default=",".join(SETS), type=lambda v: _names(v, list(SETS)),
                        help="comma-separated sets (default: %(default)s)")
    parser.add_argument("--tools", default=",".join(TOOL_KEYS),
                        type=lambda v: _names(v, TOOL_KEYS),
                        help="comma-separated tools (default: %(default)s)")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED,
                        help="the shared data folder (default: %(default)s)")
    parser.add_argument("--seed", type=Path,
                        help="a seed page folder (page.html, gold.jsonl, optionally "
                             f"{SEED_DUMP}) instead of SHARED/corpus/seed_page")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths(args.shared, args.seed)
    tools = [load_tool(key) for key in sorted(args.tools, key=TOOL_KEYS.index)]
    results = [run_set(SETS[key], paths, tools) for key in args.sets]
    if args.json:
        print(json.dumps({r.spec.key: as_json(r) for r in results}, ensure_ascii=False))
    else:
        print("\n".join(markdown(r) for r in results), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
