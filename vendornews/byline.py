"""Labeled byline fields: 来源 (source), 作者/记者 (author), 责任编辑 (editor), site name, section.

A value runs from its label to the next label, a wide gap, or the end of the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vendornews import hant
from vendornews.dates import parse_dates
from vendornews.page import Line, Page
from vendornews.record import Removal
from vendornews.rules import first_match, normalize

_NEXT_LABEL = (
    r"(?=\s{2,}|\s*(?:[|｜/]|文章)?\s*(?:来源|作者|记者|编辑|责任编辑|责编|发布|发表|更新|时间|日期|阅读|浏览|"
    r"点击|人气|字号|字体|评论|分享|打印|关闭|收藏|【|\[|（|\(|\d{4}[-/年])|$)"
)
_NAME = r"([^\s:：|｜【】\[\]()（）<>=\"']{1,40}?)"
SOURCE_RE = re.compile(
    r"(?:文章来源|稿件来源|信息来源|新闻来源|来源|出处|Source)\s*[:：]\s*[\[【(（]?\s*"
    + _NAME
    + r"\s*[\]】)）]?"
    + _NEXT_LABEL,
    re.I,
)
# "2005年03月31日03:18 北京娱乐信报": an outlet printed right after the date, unlabeled.
_DATED_OUTLET_RE = re.compile(r"\d{1,2}[:：]\d{2}(?:[:：]\d{2})?\s+([\u4e00-\u9fff]{2,12})$")
# "据新华社拉萨电", "新华社北京3月5日电": a wire-service dateline opening the body.
_DATELINE_RE = re.compile(
    r"^[(（]?据?([\u4e00-\u9fff]{1,8}?(?:社|网|报|台))[\u4e00-\u9fff\d]{0,10}?电"
)
# "【看中国2005年07月03日报道】", "【环球网综合报道】", "【本报讯】", "【环球时报报道 记者 王磊】":
# an outlet's report mark opening the body. Topic tags are shaped alike (【行业资讯】,
# 【光伏发电】, 【展会报道】, 【独家报道】): the word before 讯/电/报道 must be an outlet's name
# (…报, …网, …社, 本站…), or the mark must date the report or name its reporter.
_REPORT_MARK_RE = re.compile(
    r"^(?:【(?P<square>[^】\[\]]{2,40})】|\[(?P<plain>[^\]【】]{2,40})\])\s*"
)
_MARK_TEXT = re.compile(
    r"(?P<outlet>[\u4e00-\u9fff]{2,10}?)(?P<date>\d{4}年)?(?P<day>\d{1,2}月\d{1,2}日)?"
    r"(?:综合|独家|专稿)?(?P<verb>报道|讯|电)"
    r"(?:\s*(?:记者|通讯员)\s*(?P<reporter>[\u4e00-\u9fff]{2,4}(?:[\s、]+[\u4e00-\u9fff]{2,5}){0,5}))?"
)
_OUTLET_END = {"讯": ("报", "网", "社", "台", "刊", "站"), "电": ("社", "网", "台"),
               "报道": ("报", "网", "社", "台", "刊", "站", "志", "闻", "视")}
_KIND_OF_REPORT = re.compile(
    r"^(综合|独家|视频|图片|图文|特别|现场|深度|专题|新闻|行业|最新|公司|重点|热点|专家|记者|精彩|"
    r"系列|跟踪|追踪|连续|相关|原创|本期|今日|每日)$"
)
# Words that end a mark's list of reporters (通讯员 李四, 摄影 王五 are not authors).
_NOT_REPORTER = re.compile(r"^(通讯员|实习生|见习记者|实习记者|摄影|摄|记者|编辑|特约记者)$")
_SELF_MARK = re.compile(r"^本(报|网|站|刊|台)")
# A body line that is only a person's name (the author, printed above the text).
_NAME_LINE = re.compile(r"[\u4e00-\u9fff]{2,4}")


@dataclass(frozen=True)
class ReportMark:
    """A report mark opening the body: where, its text, the outlet and any reporter."""

    line: int
    text: str
    outlet: str
    reporter: str | None


def _lead_line(body_lines: list[str]) -> int:
    """The line the text starts on: the second when the first is only a name."""
    return 1 if len(body_lines) > 1 and _NAME_LINE.fullmatch(body_lines[0].strip()) else 0


def report_mark(body_lines: list[str]) -> ReportMark | None:
    """The outlet's report mark opening the body's text, if there is one."""
    index = _lead_line(body_lines)
    if index >= len(body_lines) or not (m := hant.match(_REPORT_MARK_RE, body_lines[index])):
        return None
    inner = (m["square"] or m["plain"]).strip()
    parts = hant.fullmatch(_MARK_TEXT, inner)
    if parts is None:
        return None
    outlet, verb = parts["outlet"], hant.fold(parts["verb"])
    folded = hant.fold(outlet)
    if _KIND_OF_REPORT.match(folded):
        return None
    named = folded.endswith(_OUTLET_END[verb]) or _SELF_MARK.match(folded) is not None
    if not named and not (verb == "报道" and (parts["date"] or parts["reporter"])):
        return None
    return ReportMark(index, m[0], outlet, _reporters(parts["reporter"]))


def _reporters(names: str | None) -> str | None:
    """The reporters a mark names, up to the first other role (通讯员, 摄影…)."""
    kept = []
    for name in re.split(r"[\s、]+", names or ""):
        if not name or _NOT_REPORTER.match(hant.fold(name)):
            break
        kept.append(name)
    return " ".join(kept) or None


AUTHOR_RE = re.compile(
    r"(?:(?<![工创])作者(?=\s*[:：]|\s)|撰稿|撰文|文\s*/|\bBy\b)\s*[:：]?\s*"
    r"(?!(?:编辑|来源|发布|日期|时间)\b)"
    r"([^\s:：|｜【】\[\]()（）<>,，、=\"']{1,20}(?:[ 、,，][\u4e00-\u9fff]{2,4}){0,3}?)"
    + _NEXT_LABEL,
    re.I,
)
_REPORTER_RE = re.compile(
    r"(?:[(（]|^|\s|电|讯)\s*(?:[^\s()（）]{0,8}?)记者\s*[:：]?\s*([\u4e00-\u9fff]{2,4}(?:[\s、]+[\u4e00-\u9fff]{2,4}){0,3})\s*(?=[)）]|$|\s|报道|摄)"
)
EDITOR_RE = re.compile(r"(?:责任编辑|责编|编辑)\s*[:：]\s*" + _NAME + r"(?=[\s)）]|$)")
_SITE_SELF = re.compile(r"^(本站|本网|本站原创|原创|本公司|网站编辑|管理员|admin)$", re.I)
_NOT_AN_AUTHOR = re.compile(r"^(本站|本网|本站原创|原创|佚名|未知|不详)$")
_EN_NAME = r"[A-Z][\w'’.-]+(?:\s+(?:[A-Z][\w'’.-]+|van|von|de|da|del|di|la|le)){0,3}"
_EN_BYLINE_RE = re.compile(
    r"^(?:By|Written by|Words by|Author:?|Posted by)\s+("
    + _EN_NAME
    + r"(?:\s*(?:,|and|&)\s*"
    + _EN_NAME
    + r")*)(?=$|\s*[|,•·-]|\s+(?:on|in|for|at|Updated|Published)\b)"
)
_AUTHOR_MARK = re.compile(
    r"(^|[\s_-])(author|byline|writer|author-name|article-author)($|[\s_-])", re.I
)
_BYLINE_LABEL = re.compile(
    r"(发布时间|发布日期|发表时间|发表于|发布于|更新时间|时间\s*[:：]|日期\s*[:：]|来源\s*[:：]|"
    r"(?<![工创])作者\s*[:：]?|记者\s*[:：]|编辑\s*[:：]|阅读\s*[:：]|浏览|点击\s*[:：])"
)
_SENTENCE_PUNCT = re.compile(r"[，。？！?!；]")
_CREDIT_LABEL = re.compile(r"来源|作者|记者|编辑")
_AUTHOR_LABEL = re.compile(r"作者\s*[:：]")
_NAME_PREFIX = re.compile(r"^([\u4e00-\u9fff]{2,4})\s*[:：]\s*(?=\S{4,})")
_NOT_A_SOURCE = re.compile(r"^(转载文章|转载|未知|不详|佚名|\d.*)$")
_TITLE_SPLIT = re.compile(r"\s*(?:_|\||｜|–|—|--|\s-\s)\s*")
_CRUMB_SPLIT = re.compile(r"\s*(?:>|&gt;|»|›|→|/|\\|\||｜)\s*")
_TITLE_SUFFIX = re.compile(r"\S\s*(?:_|\||｜|–|—|-|·)\s*([^-_|｜–—·]{2,30})$")
_BRAND_CLASS = re.compile(r"(^|[\s_-])(site-?title|site-?name|sitename|logo)($|[\s_-])", re.I)
_CRUMB_LABEL = re.compile(r"^[^:：]*(位置|导航)\s*[:：]")
_CRUMB_SKIP = re.compile(
    r"^(正文|内容|详情|详细内容|文章详情|阅读文章|首页|网站首页|主页|当前位置.*|您的位置.*)$"
)


@dataclass(frozen=True)
class Byline:
    source: str | None
    author: str | None
    editor: str | None
    mark: ReportMark | None = None  # the report mark opening the body, read into fields


def _branding(page: Page) -> str | None:
    """Text (or logo ``alt``) of the page's site-title / logo element."""
    for element in page.body.iter():
        names = f"{element.get('class', '')} {element.get('id', '')}"
        if not _BRAND_CLASS.search(names):
            continue
        text = normalize(element.text_content())
        if not text:
            text = next((normalize(img.get("alt", "")) for img in element.iter("img")), "")
        if 2 <= len(text) <= 30:
            return text
    return None


def site_name(page: Page) -> str:
    """The site's own name: og:site_name, site-title or logo, the end of ``<title>``, the host."""
    for key in ("og:site_name", "application-name"):
        if page.meta.get(key):
            return page.meta[key]
    if brand := _branding(page):
        return brand
    if m := _TITLE_SUFFIX.search(page.title_tag):
        return m[1].strip()
    return page.host


def category(page: Page, breadcrumb: Line | None) -> str | None:
    """The section: the last meaningful breadcrumb step, else the middle ``<title>`` segment."""
    if breadcrumb is not None:
        label = hant.search(_CRUMB_LABEL, breadcrumb.text)
        text = breadcrumb.text[label.end():] if label else breadcrumb.text
        steps = [s for s in _CRUMB_SPLIT.split(text) if s and not _CRUMB_SKIP.match(hant.fold(s))]
        if steps and len(steps[-1]) <= 20:
            return steps[-1]
    segments = [s for s in _TITLE_SPLIT.split(page.title_tag) if s]
    if len(segments) >= 3 and len(segments[-2]) <= 12:
        return segments[-2]
    return None


def _clean_value(value: str) -> str:
    return value.strip(" ,，;；.。·-—")


def _source_value(label_value: str, site: str) -> str | None:
    """A 来源 value as the record's source: 本站 and the like are the site itself."""
    value = _clean_value(label_value)
    if _SITE_SELF.match(hant.fold(value)):
        return site
    return value if value and not _NOT_A_SOURCE.match(hant.fold(value)) else None


def find_byline(meta_lines: list[str], body_lines: list[str], site: str, page: Page) -> Byline:
    """Read source/author/editor from the byline lines, then the body's first and last lines."""
    source = author = editor = None
    for text in meta_lines:
        if source is None and (m := hant.search(SOURCE_RE, text)):
            source = _source_value(m[1], site)
        if author is None and (m := hant.search(AUTHOR_RE, text)):
            value = _clean_value(m[1])
            if value and not _NOT_AN_AUTHOR.match(hant.fold(value)):
                author = value
        if author is None and (m := hant.search(_REPORTER_RE, text)):
            author = _clean_value(m[1])
        if editor is None and (m := hant.search(EDITOR_RE, text)):
            editor = _clean_value(m[1])
    if source is None:
        for text in meta_lines:
            if m := hant.search(_DATED_OUTLET_RE, text):
                source = m[1]
                break
    mark = report_mark(body_lines)
    if source is None and mark is not None:
        source = site if _SELF_MARK.match(hant.fold(mark.outlet)) else mark.outlet
    if source is None and (m := hant.search(_DATELINE_RE, body_lines[_lead_line(body_lines)]
                                                    if body_lines else "")):
        source = m[1]
    if author is None and mark is not None and mark.reporter:
        author = mark.reporter
    # Credits sit at the body's edges: the first line's start, the last lines' ends.
    edges = [line[:80] for line in body_lines[:2]] + [line[-120:] for line in body_lines[-3:]]
    for text in edges:
        if author is None and (m := hant.search(_REPORTER_RE, text)):
            author = _clean_value(m[1])
        if source is None and (m := hant.search(SOURCE_RE, text)):
            source = _source_value(m[1], site)
        if editor is None and (m := hant.search(EDITOR_RE, text)):
            editor = _clean_value(m[1])
    if author is None:
        author = _english_byline(page) or _author_element(page) or _json_ld_author(page)
    if author is None:
        meta_author = page.meta.get("author") or page.meta.get("article:author")
        if meta_author and _looks_like_name(meta_author) and meta_author != editor:
            author = meta_author
    return Byline(source, author, editor, mark)


def strip_lead_credits(body_lines: list[str], byline: Byline, author: str | None,
                       ) -> tuple[list[str], list[Removal]]:
    """The body without the credits a page sets above its text, once read into fields: a
    first line that is only the author's name, and the byline's report mark (the whole
    line when the mark stands alone). Unbracketed wire datelines such as 新华社北京3月5日电
    are part of the story's first sentence and stay."""
    lines, removed = list(body_lines), []
    mark = byline.mark
    if mark is not None:
        rest = lines[mark.line][len(mark.text):].lstrip()
        removed.append(Removal("meta.report-mark", mark.text.strip()))
        if rest:
            lines[mark.line] = rest
        else:
            del lines[mark.line]
    if author and lines and lines[0].strip() == author:
        removed.insert(0, Removal("meta.author-line", lines.pop(0)))
    return lines, removed


def _looks_like_name(value: str) -> bool:
    """A person's or desk's name, not a handle, a URL or a slogan."""
    if _NOT_AN_AUTHOR.match(value) or len(value) > 40 or "/" in value or "http" in value:
        return False
    return bool(re.search(r"[\u4e00-\u9fff]", value)) or " " in value.strip()


def _english_byline(page: Page) -> str | None:
    """``By Jane Doe`` / ``Written by Jane Doe and John Roe`` on a short line of the page."""
    for line in page.lines:
        if len(line.text) <= 90 and (m := _EN_BYLINE_RE.match(line.text)):
            return m[1]
    return None


def _author_element(page: Page) -> str | None:
    """The text of the first element marked as the author (rel/itemprop/class ``author``)."""
    for element in page.body.iter():
        if not isinstance(element.tag, str):
            continue
        marks = " ".join(element.get(a, "") for a in ("class", "id", "rel", "itemprop"))
        if not _AUTHOR_MARK.search(marks):
            continue
        text = re.sub(
            r"^(By|Written by|作者)\s*[:：]?\s*", "", normalize(element.text_content()), flags=re.I
        )
        m = re.match(_EN_NAME + r"(?=$|\s*[,|(-]|\s+[A-Z][a-z]+,)", text)
        if m and len(m[0].split()) >= 2:
            return m[0]
        if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", text):
            return text
    return None


def _json_ld_author(page: Page) -> str | None:
    for obj in page.json_ld:
        authors = obj.get("author")
        if not isinstance(authors, list):
            authors = [authors]
        raw = [a.get("name") if isinstance(a, dict) else a for a in authors]
        names = [n.strip() for n in raw if isinstance(n, str) and _looks_like_name(n)]
        if names:
            return ", ".join(names)
    return None


def is_byline(line: Line) -> bool:
    """A short line that carries labeled publish metadata (date, source, author, counter).

    One label is enough only with a value that looks like metadata: a full date after a
    time label, or a short 来源/作者/编辑 line; "初试时间：3月底" inside a notice is body text.
    """
    text = hant.fold(line.text)
    if len(text) > 150:
        return False
    labels = _BYLINE_LABEL.findall(text)
    if len(labels) >= 2:
        return True
    if len(labels) != 1 or len(text) > 60 or line.link_density >= 0.5:
        return False
    if first_match(text, ("spam",)) is not None:
        return False
    if _CREDIT_LABEL.match(labels[0]):
        # "记者：你通过什么渠道…" in an interview is a question, not a credit.
        value = text.split(labels[0], 1)[1]
        return len(text) <= 40 and len(value) <= 16 and not _SENTENCE_PUNCT.search(value)
    return bool(parse_dates(text)) or labels[0].startswith(("阅读", "浏览", "点击"))


def has_empty_author_label(meta_lines: list[str]) -> bool:
    """A byline prints the 作者 label (its value blank or unreadable)."""
    return any(_AUTHOR_LABEL.search(hant.fold(text)) for text in meta_lines)


def split_author_prefix(heading: str, title: str) -> tuple[str | None, str]:
    """``("茉莉", "我是怎样…")`` for a heading ``茉莉：我是怎样…``; the title loses the prefix."""
    m = _NAME_PREFIX.match(heading)
    if not m:
        return None, title
    name = m[1]
    return name, title[len(m[0]) :] if title.startswith(m[0]) else title
