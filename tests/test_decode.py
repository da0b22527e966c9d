"""Bytes + headers -> text: the charset lies vendor sites tell, on real page bytes.

The byte fixtures are real pages: the seed page (GBK bytes declared gb2312), the farm's
apsww page (declared gb2312, prints 堃 which GB2312 lacks) and the farm's qzjxw page
(UTF-8). Variants (mislabeled, undeclared, BOM) are re-encodings of their real text.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from vendornews import extract
from vendornews.decode import decode_html
from vendornews.record import Record

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_page" / "page.html"
GB2312_TRAP = FIXTURES / "pages" / "farm_table_gb2312_benzhan_author" / "page.html"
UTF8_PAGE = FIXTURES / "pages" / "farm_wp_utf8_seconds" / "page.html"
SEED_META = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />'
SEED_URL = "http://jiaoxianji.example/jishu/18871.html"


@pytest.fixture(scope="module")
def seed_text() -> str:
    """The seed page's real text (its bytes are GBK)."""
    return SEED.read_bytes().decode("gbk")


@pytest.fixture(scope="module")
def utf8_text() -> str:
    return UTF8_PAGE.read_bytes().decode("utf-8")


def test_seed_page_declared_gb2312_decodes_cleanly(seed_text: str) -> None:
    text, encoding = decode_html(SEED.read_bytes())
    assert encoding == "gb18030"
    assert text == seed_text
    assert "\ufffd" not in text
    assert "党徽在扶贫前线熠熠闪光" in text


def test_gb2312_declared_page_with_chars_outside_gb2312(seed_text: str) -> None:
    """堃 and 喆 are GBK, not GB2312: a strict GB2312 decoder would fail on them."""
    body = GB2312_TRAP.read_bytes()
    assert b"charset=gb2312" in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    text, encoding = decode_html(body, "text/html")
    assert encoding == "gb18030"
    assert "\ufffd" not in text
    assert "王堃" in text
    # The same trap built from the seed's real text, declared by header and meta alike.
    line = "这里是全国扶贫攻坚的主战场之一。"
    extra = seed_text.replace(line, line + "王堃、魏喆、朱镕基报道。")
    data = extra.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("gb2312")
    text, _ = decode_html(data, "text/html; charset=gb2312")
    assert text == extra
    assert "\ufffd" not in text


def test_utf8_page_mislabeled_gbk_in_header(utf8_text: str) -> None:
    body = UTF8_PAGE.read_bytes()
    text, encoding = decode_html(body, "text/html; charset=gbk")
    assert encoding == "utf-8"
    assert text == utf8_text


def test_utf8_page_mislabeled_gbk_everywhere(utf8_text: str) -> None:
    lied = utf8_text.replace('<meta charset="utf-8">', '<meta charset="gbk">')
    assert lied != utf8_text
    text, encoding = decode_html(lied.encode("utf-8"), "text/html; charset=gb2312")
    assert encoding == "utf-8"
    assert text == lied


def test_gbk_page_mislabeled_utf8_in_header_falls_back_to_meta(seed_text: str) -> None:
    text, encoding = decode_html(SEED.read_bytes(), "text/html; charset=utf-8")
    assert encoding == "gb18030"
    assert text == seed_text


def test_undeclared_gbk_is_detected(seed_text: str) -> None:
    undeclared = seed_text.replace(SEED_META, "")
    assert "charset" not in undeclared
    text, encoding = decode_html(undeclared.encode("gbk"))
    assert encoding == "gb18030"
    assert text == undeclared


def test_undeclared_gbk_extracts_like_the_declared_page(seed_text: str) -> None:
    undeclared = seed_text.replace(SEED_META, "").encode("gbk")
    a = extract(SEED.read_bytes(), SEED_URL, crawled_at="2024-01-01T00:00:00")
    b = extract(undeclared, SEED_URL, crawled_at="2024-01-01T00:00:00")
    assert isinstance(a, Record) and isinstance(b, Record)
    assert (b.title, b.published, b.body) == (a.title, a.published, a.body)


def test_utf8_bom_wins_over_header_and_meta(utf8_text: str) -> None:
    lied = utf8_text.replace('<meta charset="utf-8">', '<meta charset="gbk">')
    body = codecs.BOM_UTF8 + lied.encode("utf-8")
    text, encoding = decode_html(body, "text/html; charset=gbk")
    assert encoding == "utf-8"
    assert text == lied


def test_utf16_bom_wins(utf8_text: str) -> None:
    body = codecs.BOM_UTF16_LE + utf8_text.encode("utf-16-le")
    text, encoding = decode_html(body, "text/html; charset=gbk")
    assert encoding == "utf-16-le"
    assert text == utf8_text


def test_encoding_override_plays_the_header(seed_text: str) -> None:
    """``--encoding`` names the charset where the page says nothing or says wrong."""
    big5_lie = seed_text.replace("charset=gb2312", "charset=big5")
    text, encoding = decode_html(big5_lie.encode("gbk"), None, encoding="gbk")
    assert encoding == "gb18030"
    assert text == big5_lie


def test_encoding_override_reads_undeclared_big5() -> None:
    page = ("<html><body><h1>臺灣颱風季節提前來臨</h1>"
            "<p>氣象單位呼籲民眾做好準備，颱風可能在週末登陸。</p></body></html>")
    text, encoding = decode_html(page.encode("big5"), None, encoding="big5")
    assert encoding == "big5hkscs"
    assert text == page


def test_override_beats_a_wrong_header(seed_text: str) -> None:
    text, _ = decode_html(SEED.read_bytes(), "text/html; charset=iso-8859-1", encoding="gbk")
    assert text == seed_text


def test_ascii_page_without_declaration() -> None:
    page = b"<html><body><p>Plain ASCII news page.</p></body></html>"
    text, _ = decode_html(page)
    assert text == page.decode("ascii")


def test_stray_invalid_byte_does_not_lose_the_page(seed_text: str) -> None:
    """One broken byte in a GBK page: one replacement character, the rest intact."""
    body = SEED.read_bytes()
    cut = body.index("这里是全国扶贫攻坚".encode("gbk"))
    broken = body[:cut] + b"\xff" + body[cut:]
    text, encoding = decode_html(broken)
    assert encoding == "gb18030"
    assert text.count("\ufffd") == 1
    assert text.replace("\ufffd", "") == seed_text
