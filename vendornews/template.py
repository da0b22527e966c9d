"""Per-site template learning: lines repeated on many pages of one site are boilerplate.

A crawl (or an offline batch of one site's pages) feeds every page's lines to the site's
:class:`SiteTemplate`; once a line has been seen on ``min_pages`` different pages (and on
at least ``min_share`` of them), cleaning drops it as ``template.repeated``. Only short
lines count: a long paragraph repeated across pages is a republished article, not chrome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_TEMPLATE_LINE = 80


@dataclass
class SiteTemplate:
    min_pages: int = 3
    min_share: float = 0.3
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    frozen: bool = False  # set after a first pass over a batch: later pages are not counted again

    def observe(self, lines: Iterable[str]) -> None:
        """Count one page's lines (each distinct line once per page)."""
        if self.frozen:
            return
        self.pages += 1
        self.counts.update({line for line in lines if len(line) <= MAX_TEMPLATE_LINE})

    def is_template(self, line: str) -> bool:
        if len(line) > MAX_TEMPLATE_LINE or self.pages < self.min_pages:
            return False
        seen = self.counts.get(line, 0)
        return seen >= self.min_pages and seen >= self.min_share * self.pages


@dataclass
class TemplateBook:
    """One :class:`SiteTemplate` per site (host)."""

    sites: dict[str, SiteTemplate] = field(default_factory=dict)

    def for_site(self, host: str) -> SiteTemplate:
        return self.sites.setdefault(host, SiteTemplate())
