"""Per-site template learning: lines repeated on many pages of one site are boilerplate.

A crawl (or an offline batch of one site's pages) feeds every page's lines to the site's
:class:`SiteTemplate`; cleaning then drops a line as ``template.repeated`` when

* it was seen on at least ``min_pages`` pages and on ``min_share`` of the site's pages, and
* it repeats together with a neighbour (the line before or after it is the same pair on
  those pages too).

The second test is what separates chrome from content: a promo line sits in a fixed
block of the template, so its neighbours repeat with it; a stock phrase that opens many
articles (央视网消息（新闻联播）：) is followed by a different paragraph on every page. When
such a lead repeats together with a constant line before it (a daily programme reposted),
cleaning still keeps it: a line ending in a colon that opens a prose paragraph belongs to it
(``vendornews.clean._keep_lead_ins``).
Only short lines count: a long paragraph repeated across pages is a republished
article, not chrome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

MAX_TEMPLATE_LINE = 80
PRUNE_EVERY = 200  # pages between two prunings of rare lines
PRUNE_SHARE = 0.05


@dataclass
class SiteTemplate:
    min_pages: int = 4
    min_share: float = 0.6
    pages: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)
    frozen: bool = False  # set after a first pass over a batch: later pages are not counted again

    def observe(self, lines: Sequence[str]) -> None:
        """Count one page's lines and neighbour pairs (each distinct one once per page)."""
        if self.frozen:
            return
        self.pages += 1
        self.counts.update({line for line in lines if len(line) <= MAX_TEMPLATE_LINE})
        self.pairs.update(
            {
                pair
                for pair in zip(lines, lines[1:], strict=False)
                if min(len(pair[0]), len(pair[1])) <= MAX_TEMPLATE_LINE
            }
        )
        if self.pages % PRUNE_EVERY == 0:
            self._prune()

    def _prune(self) -> None:
        """Forget lines and pairs too rare to ever become template (memory stays bounded).

        One seen on fewer than ``PRUNE_SHARE`` of the pages so far is article text; should
        it be a new template block, it comes back on the next pages and counts again.
        """
        floor = PRUNE_SHARE * self.pages
        self.counts = Counter({k: n for k, n in self.counts.items() if n >= floor})
        self.pairs = Counter({k: n for k, n in self.pairs.items() if n >= floor})

    def _repeated(self, seen: int) -> bool:
        return seen >= self.min_pages and seen >= self.min_share * self.pages

    def pair_repeats(self, first: str, second: str) -> bool:
        """Whether these two lines came one after the other on most of the site's pages."""
        return self._repeated(self.pairs.get((first, second), 0))

    def is_template(self, lines: Sequence[str], index: int) -> bool:
        """Whether ``lines[index]`` (a page's lines, in order) is learned template."""
        line = lines[index]
        if len(line) > MAX_TEMPLATE_LINE or self.pages < self.min_pages:
            return False
        if not self._repeated(self.counts.get(line, 0)):
            return False
        before = self.pairs.get((lines[index - 1], line), 0) if index > 0 else 0
        after = self.pairs.get((line, lines[index + 1]), 0) if index + 1 < len(lines) else 0
        return self._repeated(max(before, after))


@dataclass
class TemplateBook:
    """One :class:`SiteTemplate` per site (host)."""

    sites: dict[str, SiteTemplate] = field(default_factory=dict)

    def for_site(self, host: str) -> SiteTemplate:
        return self.sites.setdefault(host, SiteTemplate())
