"""The exported record: every field documented once.

The JSONL export keeps every field; the CSV export keeps :data:`CSV_FIELDS`
(list fields joined, ``removed`` left out). Field docs below are the schema.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FIELD_DOCS: dict[str, str] = {
    "url": "Final URL after redirects (page 1 of a multi-page article).",
    "site": "Host of the URL.",
    "title": "The real headline: no site name, no 【…】 category tag, no glued-on keyword.",
    "published": "Publish time as the page states it: YYYY-MM-DDTHH:MM[:SS] or YYYY-MM-DD; null.",
    "source": "The 来源 as stated, without its label; 本站 resolved to the site name; null.",
    "author": "作者 / 记者 of the article; null when none.",
    "editor": "责任编辑 / 编辑 line, kept apart from the author; null when none.",
    "body": "Article text, paragraphs joined by newline, image captions kept.",
    "category": "Section of the site (breadcrumb), null when unknown.",
    "keywords": "Top jieba TF-IDF keywords of title and body.",
    "lang": "Main language of the body: zh or en.",
    "pages": "Number of pages merged into this record (正文分页).",
    "crawled_at": "When the page was fetched (ISO 8601, UTC, seconds).",
    "content_hash": "SHA-1 of the normalized title and body; changes when the article does.",
    "dup_group": (
        "Near-duplicate group: content_hash (or SHA-1 of the URL) of the group's first member; "
        "the same story on other sites or in later runs gets the same id."
    ),
    "change": (
        'How this record differs from the last export of its URL: "new", "changed" (its text '
        'changed); "unchanged" only in a full recrawl (-a full=1).'
    ),
    "removed": "What cleaning took out and why: a list of {rule, text}.",
}

LIST_FIELDS = ("keywords",)
CSV_FIELDS = tuple(name for name in FIELD_DOCS if name != "removed")


@dataclass(frozen=True)
class Removal:
    """One piece of text that cleaning dropped, with the rule that decided."""

    rule: str
    text: str


@dataclass
class Record:
    url: str
    site: str
    title: str | None
    published: str | None
    source: str | None
    author: str | None
    editor: str | None
    body: str
    category: str | None
    keywords: list[str]
    lang: str
    pages: int
    crawled_at: str
    content_hash: str
    removed: list[Removal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class NotArticle:
    """A page that is not a news article (list, product, home page, empty …)."""

    url: str
    reason: str


@dataclass(frozen=True)
class FetchedPage:
    """One HTTP response as the core sees it: no Scrapy types."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
