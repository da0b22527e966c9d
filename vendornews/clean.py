"""Keep or drop each line of the main region, and say which rule decided.

Rule order: spam first (an ad is an ad wherever it sits), then the byline (its fields are
read elsewhere), data-file boilerplate, lines learned as site template, and last the
structural test for short lines that are nothing but links (related lists, prev/next);
a date-only line next to such a line goes with it (the list's date column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from vendornews import hant
from vendornews.byline import is_byline
from vendornews.content import main_region
from vendornews.decode import decode_html
from vendornews.page import Line, Page, parse_page
from vendornews.record import FetchedPage, Removal
from vendornews.rules import first_match
from vendornews.template import SiteTemplate
from vendornews.title import key

OUTSIDE = "structure.outside-main"
LINK_LINE = "structure.link-line"
READABILITY_DROP = "structure.readability-dropped"
LIST_DATE = "structure.list-date"
TEMPLATE = "template.repeated"
_LIST_ENTRY_END = re.compile(
    r"(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}-\d{1,2})\s*[)\]）】]?$"
)
_BULLETS = "·•●○■□◆◇▪▫-–—»>*"
_LEAD_IN = re.compile(r"[:：]$")
_YMD = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
_TIME = r"(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"


def _alone(date: str) -> str:
    """A line that is nothing but ``date``, maybe in brackets."""
    return rf"[\[(（【]?\s*(?:{date})\s*[)\]）】]?"


# A line that is nothing but a date (and time), the year maybe left out: a list's date
# column when it sits next to the list's links.
_DATE_ONLY = re.compile(_alone(rf"(?:{_YMD}|\d{{1,2}}[-/]\d{{1,2}}){_TIME}"))
# A line that is nothing but a publish date, as sites print one above or below the headline.
_DATE_LINE = re.compile(
    _alone(rf"{_YMD}{_TIME}|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\s+{_MONTH},?\s+\d{{4}}"),
    re.I,
)
# Lines above the headline where a date line still belongs to it.
_ABOVE_HEADLINE = 4
# Lines after the top's date lines where another date line makes the page a chronology.
_CHRONOLOGY_LOOKAHEAD = 5
_BREADCRUMB = re.compile(
    r"^(当前位置|您的位置|你的位置|您现在的位置|所在位置|位置)\s*[:：]|\S\s*(>|»|›)\s*\S"
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Decision:
    """What happened to one line of the page: kept (rule None) or dropped by ``rule``."""

    line: Line
    in_main: bool
    rule: str | None


@dataclass
class CleanPage:
    page: Page
    encoding: str
    decisions: list[Decision]
    kept: list[str]
    removed: list[Removal]
    header_lines: list[Line]
    byline_lines: list[Line]
    breadcrumb: Line | None
    heading: str | None  # the line just above the byline: the visible headline when no <h1>
    above_body: str | None  # else the line just above the body: a weaker headline candidate
    link_heavy: bool
    lang: str
    sections: set[str] = field(default_factory=set)


def _is_heading_line(line: Line) -> bool:
    return (
        4 <= len(line.text) <= 120
        and line.link_density < 0.5
        and first_match(line.text, ("boilerplate", "spam")) is None
    )


def _is_link_line(line: Line) -> bool:
    """A short line of links (related list, tag cloud), or a bulleted single link."""
    if not line.links or len(line.text) > 80:
        return False
    if line.links >= 2:
        return line.link_density >= 0.6
    return line.link_density >= 0.9 and (line.block.tag == "li" or line.text[0] in _BULLETS)


def _is_listing(lines: list[Line]) -> bool:
    """A list page: many entries that are a linked headline with its date (or a teaser)."""
    entries = sum(1 for line in lines if line.links and _LIST_ENTRY_END.search(line.text))
    return entries >= 4 and entries * 4 >= len(lines)


def _keep_lead_ins(decisions: list[Decision],
                   template: SiteTemplate | None) -> list[Decision]:
    """A template line ending in a colon that opens kept text belongs to that text (a stock
    lead such as 央视网消息（新闻联播）：, printed on most pages of a site that reposts one
    programme), unless the two lines repeat together (温馨提示： before the same notice).
    Chrome ending in a colon (相关阅读：) opens links or other chrome, which are dropped."""
    out = list(decisions)
    for index, (decision, following) in enumerate(zip(decisions, decisions[1:], strict=False)):
        if (template is not None and decision.rule == TEMPLATE and following.rule is None
                and _LEAD_IN.search(decision.line.text)
                and not template.pair_repeats(decision.line.text, following.line.text)):
            out[index] = Decision(decision.line, decision.in_main, None)
    return out


def _decide(
    texts: list[str],
    index: int,
    line: Line,
    template: SiteTemplate | None,
    headline_h1s: set[object],
) -> str | None:
    text = line.text
    if line.block.tag == "h1" and line.block in headline_h1s:
        return "title.heading"
    if rule := first_match(text, ("spam",)):
        return rule.id
    if is_byline(line):
        return "meta.byline"
    if rule := first_match(text, ("boilerplate",)):
        return rule.id
    if template is not None and template.is_template(texts, index):
        return TEMPLATE
    if _is_link_line(line):
        return LINK_LINE
    return None


def _drop_list_dates(decisions: list[Decision]) -> list[Decision]:
    """A kept date-only line next to a dropped line of links is that list's date column
    (``·某某新闻`` / ``2022-01-22``, one line each when the date sits in its own cell)."""
    out = list(decisions)
    for index, decision in enumerate(decisions):
        if decision.rule is None and _DATE_ONLY.fullmatch(decision.line.text.strip()):
            neighbours = decisions[max(0, index - 1) : index] + decisions[index + 1 : index + 2]
            if any(n.rule == LINK_LINE for n in neighbours):
                out[index] = Decision(decision.line, decision.in_main, LIST_DATE)
    return out


def _is_date_line(text: str) -> bool:
    return _DATE_LINE.fullmatch(text.strip()) is not None


def _beside_links(decisions: list[Decision], index: int) -> bool:
    return any(decisions[i].line.links for i in (index - 1, index + 1)
               if 0 <= i < len(decisions))


def leading_dateline(lines: list[str]) -> int:
    """How many date-only lines open these body lines as the article's dateline: those at
    the top, unless more date-only lines follow (a chronology: 发展历程, 大事记)."""
    count = 0
    while count < len(lines) and _is_date_line(lines[count]):
        count += 1
    later = lines[count : count + _CHRONOLOGY_LOOKAHEAD]
    return 0 if any(_is_date_line(line) for line in later) else count


def _headline_h1s(page: Page) -> set[object]:
    """The <h1> elements that carry the page's headline (the first one, and any that
    ``<title>`` repeats); other h1s are section headings of the article and stay."""
    h1s = list(page.body.iter("h1"))
    title_key = key(page.title_tag)
    return {
        h
        for i, h in enumerate(h1s)
        if i == 0 or (k := key(h.text_content() or "")) and (k in title_key or title_key in k)
    }


def _section_names(page: Page) -> set[str]:
    """Link texts of the site's navigation: candidates for 【section】 title tags."""
    names = set()
    for element in page.body.iter("a"):
        text = (element.text_content() or "").strip()
        if 2 <= len(text) <= 8 and not any(ch.isdigit() for ch in text):
            names.add(text)
    return names


def clean_page(
    fetched: FetchedPage,
    *,
    encoding: str | None = None,
    template: SiteTemplate | None = None,
) -> CleanPage:
    """Decode, parse and clean one page. The template learns this page's lines first."""
    text, used_encoding = decode_html(fetched.body, fetched.headers.get("content-type"), encoding)
    page = parse_page(text, fetched.url)
    texts = [line.text for line in page.lines]
    if template is not None:
        template.observe(texts)
    region = main_region(page.body) or set(page.body.iter())
    headline_h1s = _headline_h1s(page)
    decisions: list[Decision] = []
    for index, line in enumerate(page.lines):
        if line.block in region:
            decisions.append(
                Decision(line, True, _decide(texts, index, line, template, headline_h1s))
            )
        elif any(a in region for a in line.block.iterancestors()):
            # Inside the article, but readability's own cleaning left it out.
            rule = _decide(texts, index, line, template, headline_h1s)
            if rule is None and line.link_density >= 0.5:
                rule = READABILITY_DROP
            decisions.append(Decision(line, True, rule))
        else:
            decisions.append(Decision(line, False, OUTSIDE))
    decisions = _keep_lead_ins(_drop_list_dates(decisions), template)
    kept = [d.line.text for d in decisions if d.rule is None]
    removed = [Removal(d.rule, d.line.text) for d in decisions if d.in_main and d.rule]
    first_kept = next((i for i, d in enumerate(decisions) if d.rule is None), len(decisions))
    title_keys = {key(h) for h in page.h1s}
    title_index = next(
        (i for i, d in enumerate(decisions[:first_kept]) if key(d.line.text) in title_keys),
        max(0, first_kept - 8),
    )
    # A date printed just above the headline is its date too (not a list's date column).
    header = [d.line for d in decisions[title_index:first_kept]] + [
        decisions[i].line for i in range(max(0, title_index - _ABOVE_HEADLINE), title_index)
        if _is_date_line(decisions[i].line.text) and decisions[i].rule != LIST_DATE
        and not _beside_links(decisions, i)]
    first_byline = next(
        (i for i, d in enumerate(decisions[:first_kept]) if is_byline(d.line)), None
    )
    # The visible headline when there is no <h1>: the line above the byline, else the
    # last heading-like line above the body.
    heading = above_body = None
    if first_byline and _is_heading_line(above := decisions[first_byline - 1].line):
        heading = above.text
    elif first_kept and _is_heading_line(above := decisions[first_kept - 1].line):
        above_body = above.text
    bylines = [d.line for d in decisions if is_byline(d.line)]
    breadcrumb = next(
        (
            d.line
            for d in decisions
            if _BREADCRUMB.search(hant.fold(d.line.text))
            and first_match(d.line.text, ("boilerplate",)) is not None
        ),
        None,
    )
    main_lines = [d.line for d in decisions if d.in_main]
    main_chars = sum(line.word_chars for line in main_lines)
    link_chars = sum(line.link_chars for line in main_lines)
    body_chars = sum(len(t) for t in kept)
    cjk = sum(len(_CJK.findall(t)) for t in kept)
    return CleanPage(
        page=page,
        encoding=used_encoding,
        decisions=decisions,
        kept=kept,
        removed=removed,
        header_lines=header,
        byline_lines=bylines,
        breadcrumb=breadcrumb,
        heading=heading,
        above_body=above_body,
        link_heavy=main_chars > 0 and link_chars > 0.5 * main_chars or _is_listing(main_lines),
        lang="zh" if cjk * 5 >= body_chars else "en",
        sections=_section_names(page),
    )
