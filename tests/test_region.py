"""The main region readability picks, and what vendornews adds back to it.

``fixtures/region/listicle_ad_wrapper.html`` is a real English article (WCXB test split,
CC-BY-4.0, see ``LICENSE.real_en``; page ``wcxb-5350``) whose second half sits inside ad
wrappers left open by the page's markup. readability-lxml picks the innermost wrapper; the
article's opening paragraphs, next to the containers it kept, come back by readability's own
sibling-paragraph test, and nothing that fails that test does.
"""

from __future__ import annotations

from pathlib import Path

from vendornews import extract
from vendornews.content import main_region
from vendornews.page import parse_page
from vendornews.record import Record

FIXTURE = Path(__file__).parent / "fixtures" / "region" / "listicle_ad_wrapper.html"
URL = "https://www.wral.com/story/volunteer-opportunities-in-raleigh/21232223/"
OPENING = [
    "If you're looking for volunteer opportunities in the Raleigh area – either with your "
    "family or company, as an individual or with a group – there are dozens of social causes "
    "that could use your help and specific talents.",
    "Volunteering is good for your mind, body and soul, according to a recent article from "
    "WakeMed.",
]


def _record() -> Record:
    record = extract(FIXTURE.read_bytes(), URL, {"content-type": "text/html; charset=utf-8"})
    assert isinstance(record, Record)
    return record


def test_readabilitys_container_sits_inside_the_ad_wrapper() -> None:
    """Why the extension exists: readability's container begins at the list's item 3."""
    page = parse_page(FIXTURE.read_text(encoding="utf-8"), URL)
    region = main_region(page.body)
    containers = [e for e in region if e.getparent() not in region]
    assert any("ad-container" in (a.get("class") or "")
               for top in containers for a in top.iterancestors())


def test_the_articles_opening_paragraphs_come_back_first() -> None:
    lines = _record().body.split("\n")
    assert lines[0] == OPENING[0]
    assert lines[1].startswith(OPENING[1])
    assert lines[5].startswith("United Waycan also connect you")
    assert lines[10].startswith("1. Note in the Pocket - Volunteers and donors")


def test_paragraphs_that_are_not_prose_stay_out() -> None:
    body = _record().body
    assert "Other WRAL Top Stories" not in body  # a short line without a sentence end
    assert "Looking for volunteer opportunities in Raleigh and the surrounding" not in body
    assert len(body.split("\n")) == 45
