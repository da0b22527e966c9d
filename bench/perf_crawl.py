"""End-to-end crawl rate: ``scrapy crawl vendor_news`` against a bare spider, same URLs.

    .venv/bin/python -m bench.perf_crawl [--repeat 3] [--shared ../shared]

The dev farm is served by ``farm/serve.py --site-ports`` (one origin per site; a fresh
server for every run, so each run meets the farm's one-time 503s alike). First an untimed
discovery crawl of ``vendor_news`` (DEBUG log) lists every URL it fetched. Then, in
alternation, timed runs of:

* ``vendor_news``: ``python -m scrapy crawl vendor_news -a start_urls=… -O out.jsonl``,
  the real spider with the extraction pipeline;
* ``vendor_news`` with the pipelines (extraction, dedup) replaced by :class:`NoExtraction`
  (a diagnostic: the spider's link discovery without record extraction);
* :class:`BareSpider` (``scrapy runspider bench/perf_crawl.py``): requests the discovery
  crawl's URLs (robots.txt excepted; its middleware fetches those itself), does nothing
  with the responses.

All run from the checkout with the project's settings (so the same concurrency, robots
handling, retries, raw archive and reactor) and ``-s AUTOTHROTTLE_ENABLED=0 -s
DOWNLOAD_DELAY=0``; the dedup state (``VENDORNEWS_STATE``) is a fresh file in a temporary
folder for every run, never the checkout's ``output/state.sqlite``, and so are the feeds and
the WARC archive (``-a output_dir``, the bare spider's too).

Concurrency: each site is its own download slot of ``CONCURRENT_REQUESTS_PER_DOMAIN``
requests (``spiders/downloader.py``; the farm serves every site on 127.0.0.1, each on its
port). With 200 ms per response the busiest site therefore bounds every run: the report
gives that ceiling beside the table. Each row also gives the spread of responses/s over the
repetitions.
The rate is Scrapy's own ``downloader/response_count / elapsed_time_seconds`` (engine open
to close, process start-up excluded: ``bench.perf_startup`` measures that); the wall time
of the whole command is shown beside it, and its CPU time (user + system, start-up
included): a command whose CPU seconds approach its wall seconds was bound by its own
work, not by the server. Figures are medians over the repetitions.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response

from bench.data import CHECKOUT, DEFAULT_SHARED
from bench.perf_common import PYTHON, crawl_env, machine, median_of, serve_farm, table, verdict

# Target: the vendor_news crawl fetches at least this share of the bare spider's rate.
TARGET_SHARE = 0.8
FAST = ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0"]
CRAWL_TIMEOUT = 600
_CRAWLED = re.compile(r"Crawled \((\d{3})\) <GET (\S+)>")
_STAT = re.compile(r"'([\w/]+)': ([\d.]+)")


class BareSpider(scrapy.Spider):
    """Fetches the URLs of ``-a urls_file=PATH`` and does nothing with the responses."""

    name = "bare_fetch"
    custom_settings = {"ITEM_PIPELINES": {}, "FEEDS": {}}

    def __init__(self, urls_file: str = "", output_dir: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = Path(urls_file).read_text(encoding="utf-8").split()
        # The project's feeds and raw archive write under %(output_dir)s, as vendor_news'.
        self.output_dir = output_dir

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response) -> None:
        return None


class NoExtraction:
    """Item pipeline for the diagnostic run: a URL instead of a record, no extraction."""

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"url": item["pages"][0].url}


@dataclass(frozen=True)
class CrawlRun:
    responses: int
    elapsed: float  # Scrapy's elapsed_time_seconds
    wall: float  # the whole command
    cpu: float  # user + system CPU seconds of the whole command (start-up included)
    items: int
    log: str

    @property
    def rate(self) -> float:
        return self.responses / self.elapsed


def parse_stats(log: str) -> dict[str, float]:
    """Numeric values of the final stats dump."""
    dump = log.split("Dumping Scrapy stats:", 1)
    return {k: float(v) for k, v in _STAT.findall(dump[1])} if len(dump) == 2 else {}


def crawled_urls(log: str) -> list[str]:
    """Every URL a DEBUG log says was downloaded (robots.txt left out), first time only."""
    urls = [url for _, url in _CRAWLED.findall(log) if not url.endswith("/robots.txt")]
    return list(dict.fromkeys(urls))


def fast_settings(workdir: Path, label: str) -> list[str]:
    """No politeness delays; the run's own dedup state file, not ``output/state.sqlite``."""
    return [*FAST, "-s", f"VENDORNEWS_STATE={workdir / label}.sqlite"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_scrapy(args: Sequence[str], workdir: Path, label: str) -> CrawlRun:
    log_file = workdir / f"{label}.log"
    command = [PYTHON, "-m", "scrapy", *args, *fast_settings(workdir, label),
               "-s", f"LOG_FILE={log_file}"]
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=CHECKOUT, env=crawl_env(), capture_output=True,
                          text=True, timeout=CRAWL_TIMEOUT, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    log = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    stats = parse_stats(log)
    if done.returncode or "elapsed_time_seconds" not in stats:
        raise SystemExit(f"{label}: scrapy exited {done.returncode}\n{done.stderr[-2000:]}"
                         f"\n{log[-2000:]}")
    return CrawlRun(int(stats.get("downloader/response_count", 0)),
                    stats["elapsed_time_seconds"], wall, cpu,
                    int(stats.get("item_scraped_count", 0)), log)


def vendor_args(start_urls: Sequence[str], workdir: Path, label: str,
                extra: Sequence[str] = ()) -> list[str]:
    return ["crawl", "vendor_news", "-a", "start_urls=" + ",".join(start_urls),
            "-a", f"output_dir={workdir}", "-O", str(workdir / f"{label}.jsonl"), *extra]


def bare_args(urls_file: Path, workdir: Path, label: str) -> list[str]:
    return ["runspider", str(Path(__file__).resolve()), "-a", f"urls_file={urls_file}",
            "-a", f"output_dir={workdir}", "-O", str(workdir / f"{label}.jsonl")]


VARIANTS = ("vendor_news", "vendor_news, no pipelines", "bare spider")
SitePath = tuple[str, str]  # (site id, path and query): a URL independent of the port


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _origins(start_urls: Sequence[str]) -> dict[str, str]:
    """Site id -> origin, from ``serve.py``'s start URLs (``http://HOST:PORT/ID/``)."""
    return {urlsplit(url).path.strip("/").split("/")[0]: _origin(url) for url in start_urls}


def site_paths(urls: Sequence[str], start_urls: Sequence[str]) -> list[SitePath]:
    """The URLs of one server run, re-rooted on their site so another run can use them."""
    site_of = {origin: site for site, origin in _origins(start_urls).items()}
    return [(site_of[_origin(url)], url[len(_origin(url)):]) for url in urls
            if _origin(url) in site_of]


def round_robin(paths: Sequence[SitePath]) -> list[SitePath]:
    """One URL of each site in turn, so the bare spider keeps every site's slots busy."""
    by_site: dict[str, list[SitePath]] = {}
    for item in paths:
        by_site.setdefault(item[0], []).append(item)
    queues = list(by_site.values())
    longest = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(longest) for q in queues if i < len(q)]


def write_urls(paths: Sequence[SitePath], start_urls: Sequence[str], file: Path) -> Path:
    origins = _origins(start_urls)
    file.write_text("".join(f"{origins[site]}{path}\n" for site, path in round_robin(paths)),
                    encoding="utf-8")
    return file


def one_run(variant: str, server: str, shared: Path, paths: Sequence[SitePath], workdir: Path,
            rep: int) -> CrawlRun:
    """One timed run on a fresh server."""
    label = f"{variant.replace(' ', '_').replace(',', '')}-{server}-{rep}"
    with serve_farm(shared, nodelay=server != "stock", latency=LATENCY[server]) as served:
        if variant == "bare spider":
            urls_file = write_urls(paths, served.start_urls, workdir / f"{label}.urls")
            args = bare_args(urls_file, workdir, label)
        else:
            extra = ["-s", 'ITEM_PIPELINES={"bench.perf_crawl.NoExtraction": 300}'] \
                if "no pipelines" in variant else []
            args = vendor_args(served.start_urls, workdir, label, extra)
        return run_scrapy(args, workdir, label)


def concurrency() -> str:
    from spiders import settings

    return (f"CONCURRENT_REQUESTS={settings.CONCURRENT_REQUESTS}, "
            f"CONCURRENT_REQUESTS_PER_DOMAIN={settings.CONCURRENT_REQUESTS_PER_DOMAIN} "
            f"(one download slot per site: DOWNLOADER={settings.DOWNLOADER}), "
            "AUTOTHROTTLE_ENABLED=0, DOWNLOAD_DELAY=0")


def site_floor(paths: Sequence[SitePath], latency: float) -> str:
    """The busiest site, its URLs, and the least time any crawl of them takes when each
    response takes ``latency`` seconds and a site gets ``CONCURRENT_REQUESTS_PER_DOMAIN``
    requests at a time (robots.txt and retries left out): the site-bound ceiling of the
    responses/s of every run, the bare spider's too."""
    from spiders import settings

    by_site: dict[str, int] = {}
    for site, _ in paths:
        by_site[site] = by_site.get(site, 0) + 1
    site, count = max(by_site.items(), key=lambda kv: kv[1], default=("", 0))
    per_site = settings.CONCURRENT_REQUESTS_PER_DOMAIN
    least = -(-count // per_site) * latency
    return (f"Busiest site: {site}, {count} of the {len(paths)} URLs: at most "
            f"{len(paths) / least:.1f} responses/s for any crawl of these URLs (that site "
            f"alone takes {least:.1f} s at {per_site} requests at a time).")


def report(runs: dict[str, list[CrawlRun]]) -> str:
    bare_rate = median_of([r.rate for r in runs["bare spider"]])
    rows = []
    for variant in VARIANTS:
        done = runs[variant]
        rate = median_of([r.rate for r in done])
        rows.append([variant, f"{median_of([r.responses for r in done]):.0f}",
                     f"{median_of([r.items for r in done]):.0f}",
                     f"{median_of([r.elapsed for r in done]):.2f}",
                     f"{median_of([r.wall for r in done]):.2f}",
                     f"{median_of([r.cpu for r in done]):.2f}", f"{rate:.1f}",
                     f"{rate / bare_rate:.2f}x",
                     f"{min(r.rate for r in done):.1f}-{max(r.rate for r in done):.1f}"])
    return table(["run", "responses", "items", "crawl s", "command wall s", "command CPU s",
                  "responses/s", "vs bare spider", "responses/s min-max"], rows)


def share_of_bare(runs: dict[str, list[CrawlRun]]) -> float:
    return median_of([r.rate for r in runs["vendor_news"]]) / \
        median_of([r.rate for r in runs["bare spider"]])


SERVERS = {
    "stock": "serve.py as shipped (a kept-alive connection waits ~40 ms per response: "
             "Nagle + delayed ACK)",
    "nodelay": "serve.py with TCP_NODELAY (~0.3 ms per response)",
    "remote": "serve.py with TCP_NODELAY and 200 ms before each response (a distant, "
              "small host)",
}
LATENCY = {"stock": 0.0, "nodelay": 0.0, "remote": 0.2}


def measure(server: str, shared: Path, paths: Sequence[SitePath], workdir: Path,
            repeat: int) -> dict[str, list[CrawlRun]]:
    runs: dict[str, list[CrawlRun]] = {v: [] for v in VARIANTS}
    for rep in range(repeat):
        for variant in VARIANTS[rep % 3:] + VARIANTS[:rep % 3]:
            runs[variant].append(one_run(variant, server, shared, paths, workdir, rep))
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    parser.add_argument("--server", choices=[*SERVERS, "all"], default="all")
    args = parser.parse_args(argv)
    servers = list(SERVERS) if args.server == "all" else [args.server]
    print(f"# Crawl throughput\n\n{machine()}\n\nSettings for every run: {concurrency()}; "
          f"median of {args.repeat} runs each.\n")
    targets = []
    with tempfile.TemporaryDirectory(prefix="vn-perf-crawl-") as tmp:
        workdir = Path(tmp)
        with serve_farm(args.shared) as served:
            discovery = run_scrapy(
                vendor_args(served.start_urls, workdir, "discovery") + ["-s", "LOG_LEVEL=DEBUG"],
                workdir, "discovery")
            paths = site_paths(crawled_urls(discovery.log), served.start_urls)
        print(f"Discovery crawl: {discovery.responses} responses, {discovery.items} records, "
              f"{len(paths)} distinct URLs for the bare spider (one site after another in "
              f"turn).\n")
        for server in servers:
            runs = measure(server, args.shared, paths, workdir, args.repeat)
            floor = f" {site_floor(paths, LATENCY[server])}" if LATENCY[server] else ""
            print(f"Server: {SERVERS[server]}.{floor}\n\n{report(runs)}\n")
            share = share_of_bare(runs)
            targets.append([f"vendor_news responses/s vs bare spider ({server} server)",
                            f">= {TARGET_SHARE:.2f}x", f"{share:.2f}x",
                            verdict(share >= TARGET_SHARE)])
    print(table(["target", "wanted", "measured", "result"], targets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
