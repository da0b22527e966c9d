"""Traditional-script pages (big5 mirrors, Hong Kong and Taiwan vendors) read with the
Simplified rules, labels and link words through a length-preserving fold; every value keeps
the page's own characters.

``fixtures/hant/seed_page_big5.html`` is the seed page written in Traditional characters and
encoded as Big5 (see that folder's README).
"""

from __future__ import annotations

import json
from pathlib import Path

import opencc
import pytest

from vendornews import extract, hant
from vendornews.discover import LinkContext, LinkKind, classify_link
from vendornews.record import Record

FIXTURES = Path(__file__).parent / "fixtures"
SEED_GOLD = json.loads((FIXTURES / "seed_page" / "gold.jsonl").read_text("utf-8").splitlines()[0])


def test_the_fold_keeps_length_and_simplified_text() -> None:
    traditional = "發佈時間：2020-10-19 來源：絞線機廠家 責任編輯：張三 當前位置：首頁 > 新聞中心"
    assert hant.fold(traditional) == (
        "发布时间：2020-10-19 来源：绞线机厂家 责任编辑：张三 当前位置：首页 > 新闻中心")
    simplified = SEED_GOLD["body"]
    assert hant.fold(simplified) == simplified
    assert len(hant.fold(traditional)) == len(traditional)


def test_the_seed_page_in_traditional_characters() -> None:
    page = (FIXTURES / "hant" / "seed_page_big5.html").read_bytes()
    expected = json.loads((FIXTURES / "hant" / "expected.json").read_text("utf-8"))
    record = extract(page, SEED_GOLD["url"])
    assert isinstance(record, Record)
    assert {name: getattr(record, name) for name in expected} == expected
    assert [r.rule for r in record.removed if r.rule.startswith("spam.")] == [
        "spam.medical-ad"] * 4
    # Why expected.json is right: the seed's gold, in Traditional characters.
    s2t = opencc.OpenCC("s2t")
    for name in ("title", "source", "body"):
        assert expected[name] == s2t.convert(SEED_GOLD[name]), name
    assert (expected["published"], expected["author"]) == (SEED_GOLD["published"], None)
    for noise in SEED_GOLD["noise"]:
        assert s2t.convert(noise) not in record.body


def test_a_traditional_byline() -> None:
    html = ("<html><head><meta charset='utf-8'><title>新品發佈 - 某某機械</title></head><body>"
            "<h1>新品發佈</h1><div class='info'>發佈時間：2023-05-15 10:20 來源：中國機械網 "
            "作者：張三 責任編輯：李四 瀏覽次數：128</div><div class='content'>"
            "<p>本公司今天發佈了新一代絞線機，產品性能比上一代提高了百分之三十，歡迎各位客戶諮詢。</p>"
            "<p>新產品採用了最新的控制系統，生產效率更高，能耗更低，維護也更加方便。</p>"
            "</div></body></html>").encode()
    record = extract(html, "http://vendor.example.tw/news/1.html")
    assert isinstance(record, Record)
    assert (record.title, record.published, record.source, record.author, record.editor) == (
        "新品發佈", "2023-05-15T10:20", "中國機械網", "張三", "李四")
    assert record.body.startswith("本公司今天發佈了新一代絞線機")
    assert "瀏覽" not in record.body


@pytest.mark.parametrize(("url", "text", "kind"), [
    ("http://a.example/news.asp?p=2", "下一頁", LinkKind.PAGINATION),
    ("http://a.example/news.asp?p=9", "尾頁", LinkKind.PAGINATION),
    ("http://a.example/c.asp?id=12", "新聞中心", LinkKind.LIST),
    ("http://a.example/c.asp?id=13", "行業動態", LinkKind.LIST),
])
def test_traditional_link_words(url: str, text: str, kind: LinkKind) -> None:
    """Links whose URL says nothing: the words decide (read as articles without the fold)."""
    context = LinkContext(page_url="http://a.example/news.asp", page_kind=LinkKind.LIST)
    assert classify_link(url, text, context) is kind
