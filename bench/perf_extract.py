"""Extraction throughput: pages per second on one core, as ratios to the open extractors.

    .venv/bin/python -m bench.perf_extract [--repeat 5] [--shared ../shared] [--profile]

One process, one page at a time, on the page set of :mod:`bench.data`. Every tool gets
the same decoded text (:func:`vendornews.decode.decode_html` of the page bytes); vendornews
gets the bytes and headers, as its API takes them, so its figures include decoding (the
``decode_html`` row shows what that costs). Before timing, jieba's dictionary is loaded
(timed on its own: a once-per-process cost) and every tool runs over the set once.
Then each repetition times every tool over the whole set, the tools taking turns every
10 pages in a rotating order, so background load on a shared machine falls on all of them
alike; the figures are the median repetition. Wall time (``perf_counter``) decides; the
process' CPU time is shown beside it (wall far above CPU means the machine was busy).

"vendornews, keywords=False" is :func:`extract_article` with its ``keywords=False`` switch.
On a core without the switch the row is the full function with
``vendornews.extract.top_keywords`` replaced by a function returning ``[]`` for the timed
passes of that row only. Title repair may still segment a headline with jieba; that cost
stays in the row.

The "parse_article" row is the crawl's own work on an article page before extraction
(link discovery and classification, continuation links, requests), for scale.

``--profile`` prints a cProfile summary of vendornews on the set instead: the share of
each stage and the functions with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import inspect
import pstats
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

from bench.data import DEFAULT_SHARED, BenchPage, describe, load_pages
from bench.perf_common import machine, median_of, table, verdict

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

CRAWLED_AT = "2026-01-01T00:00:00"
# Targets: vendornews with every field at least this many times trafilatura's pages/s …
TARGET_VS_TRAFILATURA = 1.5
# … and vendornews without keywords at most this many times readability's time per page.
TARGET_VS_READABILITY = 1.5
# Tools take turns every this many pages.
CHUNK = 10

PageRun = Callable[[BenchPage, str], object]


@dataclass(frozen=True)
class Tool:
    key: str
    label: str
    run: PageRun
    context: Callable[[], AbstractContextManager[object]] = nullcontext


@dataclass
class Timing:
    seconds: list[float] = field(default_factory=list)  # wall (perf_counter) per pass
    cpu: list[float] = field(default_factory=list)  # this process' CPU time per pass
    failures: int = 0

    def pages_per_second(self, pages: int) -> float:
        return pages / median_of(self.seconds)


def _label(distribution: str) -> str:
    try:
        return f"{distribution} {version(distribution)}"
    except PackageNotFoundError:
        return distribution


# --------------------------------------------------------------------------------------
# tools
# --------------------------------------------------------------------------------------


def _vendornews(page: BenchPage, text: str) -> object:
    from vendornews.extract import extract_article

    return extract_article([page.fetched()], crawled_at=CRAWLED_AT)


def core_has_keywords_switch() -> bool:
    """Whether ``extract_article`` takes ``keywords=False`` (newer cores do)."""
    from vendornews.extract import extract_article

    return "keywords" in inspect.signature(extract_article).parameters


def _vendornews_no_keywords(page: BenchPage, text: str) -> object:
    from vendornews.extract import extract_article

    return extract_article([page.fetched()], crawled_at=CRAWLED_AT, keywords=False)


@contextmanager
def without_keywords() -> Iterator[None]:
    """Older cores: ``extract_article`` with keywords switched off (benchmark-only patch)."""
    extract_module = importlib.import_module("vendornews.extract")
    original = getattr(extract_module, "top_keywords")  # noqa: B009 (a module, untyped here)
    setattr(extract_module, "top_keywords", lambda title, body, limit=8: [])  # noqa: B010
    try:
        yield
    finally:
        setattr(extract_module, "top_keywords", original)  # noqa: B010


def no_keywords_tool() -> Tool:
    if core_has_keywords_switch():
        return Tool("vendornews-nokw", "vendornews, keywords=False", _vendornews_no_keywords)
    return Tool("vendornews-nokw", "vendornews, no keywords (patched)", _vendornews,
                without_keywords)


@cache
def _crawler() -> Crawler:
    from scrapy.utils.test import get_crawler

    from spiders.vendor_news import VendorNewsSpider

    return get_crawler(VendorNewsSpider)


def _spider_article(page: BenchPage, text: str) -> object:
    """What the crawl does with an article page before extraction (a fresh spider each)."""
    from scrapy.http import HtmlResponse, Request

    from spiders.vendor_news import VendorNewsSpider

    spider = VendorNewsSpider.from_crawler(_crawler(), start_urls=page.url)
    headers = {"Content-Type": page.content_type} if page.content_type else {}
    response = HtmlResponse(page.url, body=page.body, headers=headers, request=Request(page.url))
    return list(spider.parse_article(response))


def _decode(page: BenchPage, text: str) -> object:
    return page.text()


def _lxml(page: BenchPage, text: str) -> object:
    from lxml import html

    return html.fromstring(text)


def _readability(page: BenchPage, text: str) -> object:
    from readability import Document

    return Document(text).summary()


def _trafilatura_bare(page: BenchPage, text: str) -> object:
    from trafilatura import bare_extraction

    return bare_extraction(text, url=page.url, with_metadata=True)


def _trafilatura_extract(page: BenchPage, text: str) -> object:
    from trafilatura import extract

    return extract(text, url=page.url, with_metadata=True)


def _gne() -> PageRun:
    from gne import GeneralNewsExtractor

    extractor = GeneralNewsExtractor()
    return lambda page, text: extractor.extract(text)


def tools() -> list[Tool]:
    """Every tool that is installed, vendornews first, the lxml floor last."""
    found = [
        Tool("vendornews", f"{_label('vendornews')}, every field", _vendornews),
        no_keywords_tool(),
        Tool("decode", "decode_html alone", _decode),
    ]
    try:
        importlib.import_module("spiders.vendor_news")
        found.append(Tool("spider", "vendor_news spider: parse_article (links, no extraction)",
                          _spider_article))
    except ImportError as error:
        print(f"spider row skipped: {error}", file=sys.stderr)
    optional: list[tuple[str, str, Callable[[], PageRun]]] = [
        ("readability", f"{_label('readability-lxml')}: Document(text).summary()",
         lambda: _readability),
        ("trafilatura", f"{_label('trafilatura')}: bare_extraction(with_metadata)",
         lambda: _trafilatura_bare),
        ("trafilatura-extract", "trafilatura: extract(with_metadata)",
         lambda: _trafilatura_extract),
        ("gne", f"{_label('gne')}: extract(text)", _gne),
    ]
    for key, label, make in optional:
        try:
            importlib.import_module(key.split("-")[0])
            found.append(Tool(key, label, make()))
        except ImportError:
            print(f"{key}: not installed, row skipped", file=sys.stderr)
    found.append(Tool("lxml", f"{_label('lxml')}: lxml.html.fromstring (floor)", _lxml))
    return found


# --------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pass:
    wall: float
    cpu: float
    failures: int


def one_pass(tool: Tool, pages: Sequence[BenchPage], texts: Sequence[str]) -> Pass:
    """Wall and CPU seconds of ``tool`` over every page, and how many pages raised."""
    failures = 0
    with tool.context():
        start, start_cpu = time.perf_counter(), time.process_time()
        for page, text in zip(pages, texts, strict=True):
            try:
                tool.run(page, text)
            except Exception:  # a tool failing on a page still spent the time
                failures += 1
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    return Pass(wall, cpu, failures)


def warm_jieba() -> float:
    """Seconds of the first keywords call: jieba's import and dictionary load."""
    from vendornews.keywords import top_keywords

    start = time.perf_counter()
    top_keywords("预热", "预热一下结巴分词的词典。")
    return time.perf_counter() - start


def measure(tool_list: Sequence[Tool], pages: Sequence[BenchPage], texts: Sequence[str],
            repeat: int, chunk: int = CHUNK) -> dict[str, Timing]:
    """Per tool, one wall and CPU total over every page per repetition.

    Within a repetition the tools take turns every ``chunk`` pages (the order rotating),
    so a burst of other work on the machine slows every tool alike.
    """
    timings = {tool.key: Timing() for tool in tool_list}
    for tool in tool_list:  # warm-up: lazy imports, caches, the allocator
        one_pass(tool, pages, texts)
    for rep in range(repeat):
        wall = dict.fromkeys(timings, 0.0)
        cpu = dict.fromkeys(timings, 0.0)
        for turn, start in enumerate(range(0, len(pages), chunk)):
            shift = (rep + turn) % len(tool_list)
            for tool in [*tool_list[shift:], *tool_list[:shift]]:
                done = one_pass(tool, pages[start:start + chunk], texts[start:start + chunk])
                wall[tool.key] += done.wall
                cpu[tool.key] += done.cpu
                timings[tool.key].failures += done.failures if rep == 0 else 0
        for key, timing in timings.items():
            timing.seconds.append(wall[key])
            timing.cpu.append(cpu[key])
    return timings


# --------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------


def report(tool_list: Sequence[Tool], timings: dict[str, Timing], n_pages: int) -> str:
    rate = {key: t.pages_per_second(n_pages) for key, t in timings.items()}
    baselines = [(key, name) for key, name in (("trafilatura", "trafilatura"),
                                               ("readability", "readability"),
                                               ("lxml", "lxml")) if key in rate]
    headers = ["tool", "pages/s", "ms/page", "min-max ms/page", "CPU ms/page", "failed pages",
               *[f"speed vs {name}" for _, name in baselines]]
    rows = []
    for tool in tool_list:
        timing = timings[tool.key]
        ms = [s / n_pages * 1000 for s in timing.seconds]
        rows.append([tool.label, f"{rate[tool.key]:.1f}", f"{median_of(ms):.2f}",
                     f"{min(ms):.2f}-{max(ms):.2f}",
                     f"{median_of(timing.cpu) / n_pages * 1000:.2f}", timing.failures,
                     *[f"{rate[tool.key] / rate[key]:.2f}x" for key, _ in baselines]])
    return table(headers, rows)


def targets(timings: dict[str, Timing]) -> str:
    """Pass/fail on wall-clock medians; the CPU-time ratio beside it as a check on noise."""

    def per_page(key: str, cpu: bool = False) -> float:
        timing = timings[key]
        return median_of(timing.cpu if cpu else timing.seconds)

    rows = []
    if "trafilatura" in timings:
        ratio = per_page("trafilatura") / per_page("vendornews")  # pages/s ratio
        cpu = per_page("trafilatura", True) / per_page("vendornews", True)
        rows.append(["vendornews (every field) pages/s vs trafilatura bare_extraction",
                     f">= {TARGET_VS_TRAFILATURA:.2f}x", f"{ratio:.2f}x", f"{cpu:.2f}x",
                     verdict(ratio >= TARGET_VS_TRAFILATURA)])
    if "readability" in timings:
        ratio = per_page("vendornews-nokw") / per_page("readability")  # time/page ratio
        cpu = per_page("vendornews-nokw", True) / per_page("readability", True)
        rows.append(["vendornews (no keywords) time/page vs readability-lxml",
                     f"<= {TARGET_VS_READABILITY:.2f}x", f"{ratio:.2f}x", f"{cpu:.2f}x",
                     verdict(ratio <= TARGET_VS_READABILITY)])
    return table(["target", "wanted", "measured (wall)", "same on CPU time", "result"], rows)


# --------------------------------------------------------------------------------------
# profile
# --------------------------------------------------------------------------------------

STAGES = (
    ("extract.py", "extract_article", "extract_article (all)"),
    ("clean.py", "clean_page", "clean_page (decode, parse, readability, rules)"),
    ("decode.py", "decode_html", "  decode_html"),
    ("page.py", "parse_page", "  parse_page"),
    ("content.py", "main_region", "  main_region"),
    ("title.py", "choose_title", "choose_title"),
    ("byline.py", "find_byline", "find_byline"),
    ("extract.py", "_published", "_published (dates)"),
    ("keywords.py", "top_keywords", "top_keywords (jieba TF-IDF)"),
)


def _cumulative(stats: pstats.Stats, filename: str, function: str) -> float | None:
    raw = stats.stats  # type: ignore[attr-defined]
    found = [cum for (file, _, name), (_, _, _, cum, _) in raw.items()
             if name == function and file.endswith(filename)]
    return sum(found) if found else None


def profile(pages: Sequence[BenchPage], texts: Sequence[str], passes: int = 2) -> str:
    tool = Tool("vendornews", "vendornews", _vendornews)
    one_pass(tool, pages, texts)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(passes):
        one_pass(tool, pages, texts)
    profiler.disable()
    stats = pstats.Stats(profiler)
    n = len(pages) * passes
    total = _cumulative(stats, "extract.py", "extract_article") or 1.0
    rows = [[label, f"{cum / n * 1000:.2f}", f"{cum / total:.0%}"]
            for file, function, label in STAGES
            if (cum := _cumulative(stats, file, function)) is not None]
    out = ["Stages (cumulative time under cProfile, which inflates Python-heavy code):", "",
           table(["stage", "ms/page", "share of extract_article"], rows), "",
           "Functions with the most own time:", "", _top_own(stats, n, total)]
    return "\n".join(out)


def _top_own(stats: pstats.Stats, n_pages: int, total: float, limit: int = 20) -> str:
    raw = stats.stats  # type: ignore[attr-defined]
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:limit]
    rows = []
    for (file, line, name), (_, calls, own, cum, _) in ranked:
        where = "/".join(Path(file).parts[-2:]) if file != "~" else "built-in"
        rows.append([f"`{name}` ({where}:{line})", calls // n_pages,
                     f"{own / n_pages * 1000:.2f}", f"{cum / n_pages * 1000:.2f}",
                     f"{own / total:.0%}"])
    return table(["function", "calls/page", "own ms/page", "cum ms/page", "own share"], rows)


# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per tool")
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--profile", action="store_true", help="cProfile vendornews instead")
    args = parser.parse_args(argv)

    pages = load_pages(args.shared)
    jieba_load = warm_jieba()
    texts = [page.text() for page in pages]
    print(f"# Extraction throughput\n\n{machine()}\n\nPage set: {describe(pages)}; "
          f"one process, median of {args.repeat} passes per tool.\n")
    if args.profile:
        print(profile(pages, texts))
        return 0
    print(f"Once per process, not in the figures: the first keywords call (jieba import and "
          f"dictionary load) took {jieba_load:.2f} s.\n")
    tool_list = tools()
    timings = measure(tool_list, pages, texts, args.repeat)
    print(report(tool_list, timings, len(pages)))
    print()
    print(targets(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
