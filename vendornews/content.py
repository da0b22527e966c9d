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

from lxml import html
from readability import Document
from readability.readability import Unparseable

_MARK = "data-vn"
_CHROME_TAGS = ("nav", "form", "aside")
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
    for index, element in enumerate(body.iter()):
        if isinstance(element.tag, str):
            element.set(_MARK, str(index))
    pruned = copy.deepcopy(body)
    # A wrapper can carry a chrome-like name ("has-sidebar", an ASP.NET page-wide <form>):
    # only elements holding a small share of the page's text are cut.
    limit = 0.3 * len(pruned.text_content() or "")
    doomed = [
        e
        for e in pruned.iter()
        if isinstance(e.tag, str) and _is_chrome(e) and len(e.text_content() or "") < limit
    ]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    for element in pruned.iter():
        if element.text and "，" in element.text:
            element.text = element.text.replace("，", ",")
        if element.tail and "，" in element.tail:
            element.tail = element.tail.replace("，", ",")
    return pruned


def main_region(body: html.HtmlElement) -> set[html.HtmlElement]:
    """The original elements that appear in readability's article.

    readability may regroup segments of the page into one container and drops low-value
    children (link lists, forms); the set holds exactly what it kept. Empty when it finds
    nothing; the caller then falls back to the whole body.
    """
    wrapper = html.Element("html")
    wrapper.append(_pruned_copy(body))
    by_index = {e.get(_MARK): e for e in body.iter() if isinstance(e.tag, str)}
    try:
        summary = Document(wrapper).summary(html_partial=True)
    except Unparseable:
        return set()
    finally:
        for element in body.iter():
            if isinstance(element.tag, str):
                element.attrib.pop(_MARK, None)
    kept = (by_index.get(e.get(_MARK)) for e in html.fromstring(summary).iter())
    return {e for e in kept if e is not None and e.tag != "body"}
