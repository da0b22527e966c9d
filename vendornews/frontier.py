"""The shared crawl frontier in Redis: key names, start-URL feed, reliable queue (no Scrapy).

Many ``vendor_news`` worker processes (on one machine or many) crawl from one Redis when
started with ``-s REDIS_URL=redis://HOST:6379/0``; ``vendornews enqueue URL...`` feeds them
start URLs. The Scrapy side (scheduler, dupefilter, start feed, export claims) lives in
:mod:`spiders.redis_frontier`; everything here is plain redis-py, usable from the CLI.

Keys (``PREFIX`` is ``vendor_news`` unless the setting ``REDIS_FRONTIER_PREFIX`` says
otherwise)::

    PREFIX:start_urls        list  start URLs fed by `vendornews enqueue` (FIFO)
    PREFIX:starts            set   every start URL ever fed: the crawled sites of all workers
    PREFIX:requests          zset  scheduled requests (scrapy-redis PriorityQueue format:
                                   score -priority, member the pickled request dict)
    PREFIX:dupefilter        set   request fingerprints (Scrapy's REQUEST_FINGERPRINTER)
    PREFIX:workers           set   registered worker ids
    PREFIX:worker:ID         str   heartbeat, expires HEARTBEAT_TTL seconds after the last beat
    PREFIX:processing:ID     hash  work taken by worker ID and not finished yet
                                   (token -> "R<score>\\n<member>" or "S\\n<start url>")
    PREFIX:exported          hash  canonical article URL -> ID (claimed, export pending)
                                   or "done:ID" (exported): one export per article per crawl
    PREFIX:claims:ID         set   URLs claimed by worker ID and not yet exported
    PREFIX:journals          hash  "host:journal path" -> ID: the worker writing that run
                                   journal (settles its records if it is killed)

Reliable queue: a worker pops atomically (a Lua script) from ``requests`` or ``start_urls``
into its own ``processing`` hash, and removes the entry (acks) once the response or failure
has been fully handled: follow-up requests pushed, items exported. A worker refreshes its
heartbeat every ``ttl / 3`` seconds and reclaims the processing hash of every registered
worker whose heartbeat has expired (killed, machine lost): its entries go back to the
queue and its pending export claims are released, so the work is done again by others.

Export claims: an article is written by the worker that claims it first, into its run
journal, and the claim is then made final ("done:ID"). A worker killed between the journal
write and that confirmation (one Redis call) leaves the record in doubt: its claim is
released with its work and another worker exports the article again. The killed worker's
next start on the same crawl state settles its journal (:meth:`Frontier.settle_journal`):
records another worker took over meanwhile are cut from it, the others made final. A run
journal's entry in ``journals`` goes when the run closes or its journal is settled.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from w3lib.url import canonicalize_url

from vendornews.urls import read_sites_file

DEFAULT_PREFIX = "vendor_news"
# Seconds a worker's heartbeat lives: a worker silent for longer is taken for dead and its
# unfinished work is handed to the others.
DEFAULT_HEARTBEAT_TTL = 30.0
ENV_URL = "REDIS_URL"

_POP_REQUEST = """
local popped = redis.call('ZPOPMIN', KEYS[1])
if #popped == 0 then return false end
redis.call('HSET', KEYS[2], ARGV[1], 'R' .. popped[2] .. '\\n' .. popped[1])
return popped[1]
"""

_POP_START = """
local url = redis.call('RPOP', KEYS[1])
if not url then return false end
redis.call('HSET', KEYS[2], ARGV[1], 'S\\n' .. url)
return url
"""

# KEYS: processing, requests, start_urls, exported, claims, workers, heartbeat
# ARGV: worker id, "1" to return the work even when the heartbeat is alive (own shutdown)
_RETURN_WORK = """
if ARGV[2] ~= '1' and redis.call('EXISTS', KEYS[7]) == 1 then return -1 end
local entries = redis.call('HGETALL', KEYS[1])
local returned = 0
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  local newline = string.find(value, '\\n', 1, true)
  if newline then
    local kind = string.sub(value, 1, 1)
    local body = string.sub(value, newline + 1)
    if kind == 'S' then
      redis.call('RPUSH', KEYS[3], body)
    else
      redis.call('ZADD', KEYS[2], string.sub(value, 2, newline - 1), body)
    end
    returned = returned + 1
  end
end
redis.call('DEL', KEYS[1])
for _, url in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  if redis.call('HGET', KEYS[4], url) == ARGV[1] then redis.call('HDEL', KEYS[4], url) end
end
redis.call('DEL', KEYS[5])
redis.call('SREM', KEYS[6], ARGV[1])
redis.call('DEL', KEYS[7])
return returned
"""

_CLAIM = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('SADD', KEYS[2], ARGV[1])
  return 1
end
return 0
"""

_COMMIT = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], 'done:' .. ARGV[2])
end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""

# KEYS: exported, journals; ARGV: journal id, then the article keys of its records.
# Per key: 1 (keep: made final for the journal's worker), 0 (another worker exported it),
# 2 (another worker is exporting it right now: ask again).
_SETTLE = """
local worker = redis.call('HGET', KEYS[2], ARGV[1])
local keep = {}
for i = 2, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if not worker then
    keep[i - 1] = 1
  elseif not owner or owner == worker or owner == 'done:' .. worker then
    redis.call('HSET', KEYS[1], ARGV[i], 'done:' .. worker)
    keep[i - 1] = 1
  elseif string.sub(owner, 1, 5) == 'done:' then
    keep[i - 1] = 0
  else
    keep[i - 1] = 2
  end
end
return keep
"""
# A claim another worker holds but has not made final, when a killed worker's journal is
# settled: asked again this often, this many times (it is final or released within a few
# Redis calls); then the record stays (rather twice than never).
_SETTLE_RETRIES = 20
_SETTLE_WAIT = 0.25

_RELEASE = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('SREM', KEYS[2], ARGV[1])
return 1
"""


class FrontierError(Exception):
    """A problem the CLI reports in one line (no Redis URL, Redis unreachable, bad input)."""


@dataclass(frozen=True)
class FrontierKeys:
    """Redis key names of one frontier (see the module docs)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def start_urls(self) -> str:
        return f"{self.prefix}:start_urls"

    @property
    def starts(self) -> str:
        return f"{self.prefix}:starts"

    @property
    def requests(self) -> str:
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        return f"{self.prefix}:dupefilter"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def exported(self) -> str:
        return f"{self.prefix}:exported"

    @property
    def journals(self) -> str:
        return f"{self.prefix}:journals"

    def heartbeat(self, worker: str) -> str:
        return f"{self.prefix}:worker:{worker}"

    def processing(self, worker: str) -> str:
        return f"{self.prefix}:processing:{worker}"

    def claims(self, worker: str) -> str:
        return f"{self.prefix}:claims:{worker}"


def normalize_start(url: str) -> str:
    """A start URL as the spider takes it: ``http://`` added when there is no scheme."""
    url = url.strip()
    return url if "://" in url else "http://" + url


def article_key(url: str) -> str:
    """The canonical form of an article URL that export claims are keyed on."""
    return canonicalize_url(url, keep_fragments=False)


def journal_id(path: str | Path) -> str:
    """``host:absolute path``: names one run journal among all workers' machines."""
    return f"{socket.gethostname()}:{Path(path).resolve()}"


def new_worker_id() -> str:
    """``host:pid:random``: unique per process, readable in ``vendornews frontier status``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def connect(url: str | None = None) -> redis.Redis:
    """A client for ``url`` (default: the ``REDIS_URL`` environment variable), bytes replies."""
    url = url or os.environ.get(ENV_URL)
    if not url:
        raise FrontierError(f"no Redis: pass --redis URL or set {ENV_URL}")
    try:
        return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
    except ValueError as error:
        raise FrontierError(f"bad Redis URL {url!r}: {error}") from error


def as_text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


class Frontier:
    """One worker's (or the CLI's) handle on the shared frontier."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX,
                 worker: str | None = None, heartbeat_ttl: float = DEFAULT_HEARTBEAT_TTL) -> None:
        self.client = client
        self.keys = FrontierKeys(prefix)
        self.worker = worker or new_worker_id()
        self.heartbeat_ttl = heartbeat_ttl
        self._pop_request = client.register_script(_POP_REQUEST)
        self._pop_start = client.register_script(_POP_START)
        self._return_work = client.register_script(_RETURN_WORK)
        self._claim = client.register_script(_CLAIM)
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)
        self._settle = client.register_script(_SETTLE)
        self._tokens = 0

    # ------------------------------------------------------------------ feeding

    def enqueue(self, urls: Iterable[str]) -> int:
        """Feed start URLs (normalized); returns how many were queued."""
        normalized = [normalize_start(u) for u in urls if u.strip()]
        if normalized:
            pipe = self.client.pipeline()
            pipe.sadd(self.keys.starts, *normalized)
            pipe.lpush(self.keys.start_urls, *normalized)
            pipe.execute()
        return len(normalized)

    def known_starts(self) -> set[str]:
        """Every start URL fed so far (all workers crawl these sites)."""
        return {as_text(u) for u in self.client.smembers(self.keys.starts)}

    # ------------------------------------------------------------------ worker life

    def register(self) -> None:
        """Announce this worker and start its heartbeat."""
        pipe = self.client.pipeline()
        pipe.sadd(self.keys.workers, self.worker)
        pipe.set(self.keys.heartbeat(self.worker), str(time.time()),
                 px=int(self.heartbeat_ttl * 1000))
        pipe.execute()

    def beat(self) -> bool:
        """Refresh the heartbeat; False when this worker had been taken for dead (its work
        reclaimed while it was still running: the heartbeat TTL is too short for its stalls)."""
        pipe = self.client.pipeline()
        pipe.sadd(self.keys.workers, self.worker)
        pipe.set(self.keys.heartbeat(self.worker), str(time.time()),
                 px=int(self.heartbeat_ttl * 1000))
        added, _ = pipe.execute()
        return not added

    def reclaim_dead(self) -> int:
        """Return the unfinished work of every registered worker whose heartbeat expired."""
        returned = 0
        for member in self.client.smembers(self.keys.workers):
            worker = as_text(member)
            if worker != self.worker:
                returned += max(0, self._return(worker, force=False))
        return returned

    def unregister(self) -> int:
        """Leave: this worker's unfinished work goes back to the queue for the others."""
        return self._return(self.worker, force=True)

    def _return(self, worker: str, force: bool) -> int:
        k = self.keys
        return int(self._return_work(
            keys=[k.processing(worker), k.requests, k.start_urls, k.exported, k.claims(worker),
                  k.workers, k.heartbeat(worker)],
            args=[worker, "1" if force else "0"]))

    # ------------------------------------------------------------------ taking work

    def _token(self) -> str:
        self._tokens += 1
        return str(self._tokens)

    def pop_request(self) -> tuple[str, bytes] | None:
        """The next scheduled request (highest priority first), moved into this worker's
        processing hash: (token for :meth:`ack`, serialized request)."""
        token = self._token()
        data = self._pop_request(keys=[self.keys.requests, self.keys.processing(self.worker)],
                                 args=[token])
        return (token, data) if data else None

    def pop_start(self) -> tuple[str, str] | None:
        """The next fed start URL, moved into this worker's processing hash: (token, URL)."""
        token = "s" + self._token()
        url = self._pop_start(keys=[self.keys.start_urls, self.keys.processing(self.worker)],
                              args=[token])
        return (token, as_text(url)) if url else None

    def ack(self, token: str) -> None:
        """The work taken under ``token`` is done: forget it."""
        self.client.hdel(self.keys.processing(self.worker), token)

    def in_progress(self) -> int:
        return int(self.client.hlen(self.keys.processing(self.worker)))

    def is_empty(self) -> bool:
        """No start URL, no scheduled request, no work in progress anywhere (dead workers'
        unfinished work counts until it is reclaimed)."""
        pipe = self.client.pipeline()
        pipe.zcard(self.keys.requests)
        pipe.llen(self.keys.start_urls)
        pipe.smembers(self.keys.workers)
        queued, starts, workers = pipe.execute()
        if queued or starts:
            return False
        pipe = self.client.pipeline()
        for worker in {as_text(w) for w in workers} | {self.worker}:
            pipe.hlen(self.keys.processing(worker))
        return not any(pipe.execute())

    # ------------------------------------------------------------------ export claims

    def claim(self, url: str) -> bool:
        """True when this worker is the one to export the article at ``url`` in this crawl."""
        return bool(self._claim(keys=[self.keys.exported, self.keys.claims(self.worker)],
                                args=[article_key(url), self.worker]))

    def commit(self, url: str) -> None:
        """The claimed article is exported (written out): the claim is final."""
        self._commit(keys=[self.keys.exported, self.keys.claims(self.worker)],
                     args=[article_key(url), self.worker])

    def release(self, url: str) -> None:
        """The claimed article was not exported after all: another worker may."""
        self._release(keys=[self.keys.exported, self.keys.claims(self.worker)],
                      args=[article_key(url), self.worker])

    def own_journal(self, journal: str | Path) -> None:
        """This worker writes the records it exports into ``journal``."""
        self.client.hset(self.keys.journals, journal_id(journal), self.worker)

    def settle_journal(self, journal: str | Path, urls: Sequence[str]) -> list[bool]:
        """For the journal of a killed run: whether each of its records (by article URL)
        stays. A record whose claim another worker made final was exported again after the
        kill: it goes. The others are made final for the journal's worker; one another
        worker is exporting right now is asked about again until that worker made its
        claim final or gave it up. A journal no worker owns here (not a run on this
        frontier, or forgotten) keeps every record. Idempotent, until
        :meth:`forget_journal`."""
        verdicts = dict.fromkeys(urls, 2)
        for attempt in range(_SETTLE_RETRIES):
            open_ = [url for url, verdict in verdicts.items() if verdict == 2]
            if not open_:
                break
            if attempt:
                time.sleep(_SETTLE_WAIT)
            answers = self._settle(keys=[self.keys.exported, self.keys.journals],
                                   args=[journal_id(journal), *(article_key(u) for u in open_)])
            verdicts.update(zip(open_, (int(a) for a in answers), strict=True))
        return [verdicts[url] != 0 for url in urls]

    def forget_journal(self, journal: str | Path) -> None:
        """The journal is closed, or settled and rewritten: nothing more to settle."""
        self.client.hdel(self.keys.journals, journal_id(journal))

    # ------------------------------------------------------------------ operations

    def status(self) -> dict[str, Any]:
        k = self.keys
        workers = sorted(as_text(w) for w in self.client.smembers(k.workers))
        pipe = self.client.pipeline()
        pipe.llen(k.start_urls)
        pipe.zcard(k.requests)
        pipe.scard(k.dupefilter)
        pipe.hlen(k.exported)
        pipe.scard(k.starts)
        for worker in workers:
            pipe.exists(k.heartbeat(worker))
            pipe.hlen(k.processing(worker))
        start_urls, requests, seen, exported, starts, *per_worker = pipe.execute()
        return {
            "start_urls": start_urls, "requests": requests, "seen_requests": seen,
            "exported_articles": exported, "sites": starts,
            "workers": {w: {"alive": bool(per_worker[2 * i]), "in_progress": per_worker[2 * i + 1]}
                        for i, w in enumerate(workers)},
        }

    def reset(self, force: bool = False) -> None:
        """Forget this crawl: queue, seen requests, export claims, sites (for a fresh crawl).

        Refused while a worker is alive, unless ``force``."""
        alive = [w for w, s in self.status()["workers"].items() if s["alive"]]
        if alive and not force:
            raise FrontierError(f"{len(alive)} worker(s) alive ({', '.join(alive)}): "
                                "stop them first or pass --force")
        k = self.keys
        keys = [k.start_urls, k.starts, k.requests, k.dupefilter, k.exported, k.workers,
                k.journals]
        for pattern in (k.processing("*"), k.claims("*"), k.heartbeat("*")):
            keys += [as_text(key) for key in self.client.scan_iter(match=pattern)]
        self.client.delete(*keys)


# ---------------------------------------------------------------------- CLI


def _frontier(args: argparse.Namespace) -> Frontier:
    client = connect(args.redis)
    try:
        client.ping()
    except redis.RedisError as error:
        raise FrontierError(f"cannot reach Redis: {error}") from error
    return Frontier(client, prefix=args.prefix)


def _cmd_enqueue(args: argparse.Namespace) -> int:
    urls = list(args.urls)
    for path in args.file or ():
        if not Path(path).is_file():
            raise FrontierError(f"{path}: no such file")
        urls += read_sites_file(path)
    if not urls:
        raise FrontierError("no start URL: give URL... or --file PATH")
    frontier = _frontier(args)
    if args.fresh:
        frontier.reset(force=args.force)
    count = frontier.enqueue(urls)
    print(f"queued {count} start URL(s) on {frontier.keys.start_urls}")
    return 0


def _cmd_frontier(args: argparse.Namespace) -> int:
    frontier = _frontier(args)
    if args.action == "reset":
        frontier.reset(force=args.force)
        print(f"frontier {args.prefix} reset")
        return 0
    status = frontier.status()
    print(f"start URLs waiting: {status['start_urls']}\nrequests queued: {status['requests']}\n"
          f"requests seen: {status['seen_requests']}\nsites: {status['sites']}\n"
          f"articles claimed/exported: {status['exported_articles']}")
    for worker, state in status["workers"].items():
        alive = "alive" if state["alive"] else "DEAD (reclaimed by the next live worker)"
        print(f"worker {worker}: {alive}, {state['in_progress']} in progress")
    return 0


def _run(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except FrontierError as error:
            print(f"vendornews: {error}", file=sys.stderr)
            return 2
        except redis.RedisError as error:
            print(f"vendornews: Redis: {error}", file=sys.stderr)
            return 2
    return run


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--redis", metavar="URL",
                        help=f"Redis URL, e.g. redis://host:6379/0 (default: ${ENV_URL})")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX,
                        help=f"key prefix, the workers' REDIS_FRONTIER_PREFIX "
                             f"(default: {DEFAULT_PREFIX})")


def register(subparsers: Any) -> None:
    """Add ``enqueue`` and ``frontier`` to the CLI's subcommands."""
    enqueue: argparse.ArgumentParser = subparsers.add_parser(
        "enqueue", help="feed start URLs to the workers' shared Redis frontier")
    enqueue.add_argument("urls", nargs="*", metavar="URL", help="start URL (home or news list)")
    enqueue.add_argument("--file", action="append", metavar="PATH",
                         help="sites file: one URL a line, # comments (repeatable)")
    enqueue.add_argument("--fresh", action="store_true",
                         help="reset the frontier first: a new crawl of everything")
    enqueue.add_argument("--force", action="store_true", help="with --fresh: even if workers run")
    _common(enqueue)
    enqueue.set_defaults(run=_run(_cmd_enqueue))

    frontier: argparse.ArgumentParser = subparsers.add_parser(
        "frontier", help="show or reset the shared Redis frontier")
    frontier.add_argument("action", choices=("status", "reset"), nargs="?", default="status")
    frontier.add_argument("--force", action="store_true", help="reset even if workers run")
    _common(frontier)
    frontier.set_defaults(run=_run(_cmd_frontier))


def main(argv: Sequence[str] | None = None) -> int:
    """The `enqueue` and `frontier` commands alone (the `vendornews` CLI registers them too)."""
    parser = argparse.ArgumentParser(prog="vendornews")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
