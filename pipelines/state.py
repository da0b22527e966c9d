"""Incremental and resumable crawls: the Scrapy side of :mod:`vendornews.state`.

One :class:`CrawlRun` per crawl (``CrawlRun.of(crawler)``, shared by the spider and the
pipeline) opens the crawl state (setting ``VENDORNEWS_STATE``), repairs runs that were
killed, and opens this run's journal: ``<output_dir>/news-<time>.jsonl``, the run's JSONL
export, written by :class:`StatePipeline` one fsync'ed line per record *before* the record
is marked exported in the state. So whatever kills a crawl, an article is either in a
journal and marked, or in neither and fetched again by the next run of the same command.

Repair of a killed run (by the next run, on the same state file): the journal loses its
half-written last line, its records are marked exported (idempotent), the run's CSV and
Parquet files (written by FEEDS, incomplete after a kill) are rebuilt from the journal, and
the run's WARC loses a half-written last record. A run is dead when nobody holds its
journal's lock (the kernel drops the lock of a killed process).

:class:`StatePipeline` (last in ITEM_PIPELINES) adds ``change`` ("new" | "changed"; also
"unchanged" in a full recrawl) and drops an article whose content hash is the one exported
before. At the end of a run each site's counts go to the state (``crawl_site_runs``) and
the log says which sites had nothing new.
"""

from __future__ import annotations

import logging
import os
import socket
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from weakref import WeakKeyDictionary

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from pipelines.accounting import Dropped
from pipelines.exporters import ParquetItemExporter, SafeCsvItemExporter
from vendornews.discover import site_key
from vendornews.export import CSV_COLUMNS
from vendornews.state import (
    FINISHED,
    KILLED,
    Change,
    CrawlState,
    Journal,
    JournalLocked,
    RunInfo,
    SqliteCrawlState,
    content_signature,
    holding_dead_journal,
    now_iso,
    repair_journal,
    rewrite_journal,
    same_content,
)

if TYPE_CHECKING:
    import redis

logger = logging.getLogger(__name__)

DEFAULT_STATE = "output/state.sqlite"
DEFAULT_OUTPUT_DIR = "output"
# Page counts go to the state every this many responses (and at the end).
_FLUSH_PAGES = 25

class JournalSettler(Protocol):
    """Which records of a killed run's journal stay (the Redis frontier's export claims,
    :class:`vendornews.frontier.Frontier`); see :func:`repair_run`."""

    def settle_journal(self, journal: Path, urls: list[str]) -> list[bool]: ...

    def forget_journal(self, journal: Path) -> None: ...


_STAMPS: WeakKeyDictionary[Spider, str] = WeakKeyDictionary()
_RUNS: WeakKeyDictionary[Crawler, CrawlRun] = WeakKeyDictionary()


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def output_dir(spider: Spider) -> Path:
    return Path(getattr(spider, "output_dir", None) or DEFAULT_OUTPUT_DIR)


def archive_dir(crawler: Crawler) -> Path | None:
    """``VENDORNEWS_WARC_DIR`` with ``%(output_dir)s`` filled in; None when archiving is off."""
    value = crawler.settings.get("VENDORNEWS_WARC_DIR")
    if not value:
        return None
    assert crawler.spider is not None
    return Path(str(value) % {"output_dir": output_dir(crawler.spider)})


def _taken(stamp: str, folder: Path, warc: Path | None) -> bool:
    if folder.is_dir() and any(folder.glob(f"news-{stamp}.*")):
        return True
    return warc is not None and (warc / f"{stamp}.warc.gz").exists()


def run_stamp(spider: Spider) -> str:
    """The run's time stamp (UTC start, as Scrapy writes ``%(time)s``), one per crawl.

    Unique in the output folder: a second run started within the same second gets the
    next second, so runs never share (or append to) files.
    """
    if spider not in _STAMPS:
        folder = output_dir(spider)
        warc = archive_dir(spider.crawler) if getattr(spider, "crawler", None) else None
        start = datetime.now(UTC).replace(microsecond=0)
        stamp = start.isoformat().replace(":", "-")
        while _taken(stamp, folder, warc):
            start += timedelta(seconds=1)
            stamp = start.isoformat().replace(":", "-")
        _STAMPS[spider] = stamp
    return _STAMPS[spider]


def run_uri_params(params: dict[str, Any], spider: Spider) -> dict[str, Any]:
    """FEEDS ``uri_params``: ``%(time)s`` is the run's stamp, the journal's and the WARC's."""
    params["time"] = run_stamp(spider)
    return params


# --------------------------------------------------------------------------- repair


def frontier_redis(settings: BaseSettings) -> tuple[redis.Redis, str] | None:
    """The Redis of the crawl frontier (``REDIS_URL``) and its key prefix; None without."""
    url = settings.get("REDIS_URL")
    if not url:
        return None
    from vendornews.frontier import DEFAULT_PREFIX, connect

    return connect(url), settings.get("REDIS_FRONTIER_PREFIX") or DEFAULT_PREFIX


def open_crawl_state(settings: BaseSettings) -> tuple[CrawlState, bool]:
    """The crawl state and whether it is shared: in the Redis of the frontier when
    ``REDIS_URL`` is set (every worker sees what the others exported), else the SQLite
    file ``VENDORNEWS_STATE``."""
    if shared := frontier_redis(settings):
        from vendornews.state_redis import RedisCrawlState

        return RedisCrawlState(*shared), True
    return SqliteCrawlState(settings.get("VENDORNEWS_STATE") or DEFAULT_STATE), False


def frontier_settle(settings: BaseSettings) -> JournalSettler | None:
    """On the Redis frontier (``REDIS_URL``): its settling of killed runs' journals."""
    if shared := frontier_redis(settings):
        from vendornews.frontier import Frontier

        return Frontier(*shared)
    return None


def rebuild_feeds(journal: Path) -> list[Path]:
    """Rewrite the CSV and Parquet files of a journal's run from the journal's records.

    Each is written beside and then moved over the old file, so a kill during the rebuild
    leaves the old one. A file the run had not opened yet is written when the journal holds
    records (Scrapy opens a feed's file at its first item).
    """
    records, _ = repair_journal(journal)
    rebuilt = []
    formats: tuple[tuple[str, type[Any], dict[str, Any]], ...] = (
        (".csv", SafeCsvItemExporter, {"encoding": "utf-8-sig",
                                       "fields_to_export": list(CSV_COLUMNS)}),
        (".parquet", ParquetItemExporter, {}),
    )
    for suffix, exporter_cls, options in formats:
        target = journal.with_suffix(suffix)
        if not target.exists() and not records:
            continue
        partial = target.with_name(target.name + ".rebuild")
        with partial.open("wb") as handle:
            exporter = exporter_cls(handle, **options)
            exporter.start_exporting()
            for record in records:
                exporter.export_item(record)
            exporter.finish_exporting()
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, target)
        rebuilt.append(target)
    return rebuilt


def repair_run(state: CrawlState, run: RunInfo, settle: JournalSettler | None = None) -> int:
    """Finish the books of a killed run; returns how many of its records were re-marked.

    ``settle`` (a crawl on the Redis frontier) says which of the journal's records stay:
    the ones other workers took over after the kill are cut from it before its feeds are
    rebuilt; the journal is forgotten there only once all is done, so a repair killed
    midway is done again.
    """
    from vendornews.warc import repair_warc

    marked = 0
    ended = None
    if run.journal and Path(run.journal).exists():
        journal = Path(run.journal)
        # The run's end: its journal's last write (before this repair rewrites it).
        ended = datetime.fromtimestamp(journal.stat().st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        records, cut = repair_journal(journal)
        if cut:
            logger.warning("repair %s: cut a half-written last line (%d bytes)", journal, cut)
        if settle is not None:
            keep = settle.settle_journal(journal, [record["url"] for record in records])
            if not all(keep):
                logger.warning("repair %s: cut %d records other workers took over after the "
                               "kill (claims not confirmed)", journal, keep.count(False))
                records = [record for record, kept in zip(records, keep, strict=True) if kept]
                rewrite_journal(journal, records)
        for record in records:
            if state.record(record["url"], record["content_hash"], site_key(record["url"]),
                            run.run_id, record.get("change") or "new",
                            when=record.get("crawled_at"),
                            signature=content_signature(record)):
                marked += 1
        rebuilt = rebuild_feeds(journal)
        logger.warning("repaired killed run %s: %d records in its journal (%d marked now), "
                       "rebuilt %s", run.run_id, len(records), marked,
                       ", ".join(p.name for p in rebuilt) or "no feed")
        if settle is not None:
            settle.forget_journal(journal)
    if run.archive and Path(run.archive).exists():
        cut = repair_warc(run.archive)
        if cut:
            logger.warning("repair %s: cut a half-written last record (%d bytes)",
                           run.archive, cut)
    state.end_run(run.run_id, KILLED, ended=ended)
    return marked


def repair_dead_runs(state: CrawlState, settle: JournalSettler | None = None) -> list[str]:
    """Repair every run of this host marked running whose journal nobody holds; their ids.

    The journal is held during the repair, so two crawls starting at once never repair the
    same run; a run of another host (state shared in Redis) is left to that host's crawls.
    """
    repaired = []
    for run in state.unfinished_runs():
        if run.host not in (None, socket.gethostname()):
            continue
        with holding_dead_journal(run.journal or "") as held:
            if not held:
                logger.info("run %s is still running, or being repaired (journal locked): "
                            "not touched", run.run_id)
                continue
            if run.run_id not in {r.run_id for r in state.unfinished_runs()}:
                continue  # repaired by another crawl meanwhile
            repair_run(state, run, settle)
        repaired.append(run.run_id)
    return repaired


# --------------------------------------------------------------------------- the run


class CrawlRun:
    """This crawl's state, journal and counters; one per crawler (:meth:`of`)."""

    def __init__(self, crawler: Crawler) -> None:
        spider = crawler.spider
        assert spider is not None, "CrawlRun needs the spider"
        settings = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.full = _truthy(getattr(spider, "full", False)) or settings.getbool("VENDORNEWS_FULL")
        self.sites: tuple[str, ...] = tuple(sorted(getattr(spider, "sites", ())))
        self.state, self.shared = open_crawl_state(settings)
        self.repaired = repair_dead_runs(self.state, frontier_settle(settings))
        self.output_dir = output_dir(spider)
        fsync = settings.getbool("VENDORNEWS_JOURNAL_FSYNC", True)
        for _attempt in range(30):
            stamp = run_stamp(spider)
            try:
                self.journal = Journal(self.output_dir / f"news-{stamp}.jsonl", fsync=fsync)
                break
            except JournalLocked:  # another crawl started in the same second: next one
                _STAMPS.pop(spider, None)
        else:
            raise JournalLocked(f"{self.output_dir}: no free run stamp")
        # The stamp names the run's files; in state shared by many workers (some started in
        # the same second) the run's id also names the process.
        host = socket.gethostname()
        self.run_id = f"{stamp}@{host}:{os.getpid()}" if self.shared else stamp
        warc = archive_dir(crawler)
        self.archive = warc / f"{stamp}.warc.gz" if warc else None
        # The latest earlier run of each site, before this one is recorded.
        self.previous = {site: self.state.last_site_run(site) for site in self.sites}
        self.state.start_run(RunInfo(
            run_id=self.run_id, started=now_iso(), sites=self.sites,
            journal=str(self.journal.path.resolve()),
            archive=str(self.archive) if self.archive else None, full=self.full,
            host=host if self.shared else None))
        self.exported: Counter[str] = Counter()  # per change kind
        self.site_exports: Counter[str] = Counter()
        self._pages: Counter[str] = Counter()
        self._unflushed = 0
        self._closed = False
        crawler.signals.connect(self._response_received, signal=signals.response_received)
        crawler.signals.connect(self._item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.close, signal=signals.spider_closed)
        logger.info("run %s: journal %s, state %s%s", self.run_id, self.journal.path,
                    "in Redis" if self.shared else settings.get("VENDORNEWS_STATE")
                    or DEFAULT_STATE, " (full recrawl)" if self.full else "")

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlRun:
        if crawler not in _RUNS:
            _RUNS[crawler] = cls(crawler)
        return _RUNS[crawler]

    def resumes(self, site: str) -> bool:
        """Whether the site's last run did not go through it (killed, stopped, capped):
        this run must not stop paginating at seen articles there."""
        previous = self.previous.get(site)
        return previous is not None and not previous.complete

    # ------------------------------------------------------------------ signals

    def _response_received(self, response: Response, request: Request, spider: Spider) -> None:
        site = site_key(response.url)
        if site in self.sites:
            self._pages[site] += 1
            self._unflushed += 1
            if self._unflushed >= _FLUSH_PAGES:
                self._flush_pages()

    def _flush_pages(self) -> None:
        if self._closed:
            return
        for site, pages in self._pages.items():
            self.state.add_counts(self.run_id, site, pages=pages)
        self._pages.clear()
        self._unflushed = 0

    def _item_dropped(self, item: Any, response: Any, exception: BaseException,
                      spider: Spider) -> None:
        """A page the spider took for an article and the core did not: remember it."""
        pages = item.get("pages") if isinstance(item, dict) else None
        if pages and not self._closed:
            url = pages[0].url
            self.state.record_not_article(url, site_key(url), self.run_id)

    def capped(self, site: str) -> None:
        if not self._closed:
            self.state.set_capped(self.run_id, site)

    # ------------------------------------------------------------------ items

    def classify(self, record: dict[str, Any]) -> Change:
        """new, changed or unchanged since the last export (see :func:`same_content`)."""
        known = self.state.lookup(record["url"])
        if known is None or known.content_hash is None:
            return "new"
        if known.content_hash == record.get("content_hash"):
            return "unchanged"
        if same_content(known.signature, content_signature(record)):
            if self.stats is not None:
                self.stats.inc_value("vendornews/incremental/unchanged_text")
            return "unchanged"
        return "changed"

    def export(self, record: dict[str, Any], change: Change, aliases: tuple[str, ...]) -> None:
        """Journal the record (durably), then mark it exported."""
        record["change"] = change
        self.journal.append(record)
        site = site_key(record["url"])
        self.state.record(record["url"], record["content_hash"], site, self.run_id, change,
                          when=record.get("crawled_at"), aliases=aliases,
                          signature=content_signature(record))
        self.exported[change] += 1
        self.site_exports[site] += 1

    def unchanged(self, record: dict[str, Any]) -> None:
        self.state.mark_checked(record["url"], site_key(record["url"]), self.run_id)
        self.exported["unchanged"] += 1

    # ------------------------------------------------------------------ end

    def close(self, spider: Spider, reason: str) -> None:
        if self._closed:
            return
        self._flush_pages()
        self._closed = True
        stats = self.stats
        assert stats is not None
        quiet = [site for site in self.sites if not self.site_exports[site]]
        for site in quiet:
            logger.info("no new or changed article on %s", site)
        stats.set_value("vendornews/incremental/sites_without_news", len(quiet))
        for change in ("new", "changed", "unchanged"):
            stats.set_value(f"vendornews/incremental/{change}", self.exported[change])
        total = self.exported["new"] + self.exported["changed"] + (
            self.exported["unchanged"] if self.full else 0)
        stats.set_value("vendornews/incremental/exported", total)
        if total == 0:
            logger.info("nothing new: this run exported no record (%d sites unchanged)",
                        len(quiet))
        else:
            logger.info("exported %d records: %d new, %d changed (%d unchanged not exported)",
                        total, self.exported["new"], self.exported["changed"],
                        0 if self.full else self.exported["unchanged"])
        self.journal.close()
        self.state.end_run(self.run_id, reason or FINISHED)
        self.state.close()


class StatePipeline:
    """Last item pipeline: mark the change, drop unchanged articles, journal and record.

    Needs the ``vendor_news`` spider's :class:`CrawlRun`; for another spider it passes
    items through.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run: CrawlRun | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StatePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        if getattr(self.crawler.spider, "uses_crawl_state", False):
            self.run = CrawlRun.of(self.crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        run = self.run
        if run is None:
            return item
        change = run.classify(item)
        if change == "unchanged" and not run.full:
            run.unchanged(item)
            raise Dropped("unchanged", f"unchanged since the last export: {item['url']}")
        redirected: dict[str, list[str]] = getattr(self.crawler.spider, "redirected_from", {})
        run.export(item, change, tuple(redirected.pop(item["url"], ())))
        return item
