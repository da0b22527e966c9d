"""Scale out: many ``vendor_news`` processes crawling from one Redis frontier.

    scrapy crawl vendor_news -s REDIS_URL=redis://HOST:6379/0 -s MAX_IDLE_TIME_BEFORE_CLOSE=60 \\
        -a output_dir=output/worker-1
    vendornews enqueue --redis redis://HOST:6379/0 --file sites.txt

With ``REDIS_URL`` set, :func:`apply_redis_settings` (called from the spider's
``update_settings``) puts in scrapy-redis's scheduler and duplicate filter, adapted here:

* :class:`RedisFrontierScheduler`: scrapy-redis's ``Scheduler`` whose queue is reliable
  (:class:`ReliablePriorityQueue`): a popped request stays in the worker's ``processing``
  hash until its response or failure has been handled completely (follow-up requests in
  Redis, items exported); a worker killed mid-crawl loses nothing, the others take its
  unfinished requests back when its heartbeat expires (see :mod:`vendornews.frontier`).
* :class:`RedisDupeFilter`: scrapy-redis's ``RFPDupeFilter`` with Scrapy's own request
  fingerprinter (``REQUEST_FINGERPRINTER``), and never cleared by a closing worker.
* :func:`redis_start`: the spider's ``start()`` on the frontier: it takes start URLs fed by
  ``vendornews enqueue`` (and the worker's own ``-a start_urls``, fed there first) from
  Redis (scrapy-redis's ``RedisSpider`` feeds ``start_requests()``, which Scrapy 2.16
  removed), and returns once the whole frontier has been empty for
  ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds (0, the default: never).
* :class:`RedisExportClaimPipeline` and :class:`RedisExportCommitPipeline` (around the
  pipeline that journals records): exactly one worker exports each article per crawl; a
  killed worker's journal (its JSONL, fsync'ed per record) keeps every record it exported,
  and its next start settles the one or two it could not confirm.

Requests in the queue are pickled dicts (``Request.to_dict``): callbacks must be spider
methods and meta/cb_kwargs picklable. The multi-page chain passes its ``_Article`` (pages
as :class:`~vendornews.record.FetchedPage`) in ``cb_kwargs``: picklable, so it goes through
Redis like any request, and a continuation page may be fetched by another worker than page 1.
Only trusted processes may write to that Redis (a pickle runs code when loaded).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.utils.misc import load_object
from scrapy_redis import connection, picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from pipelines.accounting import Dropped
from pipelines.state import CrawlRun
from vendornews.discover import site_key
from vendornews.frontier import DEFAULT_HEARTBEAT_TTL, DEFAULT_PREFIX, Frontier, article_key

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)

# Request.meta key of the processing-hash token of a request taken from the queue (never
# serialized: stripped before a request goes back to Redis).
TOKEN = "redis_frontier_token"
CLAIM_PIPELINE = "spiders.redis_frontier.RedisExportClaimPipeline"
COMMIT_PIPELINE = "spiders.redis_frontier.RedisExportCommitPipeline"
# Pipelines that write records out themselves (the incremental state's journal): the claim
# must come first, so that a record another worker exported is never written.
CLAIM_BEFORE = (".StatePipeline",)


def redis_settings(redis_url: str) -> dict[str, Any]:
    """The settings that switch a crawl to the shared Redis frontier at ``redis_url``.

    ITEM_PIPELINES is not in it: :func:`apply_redis_settings` adds the claim pipeline to the
    project's pipelines.
    """
    return {
        "REDIS_URL": redis_url,
        "SCHEDULER": "spiders.redis_frontier.RedisFrontierScheduler",
        "SCHEDULER_QUEUE_CLASS": "spiders.redis_frontier.ReliablePriorityQueue",
        "DUPEFILTER_CLASS": "spiders.redis_frontier.RedisDupeFilter",
        # Shared by all workers: one closing worker must not clear the queue or seen set.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        # Key prefix of the frontier (vendornews enqueue --prefix): one per crawl campaign.
        "REDIS_FRONTIER_PREFIX": DEFAULT_PREFIX,
        # A worker silent this long (seconds) is taken for dead: its work goes to the others.
        "REDIS_HEARTBEAT_TTL": DEFAULT_HEARTBEAT_TTL,
        # Seconds between two looks for new start URLs while the worker waits for work.
        "REDIS_START_POLL_INTERVAL": 1.0,
    }


# Settings of redis_settings() that are tunables: a value from the project's settings or the
# command line is kept (the others switch Scrapy's components and are set over the project's).
_TUNABLES = ("REDIS_FRONTIER_PREFIX", "REDIS_HEARTBEAT_TTL", "REDIS_START_POLL_INTERVAL")


def apply_redis_settings(settings: BaseSettings) -> None:
    """When ``REDIS_URL`` is set: :func:`redis_settings` at spider priority (``-s`` on the
    command line still wins; the tunables only where nothing set them) and the claim
    pipeline appended to ITEM_PIPELINES."""
    url = settings.get("REDIS_URL")
    if not url:
        return
    for name, value in redis_settings(url).items():
        if name in _TUNABLES:
            settings.setdefault(name, value, priority="default")
        else:
            settings.set(name, value, priority="spider")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    if CLAIM_PIPELINE not in pipelines:
        # After extraction and dedup, before the pipeline that writes the run's journal.
        before = [order for path, order in pipelines.items()
                  if isinstance(path, str) and path.endswith(CLAIM_BEFORE) and order is not None]
        pipelines[CLAIM_PIPELINE] = min(before) - 1 if before else 900
        # Right after that pipeline's durable write, so the claim turns final at once.
        pipelines[COMMIT_PIPELINE] = min(before) + 1 if before else 901
    priority = max(settings.getpriority("ITEM_PIPELINES") or 0, settings.getpriority("REDIS_URL")
                   or 0)
    settings.set("ITEM_PIPELINES", pipelines, priority=priority)


# ---------------------------------------------------------------------- sites of all workers


def add_site(spider: Spider, url: str) -> None:
    """Make ``url`` one of the spider's start pages (its site crawled, its host allowed)."""
    starts: list[str] | None = getattr(spider, "site_starts", None)
    sites: set[str] | None = getattr(spider, "sites", None)
    if starts is None or sites is None or url in starts:
        return
    starts.append(url)
    sites.add(site_key(url))
    spider.allowed_domains = sorted(  # type: ignore[attr-defined]
        {site_key(u).split(":")[0] for u in starts})


def sync_sites(spider: Spider, frontier: Frontier) -> None:
    """Take in the start pages fed to any worker: this worker may get their sites' pages."""
    for url in sorted(frontier.known_starts()):
        add_site(spider, url)


# ---------------------------------------------------------------------- queue and dupefilter


class ReliablePriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue (a sorted set) popping into a processing hash.

    :meth:`pop` moves the highest-priority request atomically into this worker's processing
    hash and marks it with a token in ``meta`` (:data:`TOKEN`); the scheduler acks it.
    """

    def __init__(self, server: Any, spider: Spider, key: str, serializer: Any = None,
                 frontier: Frontier | None = None) -> None:
        super().__init__(server, spider, key, serializer)
        if frontier is None:
            raise ValueError("ReliablePriorityQueue needs the worker's Frontier")
        self.frontier = frontier

    def push(self, request: Request) -> None:
        request.meta.pop(TOKEN, None)
        super().push(request)

    def pop(self, timeout: int = 0) -> Request | None:
        popped = self.frontier.pop_request()
        if popped is None:
            return None
        token, data = popped
        try:
            request: Request = self._decode_request(data)
        except Exception:
            logger.exception("dropping a queued request that cannot be loaded")
            self.frontier.ack(token)
            return None
        request.meta[TOKEN] = token
        return request


class RedisDupeFilter(RFPDupeFilter):
    """scrapy-redis's Redis set of seen requests, fingerprinted by Scrapy's fingerprinter.

    scrapy-redis hashes method, URL and body itself; this one uses the crawler's
    ``REQUEST_FINGERPRINTER`` (Scrapy 2.7+ API), as Scrapy's own dupefilter does. The set is
    shared by all workers and outlives them: :meth:`close` keeps it (``vendornews frontier
    reset`` clears it).
    """

    def __init__(self, server: Any, key: str, debug: bool = False,
                 fingerprinter: Any = None) -> None:
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisDupeFilter:
        settings = crawler.settings
        prefix = settings.get("REDIS_FRONTIER_PREFIX") or DEFAULT_PREFIX
        return cls(connection.from_settings(settings), key=f"{prefix}:dupefilter",
                   debug=settings.getbool("DUPEFILTER_DEBUG"),
                   fingerprinter=crawler.request_fingerprinter)

    def request_fingerprint(self, request: Request) -> str:
        if self.fingerprinter is None:
            return str(super().request_fingerprint(request))
        return bytes(self.fingerprinter.fingerprint(request)).hex()

    def close(self, reason: str = "") -> None:
        """Keep the shared set (scrapy-redis deletes it)."""


# ---------------------------------------------------------------------- scheduler


class RedisFrontierScheduler(Scheduler):
    """scrapy-redis's scheduler on the reliable queue, with heartbeat, reclaim and acks.

    A request taken from Redis is acked when the engine is done with it: at once when the
    download produced another request (redirect, retry: pushed to Redis first), else after
    the callback or errback output has been processed (follow-ups pushed, items through the
    pipelines and exporters). The ack hook wraps the engine's downloader-output handler of
    this crawl, the one place every dequeued request passes exactly once.
    """

    crawler: Crawler
    frontier: Frontier

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisFrontierScheduler:
        settings = crawler.settings
        server = connection.from_settings(settings)
        server.ping()
        prefix = settings.get("REDIS_FRONTIER_PREFIX") or DEFAULT_PREFIX
        serializer = settings.get("SCHEDULER_SERIALIZER") or picklecompat
        if isinstance(serializer, str):
            serializer = load_object(serializer)
        instance = cls(
            server=server,
            persist=settings.getbool("SCHEDULER_PERSIST", True),
            flush_on_start=settings.getbool("SCHEDULER_FLUSH_ON_START"),
            queue_key=f"{prefix}:requests",
            queue_cls=settings.get("SCHEDULER_QUEUE_CLASS")
            or "spiders.redis_frontier.ReliablePriorityQueue",
            dupefilter=RedisDupeFilter.from_crawler(crawler),
            dupefilter_key=f"{prefix}:dupefilter",
            serializer=serializer,
        )
        instance.crawler = crawler
        instance.stats = crawler.stats
        instance.frontier = Frontier(server, prefix=prefix, heartbeat_ttl=settings.getfloat(
            "REDIS_HEARTBEAT_TTL", DEFAULT_HEARTBEAT_TTL))
        return instance

    def open(self, spider: Spider) -> None:
        self.spider = spider
        queue_cls = load_object(self.queue_cls)
        self.queue = queue_cls(server=self.server, spider=spider, key=self.queue_key,
                               serializer=self.serializer, frontier=self.frontier)
        if self.flush_on_start:
            self.flush()
        self.frontier.register()
        returned = self.frontier.reclaim_dead()
        if returned:
            logger.info("took back %d unfinished requests of dead workers", returned)
        logger.info("Redis frontier %s: worker %s, %d requests queued",
                    self.frontier.keys.prefix, self.frontier.worker, len(self.queue))
        self._hook_engine()
        # The heartbeat beats from a thread: extraction is CPU work in the reactor thread
        # (the first page loads jieba's dictionary: seconds), which must not pass for death.
        self._stopping = threading.Event()
        self._beat = threading.Thread(target=self._beat_loop, name="redis-frontier-heartbeat",
                                      daemon=True)
        self._beat.start()

    def _hook_engine(self) -> None:
        engine = self.crawler.engine
        original = getattr(engine, "_handle_downloader_output", None)
        if original is None:
            raise RuntimeError("this Scrapy version has no ExecutionEngine."
                               "_handle_downloader_output: the reliable queue cannot ack")

        def handle_downloader_output(result: Any, request: Request) -> Deferred[None]:
            deferred: Deferred[None] = original(result, request)
            token = request.meta.get(TOKEN)
            if token is not None:
                deferred.addBoth(self._done, token)
            return deferred

        engine._handle_downloader_output = handle_downloader_output  # type: ignore[method-assign]

    def _done(self, result: Any, token: str) -> Any:
        try:
            self.frontier.ack(token)
        except Exception:
            logger.exception("could not ack request %s", token)
        return result

    def _beat_loop(self) -> None:
        """Every ttl/3 seconds: refresh the heartbeat, reclaim dead workers' work (Redis only;
        anything touching Scrapy is handed to the reactor thread)."""
        from twisted.internet import reactor

        while not self._stopping.wait(self.frontier.heartbeat_ttl / 3):
            try:
                alive = self.frontier.beat()
                returned = self.frontier.reclaim_dead()
            except Exception:
                logger.exception("Redis frontier heartbeat failed")
                continue
            if not alive:
                logger.warning("this worker was taken for dead (silent for longer than "
                               "REDIS_HEARTBEAT_TTL=%s s): its work was handed to others",
                               self.frontier.heartbeat_ttl)
                reactor.callFromThread(
                    self.stats.inc_value, "vendornews/redis/taken_for_dead")
            if returned:
                logger.info("took back %d unfinished requests of dead workers", returned)
                reactor.callFromThread(
                    self._reclaimed, returned)

    def _reclaimed(self, count: int) -> None:
        self.stats.inc_value("vendornews/redis/reclaimed", count)
        self.wake()

    def wake(self) -> None:
        """Have the engine look at the queue now, not at its next 5-second heartbeat."""
        slot = getattr(self.crawler.engine, "_slot", None)
        nextcall = getattr(slot, "nextcall", None)
        if nextcall is not None:
            nextcall.schedule()

    def close(self, reason: str) -> None:
        if getattr(self, "_beat", None) is not None:
            self._stopping.set()
            self._beat.join(10)
        returned = self.frontier.unregister()
        if returned:
            logger.info("gave back %d unfinished requests", returned)
        if not self.persist:
            self.flush()

    def enqueue_request(self, request: Request) -> bool:
        request.meta.pop(TOKEN, None)  # a redirect or retry of a dequeued request
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        self.queue.push(request)
        self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        request: Request | None = self.queue.pop()
        if request is None:
            return None
        self.stats.inc_value("scheduler/dequeued/redis")
        sites = getattr(self.spider, "sites", None)
        if sites is not None and site_key(request.url) not in sites:
            sync_sites(self.spider, self.frontier)
        return request

    def has_pending_requests(self) -> bool:
        return len(self.queue) > 0


def redis_scheduler(spider: Spider) -> RedisFrontierScheduler:
    engine = spider.crawler.engine
    scheduler = engine.scheduler if engine is not None else None
    if not isinstance(scheduler, RedisFrontierScheduler):
        raise RuntimeError("the Redis start feed needs SCHEDULER = "
                           "spiders.redis_frontier.RedisFrontierScheduler (set REDIS_URL)")
    return scheduler


# ---------------------------------------------------------------------- start feed


async def redis_start(spider: Spider,
                      requests_for: Callable[[str], Iterable[Request]]) -> AsyncIterator[Request]:
    """The start requests of the start URLs fed to Redis, as long as there is work.

    Each start URL popped from ``PREFIX:start_urls`` becomes one of the spider's start
    pages (:func:`add_site`) and its requests (``requests_for(url)``) go to
    the shared queue. Returns, so that the worker closes, once the whole frontier has
    been empty (no start URL, no queued request, nothing in progress on any worker) for
    ``MAX_IDLE_TIME_BEFORE_CLOSE`` seconds; 0 (default, as in scrapy-redis): never.
    """
    scheduler = redis_scheduler(spider)
    frontier = scheduler.frontier
    seeds = list(getattr(spider, "site_starts", ()))
    if seeds:  # start URLs given to this worker: fed to all of them
        frontier.enqueue(seeds)
        spider.logger.info("fed %d start URL(s) to the Redis frontier", len(seeds))
    sync_sites(spider, frontier)
    settings = spider.settings
    max_idle = settings.getfloat("MAX_IDLE_TIME_BEFORE_CLOSE", 0)
    poll = settings.getfloat("REDIS_START_POLL_INTERVAL", 1.0)
    idle_since: float | None = None
    while True:
        popped = frontier.pop_start()
        if popped is not None:
            token, url = popped
            idle_since = None
            frontier.client.sadd(frontier.keys.starts, url)
            add_site(spider, url)
            spider.logger.info("start URL from Redis: %s", url)
            for request in requests_for(url):
                yield request
            frontier.ack(token)  # its requests are in the queue
            continue
        if frontier.is_empty():
            now = time.monotonic()
            idle_since = idle_since or now
            if max_idle > 0 and now - idle_since >= max_idle:
                spider.logger.info("Redis frontier empty for %.0f s: closing", now - idle_since)
                return
        else:
            idle_since = None
            scheduler.wake()
        await asyncio.sleep(poll)


# ---------------------------------------------------------------------- export claims


class RedisExportClaimPipeline:
    """Before the pipeline that journals records: an article is exported by the one worker
    that claims it first.

    The claim (``HSETNX PREFIX:exported <canonical url>``) is pending until the record is in
    the run's journal; :class:`RedisExportCommitPipeline` then makes it final. A record a
    later pipeline drops (or fails on) releases its claim. A killed worker's pending claims
    are released with its unfinished requests, so the article is exported by the worker
    that redoes them; the killed worker's next start settles the records its journal holds
    of those (see :mod:`vendornews.frontier`).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.frontier: Frontier | None = None
        self.journal: Path | None = None
        self.pending: set[str] = set()  # article keys claimed, not exported yet
        crawler.signals.connect(self.item_not_exported, signal=signals.item_dropped)
        crawler.signals.connect(self.item_not_exported, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisExportClaimPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        spider = self.crawler.spider
        assert spider is not None
        self.frontier = redis_scheduler(spider).frontier
        if getattr(spider, "uses_crawl_state", False):
            # Whose records the run journal holds, should this worker be killed mid-export.
            self.journal = CrawlRun.of(self.crawler).journal.path
            self.frontier.own_journal(self.journal)

    def close_spider(self) -> None:
        if self.frontier is not None and self.journal is not None:
            self.frontier.forget_journal(self.journal)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        assert self.frontier is not None
        if not self.frontier.claim(item["url"]):
            raise Dropped("claimed_by_another_worker",
                          f"already exported in this crawl: {item['url']}")
        self.pending.add(article_key(item["url"]))
        return item

    def commit(self, url: str) -> None:
        """The record is written out: the claim is final (idempotent)."""
        if self.frontier is not None and article_key(url) in self.pending:
            self.frontier.commit(url)
            self.pending.discard(article_key(url))

    def item_not_exported(self, item: Any) -> None:
        """A later pipeline dropped (or failed on) a claimed article: release the claim."""
        url = _item_url(item)
        if self.frontier is not None and url and article_key(url) in self.pending:
            self.pending.discard(article_key(url))
            self.frontier.release(url)


class RedisExportCommitPipeline:
    """Right after the pipeline that writes the run's journal (fsync'ed per record): makes
    the claim final there, not after the feed exporters, so that a worker killed between
    writing a record and confirming it leaves the shortest window for a second export."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedisExportCommitPipeline:
        return cls(crawler)

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        claims = self.crawler.get_item_pipeline(RedisExportClaimPipeline)
        if claims is not None and isinstance(item.get("url"), str):
            claims.commit(item["url"])
        return item


def _item_url(item: Any) -> str | None:
    """The article URL of a record, or of the spider's item (page 1) a pipeline dropped."""
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("url"), str):
        return str(item["url"])
    pages = item.get("pages")
    return getattr(pages[0], "url", None) if pages else None
