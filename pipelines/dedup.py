"""Give each record its near-duplicate group (``dup_group``) via :class:`vendornews.dedup.DupIndex`.

Runs after extraction. The index lives in the state file (setting ``VENDORNEWS_STATE``,
default ``output/state.sqlite``) so that articles crawled on later runs join earlier groups;
on a Redis frontier (``REDIS_URL``) it lives in that Redis
(:class:`vendornews.dedup_redis.RedisDupIndex`), shared by the workers.
``VENDORNEWS_DUP_THRESHOLD`` (default 0.7) is the Jaccard similarity of body shingles above
which two records are the same story.
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from scrapy.crawler import Crawler

from pipelines.state import DEFAULT_STATE, frontier_redis
from vendornews.dedup import DEFAULT_THRESHOLD, DupIndex, member_id
from vendornews.dedup_redis import RedisDupIndex


class DedupPipeline:
    """Adds ``dup_group`` to every record dict; the index is open while the spider runs."""

    def __init__(self, state_path: str, threshold: float, crawler: Crawler | None = None,
                 redis: tuple[Redis, str] | None = None) -> None:
        self.state_path = state_path
        self.threshold = threshold
        self.stats = crawler.stats if crawler is not None else None
        self.redis = redis  # the frontier's Redis and key prefix, when there is one
        self.index: DupIndex | RedisDupIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        settings = crawler.settings
        return cls(
            state_path=settings.get("VENDORNEWS_STATE") or DEFAULT_STATE,
            threshold=settings.getfloat("VENDORNEWS_DUP_THRESHOLD", DEFAULT_THRESHOLD),
            crawler=crawler,
            redis=frontier_redis(settings),
        )

    def open_spider(self) -> None:
        if self.redis is not None:
            client, prefix = self.redis
            self.index = RedisDupIndex(client, prefix=prefix, threshold=self.threshold)
        else:
            self.index = DupIndex(self.state_path, threshold=self.threshold)

    def close_spider(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.index is None:
            raise RuntimeError("DedupPipeline.process_item before open_spider")
        url, content_hash = item["url"], item.get("content_hash")
        known = self.index.group_of(member_id(url, content_hash)) is not None
        group = self.index.assign(url, item.get("body") or "", content_hash)
        item["dup_group"] = group
        if self.stats is not None:
            if known:
                self.stats.inc_value("vendornews/dedup/known_version")
            elif group != member_id(url, content_hash):
                self.stats.inc_value("vendornews/dedup/joined_group")
            else:
                self.stats.inc_value("vendornews/dedup/new_group")
        return item
