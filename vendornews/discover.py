"""Where the news is: is a link an article, a news list, list pagination or an article's page 2?

Pure functions of a URL, its anchor text and the page around the link (lxml, and the
core's decoder for raw bytes; no Scrapy), so the crawler's decisions are tested on saved
pages without a crawler. Nothing here is written for one site: the rules are URL shapes
common to Chinese CMSes (DedeCMS ``/a/news/123.html``, ``list_1_2.html``, ``123_2.html``;
PHPCMS and static ``/html/…/123.htm``; WordPress ``/archives/123/``, ``?p=123``,
``/2022/05/slug/``; ASP ``news_show.asp?id=``), section vocabulary (新闻中心, 行业动态,
常见问题, news, blog …) and the layout of list pages (a run of same-shaped links with
dates, a pager block).
"""

from __future__ import annotations

import gzip
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

import lxml.etree
import lxml.html

from vendornews import hant
from vendornews.decode import decode_html

__all__ = [
    "Link",
    "LinkContext",
    "LinkKind",
    "SiteOverride",
    "article_root",
    "classify_link",
    "continuation_links",
    "extract_links",
    "load_overrides",
    "override_for",
    "page_number",
    "parse_html",
    "parse_sitemap",
    "same_site",
    "site_key",
    "sitemaps_from_robots",
]


class LinkKind(StrEnum):
    """What following a link leads to."""

    ARTICLE = "article"  # a news article (its page 1)
    LIST = "list"  # a news section / list page
    PAGINATION = "pagination"  # page N of a news list
    CONTINUATION = "continuation"  # page N of a multi-page article (正文分页)
    OTHER = "other"  # anything else: products, about, home, search, files, spam …


@dataclass(frozen=True)
class SiteOverride:
    """Hand-written hints for a site the generic rules get wrong (see overrides.toml)."""

    list_pages: tuple[str, ...] = ()
    article_pattern: re.Pattern[str] | None = None
    exclude_pattern: re.Pattern[str] | None = None


_NO_OVERRIDE = SiteOverride()


@dataclass(frozen=True)
class LinkContext:
    """The page around a link; the defaults describe a bare URL (e.g. a sitemap entry)."""

    page_url: str = ""
    page_kind: LinkKind | None = None  # ARTICLE on article pages, LIST on home/list pages
    in_pager: bool = False  # inside a pagination block
    date_near: bool = False  # the link's list item shows a date
    same_shape: int = 1  # links on the page whose URL has this link's shape
    heading: str = ""  # heading of the box holding the link (最新资讯, 产品分类 …)
    override: SiteOverride | None = None


@dataclass(frozen=True)
class Link:
    url: str
    text: str
    context: LinkContext = field(default_factory=LinkContext)

    @cached_property
    def kind(self) -> LinkKind:
        """Classified once: the spider asks a link's kind several times."""
        return classify_link(self.url, self.text, self.context)


# --------------------------------------------------------------------------- vocabulary

_PAGE_EXT = r"(?:s?html?|php\d?|aspx?|jsp|cgi)"
_FILE_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|bmp|webp|svg|ico|tiff?|pdf|docx?|xlsx?|pptx?|txt|csv|zip|rar|7z|gz|"
    r"tar|bz2|exe|apk|dmg|msi|mp[34]|avi|wmv|flv|mov|mkv|swf|wav|css|js|json|xml|rss|atom)$",
    re.I,
)
# URL path words (segments or their "_-." parts) of non-news pages.
def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_OTHER_WORDS = _wordset(
    """product products prod pro chanpin cp cpzx cpzs cplb goods shop mall store item items
    cart order buy price baojia about aboutus about-us gsjj gywm guanyu jianjie intro
    introduction company-profile profile culture wenhua qywh contact contactus contact-us
    lianxi lxwm lxfs job jobs zhaopin rczp career careers hr honor honour rongyu ryzz zizhi
    certificate case cases anli khal gcal project projects download downloads xiazai video
    videos shipin message liuyan zxly guestbook feedback book login logout register reg
    member members user users account search tag tags author feed rss comment comments
    wp-admin wp-login wp-content wp-includes wp-json admin print sitemap map team service
    services fuwu shfw solution solutions fangan equipment shebei gallery photo photos album
    tupian picture pictures image images partner partners link links"""
)
# Words of news sections in URLs (pinyin initials are common: xwzx 新闻中心, hydt 行业动态 …).
_NEWS_WORDS = _wordset(
    """news xinwen xwzx xwdt xwzs zixun zxzx zx dongtai dt gsxw gsdt qydt qyxw hyxw hydt hyzx
    hyzs jszx jswz jszs jishu hangye gongsi qiye faq faqs cjwt wenda zhishi baike article
    articles archives blog blogs post posts info infos information notice gonggao press media
    knowledge industry insights journal"""
)
_LIST_LEAF = re.compile(
    r"^(?:list|lists|index|default|category|class|column|lanmu|more)(?:[_-][\w-]*)?$", re.I
)
_LIST_DIR = frozenset({"category", "cat", "column", "list", "lists", "lanmu", "class"})
_LIST_PARAMS = frozenset(
    {"classid", "catid", "typeid", "cid", "sortid", "cat", "class", "lm", "column",
     "bigclassid", "smallclassid", "type", "nclassid", "cateid", "category"}
)
_ID_PARAMS = frozenset(
    {"id", "aid", "articleid", "newsid", "nid", "artid", "infoid", "contentid", "docid",
     "itemid", "news_id", "article_id", "postid", "post_id"}
)
_PAGE_PARAMS = frozenset(
    {"page", "pageno", "pagenum", "page_no", "pn", "pg", "paged", "pageindex", "curpage",
     "cp", "currentpage", "pageid", "start", "offset"}
)
_UTILITY_PARAMS = frozenset({"keyword", "keywords", "q", "s", "wd", "kw", "search", "searchword",
                             "action", "replytocom", "share", "print"})
_LIST_PREFIXES = frozenset({"list", "lists", "index", "default", "page", "pages", "p", "category",
                            "class", "column", "lanmu", "more"})
_HOME_LEAF = re.compile(r"^(?:index|default|home|main)\.\w+$", re.I)
_DATE_RE = re.compile(r"(?:19|20)\d{2}\s*[-/.年]\s*\d{1,2}(?:\s*[-/.月]\s*\d{1,2})?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

# URL path shapes, compiled once: they are tried on every link of every page.
_YEAR = re.compile(r"(?:19|20)\d\d")
_EXTENSION = re.compile(r"\.\w+$")
_PAGE_EXTENSION = re.compile(r"\." + _PAGE_EXT + "$", re.I)
_WORD_SEPARATORS = re.compile(r"[_.\-]+")
_DIGIT_RUN = re.compile(r"\d+")
_NUMBER_LEAF = re.compile(r"\d{2,}")  # /archives/123/
_DAY_OR_MONTH = re.compile(r"\d{1,2}")
_LETTERS = re.compile(r"[a-z]{2}")
_NUMBERED_LEAF = re.compile(r"([a-z]{0,12})[_-]?\d+\." + _PAGE_EXT, re.I)  # news_123.html
_DATED_ID_LEAF = re.compile(r"[a-z]{0,3}\d{6,8}[_-]\d+\." + _PAGE_EXT, re.I)
_SHOW_LEAF = re.compile(  # show-12-345.html (PHPCMS, catid-id)
    r"(?:show|view|detail|details|content|article|news|info)[_-]\d+(?:[_-]\d+)*\." + _PAGE_EXT,
    re.I)
_NEWS_LEAF = re.compile(r"(?:news|article|info|blog)[_-]?(?:list|center|index)?")
_PAGED_LEAF = re.compile(r"(?:list|index|default|page)[_-]?(?:\d+[_-])?(\d+)")
_PAGED_DIR = re.compile(r"/page/\d+/?$")
_FILE_PATH = re.compile(r"(.*/)([^/]+?)\.(\w+)")
# What page N adds to page 1's path: ``_2`` before the extension, ``2/`` or ``page/2/`` after it.
_PAGE_SUFFIX = re.compile(r"[_-](\d{1,3})")
_PAGE_IN_DIR = re.compile(r"(?:page/|index_|p)?(\d{1,3})(?:/|\.\w+)?")

# Anchor texts.
_PAGER_TEXT = re.compile(
    r"^(?:\d{1,4}|第\s*\d{1,4}\s*页|[上下前后]一?页|首页|尾页|末页|最后一?页|第一页|"
    r"next|prev|previous|first|last|next page|previous page|更多文章)$",
    re.I,
)
_STRONG_PAGER_TEXT = re.compile(r"^(?:第\s*\d{1,4}\s*页|[上下前后]一?页|尾页|末页|最后一?页|"
                                r"next page|previous page)$", re.I)
_PAGER_DECOR = re.compile(r"[\s«»‹›<>\[\]【】()（）\-—=.·…]+")
_SECTION_TEXT = re.compile(
    r"^(?:公司|企业|行业|技术|产品|最新|新闻|媒体|综合|市场|国内|国际|集团|热点|热门|精彩|展会|"
    r"政策|科技|学术|专业|知识|资讯|业界|网站|本站)?"
    r"(?:新闻|资讯|动态|知识|问答|百科|文章|公告|通知|报道|快讯|头条|咨询|问题|讯息|看点|专题|博客|活动)"
    r"(?:中心|动态|资讯|列表|问答|解答|频道|栏目|聚焦|速递|园地)?$"
    r"|^(?:常见问题|问题解答|常见问答|技术支持与常见问题)$"
    r"|^(?:(?:company|industry|latest|corporate|tech(?:nical)?|product)\s*)?"
    r"(?:news|blog|articles?|faqs?|press|media|knowledge|insights|updates)(?:\s*(?:center|centre|room))?$",
    re.I,
)
_SECTION_WORD = re.compile(r"新闻|资讯|动态|问答|百科|文章|公告|快讯|报道|常见问题|知识"
                           r"|\bnews\b|\bblog\b|\bfaqs?\b|\barticles?\b", re.I)
_MORE_TEXT = re.compile(
    r"^(?:more|更多|查看更多|更多资讯|更多新闻|更多>+|more>+|more\+|\+more|>>|»)$", re.I)
_HOME_TEXT = re.compile(r"^(?:首页|网站首页|返回首页|主页|home|homepage|回到首页)$", re.I)
_OTHER_TEXT = re.compile(
    r"^(?:产品|关于|联系|在线|人才|荣誉|资质|工程|成功|客户|视频|下载|售后|服务|招聘|加入|企业文化|"
    r"公司简介|公司介绍|企业简介|公司概况|网站地图|留言|合作|案例|设备|解决方案|products?\b|about\b|"
    r"contact\b|careers?\b|jobs?\b|services?\b|download|video|gallery|solutions?\b|cases?\b)",
    re.I,
)
_PRODUCT_HEADING = re.compile(r"产品|商品|products?\b|设备展示|产品分类|案例|视频|下载", re.I)
_NEWS_HEADING = re.compile(r"新闻|资讯|动态|文章|问答|问题|知识|百科|公告|快讯|\bnews\b|\bblog\b|"
                           r"\barticles?\b|\bposts?\b", re.I)
# Link-farm ads glued under many vendor articles (hospital ads); never worth a request.
_SPAM_TEXT = re.compile(
    r"白癜风|牛皮癣|银屑病|癫痫|羊癫疯|男科|妇科|人流|不孕|不育|阳痿|早泄|前列腺|包皮|性病|"
    r"尖锐湿疣|梅毒|淋病|痔疮|肛肠|狐臭|腋臭|荨麻疹|"
    r"(?:医院|门诊|治疗|专科).{0,8}(?:哪家|哪里|排名|最好|好吗|地址|电话|费用|多少钱)|"
    r"(?:哪家|哪里).{0,6}(?:医院|治疗)"
)
_PAGER_ATTR = re.compile(
    r"^(?:pages?|pager|paging|pagination|pagelist|pagenav|pagebar|pagelink|pagelinks|fenye|"
    r"fanye|dede_pages|pg|pgs|page-?numbers)$|pagination|pagelist|pager|paging|fenye|fanye|"
    r"page[-_](?:links?|list|nav|bar|box|num|turn|div|numbers)",
    re.I,
)
_HEADING_ATTR = re.compile(r"tit|head|hd\b|caption|lefttitle|widget-title|name", re.I)


# --------------------------------------------------------------------------- URL helpers

@lru_cache(maxsize=4096)
def site_key(url: str) -> str:
    """Host (without a leading ``www.``) and a non-default port: what "the same site" means.

    Cached: every link of a page is compared with the page's own site."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    return host if port in (None, 80, 443) else f"{host}:{port}"


def same_site(url: str, other: str) -> bool:
    return bool(site_key(url)) and site_key(url) == site_key(other)


def _segments(path: str) -> list[str]:
    return [s for s in path.lower().split("/") if s]


def _leaf_stem(path: str) -> str:
    segs = _segments(path)
    if not segs or path.endswith("/"):
        return ""
    return _EXTENSION.sub("", segs[-1])


def _path_tokens(path: str) -> list[str]:
    """Words of a path in order: each segment and its "_-." parts; a long slug's parts
    (``product-launch-event``) are words of a title, not of the site structure."""
    out: list[str] = []
    for seg in _segments(path):
        parts = [t for t in _WORD_SEPARATORS.split(seg) if t]
        out.append(seg)
        if len(parts) <= 3:
            out.extend(parts)
    return out


@lru_cache(maxsize=4096)
def _non_news_path(path: str) -> bool:
    """A product / about / contact / utility word in the path, and no news word after it
    (``/service/news/`` is news, ``/news/product/1.html`` is not)."""
    last_other = last_news = -1
    for i, token in enumerate(_path_tokens(path)):
        if token in _OTHER_WORDS:
            last_other = i
        elif token in _NEWS_WORDS:
            last_news = i
    return last_other > last_news


_TRACKING_PARAM = re.compile(r"^(?:utm_\w+|spm|from|fromid|fbclid|gclid|share_token|_t)$", re.I)


def _without_tracking(url: str) -> str:
    """Drop tracking parameters (``utm_*``, ``spm`` …) so one page is one URL. The query is
    filtered as raw text: its percent-escapes may be GBK and must survive untouched."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    kept = [p for p in parts.query.split("&") if p and not _TRACKING_PARAM.match(p.split("=")[0])]
    return parts._replace(query="&".join(kept)).geturl()


def _same_stem(a: str, b: str) -> bool:
    """Leaves equal up to their last number, around an article id: ``show-8-123-1.html`` and
    ``show-8-123-2.html`` (PHPCMS page 1 and 2) but not ``2474.html`` and ``2475.html``."""
    def cut(path: str) -> str:
        return re.sub(r"\d+(\.\w+)?$", r"#\1", path.rsplit("/", 1)[-1])
    return cut(a) == cut(b) and bool(re.search(r"\d", cut(a)))


def _query(url: str) -> dict[str, str]:
    return {k.lower(): v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True)}


def _is_home(path: str, query: str) -> bool:
    segs = _segments(path)
    return not query and (not segs or (len(segs) == 1 and bool(_HOME_LEAF.match(segs[0]))))


def _year_month(a: str, b: str) -> bool:
    return bool(_YEAR.fullmatch(a)) and b.isdigit() and 1 <= int(b) <= 12


@lru_cache(maxsize=4096)
def article_root(url: str) -> tuple[str, int] | None:
    """``(page-1 URL, N)`` when the URL's shape alone says "page N>=2 of an article".

    ``/a/news/2474_2.html`` -> ``/a/news/2474.html``; ``/archives/2816/3/`` ->
    ``/archives/2816/``; ``show.asp?id=12&page=2`` -> ``show.asp?id=12``. List pagination
    (``list_1_2.html``, ``/page/2/``) and date archives (``/2022/05/``) are not matched.
    """
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    path = parts.path
    m = re.fullmatch(r"(.*/)([^/]*?\d{3,})_(\d{1,2})\.(" + _PAGE_EXT + ")", path, re.I)
    if m and not _LIST_LEAF.match(m.group(2)) and int(m.group(3)) >= 2:
        root_path = f"{m.group(1)}{m.group(2)}.{m.group(4)}"
        return parts._replace(path=root_path).geturl(), int(m.group(3))
    m = re.fullmatch(r"(.*/([^/]*\d[^/]*))/(\d{1,2})/?", path)
    if m and int(m.group(3)) >= 2:
        parent_segs = _segments(m.group(1))
        before = parent_segs[-2] if len(parent_segs) >= 2 else ""
        dated = _year_month(m.group(2), m.group(3)) or _year_month(before, m.group(2))
        if not dated and not re.search(r"\d", before):
            return parts._replace(path=m.group(1) + "/").geturl(), int(m.group(3))
    query = parse_qsl(parts.query, keep_blank_values=True)
    keys = {k.lower() for k, _ in query}
    if keys & _ID_PARAMS or "p" in keys:
        for k, v in query:
            if k.lower() in _PAGE_PARAMS - {"start", "offset"} and v.isdigit() and int(v) >= 2:
                rest = "&".join(f"{a}={b}" for a, b in query if a != k)
                return parts._replace(query=rest).geturl(), int(v)
    return None


def page_number(url: str, article_url: str) -> int | None:
    """N when ``url`` is page N of the article whose page 1 is ``article_url`` (1 for itself)."""
    url, article_url = urldefrag(url)[0], urldefrag(article_url)[0]
    u, r = urlsplit(url), urlsplit(article_url)
    if site_key(url) != site_key(article_url):
        return None
    if u.path == r.path and u.query == r.query:
        return 1
    if u.path == r.path:
        uq, rq = dict(parse_qsl(u.query)), dict(parse_qsl(r.query))
        changed = {k for k in set(uq) | set(rq) if uq.get(k) != rq.get(k)}
        if len(changed) == 1:
            key = changed.pop()
            if key.lower() in _PAGE_PARAMS and uq.get(key, "").isdigit():
                return int(uq[key])
        return None
    if u.query != r.query:
        return None
    m = _FILE_PATH.fullmatch(r.path)
    if m:
        added = _between(u.path, m.group(1) + m.group(2), "." + m.group(3))
        hit = _PAGE_SUFFIX.fullmatch(added) if added is not None else None
    else:
        added = _between(u.path, r.path if r.path.endswith("/") else r.path + "/", "")
        hit = _PAGE_IN_DIR.fullmatch(added) if added is not None else None
    return int(hit.group(1)) if hit else None


def _between(text: str, prefix: str, suffix: str) -> str | None:
    """``text`` without ``prefix`` and ``suffix``; None when it does not start and end so.
    (Page 1's path is matched as text, not as a pattern compiled per article.)"""
    if len(text) < len(prefix) + len(suffix) or not text.startswith(prefix) \
            or not text.endswith(suffix):
        return None
    return text[len(prefix):len(text) - len(suffix)]


def _shape(url: str) -> str:
    """URL with digit runs replaced: links of one list share a shape."""
    parts = urlsplit(url)
    return _DIGIT_RUN.sub("9", parts.path + ("?" + parts.query if parts.query else ""))


def _article_like(path: str, query: dict[str, str]) -> bool:
    """Strong URL evidence of an article page."""
    segs = _segments(path)
    leaf = segs[-1] if segs else ""
    if any(v.isdigit() for k, v in query.items() if k in _ID_PARAMS):
        return "list" not in _leaf_stem(path) and query.get("a", "") not in ("list", "lists")
    if set(query) == {"p"} and query["p"].isdigit() and len(segs) <= 1:
        return True  # WordPress default permalink /?p=123
    if len(segs) >= 2 and _NUMBER_LEAF.fullmatch(leaf):  # /archives/123/, /news/123
        return not _year_month(segs[-2], leaf) and not _YEAR.fullmatch(leaf) \
            and segs[-2] != "page"
    if path.endswith("/"):
        return _slug_article(segs)
    m = _NUMBERED_LEAF.fullmatch(leaf)
    if m:
        return m.group(1).lower() not in _LIST_PREFIXES
    if _DATED_ID_LEAF.fullmatch(leaf):
        return True  # t20220512_123.html, 20220512_123.html
    if _SHOW_LEAF.fullmatch(leaf):
        return True  # show-12-345.html (PHPCMS, catid-id)
    return _slug_article(segs)


def _slug_article(segs: list[str]) -> bool:
    """``/2022/05/some-title/`` or ``/news/some-long-title.html``."""
    if not segs:
        return False
    leaf = _PAGE_EXTENSION.sub("", segs[-1])
    wordy = leaf.count("-") >= 2 and bool(_LETTERS.search(leaf))
    for i in range(len(segs) - 2):
        if _year_month(segs[i], segs[i + 1]) and leaf not in ("page", "feed") and \
                not _DAY_OR_MONTH.fullmatch(leaf):
            return True
    return wordy and any(s in _NEWS_WORDS for s in segs[:-1])


def _list_like(path: str, query: dict[str, str]) -> bool:
    segs = _segments(path)
    if set(query) & _LIST_PARAMS and not set(query) & _ID_PARAMS:
        return True
    if _LIST_LEAF.match(_leaf_stem(path)) and len(segs) >= 2:
        return True
    if set(segs[:-1]) & _LIST_DIR or (path.endswith("/") and set(segs) & _LIST_DIR):
        return True
    last = _leaf_stem(path) if not path.endswith("/") else (segs[-1] if segs else "")
    return bool(last) and (last in _NEWS_WORDS or bool(_NEWS_LEAF.fullmatch(last)))


def _paged_list(path: str, query: dict[str, str]) -> bool:
    """List pagination by shape: list_1_2.html, list_3.htm, index_2.html, page-2.html,
    /page/2/, ?page=2."""
    m = _PAGED_LEAF.fullmatch(_leaf_stem(path))
    if (m and int(m.group(1)) >= 2) or _PAGED_DIR.search(path):
        return True
    keys = set(query)
    return bool(keys & _PAGE_PARAMS) and not keys & _ID_PARAMS and keys != {"p"}


# --------------------------------------------------------------------------- classify

def _norm_text(text: str) -> str:
    return " ".join(text.split())


def _pager_text(text: str) -> str:
    return _PAGER_DECOR.sub(" ", text).strip().lower()


def _headline_like(text: str) -> bool:
    if len(_CJK.findall(text)) >= 6:
        return True
    return len(_LATIN_WORD.findall(text)) >= 4


def classify_link(url: str, anchor_text: str = "", context: LinkContext | None = None) -> LinkKind:
    """Kind of page the link leads to, from its URL, anchor text and the page around it."""
    ctx = context or LinkContext()
    url = urldefrag(url)[0]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return LinkKind.OTHER
    if ctx.page_url and not same_site(url, ctx.page_url):
        return LinkKind.OTHER
    target = parts.path + ("?" + parts.query if parts.query else "")
    override = ctx.override or _NO_OVERRIDE
    if override.exclude_pattern and override.exclude_pattern.search(target):
        return LinkKind.OTHER
    # Words match on the fold: 下一頁 and 新聞中心 are 下一页 and 新闻中心.
    text, heading = hant.fold(_norm_text(anchor_text)), hant.fold(ctx.heading)
    path, query = parts.path or "/", _query(url)
    if _FILE_EXT.search(path) or _SPAM_TEXT.search(text) or set(query) & _UTILITY_PARAMS:
        return LinkKind.OTHER
    if override.article_pattern and override.article_pattern.search(target):
        return LinkKind.ARTICLE

    pager = _pager_text(text)
    pagerish = bool(_PAGER_TEXT.match(pager)) and (
        ctx.in_pager or bool(_STRONG_PAGER_TEXT.match(pager)))

    # Pages of the article this link sits on come first: "第2页" must not become an article.
    if ctx.page_kind is LinkKind.ARTICLE and ctx.page_url:
        root = (article_root(ctx.page_url) or (ctx.page_url, 1))[0]
        if page_number(url, root) is not None:
            return LinkKind.CONTINUATION
        root_path = urlsplit(root).path
        if pagerish and root_path.rsplit("/", 1)[0] == path.rsplit("/", 1)[0] \
                and not _paged_list(path, query) \
                and (not _article_like(path, query) or _same_stem(root_path, path)):
            return LinkKind.CONTINUATION
    if article_root(url) is not None:
        return LinkKind.CONTINUATION

    if _is_home(path, parts.query) or (_HOME_TEXT.match(text) and not ctx.in_pager):
        return LinkKind.OTHER
    if _non_news_path(path):
        return LinkKind.OTHER
    if len(text) <= 8 and _OTHER_TEXT.match(text) and not _SECTION_WORD.search(text):
        return LinkKind.OTHER
    strong_article = _article_like(path, query)
    if _PRODUCT_HEADING.search(heading) and not _NEWS_HEADING.search(heading) and \
            not set(_path_tokens(path)) & _NEWS_WORDS and not ctx.date_near:
        return LinkKind.OTHER

    if pagerish and ctx.page_kind is not LinkKind.ARTICLE:
        return LinkKind.PAGINATION
    if _paged_list(path, query) and not strong_article:
        return LinkKind.PAGINATION
    compact = text.replace(" ", "")
    if _SECTION_TEXT.match(compact):
        # A section label; an article only when it is a dated entry titled like one (公司公告).
        return LinkKind.ARTICLE if strong_article and ctx.date_near else LinkKind.LIST
    if _MORE_TEXT.match(compact) and not strong_article:
        return LinkKind.LIST
    if strong_article:
        return LinkKind.ARTICLE
    if _list_like(path, query):
        return LinkKind.LIST
    if len(text) <= 8 and _SECTION_WORD.search(text) and not ctx.date_near:
        return LinkKind.LIST
    listed = ctx.date_near or ctx.same_shape >= 3 or bool(_NEWS_HEADING.search(heading))
    leaf = _segments(path)[-1] if _segments(path) else ""
    pagey = path.endswith("/") or "." not in leaf or _PAGE_EXTENSION.search(leaf)
    if _headline_like(text) and listed and pagey and len(_segments(path)) >= 1:
        return LinkKind.ARTICLE
    return LinkKind.OTHER


# --------------------------------------------------------------------------- pages

def parse_html(page: str | bytes | lxml.html.HtmlElement,
               content_type: str | None = None) -> lxml.html.HtmlElement:
    """One lxml tree from decoded text, raw bytes (decoded as the core does) or a tree.

    Bytes go through :func:`vendornews.decode.decode_html`: left to libxml2, a page that
    declares GB2312 but holds a GBK-only character loses everything after it.
    """
    if isinstance(page, lxml.html.HtmlElement):
        return page
    if isinstance(page, bytes):
        page = decode_html(page, content_type)[0]
    data = re.sub(r"^\ufeff?\s*<\?xml[^>]*>", "", page).encode("utf-8")
    if not data.strip():
        return lxml.html.fromstring("<html></html>")
    try:
        return lxml.html.document_fromstring(data, parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError):
        return lxml.html.fromstring("<html></html>")


def _attr_words(el: lxml.html.HtmlElement) -> list[str]:
    return f"{el.get('class', '')} {el.get('id', '')}".split()


def _pager_clusters(root: lxml.html.HtmlElement) -> set[lxml.html.HtmlElement]:
    """Parents holding two or more pager-looking anchors (1 2 3 下一页) count as pagers too."""
    counts: Counter[lxml.html.HtmlElement] = Counter()
    for a in root.iter("a"):
        if _PAGER_TEXT.match(_pager_text(hant.fold(a.text_content()))):
            block = a.getparent()
            if block is not None and block.tag == "li":
                block = block.getparent()
            if block is not None:
                counts[block] += 1
    return {el for el, n in counts.items() if n >= 2}


def _pager_attr(el: lxml.html.HtmlElement) -> bool:
    """A pager class or id (``pagination``, ``fenye`` …)."""
    return any(_PAGER_ATTR.search(w) for w in _attr_words(el))


def _dated(el: lxml.html.HtmlElement) -> bool | None:
    """True when ``el`` shows a date; False when it holds links to more than two pages (a
    box of its own: stop looking); None when neither (look further up)."""
    if len({x.get("href") for x in el.iter("a")}) > 2:
        return False
    if _DATE_RE.search(el.text_content()[:400]):
        return True
    return None


def _heading_of(el: lxml.html.HtmlElement) -> str | None:
    """Text of ``el`` when it is a box heading; "" when it is an ordinary short item (keep
    looking further back); None when it is a box of its own (stop looking at this level)."""
    text = _norm_text(el.text_content())
    if len(text) > 40:
        return None
    if el.tag in ("h1", "h2", "h3", "h4", "h5", "h6") or any(
            _HEADING_ATTR.search(w) for w in _attr_words(el)):
        return text
    for h in el.iter("h2", "h3", "h4", "b", "strong"):
        if h.find(".//a") is None:
            return _norm_text(h.text_content())
    return ""


class _Layout:
    """Where the links of one page sit: in a pager, by a date, under a box heading.

    Each element is judged once per page: the links of one list share their ancestors and
    the boxes before them (judged again for every link, a list's links and text were read
    once per entry).
    """

    def __init__(self, root: lxml.html.HtmlElement) -> None:
        self._clusters = _pager_clusters(root)
        self._pager_attr: dict[lxml.html.HtmlElement, bool] = {}
        self._dated: dict[lxml.html.HtmlElement, bool | None] = {}
        self._heading_of: dict[lxml.html.HtmlElement, str | None] = {}
        self._heading_above: dict[tuple[lxml.html.HtmlElement, int], str] = {}

    def in_pager(self, a: lxml.html.HtmlElement) -> bool:
        """Inside a pagination block: one of three ancestors has a pager class or id, or the
        parent (or the list holding the parent ``li``) is a pager cluster."""
        parent = a.getparent()
        el = parent
        for _ in range(3):
            if el is None:
                break
            if el not in self._pager_attr:
                self._pager_attr[el] = _pager_attr(el)
            if self._pager_attr[el]:
                return True
            el = el.getparent()
        return parent in self._clusters or (
            parent is not None and parent.tag == "li" and parent.getparent() in self._clusters)

    def date_near(self, a: lxml.html.HtmlElement) -> bool:
        """The link's list item (one of four ancestors, below ``body``) shows a date."""
        el = a.getparent()
        for _ in range(4):
            if el is None or el.tag in ("body", "html"):
                return False
            if el not in self._dated:
                self._dated[el] = _dated(el)
            verdict = self._dated[el]
            if verdict is not None:
                return verdict
            el = el.getparent()
        return False

    def heading(self, a: lxml.html.HtmlElement) -> str:
        """Heading of the box that holds the link (最新资讯, 产品分类 …), or "" when none is
        seen within five levels up."""
        return self._heading_from(a, 5)

    def _heading_from(self, node: lxml.html.HtmlElement, levels: int) -> str:
        """The heading seen from ``node`` looking ``levels`` levels up: a heading parent,
        else a heading among the twelve siblings before ``node``, else its parent's."""
        if not levels:
            return ""
        parent = node.getparent()
        if parent is None:
            return ""
        if parent.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return _norm_text(parent.text_content())
        for i, sib in enumerate(node.itersiblings(preceding=True)):
            if i >= 12:
                break
            if not isinstance(sib.tag, str):
                continue
            if sib not in self._heading_of:
                self._heading_of[sib] = _heading_of(sib)
            found = self._heading_of[sib]
            if found is None:
                break
            if found:
                return found
        key = (parent, levels - 1)
        if key not in self._heading_above:
            self._heading_above[key] = self._heading_from(parent, levels - 1)
        return self._heading_above[key]


def _anchor_text(a: lxml.html.HtmlElement) -> str:
    text = _norm_text(a.text_content())
    title = _norm_text(a.get("title", ""))
    if not text:
        img = a.find(".//img")
        text = title or (_norm_text(img.get("alt", "")) if img is not None else "")
    elif title and len(title) > len(text) and re.search(r"(?:\.\.+|…+)$", text):
        text = title
    return text


def extract_links(page: str | bytes | lxml.html.HtmlElement, base_url: str,
                  page_kind: LinkKind | None = None,
                  override: SiteOverride | None = None) -> list[Link]:
    """Every followable link of a page with its context, in document order (first per URL)."""
    root = parse_html(page)
    base = base_url
    for b in root.iter("base"):
        if b.get("href"):
            base = urljoin(base_url, b.get("href", "").strip())
        break
    raw: list[tuple[str, lxml.html.HtmlElement]] = []
    for a in root.iter("a", "area"):
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
            continue
        try:
            url = _without_tracking(urldefrag(urljoin(base, href))[0])
        except ValueError:
            continue
        raw.append((url, a))
    shape_of = {url: _shape(url) for url, _ in raw}
    shapes = Counter(shape_of.values())
    layout = _Layout(root)
    links: list[Link] = []
    seen: dict[str, int] = {}
    for url, a in raw:
        ctx = LinkContext(page_url=base_url, page_kind=page_kind, in_pager=layout.in_pager(a),
                          date_near=layout.date_near(a), same_shape=shapes[shape_of[url]],
                          heading=layout.heading(a), override=override)
        link = Link(url, _anchor_text(a), ctx)
        if url in seen:
            # Keep the most telling occurrence: a titled list entry beats a bare "MORE+".
            old = links[seen[url]]
            if len(link.text) > len(old.text) or (ctx.date_near and not old.context.date_near):
                links[seen[url]] = replace(link, context=replace(
                    ctx, in_pager=ctx.in_pager and old.context.in_pager))
            continue
        seen[url] = len(links)
        links.append(link)
    return links


def continuation_links(
    page: str | bytes | lxml.html.HtmlElement, page_url: str, links: list[Link] | None = None
) -> list[str]:
    """URLs of the other pages of the multi-page article on ``page``, in page order.

    ``page_url`` may be page 1 or a later page; page 1 itself and ``page_url`` are left out.
    ``links``: the page's :func:`extract_links` (as an article page) when the caller already
    has them, so the page's links are not classified twice.
    """
    root_url = (article_root(page_url) or (page_url, 1))[0]
    found: dict[str, tuple[int, int]] = {}
    if links is None:
        links = extract_links(page, page_url, page_kind=LinkKind.ARTICLE)
    for i, link in enumerate(links):
        if link.kind is not LinkKind.CONTINUATION or link.url in (page_url, root_url):
            continue
        if not same_site(link.url, page_url):
            continue
        number = page_number(link.url, root_url)
        if number is None:
            digits = re.search(r"\d+", link.text)
            number = int(digits.group()) if digits else 1000 + i
        if number == 1:
            continue
        found.setdefault(link.url, (number, i))
    return sorted(found, key=lambda u: found[u])


# --------------------------------------------------------------------------- sitemaps

_MAX_SITEMAP_BYTES = 50 * 1024 * 1024


def sitemaps_from_robots(robots_txt: str) -> list[str]:
    """``Sitemap:`` URLs of a robots.txt, in order."""
    out = []
    for line in robots_txt.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap" and value.strip():
            out.append(value.strip())
    return out


def parse_sitemap(body: bytes) -> tuple[list[str], list[str]]:
    """``(page URLs, child sitemap URLs)`` of a sitemap (XML, gzipped XML or plain text).

    Parsed without entity expansion, DTD loading or network access.
    """
    if body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=__import__("io").BytesIO(body)) as fh:
                body = fh.read(_MAX_SITEMAP_BYTES)
        except (OSError, EOFError):
            return [], []
    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                  recover=True, huge_tree=False)
    pages: list[str] = []
    children: list[str] = []
    try:
        root = lxml.etree.fromstring(body.lstrip(b"\xef\xbb\xbf \t\r\n"), parser=parser)
    except lxml.etree.XMLSyntaxError:
        root = None
    if root is not None:
        for loc in root.iter("{*}loc", "loc"):
            parent = loc.getparent()
            url = (loc.text or "").strip()
            if not url:
                continue
            if parent is not None and lxml.etree.QName(parent).localname == "sitemap":
                children.append(url)
            else:
                pages.append(url)
        return pages, children
    text = body.decode("utf-8", "replace")
    pages = [line.strip() for line in text.splitlines() if re.match(r"https?://\S+$", line.strip())]
    return pages, []


# --------------------------------------------------------------------------- overrides

def load_overrides(path: Path | str | None = None) -> dict[str, SiteOverride]:
    """Per-site overrides keyed by :func:`site_key` host; the bundled file by default.

    The bundled file is read as package data, so it is found in an installed egg too.
    """
    if path:
        file = Path(path)
        if not file.is_file():
            return {}
        text = file.read_text(encoding="utf-8")
    else:
        bundled = resources.files(__package__).joinpath("overrides.toml")
        text = bundled.read_text(encoding="utf-8") if bundled.is_file() else ""
    data = tomllib.loads(text)
    out: dict[str, SiteOverride] = {}
    for host, entry in (data.get("sites") or {}).items():
        out[host.lower().removeprefix("www.")] = SiteOverride(
            list_pages=tuple(entry.get("list_pages", ())),
            article_pattern=re.compile(entry["article_pattern"]) if entry.get("article_pattern")
            else None,
            exclude_pattern=re.compile(entry["exclude_pattern"]) if entry.get("exclude_pattern")
            else None,
        )
    return out


def override_for(url: str, overrides: dict[str, SiteOverride]) -> SiteOverride | None:
    key = site_key(url)
    return overrides.get(key) or overrides.get(key.split(":")[0])
