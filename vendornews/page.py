"""Parse a page once: the tree, its text lines, and the metadata candidates.

Every later stage (content, title, date, byline) reads this one :class:`Page`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lxml import etree, html

from vendornews.rules import normalize

# Elements whose end starts a new line of text.
BLOCK_TAGS = frozenset(
    (
        "address article aside blockquote body caption center dd details div dl dt fieldset "
        "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre "
        "section summary table tbody td tfoot th thead tr ul"
    ).split(" ")
)
# Dropped before anything reads the tree: never text a reader sees.
_INVISIBLE_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed")
# Controls hold little text of their own; when one holds a lot, a broken page has nested
# the rest of the page inside it (an unclosed <button>), so only its tag goes. <svg> is
# left alone: libxml2 does not know its self-closing children and may nest content in it.
_CONTROL_TAGS = ("select", "textarea", "button", "input", "label")
_CONTROL_TEXT = 200
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_NOT_WORD = re.compile(r"[\W_]+")
# Characters lxml accepts from the parser but refuses in assigned text (C0 controls,
# U+FFFE/U+FFFF), raw or as character references: removed before parsing, since cleaning
# assigns text (dropping an element moves its tail).
_NOT_XML_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"
    r"|&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[fF]{3}[eEfF])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]));"
)
_UPDATE_WORD = re.compile(r"updated|modified|更新|修改", re.I)
_PARSER = html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=False, no_network=True
)
# lxml.html picks each element's Python class in a Python method (form controls get their
# own classes), called whenever a node is touched from Python: about a tenth of extraction
# time. Nothing here uses the form classes, so a C-level lookup gives every element the
# plain HtmlElement.
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=html.HtmlElement, comment=html.HtmlComment, pi=html.HtmlProcessingInstruction,
    entity=html.HtmlEntity))


@dataclass(eq=False)
class Line:
    """One line of visible text and the block element it came from."""

    text: str
    block: html.HtmlElement
    link_chars: int  # letters and digits inside links
    links: int
    word_chars: int  # letters and digits in the whole line (punctuation ignored)

    @property
    def link_density(self) -> float:
        """Share of the line's letters and digits that sit inside links."""
        return self.link_chars / max(self.word_chars, 1)


@dataclass
class Page:
    url: str
    host: str
    root: html.HtmlElement
    lines: list[Line]
    title_tag: str
    h1s: list[str]
    meta: dict[str, str]
    json_ld: list[dict[str, object]]
    time_tags: list[str] = field(default_factory=list)
    anchor_titles: list[str] = field(default_factory=list)

    @property
    def body(self) -> html.HtmlElement:
        body = self.root.find("body")
        return body if body is not None else self.root


def _word_chars(text: str) -> int:
    """Letters and digits in ``text`` (what link density counts)."""
    return len(text) - len("".join(_NOT_WORD.findall(text)))


def _element_text(element: html.HtmlElement) -> str:
    return normalize(element.text_content())


def _segment(root: html.HtmlElement) -> list[Line]:
    """Split visible text into lines at block boundaries and ``<br>``."""
    lines: list[Line] = []
    parts: list[str] = []
    link_chars = 0
    links = 0
    block: html.HtmlElement = root

    def flush() -> None:
        nonlocal parts, link_chars, links
        text = normalize("".join(parts))
        if text:
            words = _word_chars(text)
            lines.append(Line(text, block, min(link_chars, words), links, words))
        parts, link_chars, links = [], 0, 0

    def walk(element: html.HtmlElement, in_link: bool) -> None:
        nonlocal block, link_chars, links
        tag = element.tag if isinstance(element.tag, str) else ""
        is_block = tag in BLOCK_TAGS
        if is_block or tag == "br":
            flush()
        if is_block:
            block = element
        is_link = tag == "a" and bool(element.get("href"))
        if is_link and not in_link:
            links += 1
        if element.text and tag:
            parts.append(element.text)
            if in_link or is_link:
                link_chars += _word_chars(element.text)
        for child in element:
            walk(child, in_link or is_link)
            if child.tail:
                parts.append(child.tail)
                if in_link or is_link:
                    link_chars += _word_chars(child.tail)
        if is_block:
            flush()
            parent = element.getparent()
            while parent is not None and parent.tag not in BLOCK_TAGS:
                parent = parent.getparent()
            block = parent if parent is not None else root

    walk(root, False)
    flush()
    return lines


def _is_update_time(element: html.HtmlElement) -> bool:
    """A ``<time>`` marked (by class or the words before it) as an update, not the publication."""
    if _UPDATE_WORD.search(element.get("class", "")) or element.get("itemprop") == "dateModified":
        return True
    parent = element.getparent()
    before = (parent.text or "") if parent is not None else ""
    previous = element.getprevious()
    if previous is not None:
        before = (previous.tail or "") + (previous.text_content() or "")
    return _UPDATE_WORD.search(before[-30:]) is not None


def _json_ld(root: html.HtmlElement) -> list[dict[str, object]]:
    objects: list[dict[str, object]] = []
    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):  # broken, or nested deeper than Python recurses
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                objects.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
    return objects


def _meta(root: html.HtmlElement) -> dict[str, str]:
    found: dict[str, str] = {}
    for element in root.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        value = element.get("content")
        if key and value and key.lower() not in found:
            found[key.lower()] = normalize(value)
    return found


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # "http://[::1": a broken bracketed host
        return ""


def parse_tree(text: str) -> html.HtmlElement:
    """An lxml tree for ``text``; an empty document when there is nothing to parse."""
    data = _NOT_XML_TEXT.sub("", text).encode("utf-8", "replace")
    try:
        root = etree.fromstring(data, _PARSER) if data.strip() else None
    except etree.XMLSyntaxError:
        root = None
    if root is None or not isinstance(root, html.HtmlElement):
        root = html.fromstring("<html><body></body></html>")
    return root


def parse_page(text: str, url: str) -> Page:
    root = parse_tree(text)
    json_ld = _json_ld(root)
    time_tags = [
        value
        for element in root.iter("time")
        if (value := element.get("datetime") or element.get("pubdate") or "")
        and not _is_update_time(element)
    ]
    for element in list(root.iter(*_INVISIBLE_TAGS)):
        element.drop_tree()
    for element in list(root.iter(*_CONTROL_TAGS)):
        if len(element.text_content() or "") <= _CONTROL_TEXT:
            element.drop_tree()
        else:
            element.drop_tag()
    for element in root.xpath("//*[@hidden or @style]"):
        hidden = element.get("hidden") is not None or _HIDDEN_STYLE.search(element.get("style", ""))
        if hidden and element.getparent() is not None and element.tag != "body":
            element.drop_tree()
    title_element = root.find(".//title")
    title_tag = _element_text(title_element) if title_element is not None else ""
    if title_element is not None:
        title_element.drop_tree()
    h1s = [text for h1 in root.iter("h1") if (text := _element_text(h1))]
    anchor_titles = [normalize(a.get("title", "")) for a in root.iter("a") if a.get("title")]
    page = Page(
        url=url,
        host=_host(url),
        root=root,
        lines=[],
        title_tag=title_tag,
        h1s=h1s,
        meta=_meta(root),
        json_ld=json_ld,
        time_tags=time_tags,
        anchor_titles=anchor_titles,
    )
    page.lines = _segment(page.body)
    return page
