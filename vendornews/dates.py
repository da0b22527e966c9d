"""Publish dates: parse the forms Chinese (and English) pages print, and pick the right one.

Candidates come from, best first: a line labeled as the publish time (发布时间, 发表于…),
structured metadata (JSON-LD ``datePublished``, ``article:published_time``, ``<time>``),
an unlabeled date on a short line above the body, a line labeled as an update, and the
URL. Lines that are mostly links (related lists) never give a date. The winner is made
as precise as any other candidate that agrees with it (a visible ``2022/04/29 15:21``
plus ``datetime="2022-04-29T15:21:33+08:00"`` gives seconds). Times keep the page's
local clock; time zones are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

_Y4 = r"((?:19|20)\d{2})"
_SEP = r"\s*[-/.年]\s*"
# An optional time of day: 上午/AM before or after, 10:20[:30], 10时20分[30秒].
_CLOCK = (
    r"(?:\s*T?\s*(?:(上午|下午|AM|PM|am|pm)\s*)?(\d{1,2})\s*[:：时点]\s*(\d{1,2})"
    r"(?:\s*[:：分]\s*(\d{1,2}))?(?:\s*秒)?(?:\s*(AM|PM|am|pm))?)?"
)
_YMD = re.compile(
    _Y4 + _SEP + r"(\d{1,2})" + _SEP.replace("年", "月") + r"(\d{1,2})(?!\d)\s*日?" + _CLOCK
)
_YMD_SHORT = re.compile(
    r"(?<![\d.])(\d{2})\s*[-/年]\s*(\d{1,2})\s*[-/月]\s*(\d{1,2})(?!\d)\s*日?" + _CLOCK
)
_MDY = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/" + _Y4 + _CLOCK)
_MONTHS = {
    m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(" "))
}
_EN_MDY = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+"
    + _Y4
    + _CLOCK,
    re.I,
)
_EN_DMY = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?,?\s+"
    + _Y4
    + _CLOCK,
    re.I,
)
# (?<!\d) and the bounded count keep a long run of digits from backtracking quadratically.
_RELATIVE = re.compile(
    r"(?<!\d)(\d{1,5})\s*(秒|分钟|小时|天|周|个月)前|(今天|昨天|前天)\s*(\d{1,2})?[:：]?(\d{1,2})?"
)
_URL_DATE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})[-/_]?(0[1-9]|1[0-2])[-/_]?(0[1-9]|[12]\d|3[01])(?!\d)"
)

PUBLISH_LABEL = re.compile(
    r"(发布时间|发布日期|发表时间|发表日期|发布于|发表于|发稿时间|发文时间|上传时间|录入时间|"
    r"添加时间|日\s*期|时\s*间|Published|Posted|Date)\s*[:：]?",
    re.I,
)
UPDATE_LABEL = re.compile(r"(更新时间|更新日期|修改时间|最后更新|Updated|Modified|更新)", re.I)


@dataclass(frozen=True, order=True)
class Stamp:
    """A date with the precision the page showed: 3 (day), 5 (minute) or 6 (second) parts."""

    parts: tuple[int, ...]

    def iso(self) -> str:
        y, m, d = self.parts[:3]
        text = f"{y:04d}-{m:02d}-{d:02d}"
        if len(self.parts) >= 5:
            text += f"T{self.parts[3]:02d}:{self.parts[4]:02d}"
        if len(self.parts) == 6:
            text += f":{self.parts[5]:02d}"
        return text

    def agrees(self, other: Stamp) -> bool:
        return other.parts[: len(self.parts)] == self.parts


def _make(y: int, m: int, d: int, clock: tuple[str | None, ...]) -> Stamp | None:
    try:
        datetime(y, m, d)
    except ValueError:
        return None
    ampm, hh, mm, ss, ampm2 = clock
    if hh is None or mm is None:
        return Stamp((y, m, d))
    hour, minute = int(hh), int(mm)
    marker = (ampm or ampm2 or "").lower()
    if marker in ("pm", "下午") and hour < 12:
        hour += 12
    elif marker in ("am", "上午") and hour == 12:
        hour = 0
    if hour > 23 or minute > 59:
        return Stamp((y, m, d))
    if ss is None:
        return Stamp((y, m, d, hour, minute))
    second = int(ss)
    return Stamp((y, m, d, hour, minute, second)) if second < 60 else Stamp((y, m, d, hour, minute))


def parse_dates(text: str) -> list[Stamp]:
    """Every absolute date in ``text``, in order of appearance (full-width digits too)."""
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, Stamp]] = []
    taken: list[range] = []

    def add(match: re.Match[str], stamp: Stamp | None) -> None:
        if stamp and not any(match.start() in span for span in taken):
            taken.append(range(match.start(), match.end()))
            found.append((match.start(), stamp))

    for m in _YMD.finditer(text):
        add(m, _make(int(m[1]), int(m[2]), int(m[3]), m.groups()[3:8]))
    for m in _MDY.finditer(text):
        add(m, _make(int(m[3]), int(m[1]), int(m[2]), m.groups()[3:8]))
    for m in _EN_MDY.finditer(text):
        add(m, _make(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]), m.groups()[3:8]))
    for m in _EN_DMY.finditer(text):
        add(m, _make(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]), m.groups()[3:8]))
    for m in _YMD_SHORT.finditer(text):
        year = int(m[1])
        add(m, _make(year + (2000 if year < 70 else 1900), int(m[2]), int(m[3]), m.groups()[3:8]))
    return [stamp for _, stamp in sorted(found, key=lambda item: item[0])]


def parse_relative(text: str, now: datetime) -> Stamp | None:
    """``3天前``, ``2小时前``, ``昨天 10:20`` resolved against ``now`` (the crawl time)."""
    m = _RELATIVE.search(text)
    if not m:
        return None
    if m[1]:
        amount = int(m[1])
        unit = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days", "周": "weeks"}
        try:
            if m[2] == "个月":
                when = now - timedelta(days=30 * amount)
            else:
                when = now - timedelta(**{unit[m[2]]: amount})
        except OverflowError:  # "99999个月前": before year 1
            return None
        if m[2] in ("天", "周", "个月"):
            return Stamp((when.year, when.month, when.day))
        return Stamp((when.year, when.month, when.day, when.hour, when.minute))
    day = now - timedelta(days={"今天": 0, "昨天": 1, "前天": 2}[m[3]])
    if m[4] and m[5] and int(m[4]) < 24 and int(m[5]) < 60:
        return Stamp((day.year, day.month, day.day, int(m[4]), int(m[5])))
    return Stamp((day.year, day.month, day.day))


def parse_iso(value: str) -> Stamp | None:
    """A metadata value such as ``2022-04-29T15:21:33+08:00`` (zone dropped)."""
    stamps = parse_dates(value.replace("T", " "))
    return stamps[0] if stamps else None


def url_date(url: str) -> Stamp | None:
    m = _URL_DATE.search(url)
    return _make(int(m[1]), int(m[2]), int(m[3]), (None,) * 5) if m else None


def best_stamp(ranked: Iterable[list[Stamp]]) -> Stamp | None:
    """The first candidate of the best non-empty rank, refined by agreeing candidates."""
    groups = [group for group in ranked if group]
    if not groups:
        return None
    winner = groups[0][0]
    for group in groups:
        for stamp in group:
            if winner.agrees(stamp) and len(stamp.parts) > len(winner.parts):
                winner = stamp
    return winner
