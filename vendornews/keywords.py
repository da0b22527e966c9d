"""Top keywords with jieba's TF-IDF. jieba and its dictionary load lazily, once per process."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any


@cache
def _tfidf() -> Any:
    """jieba's own default TF-IDF (importing ``jieba.analyse`` builds it; a second
    ``TFIDF()`` would load the IDF table again), on the default tokenizer."""
    _tokenizer()
    import jieba.analyse

    return jieba.analyse.default_tfidf


@cache
def _tokenizer() -> Any:
    """jieba's default tokenizer, without loading ``jieba.analyse`` (IDF and POS tables)."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba.dt


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
