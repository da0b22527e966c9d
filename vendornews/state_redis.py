"""The crawl state (:class:`vendornews.state.CrawlState`) in Redis, shared by all workers.

Same behaviour as :class:`~vendornews.state.SqliteCrawlState` (the parity test runs one
scenario through both), so that workers on several machines agree on which articles were
exported in which version: an article exported by one worker is "unchanged" for the others,
in this crawl and the next ones. Keys (``PREFIX`` as for the frontier, default
``vendor_news``; ``vendornews frontier reset`` leaves them alone)::

    PREFIX:state:url:<canonical url>  hash  url site content_hash first_seen last_changed
                                            last_checked run_id signature (no content_hash:
                                            not an article)
    PREFIX:state:aliases              hash  canonical URL -> canonical URL it redirects to
    PREFIX:state:runs                 hash  run id -> RunInfo as JSON
    PREFIX:state:run_order            zset  run ids, scored by start time
    PREFIX:state:site_runs:<run id>   hash  "<site>\\t<counter>" -> count (pages, new, changed,
                                            unchanged, not_articles, capped)

Writes that read first (``record``) are one Lua script: two workers recording the same
article cannot both see it as new. Pure module: redis-py, no Scrapy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

import redis

from vendornews.frontier import DEFAULT_PREFIX
from vendornews.state import (
    RUNNING,
    Change,
    CrawlState,
    RunInfo,
    SeenArticle,
    SiteRun,
    now_iso,
)
from vendornews.urls import canonical_url

_COUNTS = ("pages", "new", "changed", "unchanged", "not_articles")

# KEYS: url hash, site-runs hash, aliases hash
# ARGV: url, site, content_hash, run_id, when, counter, signature, then alias key / target pairs
_RECORD = """
local current = redis.call('HMGET', KEYS[1], 'content_hash', 'run_id', 'last_changed')
if current[1] == ARGV[3] and current[2] == ARGV[4] then return 0 end
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'url', ARGV[1], 'site', ARGV[2], 'content_hash', ARGV[3],
             'first_seen', ARGV[5], 'last_changed', ARGV[5], 'last_checked', ARGV[5],
             'run_id', ARGV[4], 'signature', ARGV[7])
else
  local changed = ARGV[5]
  if current[1] == ARGV[3] then changed = current[3] end
  redis.call('HSET', KEYS[1], 'url', ARGV[1], 'site', ARGV[2], 'content_hash', ARGV[3],
             'last_changed', changed, 'last_checked', ARGV[5], 'run_id', ARGV[4],
             'signature', ARGV[7])
end
for i = 8, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[2], ARGV[2] .. '\\t' .. ARGV[6], 1)
return 1
"""

# KEYS: url hash, site-runs hash; ARGV: url, site, run_id, when
_NOT_ARTICLE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'last_checked', ARGV[4])
else
  redis.call('HSET', KEYS[1], 'url', ARGV[1], 'site', ARGV[2], 'first_seen', ARGV[4],
             'last_changed', ARGV[4], 'last_checked', ARGV[4], 'run_id', ARGV[3])
end
redis.call('HINCRBY', KEYS[2], ARGV[2] .. '\\tnot_articles', 1)
return 1
"""


def _text(value: bytes | str | None) -> str | None:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _score(started: str) -> float:
    try:
        return datetime.fromisoformat(started).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


class RedisCrawlState(CrawlState):
    """:class:`~vendornews.state.CrawlState` in Redis (see the module docs)."""

    def __init__(self, client: redis.Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = f"{prefix}:state"
        self._record = client.register_script(_RECORD)
        self._not_article = client.register_script(_NOT_ARTICLE)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX) -> RedisCrawlState:
        return cls(redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10),
                   prefix)

    def __enter__(self) -> RedisCrawlState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------------ keys

    def _url_key(self, key: str) -> str:
        return f"{self.prefix}:url:{key}"

    @property
    def _aliases(self) -> str:
        return f"{self.prefix}:aliases"

    @property
    def _runs_key(self) -> str:
        return f"{self.prefix}:runs"

    @property
    def _order(self) -> str:
        return f"{self.prefix}:run_order"

    def _site_runs(self, run_id: str) -> str:
        return f"{self.prefix}:site_runs:{run_id}"

    # ------------------------------------------------------------------ articles

    def _row(self, key: str) -> SeenArticle | None:
        names = [f.name for f in fields(SeenArticle)]
        values = dict(zip(names, (_text(v) for v in self.client.hmget(self._url_key(key), names)),
                          strict=True))
        if values["url"] is None:
            return None
        row: dict[str, Any] = {name: value if value is not None or name == "content_hash" else ""
                               for name, value in values.items()}
        return SeenArticle(**row)

    def lookup(self, url: str) -> SeenArticle | None:
        key = canonical_url(url)
        found = self._row(key)
        if found is None:
            target = _text(self.client.hget(self._aliases, key))
            if target:
                found = self._row(target)
        return found

    def record(self, url: str, content_hash: str, site: str, run_id: str, change: Change,
               *, when: str | None = None, aliases: Sequence[str] = (),
               signature: str | None = None) -> bool:
        key = canonical_url(url)
        counter = "changed" if change == "changed" else (
            "unchanged" if change == "unchanged" else "new")
        pairs: list[str] = []
        for alias in aliases:
            alias_key = canonical_url(alias)
            if alias_key != key:
                pairs += [alias_key, key]
        done = self._record(keys=[self._url_key(key), self._site_runs(run_id), self._aliases],
                            args=[url, site, content_hash, run_id, when or now_iso(), counter,
                                  signature or "", *pairs])
        return bool(done)

    def mark_checked(self, url: str, site: str, run_id: str, *, when: str | None = None) -> None:
        key = self._url_key(canonical_url(url))
        pipe = self.client.pipeline()
        if self.client.exists(key):
            pipe.hset(key, "last_checked", when or now_iso())
        pipe.hincrby(self._site_runs(run_id), f"{site}\tunchanged", 1)
        pipe.execute()

    def record_not_article(self, url: str, site: str, run_id: str,
                           *, when: str | None = None) -> None:
        self._not_article(keys=[self._url_key(canonical_url(url)), self._site_runs(run_id)],
                          args=[url, site, run_id, when or now_iso()])

    def add_alias(self, url: str, target: str) -> None:
        key, target_key = canonical_url(url), canonical_url(target)
        if key != target_key:
            self.client.hset(self._aliases, key, target_key)

    def articles(self, site: str | None = None) -> Iterator[SeenArticle]:
        """Every URL the state knows (of one site), in key order."""
        start = len(self._url_key(""))
        keys = sorted(_text(k) or "" for k in self.client.scan_iter(match=self._url_key("*")))
        for key in keys:
            row = self._row(key[start:])
            if row is not None and (site is None or row.site == site):
                yield row

    # ------------------------------------------------------------------ runs

    def add_counts(self, run_id: str, site: str, **counts: int) -> None:
        pipe = self.client.pipeline()
        for name, value in counts.items():
            if name not in _COUNTS:
                raise ValueError(f"unknown counter {name!r}")
            pipe.hincrby(self._site_runs(run_id), f"{site}\t{name}", value)
        pipe.execute()

    def set_capped(self, run_id: str, site: str) -> None:
        pipe = self.client.pipeline()
        pipe.hincrby(self._site_runs(run_id), f"{site}\tpages", 0)
        pipe.hset(self._site_runs(run_id), f"{site}\tcapped", 1)
        pipe.execute()

    def start_run(self, run: RunInfo) -> None:
        pipe = self.client.pipeline()
        pipe.hset(self._runs_key, run.run_id, json.dumps(asdict(run)))
        pipe.zadd(self._order, {run.run_id: _score(run.started)})
        for site in run.sites:
            pipe.hincrby(self._site_runs(run.run_id), f"{site}\tpages", 0)
        pipe.execute()

    def end_run(self, run_id: str, status: str, *, ended: str | None = None) -> None:
        run = self._run(run_id)
        if run is not None:
            data = asdict(run) | {"status": status, "ended": ended or now_iso()}
            self.client.hset(self._runs_key, run_id, json.dumps(data))

    def _run(self, run_id: str) -> RunInfo | None:
        raw = self.client.hget(self._runs_key, run_id)
        return _run_info(json.loads(raw)) if raw else None

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        raw = self.client.hgetall(self._runs_key)
        runs = [_run_info(json.loads(v)) for v in raw.values()]
        return sorted(runs, key=lambda r: (r.started, r.run_id))

    def unfinished_runs(self) -> list[RunInfo]:
        return [run for run in self.runs() if run.status == RUNNING]

    def site_history(self, site: str | None = None, limit: int = 20) -> list[SiteRun]:
        history: list[SiteRun] = []
        for run in sorted(self.runs(), key=lambda r: (r.started, r.run_id), reverse=True):
            counts: dict[str, dict[str, int]] = {}
            for field, value in self.client.hgetall(self._site_runs(run.run_id)).items():
                name, _, counter = (_text(field) or "").rpartition("\t")
                counts.setdefault(name, {})[counter] = int(value)
            for name in sorted(counts):
                if site is not None and name != site:
                    continue
                row = counts[name]
                history.append(SiteRun(
                    run.run_id, name, run.started, run.ended, run.status,
                    pages=row.get("pages", 0), new=row.get("new", 0),
                    changed=row.get("changed", 0), unchanged=row.get("unchanged", 0),
                    not_articles=row.get("not_articles", 0), capped=bool(row.get("capped"))))
                if len(history) >= limit:
                    return history
        return history

    def last_site_run(self, site: str, *, before: str | None = None) -> SiteRun | None:
        for run in self.site_history(site, limit=1000):
            if before is None or run.run_id != before:
                return run
        return None


def _run_info(data: dict[str, Any]) -> RunInfo:
    data["sites"] = tuple(data.get("sites") or ())
    return RunInfo(**data)
