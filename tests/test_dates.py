"""Publish dates: the printed forms, relative times, URL dates, precision refinement, and
which date on a page is the publish date."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from vendornews import extract, extract_article
from vendornews.dates import Stamp, best_stamp, parse_dates, parse_iso, parse_relative, url_date
from vendornews.record import FetchedPage, Record

PAGES = Path(__file__).parent / "fixtures" / "pages"
CRAWLED = datetime(2024, 3, 1, 8, 30, 15)


def _best(ranked: list[list[Stamp]]) -> str | None:
    stamp = best_stamp(ranked)
    return stamp.iso() if stamp else None


def _iso(text: str) -> list[str]:
    return [stamp.iso() for stamp in parse_dates(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-10-19 05:51:51", "2020-10-19T05:51:51"),
        ("发布时间:2020-10-19 05:51:51 阅读:", "2020-10-19T05:51:51"),
        ("2020年10月19日", "2020-10-19"),
        ("2020年10月19日 10:20", "2020-10-19T10:20"),
        ("2005年03月31日03:18 北京娱乐信报", "2005-03-31T03:18"),
        ("2020/10/19", "2020-10-19"),
        ("2020.10.19", "2020-10-19"),
        ("2022/04/29 15:21", "2022-04-29T15:21"),
        ("2005-9-15 11:46:00", "2005-09-15T11:46:00"),
        ("2021-01-01 下午3:20", "2021-01-01T15:20"),
        ("2021年1月1日 上午12:05", "2021-01-01T00:05"),
        ("7/5/2005 9:23:57 PM", "2005-07-05T21:23:57"),
        ("12/25/2021 12:05 AM", "2021-12-25T00:05"),
        ("March 5, 2021", "2021-03-05"),
        ("Mar. 5th, 2021 3:04 pm", "2021-03-05T15:04"),
        ("5 March 2021", "2021-03-05"),
        ("Published: Sept 30, 2022 08:15", "2022-09-30T08:15"),
        ("20-10-19", "2020-10-19"),
        ("05年3月31日", "2005-03-31"),
        ("99-12-31", "1999-12-31"),
        ("1999-12-31 23:59:59", "1999-12-31T23:59:59"),
    ],
)
def test_parse_dates_forms(text: str, expected: str) -> None:
    assert _iso(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-10-19 25:61", ["2020-10-19"]),  # impossible clock: the day stands
        ("2020-10-19 23:59:60", ["2020-10-19T23:59"]),  # impossible second: minute stands
        ("2020-13-45", []),  # impossible day
        ("2021-02-29", []),
        ("苏ICP备78770551号-1", []),
        ("电话：0510-88776655", []),
        ("", []),
    ],
)
def test_parse_dates_rejects_what_is_not_a_date(text: str, expected: list[str]) -> None:
    assert _iso(text) == expected


def test_parse_dates_keeps_page_order() -> None:
    text = "更新时间：2021-01-02 发布时间：2020-10-19 05:51 原文 March 5, 2019"
    assert _iso(text) == ["2021-01-02", "2020-10-19T05:51", "2019-03-05"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3天前", "2024-02-27"),
        ("2周前", "2024-02-16"),
        ("1个月前", "2024-01-31"),
        ("2小时前", "2024-03-01T06:30"),
        ("30分钟前", "2024-03-01T08:00"),
        ("10秒前", "2024-03-01T08:30"),
        ("昨天 10:20", "2024-02-29T10:20"),
        ("昨天10:20", "2024-02-29T10:20"),
        ("昨天", "2024-02-29"),
        ("前天", "2024-02-28"),
        ("今天 08:05", "2024-03-01T08:05"),
        ("发布于 3天前 作者 小编", "2024-02-27"),
    ],
)
def test_parse_relative_against_crawl_time(text: str, expected: str) -> None:
    stamp = parse_relative(text, CRAWLED)
    assert stamp is not None
    assert stamp.iso() == expected


def test_parse_relative_without_relative_time() -> None:
    assert parse_relative("2020-10-19 05:51", CRAWLED) is None
    assert parse_relative("天天向上", CRAWLED) is None


def test_parse_relative_crosses_year_boundary() -> None:
    stamp = parse_relative("昨天 23:10", datetime(2024, 1, 1, 0, 5))
    assert stamp is not None and stamp.iso() == "2023-12-31T23:10"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://x.example/2020/10/19/a.html", "2020-10-19"),
        ("http://x.example/a/20201019/1.html", "2020-10-19"),
        ("http://x.example/html/2020-10-19/3.html", "2020-10-19"),
        ("http://x.example/news/2020_10_19_launch", "2020-10-19"),
        ("http://x.example/jxjcj/html/hangye/20200907/2626.html", "2020-09-07"),
        ("http://x.example/a/hangye/2465.html", None),
        ("http://x.example/20201339/", None),  # month 13
        ("http://x.example/20200230/", None),  # 30 February
        ("http://x.example/id/120201019123", None),  # digits of a longer number
    ],
)
def test_url_date(url: str, expected: str | None) -> None:
    stamp = url_date(url)
    assert (stamp.iso() if stamp else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-04-29T15:21:33+08:00", "2022-04-29T15:21:33"),
        ("2022-04-29T15:21:33Z", "2022-04-29T15:21:33"),
        ("2022-04-29T15:21", "2022-04-29T15:21"),
        ("2022-04-29", "2022-04-29"),
    ],
)
def test_parse_iso_drops_the_zone(value: str, expected: str) -> None:
    stamp = parse_iso(value)
    assert stamp is not None and stamp.iso() == expected


def test_stamp_iso_and_agreement() -> None:
    minute = Stamp((2022, 4, 29, 15, 21))
    assert minute.iso() == "2022-04-29T15:21"
    assert Stamp((2022, 4, 29)).iso() == "2022-04-29"
    assert minute.agrees(Stamp((2022, 4, 29, 15, 21, 33)))
    assert not minute.agrees(Stamp((2022, 4, 29, 15, 22, 33)))
    assert Stamp((2022, 4, 29)).agrees(minute)


def test_best_stamp_refines_visible_minute_with_datetime_seconds() -> None:
    visible = [Stamp((2022, 4, 29, 15, 21))]
    time_tag = [Stamp((2022, 4, 29, 15, 21, 33))]
    assert _best([visible, [], time_tag]) == "2022-04-29T15:21:33"


def test_best_stamp_ignores_a_disagreeing_precise_candidate() -> None:
    visible = [Stamp((2022, 4, 29, 15, 21))]
    other = [Stamp((2022, 4, 29, 15, 22, 33))]
    assert _best([visible, other]) == "2022-04-29T15:21"


def test_best_stamp_refines_in_steps_and_keeps_rank() -> None:
    ranked = [
        [],
        [Stamp((2022, 4, 29))],
        [Stamp((2021, 1, 1, 8, 0, 0))],  # lower rank, other day: never wins
        [Stamp((2022, 4, 29, 15, 22))],
        [Stamp((2022, 4, 29, 15, 22, 7))],
    ]
    assert _best(ranked) == "2022-04-29T15:22:07"
    assert _best([[], []]) is None
    assert _best([]) is None


# ---------------------------------------------------------------------------------------
# Page level: which date on the page is the publish date
# ---------------------------------------------------------------------------------------


def _record(name: str, url: str = "http://hengda-cable.example/news/318.html") -> Record:
    record = extract((PAGES / name).read_bytes(), url, crawled_at="2024-01-01T00:00:00")
    assert isinstance(record, Record)
    return record


def test_related_list_dates_and_footer_years_are_not_the_publish_date() -> None:
    """An undated article: the related list (inside the article box) shows 2021 dates and
    the footer ``Copyright © 2008-2024``; none of them is the article's date."""
    record = _record("undated_news.html")
    assert record.title == "我厂新一代笼式绞线机通过省级新产品鉴定"
    assert record.published is None
    assert "2021-05-06" not in record.body and "2008" not in record.body


def test_undated_article_takes_the_url_date() -> None:
    record = _record("undated_news.html", "http://hengda-cable.example/news/20230315/318.html")
    assert record.published == "2023-03-15"


def test_unlabeled_date_above_the_body_beats_related_list_and_footer() -> None:
    record = _record("dated_news.html")
    assert record.published == "2023-03-15T10:08"
    assert record.body.split("\n")[0].startswith("近日，由我厂自主研发的新一代笼式绞线机")


def test_visible_minute_refined_by_datetime_seconds_on_a_real_page() -> None:
    """The farm's WordPress page shows ``2022/04/29 15:21``; its ``<time datetime>`` has seconds."""
    folder = PAGES / "farm_wp_utf8_seconds"
    body = (folder / "page.html").read_bytes()
    assert b"2022/04/29 15:21" in body
    assert b'datetime="2022-04-29T15:21:33' in body
    page = FetchedPage("http://127.0.0.1:8000/qzjxw/archives/2790/", body,
                       {"content-type": "text/html"})
    record = extract_article([page], crawled_at="2026-01-01T00:00:00")
    assert isinstance(record, Record)
    assert record.published == "2022-04-29T15:21:33"


# Real English pages (WCXB test split, CC-BY-4.0: fixtures/datelines/LICENSE.real_en) whose
# only publish date is a line of its own just above the headline; no meta or <time> date.
DATELINES = Path(__file__).parent / "fixtures" / "datelines"


@pytest.mark.parametrize(("name", "url", "published", "body_start"), [
    # Readability keeps the date line in the article: it is the dateline, not the text.
    ("date_line_above_headline", "https://www.higherlogic.com/blog/online-community-forum/",
     "2026-01-07", "To deliver a top-notch customer experience (CX)"),
    # Date, "•", reading time, one line each, above the headline and outside the article.
    ("date_above_headline_outside_main",
     "https://www.peakforce.dev/blog/travel-remote-work-starter-guide-for-digital-nomads",
     "2024-04-17", "Living out of a suitcase may not be for everyone."),
])
def test_a_date_line_above_the_headline_is_the_publish_date(name: str, url: str,
                                                            published: str,
                                                            body_start: str) -> None:
    record = extract((DATELINES / f"{name}.html").read_bytes(), url)
    assert isinstance(record, Record)
    assert record.published == published
    assert record.body.startswith(body_start)


def test_a_date_line_opening_the_body_leaves_it() -> None:
    html = ("<html><head><title>新品发布 - 机械网</title></head><body><h1>新品发布</h1>"
            "<div class='content'><p>2020年10月19日</p>"
            "<p>本公司今天发布了新一代绞线机，产品性能比上一代提高了百分之三十，欢迎各位客户咨询。</p>"
            "<p>新产品采用了最新的控制系统，生产效率更高，能耗更低，维护也更加方便。</p>"
            "<p>2021年3月1日起，老产品停止销售。</p></div></body></html>").encode()
    record = extract(html, "http://vendor.example/news/1.html")
    assert isinstance(record, Record)
    assert record.published == "2020-10-19"
    assert [(r.rule, r.text) for r in record.removed if r.rule == "meta.date-line"] == [
        ("meta.date-line", "2020年10月19日")]
    assert record.body.split("\n")[0].startswith("本公司今天发布")
    assert record.body.endswith("2021年3月1日起，老产品停止销售。")


def _page(body: str, above: str = "", url: str = "http://vendor.example/news/2023/0515/8.html"
          ) -> Record:
    html = (f"<html><head><title>公司新闻 - 示例科技</title></head><body>{above}"
            f"<h1>公司新闻</h1><div class='content'>{body}</div></body></html>").encode()
    record = extract(html, url)
    assert isinstance(record, Record)
    return record


PROSE = "示例科技在深圳成立，主要生产新能源设备，产品远销海外三十多个国家和地区，深受好评。"


def test_a_chronology_keeps_its_dates() -> None:
    """发展历程: date lines, each before its event, are the text, not a dateline."""
    record = _page(f"<p>2005年3月18日</p><p>{PROSE}</p><p>2010年6月1日</p>"
                   "<p>第二座工厂投产，年产能提高到十万台，公司进入快速发展阶段。</p>")
    assert record.body.startswith("2005年3月18日\n")
    assert record.published == "2023-05-15"  # the URL's, not the oldest event's
    assert not [r for r in record.removed if r.rule == "meta.date-line"]


def test_the_dateline_under_the_authors_name() -> None:
    record = _page(f"<p>张三</p><p>2023年5月15日</p><p>{PROSE}</p>",
                   above="<div class='info'>作者：张三</div>",
                   url="http://vendor.example/news/8.html")
    assert (record.author, record.published) == ("张三", "2023-05-15")
    assert record.body == PROSE
    assert [r.rule for r in record.removed if r.rule.startswith("meta.")] == [
        "meta.author-line", "meta.date-line"]


def test_a_sidebar_list_date_above_the_headline_is_not_its_date() -> None:
    sidebar = ("<ul class='side'><li><a href='/n/1.html'>示例科技发布新一代储能逆变器</a></li>"
               "<li>2024-04-24</li><li><a href='/n/2.html'>示例科技参加国际电池展</a></li>"
               "<li>2024-05-25</li></ul>")
    record = _page(f"<p>{PROSE}</p>", above=sidebar)
    assert record.published == "2023-05-15"
