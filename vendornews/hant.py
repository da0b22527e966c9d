"""Traditional-script pages read with the (Simplified) rules, labels and link words.

:func:`fold` maps each Traditional character to its Simplified form, one character for one
(OpenCC's t2s table, characters only), so a folded string has the original's length: a
pattern matched on the fold gives spans that slice the original text. Rules and labels
match on the fold; every value a record carries is cut from the original (a 繁體 page keeps
its 繁體 text).
"""

from __future__ import annotations

from functools import cache, lru_cache
from re import Match, Pattern

# The CJK Unified Ideographs block: what OpenCC's character table is read for.
_CJK = range(0x4E00, 0xA000)


@cache
def _table() -> dict[int, str]:
    """Built once per process, on the first Traditional-aware match (0.1 s)."""
    import opencc

    chars = [chr(code) for code in _CJK]
    simplified = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    return {ord(t): s for t, s in zip(chars, simplified, strict=True) if len(s) == 1 and s != t}


@lru_cache(maxsize=16384)
def fold(text: str) -> str:
    """``text`` with Traditional characters written Simplified; same length. Cached: a
    page's lines are matched by several steps in turn."""
    return text if text.isascii() else text.translate(_table())


class Folded:
    """A match found on the fold, read on the original: ``m[1]`` is the original's text."""

    def __init__(self, match: Match[str], text: str) -> None:
        self.match = match
        self.text = text

    def __getitem__(self, group: int | str) -> str:
        start, end = self.match.span(group)
        return self.text[start:end] if start >= 0 else None  # type: ignore[return-value]

    def start(self, group: int | str = 0) -> int:
        return self.match.start(group)

    def end(self, group: int | str = 0) -> int:
        return self.match.end(group)


def search(pattern: Pattern[str], text: str) -> Folded | None:
    """``pattern.search`` on the fold of ``text``; groups read on ``text``."""
    return _on_original(pattern.search(fold(text)), text)


def match(pattern: Pattern[str], text: str) -> Folded | None:
    return _on_original(pattern.match(fold(text)), text)


def fullmatch(pattern: Pattern[str], text: str) -> Folded | None:
    return _on_original(pattern.fullmatch(fold(text)), text)


def _on_original(found: Match[str] | None, text: str) -> Folded | None:
    return Folded(found, text) if found else None
