"""Using every core: ``vendornews clean ARCHIVE.warc`` with 1 worker against 2 (or N).

    .venv/bin/python -m bench.perf_cores [--pages 2000] [--repeat 3] [--shared ../shared]

The archive (``archive.warc.gz``) is written here: ``--pages`` distinct pages made from the
page set (:func:`bench.perf_memory.generated`), one ``response`` record each with the page's
Content-Type, marked as an article (the core's :class:`vendornews.warc.WarcArchive`). Two
measurements, each the median wall time of ``--repeat`` runs:

* ``vendornews clean``, if the command exists (``vendornews clean --help`` succeeds): run
  with 1 worker and with ``os.cpu_count()`` workers, the options read from its help
  (``--workers``/``--jobs``/``-j``/``--processes``, ``--output``, ``--quiet``). Until the
  command exists the row says "not available yet".
* the reference: ``multiprocessing.Pool(n).imap`` of :func:`extract_article` over the same
  pages, pool start-up and each worker's jieba dictionary load included, as a command that
  re-cleans an archive would pay them. It shows what a clean command can expect here.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.data import DEFAULT_SHARED, describe, load_pages
from bench.perf_common import crawl_env, machine, median_of, table, venv_tool
from bench.perf_memory import generated

WORKER_OPTIONS = ("--workers", "--jobs", "-j", "--processes")
PageTuple = tuple[str, bytes, str | None]


# --------------------------------------------------------------------------------------
# the archive
# --------------------------------------------------------------------------------------


def page_tuples(shared: Path, count: int) -> list[PageTuple]:
    return [(p.url, p.body, p.content_type) for p in generated(load_pages(shared), count)]


def write_warc(pages: Sequence[PageTuple], path: Path) -> Path:
    """One ``response`` record per page, marked as an article as a crawl's archive is.

    Written with the core's :class:`vendornews.warc.WarcArchive` (``WARC-Vendornews-Role:
    article``, what ``vendornews clean`` reads); plain warcio records on a core without it.
    """
    try:
        from vendornews.warc import WarcArchive
    except ImportError:
        return _write_plain_warc(pages, path)
    archive = WarcArchive(path)
    for url, body, content_type in pages:
        archive.write_response(url, 200, [("Content-Type", content_type or "text/html")], body,
                               role="article")
    archive.close()
    return path


def _write_plain_warc(pages: Sequence[PageTuple], path: Path) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for url, body, content_type in pages:
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", content_type or "text/html"),
                           ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers))
    return path


# --------------------------------------------------------------------------------------
# vendornews clean
# --------------------------------------------------------------------------------------


def clean_help() -> str | None:
    """``vendornews clean --help``, or None while the command does not exist."""
    done = subprocess.run([venv_tool("vendornews"), "clean", "--help"], capture_output=True,
                          text=True, env=crawl_env(), check=False)
    return done.stdout if done.returncode == 0 else None


def has_option(help_text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}\b", help_text) is not None


def worker_option(help_text: str) -> str | None:
    return next((o for o in WORKER_OPTIONS if has_option(help_text, o)), None)


@dataclass(frozen=True)
class Timed:
    wall: float
    child_cpu: float  # CPU seconds of the (waited-for) child processes

    @property
    def cores(self) -> float:
        return self.child_cpu / self.wall


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def clean_argv(help_text: str, archive: Path, workers: int, out: Path) -> list[str]:
    """The command line for ``workers`` workers, from the options its help lists."""
    argv = [venv_tool("vendornews"), "clean", str(archive)]
    if has_option(help_text, "--output"):
        argv += ["--output", str(out)]
    if option := worker_option(help_text):
        argv += [option, str(workers)]
    if has_option(help_text, "--quiet"):
        argv.append("--quiet")
    return argv


def time_clean(argv: Sequence[str], out: Path) -> Timed:
    """Wall and children's CPU time of one ``vendornews clean`` (stdout to ``out``)."""
    start, cpu = time.perf_counter(), _children_cpu()
    with out.open("wb") as sink:
        done = subprocess.run(argv, stdout=sink, stderr=subprocess.PIPE, env=crawl_env(),
                              check=False)
    elapsed = Timed(time.perf_counter() - start, _children_cpu() - cpu)
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: "
                         f"{done.stderr.decode(errors='replace')[-1000:]}")
    return elapsed


# --------------------------------------------------------------------------------------
# the multiprocessing reference
# --------------------------------------------------------------------------------------


def _warm_worker() -> None:
    from vendornews.keywords import top_keywords

    top_keywords("预热", "预热一下结巴分词的词典。")


def _extract(page: PageTuple) -> bool:
    from vendornews.extract import extract_article
    from vendornews.record import FetchedPage, Record

    url, body, content_type = page
    headers = {"content-type": content_type} if content_type else {}
    result = extract_article([FetchedPage(url, body, headers)], crawled_at="2026-01-01T00:00:00")
    return isinstance(result, Record)


def time_pool(pages: Sequence[PageTuple], workers: int) -> Timed:
    """Pool start-up, jieba in each worker and every page, in a fresh pool (fork)."""
    context = multiprocessing.get_context("fork")
    start, cpu = time.perf_counter(), _children_cpu()
    pool = context.Pool(workers, initializer=_warm_worker)
    for _ in pool.imap_unordered(_extract, pages, chunksize=16):
        pass
    pool.close()
    pool.join()  # workers exit and are waited for: their CPU time is counted
    return Timed(time.perf_counter() - start, _children_cpu() - cpu)


# --------------------------------------------------------------------------------------


def speedup_rows(label: str, one: list[Timed], many: list[Timed], workers: int,
                 pages: int) -> list[list[str]]:
    t1, tn = median_of([t.wall for t in one]), median_of([t.wall for t in many])
    c1, cn = median_of([t.cores for t in one]), median_of([t.cores for t in many])
    return [[label, "1", f"{t1:.1f}", f"{pages / t1:.0f}", "1.00x", "-", f"{c1:.2f}"],
            [label, str(workers), f"{tn:.1f}", f"{pages / tn:.0f}", f"{t1 / tn:.2f}x",
             f"{t1 / tn / workers:.0%}", f"{cn:.2f}"]]


def _lines(path: Path) -> int:
    return sum(1 for _ in path.open("rb")) if path.exists() else 0


def one_and_many(run: Callable[[int], Timed], workers: int,
                 repeat: int) -> tuple[list[Timed], list[Timed]]:
    """``repeat`` runs with 1 worker and with ``workers``, alternating."""
    one, many = [], []
    for _ in range(repeat):
        one.append(run(1))
        many.append(run(workers))
    return one, many


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    workers = max(2, os.cpu_count() or 2)
    print(f"# Cores\n\n{machine()}\n\n{args.pages:,} pages generated from "
          f"{describe(load_pages(args.shared))}; median of {args.repeat} runs.\n")
    pages = page_tuples(args.shared, args.pages)
    rows: list[list[str]] = []
    help_text = clean_help()
    if help_text is None:
        rows.append(["`vendornews clean ARCHIVE.warc`", "-", "not available yet",
                     *["-"] * 4])
    else:
        option = worker_option(help_text)
        with tempfile.TemporaryDirectory(prefix="vn-perf-cores-") as tmp:
            archive = write_warc(pages, Path(tmp) / "archive.warc.gz")
            one, many = one_and_many(
                lambda n: time_clean(clean_argv(help_text, archive, n, Path(tmp) / f"{n}.jsonl"),
                                     Path(tmp) / f"stdout-{n}"),
                workers, args.repeat)
            records = _lines(Path(tmp) / f"{workers}.jsonl") or _lines(Path(tmp) / "stdout-1")
        label = f"`vendornews clean ARCHIVE {option or '(no worker option found)'} N`"
        rows += speedup_rows(label, one, many, workers, len(pages))
        print(f"`vendornews clean` wrote {records:,} records from {len(pages):,} archived "
              "pages.\n")
    one, many = one_and_many(lambda n: time_pool(pages, n), workers, args.repeat)
    rows += speedup_rows("reference: `multiprocessing.Pool` of `extract_article`", one, many,
                         workers, len(pages))
    print(table(["run", "workers", "seconds", "pages/s", "speed-up", "efficiency",
                 "cores used (child CPU s / wall s)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
