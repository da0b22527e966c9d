"""The core: fetched page(s) -> :class:`Record` (or :class:`NotArticle`).

One page is decoded and parsed once (:mod:`vendornews.page`); readability picks the main
region (:mod:`vendornews.content`); each line of it is kept or dropped by the rules
(:mod:`vendornews.clean`); title, date and byline come from the whole page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from vendornews import dates, hant
from vendornews.byline import (
    Byline,
    category,
    find_byline,
    has_empty_author_label,
    site_name,
    split_author_prefix,
    strip_lead_credits,
)
from vendornews.clean import CleanPage, clean_page, leading_dateline
from vendornews.keywords import top_keywords
from vendornews.record import FetchedPage, NotArticle, Record, Removal
from vendornews.template import SiteTemplate
from vendornews.title import choose_title, key

MIN_BODY_CHARS = 30
MAX_TITLE = 300  # a longer "headline" is a page that put its text in <title> or <h1>


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


def _published(cleaned: CleanPage, url: str, crawled: datetime,
               dateline: Sequence[str] = ()) -> str | None:
    """The publish date; ``dateline``: date-only lines cut from the body's top."""
    page = cleaned.page
    # Dates are read on the fold: 發佈時間 is 发布时间 (the digits are the same).
    header = [hant.fold(text) for text in (*(line.text for line in cleaned.header_lines),
                                            *dateline)]
    bylines = [hant.fold(line.text) for line in cleaned.byline_lines]

    def labeled(texts: list[str], publish: bool) -> list[dates.Stamp]:
        found: list[dates.Stamp] = []
        for text in texts:
            label = dates.PUBLISH_LABEL.search(text)
            is_update = dates.UPDATE_LABEL.search(text) is not None
            if publish and label and not (is_update and not label.group(1).startswith(("发", "P"))):
                found += dates.parse_dates(text[label.end() :])[:1]
            elif not publish and is_update:
                found += dates.parse_dates(text)[:1]
        return found

    metadata = [
        stamp
        for name in (
            "article:published_time",
            "og:published_time",
            "datepublished",
            "pubdate",
            "publishdate",
            "publish_date",
            "publication_date",
            "dc.date.issued",
            "dc.date",
            "dcterms.issued",
            "citation_publication_date",
            "date",
        )
        if (value := page.meta.get(name)) and (stamp := dates.parse_iso(value))
    ]
    metadata += [
        stamp
        for obj in page.json_ld
        if isinstance(published := obj.get("datePublished"), str)
        and (stamp := dates.parse_iso(published))
    ]
    time_tags = [stamp for value in page.time_tags if (stamp := dates.parse_iso(value))]
    nearby: list[dates.Stamp] = []
    for text in header + bylines:
        if not dates.UPDATE_LABEL.search(text):
            nearby += dates.parse_dates(text)[:1]
            if relative := dates.parse_relative(text, crawled):
                nearby.append(relative)
    from_url = [stamp] if (stamp := dates.url_date(url)) else []
    best = dates.best_stamp(
        [
            labeled(header, True),
            labeled(bylines, True),
            metadata,
            time_tags,
            nearby,
            labeled(header + bylines, False),
            from_url,
        ]
    )
    return best.iso() if best else None


def extract_article(
    pages: Sequence[FetchedPage],
    *,
    crawled_at: str | datetime | None = None,
    encoding: str | None = None,
    hints: Sequence[str] = (),
    template: SiteTemplate | None = None,
    keywords: bool = True,
) -> Record | NotArticle:
    """Extract one article from its page 1 and any continuation pages (正文分页).

    ``hints`` are anchor texts of links that pointed to the article (a crawl knows them);
    ``template`` holds lines learned as boilerplate from other pages of the same site;
    ``keywords=False`` skips the jieba TF-IDF keywords (the costliest field).
    """
    if not pages:
        raise ValueError("extract_article needs at least one page")
    crawled = datetime.fromisoformat(crawled_at) if isinstance(crawled_at, str) else crawled_at
    crawled = crawled or _now()
    cleaned = [clean_page(p, encoding=encoding, template=template) for p in pages]
    first = cleaned[0]
    page = first.page
    site = site_name(page)
    section = category(page, first.breadcrumb)
    sections = first.sections | ({section} if section else set())
    body_lines = [line for c in cleaned for line in c.kept]
    body_text = "\n".join(body_lines)
    choice = choose_title(
        page.h1s or ([first.heading] if first.heading else []),
        page.title_tag,
        page.meta.get("og:title"),
        site,
        sections,
        first.kept[:3],
        hints,
        body_text,
        visible=first.above_body,
        declared=[page.meta.get("keywords", ""), page.meta.get("description", "")],
    )
    removed: list[Removal] = [r for c in cleaned for r in c.removed]
    if choice.opening_line is not None:
        headline = first.kept[choice.opening_line]
        removed.append(Removal("title.body-opening", headline))
        body_lines.remove(headline)
        body_text = "\n".join(body_lines)
    # Continuation pages repeat the headline at their top too.
    if choice.title:
        title_key = key(choice.title)
        for c in cleaned[1:]:
            if c.kept and key(c.kept[0]) == title_key and c.kept[0] in body_lines:
                body_lines.remove(c.kept[0])
                removed.append(Removal("title.repeat", c.kept[0]))
        body_text = "\n".join(body_lines)
    body_key = key(body_text)
    if len(body_key) < MIN_BODY_CHARS:
        return NotArticle(pages[0].url, "no-body")
    if all(c.link_heavy for c in cleaned):
        return NotArticle(pages[0].url, "link-list")
    meta_lines = [line.text for line in first.header_lines + first.byline_lines]
    byline: Byline = find_byline(meta_lines, body_lines, site, page)
    title = choice.title if choice.title and len(choice.title) <= MAX_TITLE else None
    author = byline.author
    if author is None and title and has_empty_author_label(meta_lines):
        # "作者：" left blank, headline "茉莉：我是怎样…": the site puts the author in front.
        heading = page.h1s[0] if page.h1s else first.heading or title
        author, title = split_author_prefix(heading, title)
    body_lines, credits = strip_lead_credits(body_lines, byline, author)
    dateline = body_lines[: leading_dateline(body_lines)]
    if dateline:
        body_lines = body_lines[len(dateline) :]
        credits += [Removal("meta.date-line", line) for line in dateline]
    if credits:
        removed += credits
        body_text = "\n".join(body_lines)
        body_key = key(body_text)
        if len(body_key) < MIN_BODY_CHARS:
            return NotArticle(pages[0].url, "no-body")
    return Record(
        url=pages[0].url,
        site=page.host,
        title=title,
        published=_published(first, pages[0].url, crawled, dateline),
        source=byline.source,
        author=author,
        editor=byline.editor,
        body=body_text,
        category=section,
        keywords=top_keywords(title or "", body_text) if keywords else [],
        lang=first.lang,
        pages=len(pages),
        crawled_at=crawled.isoformat(timespec="seconds"),
        # key(f"{title}\n{body_text}"), as older records were hashed
        content_hash=hashlib.sha1((key(str(title)) + body_key).encode()).hexdigest(),
        removed=removed,
    )


def extract(
    html: bytes,
    url: str,
    headers: Mapping[str, str] | None = None,
    **options: object,
) -> Record | NotArticle:
    """One page: ``html`` bytes as fetched from ``url`` (``headers`` give the charset)."""
    page = FetchedPage(url=url, body=html, headers=dict(headers or {}))
    return extract_article([page], **options)  # type: ignore[arg-type]
