"""Give each record its near-duplicate group (``dup_group``) via :class:`vendornews.dedup.DupIndex`.

Runs after extraction. The index lives in the state file (setting ``VENDORNEWS_STATE``,
default ``output/state.sqlite``) so that articles crawled on later runs join earlier groups;
``VENDORNEWS_DUP_THRESHOLD`` (default 0.7) is the Jaccard similarity of body shingles above
which two records are the same story.
"""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from vendornews.dedup import DEFAULT_THRESHOLD, DupIndex, member_id

DEFAULT_STATE = "output/state.sqlite"


class DedupPipeline:
    """Adds ``dup_group`` to every record dict; the index is open while the spider runs."""

    def __init__(self, state_path: str, threshold: float, crawler: Crawler | None = None) -> None:
        self.state_path = state_path
        self.threshold = threshold
        self.stats = crawler.stats if crawler is not None else None
        self.index: DupIndex | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DedupPipeline:
        settings = crawler.settings
        return cls(
            state_path=settings.get("VENDORNEWS_STATE") or DEFAULT_STATE,
            threshold=settings.getfloat("VENDORNEWS_DUP_THRESHOLD", DEFAULT_THRESHOLD),
            crawler=crawler,
        )

    def open_spider(self) -> None:
        self.index = DupIndex(self.state_path, threshold=self.threshold)

    def close_spider(self) -> None:
        if self.index is not None:
            self.index.close()
            self.index = None

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        if self.index is None:
            raise RuntimeError("DedupPipeline.process_item before open_spider")
        before = len(self.index)
        url, content_hash = item["url"], item.get("content_hash")
        group = self.index.assign(url, item.get("body") or "", content_hash)
        item["dup_group"] = group
        if self.stats is not None:
            if len(self.index) == before:
                self.stats.inc_value("vendornews/dedup/known_version")
            elif group != member_id(url, content_hash):
                self.stats.inc_value("vendornews/dedup/joined_group")
            else:
                self.stats.inc_value("vendornews/dedup/new_group")
        return item
