"""Headline repair without per-site rules.

The page offers several forms of its headline: ``<h1>``, ``<title>``, og:title, the
anchor text of links that point to it (in a crawl), and often the body's own opening
line. SEO templates dirty the first ones (【新闻】 tags, the site name, a keyword glued on
the end) but rarely all of them the same way, so the headline is the form the others
agree on:

1. a body opening line that the ``<h1>``/``<title>`` contains (punctuation aside) is the
   headline in full, subtitle included, and leaves the body;
2. else an anchor text pointing here that the ``<h1>`` contains;
3. else the ``<h1>`` (or ``<title>``) with 【section】 tags, the site name and a glued-on
   keyword (a trailing noun that the body never uses) taken off.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from vendornews.keywords import tokens, word_frequency
from vendornews.rules import first_match

_NOT_WORD = re.compile(r"[\W_]+")
_TAG_PREFIX = re.compile(r"^\s*[【\[]([^】\]]{1,20})[】\]]\s*")
_SPLIT = re.compile(r"\s*(?:_|\||｜|–|--|\s-\s|—(?!—)|‹|›|«|»)\s*")
_TRUNCATED = re.compile(r"(…|\.\.\.|。。。)$")
GLUE_WINDOW = 40  # characters at the end of a title searched for glued-on keywords
RARE_WORD = 100  # jieba dictionary count below which a word may be a glued-on keyword
# Count from which a word is common: a rare word of three or more characters that is one
# character on a common word (作 + 贡献) is a phrase the dictionary does not list, not a
# glued-on term.
COMMON_WORD = 1000
_NOT_HEADLINE = re.compile(r"[>»›]|^[\w.-]+\.(com|cn|net|org|gov|edu)(\.cn)?$", re.I)
_SENTENCE_END = re.compile(r"[。！？!?；;]$")


def key(text: str) -> str:
    """Letters and digits only: two forms of one headline compare equal."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text)).lower()


def _bigrams(text: str) -> set[str]:
    k = key(text)
    return {k[i : i + 2] for i in range(len(k) - 1)}


def _overlap(candidate: str, reference: str) -> float:
    """Share of ``candidate``'s character bigrams found in ``reference``."""
    grams = _bigrams(candidate)
    return len(grams & _bigrams(reference)) / len(grams) if grams else 0.0


def _is_heading(line: str) -> bool:
    return 4 <= len(line) <= 60 and not _SENTENCE_END.search(line) and "，" not in line


@dataclass(frozen=True)
class TitleChoice:
    title: str | None
    rule: str
    opening_line: int | None = None  # index of the body line that repeated the headline


def _strip_site(text: str, site: str, sections: set[str]) -> str:
    if (
        site
        and text.endswith(site)
        and len(text) > len(site) + 4
        and text[-len(site) - 1] in "-_|–—·:："
    ):
        text = text[: -len(site) - 1].rstrip()
    segments = [s for s in _SPLIT.split(text) if s]
    while len(segments) > 1 and (
        key(segments[-1]) in {key(site), *map(key, sections)}
        or len(segments[-1]) <= 12
        and key(site) in key(segments[-1])
    ):
        segments.pop()
    while len(segments) > 1 and key(segments[0]) == key(site):
        segments.pop(0)
    if len(segments) == 1:
        return segments[0]
    # Keep the original punctuation between what remains (a subtitle after ——, say).
    start = text.find(segments[0])
    end = text.rfind(segments[-1]) + len(segments[-1])
    return text[start:end] if 0 <= start < end else segments[0]


def _strip_tags(text: str, sections: set[str]) -> str:
    while m := _TAG_PREFIX.match(text):
        tag = m[1].strip()
        if tag in sections or first_match(tag, ("title_tag",)):
            text = text[m.end() :]
        else:
            break
    return text.strip()


def _is_glued_word(word: str, body_key: str) -> bool:
    """A rare Chinese word (an SEO keyword, say) that the body never uses, and not a
    common word behind one character (``作贡献``)."""
    return (
        len(word) >= 2
        and all("\u4e00" <= ch <= "\u9fff" for ch in word)
        and key(word) not in body_key
        and word_frequency(word) < RARE_WORD
        and (len(word) < 3 or word_frequency(word[1:]) < COMMON_WORD)
    )


def _strip_glued_keyword(text: str, body: str, declared: Sequence[str] = ()) -> str:
    """Drop trailing rare words the body never uses, glued to a word it does (``…展开半边莲``).

    Strict on purpose: the word before the cut must be a body word of two or more
    characters, so a headline ending ``…新局面`` (``新`` + ``局面``) is left alone, and the
    cut words must be rare in jieba's dictionary (common words end real headlines). A title
    that the page's own ``declared`` texts (meta keywords, description) repeat whole, ending
    included, is the headline as the site means it (``…民间资本路在何方``): left alone.
    """
    title_key = key(text)
    if any(title_key in key(d) for d in declared):
        return text
    body_key = key(body)
    # Only the end of the title is segmented: that is where keywords are glued, and jieba's
    # cost grows faster than linearly on long runs it cannot split.
    head, tail = text[:-GLUE_WINDOW], text[-GLUE_WINDOW:]
    words = tokens(tail)
    cut = 0
    while cut < 3 and len(words) > cut + 1 and _is_glued_word(words[-1 - cut], body_key):
        cut += 1
    for size in range(cut, 0, -1):
        kept = head + "".join(words[:-size]).rstrip()
        if len(words[-1 - size]) >= 2 and len(key(kept)) >= 6:
            return kept
    return text


def choose_title(
    h1s: Sequence[str],
    title_tag: str,
    og_title: str | None,
    site: str,
    sections: set[str],
    opening: Sequence[str],
    hints: Sequence[str],
    body: str,
    visible: str | None = None,
    declared: Sequence[str] = (),
) -> TitleChoice:
    """Pick and repair the headline.

    ``opening`` are the body's first lines; ``visible`` is a headline-like line above the
    body, used when the page has no ``<h1>`` and ``<title>`` agrees with it (or is itself
    no headline: a breadcrumb, a domain); ``declared`` are the page's meta keywords and
    description (see :func:`_strip_glued_keyword`).
    """
    plain_title = _strip_site(title_tag, site, sections) if title_tag else ""
    reference = og_title or plain_title
    candidates = [h for h in h1s if key(h) and key(h) != key(site)]
    if (
        not candidates
        and visible
        and (
            not reference or _overlap(visible, reference) >= 0.3 or _NOT_HEADLINE.search(reference)
        )
    ):
        candidates = [visible]
    forms = [f for f in (*candidates, plain_title, og_title or "") if f]
    if reference and candidates:
        # An <h1> can be a logo, a domain or a breadcrumb: prefer one <title> agrees with.
        best = max(candidates, key=lambda h: _overlap(h, reference))
        candidates = (
            [best] if _overlap(best, reference) >= 0.3 or not _NOT_HEADLINE.search(best) else []
        )
    base = candidates[0] if candidates else reference
    if not base:
        if opening and _is_heading(opening[0]):
            return TitleChoice(opening[0], "title.body-opening", 0)
        return TitleChoice(None, "title.none")

    for index, line in enumerate(opening[:3]):
        line_key = key(line)
        if (
            len(line) <= 120
            and not _SENTENCE_END.search(line)
            and len(line_key) >= 4
            and any(
                line_key in key(f) and len(line_key) * 2 >= len(key(_strip_tags(f, sections)))
                for f in forms
            )
        ):
            return TitleChoice(_strip_tags(line, sections), "title.body-opening", index)

    for hint in hints:
        hint_key = key(hint)
        if hint_key and not _TRUNCATED.search(hint) and any(hint_key in key(f) for f in forms):
            return TitleChoice(hint, "title.anchor-text")

    cleaned = _strip_tags(_strip_site(base, site, sections), sections)
    # <title> often keeps punctuation (——, ：) that an <h1> lost: prefer the richer form.
    richer = _strip_tags(plain_title, sections)
    if key(richer) == key(cleaned) and len(richer) > len(cleaned):
        cleaned = richer
    if first_match(cleaned, ("spam",)):
        return TitleChoice(None, "title.spam")
    repaired = _strip_glued_keyword(cleaned, body, declared)
    if repaired != cleaned:
        return TitleChoice(repaired, "title.glued-keyword")
    return TitleChoice(cleaned, "title.h1" if candidates else "title.title-tag")
