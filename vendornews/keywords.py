"""Top keywords with jieba's TF-IDF. jieba and its dictionary load lazily, once per process."""

from __future__ import annotations

import copy
import logging
from functools import cache
from typing import Any


@cache
def _tfidf() -> Any:
    """jieba's TF-IDF (IDF table, stop words, scoring) over jieba-rs' segmentation.

    Segmenting with jieba's pure-Python tokenizer was a quarter of extraction time. rjieba
    binds jieba-rs, the same algorithm and dictionary in Rust: about 8x faster, and the same
    top keywords on 207 of 208 benchmark articles. A shallow copy of jieba's default TF-IDF
    shares its IDF table (a second ``TFIDF()`` would load it again) and leaves
    ``jieba.analyse`` as it was for other callers in the process.
    """
    _tokenizer()
    import jieba.analyse

    tfidf = copy.copy(jieba.analyse.default_tfidf)
    tfidf.tokenizer = _RustSegmenter()
    return tfidf


class _RustSegmenter:
    """The ``cut`` jieba's TF-IDF calls, by jieba-rs (precise mode, HMM for new words)."""

    def __init__(self) -> None:
        import rjieba

        self._cut = rjieba.cut

    def cut(self, sentence: str) -> list[str]:
        return list(self._cut(sentence))


@cache
def _tokenizer() -> Any:
    """jieba's default tokenizer, without loading ``jieba.analyse`` (IDF and POS tables)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


def load() -> None:
    """Load what extraction needs of jieba (dictionary, IDF table) and jieba-rs now, once
    per process, instead of at the first article: a crawl or worker pool calls this first."""
    _tfidf()


# Segmentation is the cost of TF-IDF and grows with the text; an article's topic words are
# in its opening, so only this many characters of the body are read.
KEYWORD_TEXT = 2000


def top_keywords(title: str, body: str, limit: int = 8) -> list[str]:
    """Keywords of the title and the body's opening (the title counted twice)."""
    title = title[:200]
    text = f"{title}\n{title}\n{body[:KEYWORD_TEXT]}"
    return [str(word) for word in _tfidf().extract_tags(text, topK=limit)]


def tokens(text: str) -> list[str]:
    """jieba's segmentation of ``text`` (precise mode)."""
    return [str(t) for t in _tokenizer().lcut(text)]


def word_frequency(word: str) -> int:
    """How often jieba's dictionary saw ``word`` (0 when it is not in the dictionary)."""
    return int(_tokenizer().FREQ.get(word, 0))
