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

from scrapy.crawler import Crawler

from vendornews.dedup import DEFAULT_THRESHOLD, DupIndex, member_id
from vendornews.dedup_redis import RedisDupIndex
from vendornews.frontier import DEFAULT_PREFIX, connect

DEFAULT_STATE = "output/state.sqlite"


class DedupPipeline:
    """Adds ``dup_group`` to every record dict; the index is open while the spider runs."""

    def __init__(self, state_path: str, threshold: float, crawler: Crawler | None = None,
                 redis_url: str | None = None, redis_prefix: str | None = None) -> None:
        self.state_path = state_path
        self.threshold = threshold
        self.stats = crawler.stats if crawler is not None else None
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix or DEFAULT_PREFIX
        self.index: DupIndex | RedisDupIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        settings = crawler.settings
        return cls(
            state_path=settings.get("VENDORNEWS_STATE") or DEFAULT_STATE,
            threshold=settings.getfloat("VENDORNEWS_DUP_THRESHOLD", DEFAULT_THRESHOLD),
            crawler=crawler,
            redis_url=settings.get("REDIS_URL"),
            redis_prefix=settings.get("REDIS_FRONTIER_PREFIX"),
        )

    def open_spider(self) -> None:
        if self.redis_url:
            self.index = RedisDupIndex(connect(self.redis_url), prefix=self.redis_prefix,
                                       threshold=self.threshold)
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
