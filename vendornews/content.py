"""Find the main-content region with readability-lxml.

readability works on a pruned copy of the page: site chrome that can never be content
(nav, header and footer bars, forms, asides) is cut first, and Chinese full-width
commas are counted as commas (readability scores paragraphs by ASCII commas only, so
a Chinese article otherwise scores as if it had none). Elements are tagged with an
index so the region readability picks maps back to the original tree, where the
line-level cleaning runs.
"""

from __future__ import annotations

import copy
import logging
import re

from lxml import etree, html
from lxml.html import tostring
from readability import Document
from readability.readability import Unparseable

_MARK = "data-vn"
_CHROME_TAGS = ("nav", "form", "aside")
_SENTENCE_END = re.compile(r"[.。!！?？](\s|$)")
_NOT_TEXT_TAGS = ("script", "style", "noscript", "link", "meta", "template")
_CHROME_CLASS = re.compile(
    r"(^|[\s_-])(nav|navbar|menu|footer|foot|copyright|breadcrumbs?|crumbs?|position|"
    r"place|location|topbar|toolbar|sidebar|side|share|bshare|comments?|respond|"
    r"related|prenext|pre_next|prev-next|post-navigation|pagination|hotwords|search)"
    r"($|[\s_-])",
    re.I,
)

logging.getLogger("readability.readability").setLevel(logging.CRITICAL)


def _is_chrome(element: html.HtmlElement) -> bool:
    if element.tag in _CHROME_TAGS:
        return True
    if element.tag in ("header", "footer"):
        # An <article>'s own header holds its h1 and byline; only page-level ones go.
        return not any(a.tag == "article" for a in element.iterancestors())
    names = f"{element.get('class', '')} {element.get('id', '')}"
    return bool(names.strip()) and _CHROME_CLASS.search(names) is not None


def _pruned_copy(body: html.HtmlElement) -> html.HtmlElement:
    """A copy of ``body`` without chrome, commas made ASCII, each element marked with its
    index in ``body.iter()`` (the copy is the same tree until chrome is cut)."""
    pruned = copy.deepcopy(body)
    # A wrapper can carry a chrome-like name ("has-sidebar", an ASP.NET page-wide <form>):
    # only elements holding a small share of the page's text are cut.
    limit = 0.3 * len(pruned.text_content() or "")
    doomed = []
    for index, element in enumerate(pruned.iter()):
        if not isinstance(element.tag, str):
            continue
        element.set(_MARK, str(index))
        if element.text and "，" in element.text:
            element.text = element.text.replace("，", ",")
        if element.tail and "，" in element.tail:
            element.tail = element.tail.replace("，", ",")
        if _is_chrome(element) and len(element.text_content() or "") < limit:
            doomed.append(element)
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return pruned


class _Region(Document):
    """readability's Document over pruned copies of a body, keeping its article as a tree.

    readability reads its input again for each attempt (strict, then lenient) through a
    Cleaner that deep-copies it, and hands the article back as an HTML string. Here each
    attempt gets a fresh pruned copy, cleaned in place, and the article element is kept:
    nothing is copied twice, nor serialized and parsed back. (page.py has already dropped
    the hidden elements readability would drop.)
    """

    def __init__(self, body: html.HtmlElement) -> None:
        super().__init__(body)
        self.article: html.HtmlElement | None = None

    def _parse(self, input: html.HtmlElement) -> html.HtmlElement:  # noqa: A002 (readability's name)
        wrapper = input.makeelement("html")  # the page parser's element classes (page.py)
        wrapper.append(_pruned_copy(input))
        # What readability's own Cleaner pass would remove and could matter to the region
        # it picks (the rest of that pass, link rewriting, costs a sixth of this function).
        etree.strip_elements(wrapper, *_NOT_TEXT_TAGS, with_tail=False)
        etree.strip_attributes(wrapper, "style")
        return wrapper

    def get_clean_html(self) -> str:
        # readability calls this on the sanitized article and compares the length of the
        # string with its retry threshold.
        self.article = self.html
        return str(tostring(self.html, method="html", encoding="unicode"))


def main_region(body: html.HtmlElement) -> set[html.HtmlElement]:
    """The original elements that appear in readability's article.

    readability may regroup segments of the page into one container and drops low-value
    children (link lists, forms); the set holds exactly what it kept. Empty when it finds
    nothing; the caller then falls back to the whole body.
    """
    document = _Region(body)
    try:
        document.summary(html_partial=True)
    except Unparseable:
        return set()
    if document.article is None:
        return set()
    originals = list(body.iter())
    region = {
        original
        for e in document.article.iter()
        if (mark := e.get(_MARK)) is not None
        and (original := originals[int(mark)]).tag != "body"
    }
    return region | _prose_beside(region)


def _prose_beside(region: set[html.HtmlElement]) -> set[html.HtmlElement]:
    """Paragraphs next to the region's containers that read as the article's prose.

    readability adds such sibling paragraphs of its best container itself, but which
    container wins can hinge on a sliver of the page (an ad wrapper left open around the
    second half of a listicle): the same test, applied to the children of every element
    that holds the kept containers (up to the body), brings back the opening it then left
    out.
    """
    holders: set[html.HtmlElement] = set()
    for top in [e for e in region if e.getparent() not in region]:
        for holder in top.iterancestors():
            if holder.tag == "body" or holder in holders:
                break
            holders.add(holder)
    found: set[html.HtmlElement] = set()
    for holder in holders:
        for child in holder:
            if child.tag == "p" and child not in region and _is_prose(child):
                found.update(child.iter())
    return found


def _is_prose(paragraph: html.HtmlElement) -> bool:
    """readability's test for a sibling paragraph: long with few links, or a short
    sentence with none."""
    text = paragraph.text_content() or ""
    link_chars = sum(len(a.text_content() or "") for a in paragraph.iter("a"))
    if len(text) > 80:
        return link_chars < 0.25 * len(text)
    return link_chars == 0 and _SENTENCE_END.search(text) is not None
