"""Regression fixtures in the web-poet style: real pages in, exact record fields out.

Each folder of ``tests/fixtures/pages/`` holds one article:

* ``page.html`` (+ ``part2.html``, … for an article split over pages), the bytes as served;
* ``meta.json``: each file's URL and Content-Type, the crawl time, where the page came from;
* ``expected.json``: the record fields the extractor must produce, exactly;
* ``gold.json``: the human gold record of the source set.

A folder was added only where the extractor's output equals the gold (after NFKC and
whitespace removal; the body line by line), so ``expected.json`` is both today's output and
right. ``meta.json`` lists any gold field left unchecked (``unchecked``: the annotator was
unsure and left it null) and any value checked against the annotation note instead.

The folders: one page per template family (dede, table, wp) and encoding (GBK, GB2312
declared with GBK-only characters, UTF-8, UTF-8 with BOM), two multi-page articles, 本站
sources, named authors, a headline ending in a phrase jieba's dictionary lacks (…作贡献), a
related list whose dates sit on lines of their own,
and five real Chinese pages of ``corpus/real_zh`` (one whose
headline ends in a rare word the body never uses, which its meta keywords declare; one whose
body opens with its author's name and a 【…报道】 report mark naming the source).

The seed page (``tests/fixtures/seed_page``) is checked against its gold directly, as
HTML and as the plain-text dump.

The farm cases' pages are also the only copy of those farm pages: ``tests/farmpages.py``
gives them to the discover, export, report and fuzz tests (see
``tests/fixtures/farm/elsewhere.json``, which checks their bytes), and ``test_decode`` and
``test_dates`` read two of them; change a page here only with all of those in mind.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from vendornews import extract, extract_article
from vendornews.record import FetchedPage, NotArticle, Record, Removal
from vendornews.textdump import dump_to_html

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"
SEED = FIXTURES / "seed_page"
CASES = sorted(p.name for p in PAGES.iterdir() if (p / "expected.json").is_file())
GOLD_FIELDS = ("title", "published", "source", "author")


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _norm(text: str | None) -> str | None:
    return None if text is None else re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _norm_lines(body: str) -> list[str]:
    return [line for line in (_norm(raw) for raw in body.split("\n")) if line]


def _extract_case(case: str) -> Record:
    folder = PAGES / case
    meta = _json(folder / "meta.json")
    pages = [
        FetchedPage(page["url"], (folder / page["file"]).read_bytes(),
                    {"content-type": page["content_type"]} if page["content_type"] else {})
        for page in meta["pages"]
    ]
    record = extract_article(pages, crawled_at=meta["crawled_at"])
    assert isinstance(record, Record), record
    return record


def test_fixture_set_is_complete() -> None:
    assert len(CASES) >= 11
    families = {case.split("_")[1] for case in CASES if case.startswith("farm_")}
    assert families == {"dede", "table", "wp"}
    assert sum(case.startswith("real_zh_") for case in CASES) == 5
    multi = [case for case in CASES if len(_json(PAGES / case / "meta.json")["pages"]) > 1]
    assert len(multi) >= 2


@pytest.mark.parametrize("case", CASES)
def test_page_gives_expected_record(case: str) -> None:
    folder = PAGES / case
    expected = _json(folder / "expected.json")
    meta = _json(folder / "meta.json")
    record = _extract_case(case).to_dict()
    assert {name: record[name] for name in expected} == expected
    assert record["pages"] == len(meta["pages"])
    assert record["url"] == meta["pages"][0]["url"]


@pytest.mark.parametrize("case", CASES)
def test_expected_record_agrees_with_gold(case: str) -> None:
    """Why ``expected.json`` is right: it equals the human gold, field by field."""
    folder = PAGES / case
    expected = _json(folder / "expected.json")
    gold = _json(folder / "gold.json")
    meta = _json(folder / "meta.json")
    gold.update(meta.get("checked_against_annotation_note", {}))
    unchecked = set(meta.get("unchecked", {}))
    for name in GOLD_FIELDS:
        if name in unchecked:
            assert name not in expected
            continue
        assert _norm(expected[name]) == _norm(gold[name]), name
    assert _norm_lines(expected["body"]) == _norm_lines(gold["body"])


@pytest.mark.parametrize("case", CASES)
def test_no_spam_left_in_fixture_records(case: str) -> None:
    record = _extract_case(case)
    spam = [r for r in record.removed if r.rule.startswith("spam.")]
    for removal in spam:
        assert removal.text not in (record.title or "")
        assert removal.text not in record.body.split("\n")


def test_multi_page_article_drops_each_parts_headline_and_pager() -> None:
    record = _extract_case("farm_wp_utf8_multipage")
    assert record.pages == 3
    assert record.title == "欢乐祥和迎新年 神州大地气象新"
    assert record.title not in record.body
    rules = [r.rule for r in record.removed]
    assert rules.count("title.heading") == 3
    assert [r.text for r in record.removed if r.rule == "boilerplate.pagination"] == [
        "页面: 1 2 3 下一页", "页面: 1 2 3 下一页", "页面: 1 2 3"]
    assert "页面" not in record.body


# ---------------------------------------------------------------------------------------
# The seed page: HTML replica and the text dump
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_gold() -> dict[str, Any]:
    gold: dict[str, Any] = json.loads((SEED / "gold.jsonl").read_text(encoding="utf-8"))
    return gold


def _seed_record(form: str, url: str) -> Record:
    if form == "html":
        result = extract((SEED / "page.html").read_bytes(), url, crawled_at="2024-01-01T00:00:00")
    else:
        dump = (SEED / "vendor_page_dump.txt").read_bytes().decode("utf-8")
        result = extract(dump_to_html(dump).encode("utf-8"), url,
                         {"content-type": "text/html; charset=utf-8"},
                         crawled_at="2024-01-01T00:00:00")
    assert isinstance(result, Record)
    return result


@pytest.mark.parametrize("form", ["html", "dump"])
def test_seed_fields_equal_gold_exactly(form: str, seed_gold: dict[str, Any]) -> None:
    record = _seed_record(form, seed_gold["url"])
    for name in ("title", "published", "source", "author", "body"):
        assert getattr(record, name) == seed_gold[name], name
    assert record.editor is None
    assert record.category == "技术资讯"
    assert record.lang == "zh"


@pytest.mark.parametrize("form", ["html", "dump"])
def test_seed_spam_and_noise_stay_out(form: str, seed_gold: dict[str, Any]) -> None:
    record = _seed_record(form, seed_gold["url"])
    assert seed_gold["spam"] and seed_gold["noise"]
    for text in seed_gold["spam"] + seed_gold["noise"]:
        assert text not in (record.title or ""), text
        assert text not in record.body, text


@pytest.mark.parametrize("form", ["html", "dump"])
def test_seed_removed_lists_each_spam_anchor(form: str, seed_gold: dict[str, Any]) -> None:
    record = _seed_record(form, seed_gold["url"])
    spam = [r for r in record.removed if r.rule.startswith("spam.")]
    assert spam == [Removal("spam.medical-ad", text) for text in
                    ["治疗人流医院哪家好", "看白癜风的医院排名", "广州中研白癜风门诊地址电话",
                     "治疗荨麻疹好的医院排名"]]
    assert sorted(r.text for r in spam) == sorted(seed_gold["spam"])


def test_seed_removed_records_the_repeated_headline(seed_gold: dict[str, Any]) -> None:
    record = _seed_record("html", seed_gold["url"])
    assert Removal("title.body-opening", seed_gold["title"]) in record.removed


def test_a_related_lists_date_column_is_dropped_with_its_links() -> None:
    record = _extract_case("farm_table_related_dates")
    dates = [r.text for r in record.removed if r.rule == "structure.list-date"]
    assert dates == ["2022-01-22", "2022-01-20", "2021-12-30", "2022-05-25"]
    assert not any(line in dates for line in record.body.split("\n"))


@pytest.mark.parametrize(("lead", "source", "author"), [
    ("【看中国2005年07月03日报道】一九八九年四月，我在湖南", "看中国", None),
    ("【环球网综合报道】据美国媒体报道", "环球网", None),
    ("【环球时报报道 记者 王磊】近日", "环球时报", "王磊"),
    ("【本报讯】今天上午，", "机械网", None),  # the site's own paper
    ("[中国机械网讯] 近日", "中国机械网", None),
    ("【本站讯】近日", "机械网", None),
    ("【本报讯 记者 王磊 通讯员 李四】近日", "机械网", "王磊"),
    # Topic tags shaped like marks: no outlet before 讯/电, or a kind of report before 报道.
    ("【摘要】本文讨论了", None, None),
    ("【行业资讯】近日", None, None),
    ("【光伏发电】近日", None, None),
    ("【新闻快讯】近日", None, None),
    ("【独家报道】近日", None, None),
    ("【展会报道】近日", None, None),
    ("【媒体报道】近日", None, None),
    ("【综合报道】近日", None, None),
    ("【看中国报道]近日", None, None),  # brackets that do not pair
])
def test_a_report_mark_names_the_source_and_leaves_the_body(lead: str, source: str | None,
                                                            author: str | None) -> None:
    record = _article_with_lead([lead + "这是正文的第一段，内容足够长，可以被识别为正文。"])
    assert (record.source, record.author) == (source, author)
    marks = [r.text for r in record.removed if r.rule == "meta.report-mark"]
    end = lead.index("】") + 1 if "】" in lead else lead.index("]") + 1
    assert marks == ([lead[:end]] if source else [])
    assert record.body.startswith(lead[end:].lstrip() if source else lead)


def test_a_report_mark_after_the_authors_name_line() -> None:
    """The author's name on a line of its own, then the mark alone on its line: both go."""
    record = _article_with_lead(["王磊", "【看中国2005年07月03日报道】",
                                 "一九八九年四月，我在湖南张家界开一个全省教学研究会议，会议安排了一天时间。"],
                                byline="发布时间：2005-07-05 作者：王磊")
    assert (record.source, record.author) == ("看中国", "王磊")
    assert [(r.rule, r.text) for r in record.removed if r.rule.startswith("meta.")] == [
        ("meta.author-line", "王磊"), ("meta.report-mark", "【看中国2005年07月03日报道】")]
    assert record.body.startswith("一九八九年四月")


def test_a_wire_dateline_names_the_source_only_where_the_text_starts() -> None:
    record = _article_with_lead(["本公司今天召开了年度总结大会，会议总结了过去一年的工作成绩。",
                                 "公司官网上线了新的充电桩查询功能，客户可以在网上查询附近的充电桩。"])
    assert record.source is None
    record = _article_with_lead(["新华社北京3月5日电 国务院总理今天在人民大会堂作政府工作报告。"])
    assert record.source == "新华社"
    assert record.body.startswith("新华社北京3月5日电")  # part of the first sentence


def _article_with_lead(paragraphs: list[str], byline: str = "") -> Record:
    """A small article page whose body opens with ``paragraphs``."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    html = ("<html><head><title>新闻 - 机械网</title></head><body><h1>标题</h1>"
            f"<div class='byline'>{byline}</div><div class='content'>{body}"
            "<p>这是正文的第二段，同样是足够长的一段中文文字，用来组成文章。</p></div>"
            "</body></html>").encode()
    record = extract(html, "http://news.example/a/1.html")
    assert isinstance(record, Record)
    return record


def test_credits_are_not_a_body() -> None:
    """Once the author's name and the report mark leave, too little text is left."""
    html = ("<html><head><title>通知 - 机械网</title></head><body><h1>通知</h1>"
            "<div class='byline'>作者：王磊</div><div class='content'><p>王磊</p>"
            "<p>【看中国2005年07月03日报道】今天公司召开了年度总结大会。</p></div>"
            "</body></html>").encode()
    result = extract(html, "http://news.example/a/2.html")
    assert isinstance(result, NotArticle) and result.reason == "no-body"
