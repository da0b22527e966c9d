"""Memory of long extraction runs: RSS every 2,000 pages over 20,000 distinct pages.

    .venv/bin/python -m bench.perf_memory [--pages 20000] [--every 2000] [--modes plain,pipeline]

Pages are made from the page set of :mod:`bench.data`: variant ``k`` of a page numbers
every paragraph (``<p>`` gets a ``k·`` prefix, so no body line repeats across variants,
as in a crawl of distinct articles), shifts every number of three or more digits that is
not a year by ``k``, and appends ``k`` to the last number of the URL path (each site
on its own host, ``SITE.example``). Bytes keep the page's encoding. Pages are generated
one at a time, never held.

Each mode runs in its own process (peak RSS is per process), both modes at once:

* ``plain``: ``extract_article([page])`` per page, keywords included;
* ``pipeline``: as ``pipelines/extract.py`` calls it in a crawl, with one
  :class:`vendornews.template.TemplateBook` learning per-site templates for the run.

RSS is ``/proc/self/statm``, peak is ``getrusage(RUSAGE_SELF).ru_maxrss``; the "0 pages"
row is the process after imports and jieba's dictionary load, the baseline of the ratios.

``--crawl N`` (opt-in: a crawl runs at the crawl's pace, ~30 minutes for 20,000 pages on
2 cores) measures ``scrapy crawl vendor_news`` instead: a generated site of N article
pages (variants of the farm site ``jxjcj``'s articles, listed in a sitemap index named by
robots.txt) is served from a thread of this process, and the crawl's RSS and peak RSS
(``/proc/PID/status`` VmRSS, VmHWM, summed over the crawl process and its extraction
workers) are sampled each time another ``--every`` articles have been served. Then
``vendornews clean`` re-extracts the crawl's WARC archive on every core, its processes' RSS
sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from bench.data import DEFAULT_SHARED, BenchPage, describe, load_pages
from bench.perf_common import PYTHON, machine, peak_rss_mb, rss_mb, table, verdict

MODES = ("plain", "pipeline")
# A run is "flat" when RSS at the end is within this factor of RSS at the first sample.
FLAT = 1.10
_NUMBER = re.compile(r"(?<![\d.])\d{3,}(?![\d.])")
_YEAR = re.compile(r"(?:19|20)\d\d")
_PARAGRAPH = re.compile(r"<p(?:\s[^>]*)?>", re.I)
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


# --------------------------------------------------------------------------------------
# generated pages
# --------------------------------------------------------------------------------------


def _shift(match: re.Match[str], k: int) -> str:
    digits = match.group()
    if len(digits) == 4 and _YEAR.fullmatch(digits):
        return digits
    return f"{(int(digits) + k) % 10 ** len(digits):0{len(digits)}d}"


def vary_html(text: str, k: int) -> str:
    """Variant ``k`` of a decoded page: numbered paragraphs, shifted numbers."""
    text = _NUMBER.sub(lambda m: _shift(m, k), text)
    return _PARAGRAPH.sub(lambda m: f"{m.group()}{k}·", text)


def vary_url(url: str, k: int) -> str:
    """``http://127.0.0.1:8000/site/a/2465.html`` -> ``http://site.example/site/a/2465000k.html``.

    Farm pages (one origin for all sites here) get their site's own host.
    """
    parts = urlsplit(url)
    host = f"{parts.path.strip('/').split('/')[0]}.example" if parts.port else parts.hostname
    path = _LAST_NUMBER.sub(lambda m: f"{m.group(1)}{k:04d}", parts.path, count=1)
    if path == parts.path:
        path = f"{path}?v={k}"
    return f"http://{host}{path}"


def variant(page: BenchPage, k: int) -> BenchPage:
    from vendornews.decode import decode_html

    text, encoding = decode_html(page.body, page.content_type)
    body = vary_html(text, k).encode(encoding, errors="xmlcharrefreplace")
    return BenchPage(vary_url(page.url, k), body, page.content_type, page.origin)


def generated(pages: Sequence[BenchPage], count: int) -> Iterator[BenchPage]:
    for n in range(count):
        yield variant(pages[n % len(pages)], n // len(pages))


# --------------------------------------------------------------------------------------
# one mode, in its own process
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    pages: int
    rss_mb: float
    peak_mb: float
    seconds: float
    template_entries: int


def _template_entries(book: object) -> int:
    sites = getattr(book, "sites", {})
    return sum(len(t.counts) + len(t.pairs) for t in sites.values())


def worker(mode: str, shared: Path, count: int, every: int) -> None:
    """Extract ``count`` generated pages; print one JSON sample per ``every`` pages."""
    from vendornews.extract import extract_article
    from vendornews.keywords import top_keywords
    from vendornews.template import TemplateBook

    pages = load_pages(shared)
    top_keywords("预热", "预热一下结巴分词的词典。")
    book = TemplateBook()
    start = time.perf_counter()

    def sample(done: int) -> None:
        point = Sample(done, rss_mb(), peak_rss_mb(), time.perf_counter() - start,
                       _template_entries(book))
        print(json.dumps(asdict(point)), flush=True)

    sample(0)
    for n, page in enumerate(generated(pages, count), 1):
        host = urlsplit(page.url).hostname or ""
        template = book.for_site(host) if mode == "pipeline" else None
        extract_article([page.fetched()], crawled_at="2026-01-01T00:00:00", template=template)
        if n % every == 0:
            sample(n)


def run_modes(modes: Sequence[str], shared: Path, count: int,
              every: int) -> dict[str, list[Sample]]:
    """Every mode in its own process, all at once."""
    processes = {
        mode: subprocess.Popen(
            [PYTHON, "-m", "bench.perf_memory", "--worker", mode, "--pages", str(count),
             "--every", str(every), "--shared", str(shared)],
            cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
        for mode in modes
    }
    results = {}
    for mode, process in processes.items():
        out, _ = process.communicate()
        if process.returncode:
            raise SystemExit(f"{mode} worker exited {process.returncode}")
        results[mode] = [Sample(**json.loads(line)) for line in out.splitlines() if line]
    return results


def report(mode: str, samples: Sequence[Sample]) -> str:
    base = samples[0].rss_mb
    first = samples[1] if len(samples) > 1 else samples[0]
    rows = []
    for s in samples:
        rate = s.pages / s.seconds if s.seconds else 0.0
        rows.append([f"{s.pages:,}", f"{s.rss_mb:.0f}", f"{s.peak_mb:.0f}",
                     f"{s.rss_mb / base:.2f}x", f"{s.rss_mb / first.rss_mb:.2f}x",
                     f"{s.template_entries:,}" if mode == "pipeline" else "-",
                     f"{rate:.0f}" if s.pages else "-"])
    return table(["pages", "RSS MB", "peak RSS MB", "vs 0 pages", f"vs {first.pages:,} pages",
                  "template entries", "pages/s so far"], rows)


def verdicts(results: dict[str, list[Sample]]) -> str:
    rows = []
    for mode, samples in results.items():
        first, last = samples[min(1, len(samples) - 1)], samples[-1]
        growth = last.rss_mb / first.rss_mb
        per_k = (last.rss_mb - first.rss_mb) / max(1, last.pages - first.pages) * 1000
        rows.append([mode, f"{first.rss_mb:.0f} -> {last.rss_mb:.0f} MB",
                     f"{growth:.2f}x", f"{per_k:.2f}", f"<= {FLAT:.2f}x",
                     verdict(growth <= FLAT)])
    return table(["mode", f"RSS {results[next(iter(results))][1].pages:,} pages -> end",
                  "growth", "MB per 1,000 pages", "flat means", "result"], rows)


# --------------------------------------------------------------------------------------
# crawl memory: a generated site served from this process
# --------------------------------------------------------------------------------------

CRAWL_SITE = "/jxjcj/"
FIRST_ID = 100_000
SITEMAP_CHUNK = 1_000
_GENERATED = re.compile(r"^/jxjcj/a/\w+/(\d+)\.html$")


class GeneratedSite:
    """Robots.txt, a sitemap index, its sitemaps and ``count`` generated article pages."""

    def __init__(self, bases: Sequence[BenchPage], count: int) -> None:
        self.bases = bases
        self.count = count
        self.articles_served = 0
        self.lock = threading.Lock()

    def article_path(self, n: int) -> str:
        return f"/jxjcj/a/hangye/{FIRST_ID + n}.html"

    def respond(self, path: str, origin: str) -> tuple[int, str, bytes]:
        """``(status, content type, body)`` for a request path."""
        if path == "/robots.txt":
            return 200, "text/plain", f"User-agent: *\nSitemap: {origin}/sitemap.xml\n".encode()
        if path == "/sitemap.xml":
            chunks = range((self.count + SITEMAP_CHUNK - 1) // SITEMAP_CHUNK)
            locs = "".join(f"<sitemap><loc>{origin}/sitemap-{i}.xml</loc></sitemap>"
                           for i in chunks)
            return 200, "application/xml", f"<sitemapindex>{locs}</sitemapindex>".encode()
        if match := re.fullmatch(r"/sitemap-(\d+)\.xml", path):
            first = int(match[1]) * SITEMAP_CHUNK
            locs = "".join(f"<url><loc>{origin}{self.article_path(n)}</loc></url>"
                           for n in range(first, min(first + SITEMAP_CHUNK, self.count)))
            return 200, "application/xml", f"<urlset>{locs}</urlset>".encode()
        if path == CRAWL_SITE:
            link = f'<a href="{self.article_path(0)}">news</a>'
            return 200, "text/html; charset=utf-8", f"<html><body>{link}</body></html>".encode()
        match = _GENERATED.match(path)
        n = int(match[1]) - FIRST_ID if match else -1
        if not 0 <= n < self.count:
            return 404, "text/html", b"<html><body>404</body></html>"
        page = variant(self.bases[n % len(self.bases)], n // len(self.bases))
        with self.lock:
            self.articles_served += 1
        return 200, page.content_type or "text/html", page.body


def _handler(site: GeneratedSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            origin = f"http://{self.headers.get('Host')}"
            status, content_type, body = site.respond(self.path.split("?", 1)[0], origin)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


def _proc_status_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _tree_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM summed over a process and its descendants (the crawl's extraction
    workers), in MB; a process that ends meanwhile counts for nothing."""
    rss, peak = _proc_status_mb(pid)
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = [int(child) for child in children.read_text().split()]
        except OSError:
            continue
        for kid in kids:
            try:
                kid_rss, kid_peak = _tree_mb(kid)
            except OSError:
                continue
            rss, peak = rss + kid_rss, peak + kid_peak
    return rss, peak


def crawl_memory(shared: Path, count: int,
                 every: int) -> tuple[list[Sample], dict[str, float], CleanRun]:
    """Crawl a generated site of ``count`` articles; RSS each ``every`` articles served.

    Also returns the numbers of the crawl's final stats, and the memory of
    ``vendornews clean`` over the archive the crawl wrote.
    """
    from bench.perf_common import crawl_env
    from bench.perf_crawl import fast_settings, parse_stats

    bases = [p for p in load_pages(shared)
             if "/jxjcj/" in p.url and _GENERATED.match(urlsplit(p.url).path)]
    site = GeneratedSite(bases, count)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="vn-perf-memory-") as tmp:
        work = Path(tmp)
        start_url = f"http://127.0.0.1:{server.server_address[1]}{CRAWL_SITE}"
        argv = [PYTHON, "-m", "scrapy", "crawl", "vendor_news", "-a", f"start_urls={start_url}",
                "-a", f"output_dir={work}", "-O", str(work / "out.jsonl"),
                *fast_settings(work, "crawl"), "-s", "VENDORNEWS_MAX_PAGES_PER_SITE=0",
                "-s", f"LOG_FILE={work / 'crawl.log'}"]
        start = time.perf_counter()
        crawl = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[1],
                                 env=crawl_env())
        try:
            samples = _sample_crawl(crawl, site, every, start)
        finally:
            crawl.wait()
            server.shutdown()
        log = work / "crawl.log"
        stats = parse_stats(log.read_text(encoding="utf-8", errors="replace")) \
            if log.exists() else {}
        clean = clean_memory(sorted((work / "warc").glob("*.warc.gz")), work)
    return samples, stats, clean


@dataclass
class CleanRun:
    """``vendornews clean`` over the crawl's archive: RSS of its process tree over time."""

    records: int
    seconds: float
    samples: list[tuple[float, float]]  # (seconds since start, RSS MB)


def clean_memory(archives: Sequence[Path], work: Path) -> CleanRun:
    """Run ``vendornews clean`` (every core) on ``archives``; sample its tree's RSS."""
    out = work / "clean.jsonl"
    argv = [PYTHON, "-m", "vendornews.cli", "clean", *map(str, archives), "-o", str(out),
            "--quiet"]
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=Path(__file__).resolve().parents[1])
    samples: list[tuple[float, float]] = []
    while process.poll() is None:
        try:
            samples.append((time.perf_counter() - start, _tree_mb(process.pid)[0]))
        except OSError:
            break
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    records = sum(1 for _ in out.open(encoding="utf-8")) if out.exists() else 0
    return CleanRun(records, seconds, samples)


def clean_report(run: CleanRun) -> str:
    if not run.samples:
        return "(vendornews clean ended before its first sample)"
    rows = []
    for share in (0.1, 0.25, 0.5, 0.75, 0.9):
        at = min(run.samples, key=lambda s: abs(s[0] - share * run.seconds))
        rows.append([f"{share:.0%} ({at[0]:.0f} s)", f"{at[1]:.0f}"])
    peak = max(rss for _, rss in run.samples)
    return (f"`vendornews clean` of the crawl's archive: {run.records:,} records in "
            f"{run.seconds:.0f} s, peak RSS {peak:.0f} MB (all its processes).\n\n"
            + table(["time into the run", "RSS MB (all processes)"], rows))


def _sample_crawl(crawl: subprocess.Popen[bytes], site: GeneratedSite, every: int,
                  start: float) -> list[Sample]:
    samples: list[Sample] = []
    next_mark = every
    while crawl.poll() is None:
        served = site.articles_served
        if served >= next_mark:
            try:
                rss, peak = _tree_mb(crawl.pid)
            except OSError:
                break
            samples.append(Sample(served, rss, peak, time.perf_counter() - start, 0))
            print(f"{served:,} articles served: crawl RSS {rss:.0f} MB, peak {peak:.0f} MB",
                  file=sys.stderr, flush=True)
            next_mark = (served // every + 1) * every
        time.sleep(0.2)
    return samples


def crawl_report(samples: Sequence[Sample]) -> str:
    if not samples:
        return "(the crawl ended before its first sample)"
    base = samples[0]
    rows = [[f"{s.pages:,}", f"{s.rss_mb:.0f}", f"{s.peak_mb:.0f}",
             f"{s.rss_mb / base.rss_mb:.2f}x", f"{s.seconds:.0f}"] for s in samples]
    return table(["articles served", "crawl RSS MB", "peak RSS MB",
                  f"vs {base.pages:,} articles", "seconds"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=2_000)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--crawl", type=int, metavar="N",
                        help="measure a vendor_news crawl of N generated articles instead")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, args.shared, args.pages, args.every)
        return 0
    if args.crawl:
        print(f"# Memory of a long crawl\n\n{machine()}\n\n`scrapy crawl vendor_news` of "
              f"{args.crawl:,} generated articles (sitemaps), RSS of the crawl process.\n")
        samples, stats, clean = crawl_memory(args.shared, args.crawl, args.every)
        print(crawl_report(samples))
        print(f"\nCrawl stats: {stats.get('downloader/response_count', 0):.0f} responses, "
              f"{stats.get('item_scraped_count', 0):.0f} records, "
              f"{stats.get('elapsed_time_seconds', 0):.0f} s.\n")
        print(clean_report(clean))
        return 0
    modes = [m for m in args.modes.split(",") if m in MODES]
    print(f"# Memory of long extraction runs\n\n{machine()}\n\n{args.pages:,} pages generated "
          f"from {describe(load_pages(args.shared))}; modes run in parallel processes.\n")
    results = run_modes(modes, args.shared, args.pages, args.every)
    for mode, samples in results.items():
        print(f"Mode `{mode}`:\n\n{report(mode, samples)}\n")
    print(verdicts(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
