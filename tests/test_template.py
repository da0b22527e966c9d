"""Per-site template learning: a short line repeated across a site's pages is boilerplate.

``tests/fixtures/template_site`` holds four news pages of one made-up equipment maker; each
carries the same promo line inside the article box, a line no bundled rule knows.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vendornews import extract_article
from vendornews.clean import clean_page
from vendornews.record import FetchedPage, Record, Removal
from vendornews.rules import first_match
from vendornews.template import MAX_TEMPLATE_LINE, SiteTemplate, TemplateBook

SITE = Path(__file__).parent / "fixtures" / "template_site"
PROMO = "本公司长期供应优质绞线设备欢迎来电洽谈"
TITLES = [
    "绞线机行业迎来智能化改造高峰",
    "如何选择适合自己的管式绞线机",
    "笼式绞线机常见故障及处理方法",
    "我厂参加第十届中国国际线缆展览会",
]


def _pages() -> list[FetchedPage]:
    return [
        FetchedPage(f"http://xishan-strander.example/news/{1100 + n}.html",
                    (SITE / f"news_{n}.html").read_bytes())
        for n in range(1, 5)
    ]


def _learned(pages: list[FetchedPage]) -> SiteTemplate:
    """As ``vendornews extract --learn-template`` does: one pass to learn, then frozen."""
    template = SiteTemplate()
    for page in pages:
        clean_page(page, template=template)
    template.frozen = True
    return template


# ---------------------------------------------------------------------------------------
# SiteTemplate on its own
# ---------------------------------------------------------------------------------------

FOOTER = "Copyright © 2023 锡山绞线设备厂 版权所有"


def _page(n: int, promo: bool = True) -> list[str]:
    """One page's lines: its own paragraph, then (maybe) the promo line and the footer."""
    return [f"第{n}篇文章的独有段落", *([PROMO] if promo else []), FOOTER]


def _is_template(template: SiteTemplate, lines: list[str], line: str) -> bool:
    return template.is_template(lines, lines.index(line))


def test_default_thresholds() -> None:
    template = SiteTemplate()
    assert (template.min_pages, template.min_share) == (4, 0.6)


def test_line_on_min_pages_with_a_repeated_neighbour_is_learned() -> None:
    template = SiteTemplate(min_pages=3, min_share=0.3)
    for n in range(3):
        template.observe(_page(n))
    assert template.pages == 3
    assert _is_template(template, _page(9), PROMO)
    assert not _is_template(template, _page(9), "第9篇文章的独有段落")


def test_line_below_min_pages_is_not_learned() -> None:
    template = SiteTemplate(min_pages=3, min_share=0.3)
    template.observe(_page(0))
    template.observe(_page(1))
    template.observe(_page(2, promo=False))
    assert template.counts[PROMO] == 2
    assert not _is_template(template, _page(9), PROMO)


def test_nothing_is_template_before_min_pages() -> None:
    template = SiteTemplate(min_pages=3, min_share=0.3)
    template.observe([PROMO, PROMO, FOOTER])  # twice on one page counts once
    template.observe([PROMO, FOOTER])
    assert template.counts[PROMO] == 2
    assert not template.is_template([PROMO, FOOTER], 0)


@pytest.mark.parametrize(("pages", "learned"), [(10, True), (11, False)])
def test_share_threshold(pages: int, learned: bool) -> None:
    template = SiteTemplate(min_pages=3, min_share=0.3)
    for n in range(pages):
        template.observe(_page(n, promo=n < 3))
    assert template.counts[PROMO] == 3
    assert _is_template(template, _page(99), PROMO) is learned


def test_stock_phrase_with_changing_neighbours_is_not_template() -> None:
    """央视网消息（新闻联播）： opens many articles, each time before another paragraph."""
    opener = "央视网消息（新闻联播）："
    template = SiteTemplate(min_pages=3, min_share=0.3)
    for n in range(5):
        template.observe([f"第{n}篇的标题", opener, f"第{n}篇的第一段正文"])
    assert template.counts[opener] == 5
    assert not template.is_template(["新标题", opener, "新的正文"], 1)


def test_long_lines_are_never_template() -> None:
    long_line = "这是一段被多家网站转载的新闻正文，" * 6
    assert len(long_line) > MAX_TEMPLATE_LINE
    template = SiteTemplate(min_pages=3, min_share=0.3)
    for _ in range(5):
        template.observe([long_line, PROMO, FOOTER])
    assert long_line not in template.counts
    assert not template.is_template([long_line, PROMO, FOOTER], 0)
    assert template.is_template([long_line, PROMO, FOOTER], 1)


def test_frozen_template_stops_counting() -> None:
    template = SiteTemplate()
    for n in range(3):
        template.observe(_page(n))
    template.frozen = True
    template.observe(["新的一行"])
    assert template.pages == 3
    assert "新的一行" not in template.counts


def test_template_book_keeps_one_template_per_host() -> None:
    book = TemplateBook()
    a = book.for_site("a.example")
    assert book.for_site("a.example") is a
    assert book.for_site("b.example") is not a


# ---------------------------------------------------------------------------------------
# On pages
# ---------------------------------------------------------------------------------------


def test_promo_line_is_unknown_to_the_rules() -> None:
    assert first_match(PROMO, ("spam", "boilerplate")) is None


def test_without_template_the_promo_line_stays() -> None:
    record = extract_article(_pages()[:1], crawled_at="2024-01-01T00:00:00")
    assert isinstance(record, Record)
    assert record.body.split("\n")[-1] == PROMO


def test_learned_template_drops_the_repeated_promo_line() -> None:
    pages = _pages()
    template = _learned(pages)
    assert template.pages == 4
    assert template.counts[PROMO] == 4
    for page, title in zip(pages, TITLES, strict=True):
        record = extract_article([page], template=template, crawled_at="2024-01-01T00:00:00")
        assert isinstance(record, Record)
        assert record.title == title
        assert PROMO not in record.body
        assert len(record.body.split("\n")) == 3
        assert Removal("template.repeated", PROMO) in record.removed
        assert [r for r in record.removed if r.rule == "template.repeated"] == [
            Removal("template.repeated", PROMO)]


@pytest.mark.parametrize(
    ("min_pages", "min_share", "expected"),
    [(4, 0.6, [True, True, True, False]), (3, 0.3, [True, True, False, False])],
)
def test_template_learning_while_extracting_in_crawl_order(
    min_pages: int, min_share: float, expected: list[bool]
) -> None:
    """Learning as a crawl does (observe, then decide): the line goes once it has been seen
    on ``min_pages`` pages, the current one included."""
    template = SiteTemplate(min_pages=min_pages, min_share=min_share)
    kept = []
    for page in _pages():
        record = extract_article([page], template=template, crawled_at="2024-01-01T00:00:00")
        assert isinstance(record, Record)
        kept.append(PROMO in record.body)
    assert kept == expected


def test_template_does_not_touch_article_text() -> None:
    pages = _pages()
    template = _learned(pages)
    record = extract_article([pages[1]], template=template, crawled_at="2024-01-01T00:00:00")
    assert isinstance(record, Record)
    assert record.body.split("\n") == [
        "管式绞线机适用于铜线、铝线以及钢丝的绞合，选型时首先要根据产品的截面积和绞合根数确定机型规格。",
        "其次要关注设备的转速和节距调节范围，转速越高生产效率越高，但对轴承和动平衡的要求也越严格。",
        "最后还要考虑售后服务能力，设备厂家能否及时提供配件和上门调试，直接影响到用户的正常生产。",
    ]
    assert record.published == "2023-02-16T14:30"


def test_memory_stays_bounded_over_many_pages() -> None:
    """Article lines seen once are forgotten at each pruning; template lines stay."""
    template = SiteTemplate()
    for page in range(1000):
        template.observe(["网站首页", "产品中心", f"第{page}篇文章的正文段落", "版权所有"])
    assert len(template.counts) <= 3 + 200  # the template, plus lines since the last pruning
    assert template.is_template(["网站首页", "产品中心", "新文章正文", "版权所有"], 1)


def test_a_stock_lead_ending_in_a_colon_stays_with_its_paragraph() -> None:
    """A site that reposts one programme daily opens most articles alike (国际联播快讯 /
    央视网消息（新闻联播）：): those lines repeat as a pair on every page, like chrome. The
    lead-in that opens a prose paragraph stays; chrome ending in a colon, followed by
    links (本周特惠型号：) or by the same notice on every page (温馨提示：), goes."""
    stories = ["朝鲜劳动党总书记今天在符拉迪沃斯托克参观了现代化航空装备，以及太平洋舰队护卫舰。",
               "近来，大批非法移民经由地中海抵达意大利最南端的岛屿，并引发当地的混乱和担忧。",
               "联合国秘书长今天发表讲话，呼吁各方保持克制，通过对话和谈判解决分歧和争端。",
               "欧洲多国近日遭遇罕见高温天气，多地气温突破历史纪录，当地政府发布了高温预警。",
               "国际能源署今天发布报告，预计今年全球石油需求将继续增长，但增速有所放缓。"]
    template = SiteTemplate()
    for n, story in enumerate(stories):
        html = ("<html><head><title>快讯 - 某某机械</title></head><body><h1>快讯</h1>"
                "<div class='content'><p>国际联播快讯</p><p>央视网消息（新闻联播）：</p>"
                f"<p>{story}</p><p>本周特惠型号：</p>"
                "<p><a href='/a/1.html'>某某机械参加国际线缆展览会</a></p>"
                f"<p>温馨提示：</p><p>{NOTICE}</p></div></body></html>").encode()
        cleaned = clean_page(FetchedPage(f"http://ggzj.example/html/{n}.htm", html),
                             template=template)
    assert cleaned.kept[:2] == ["央视网消息（新闻联播）：", stories[-1]]
    assert ("template.repeated", "本周特惠型号：") in [(r.rule, r.text) for r in cleaned.removed]
    assert ("template.repeated", "国际联播快讯") in [(r.rule, r.text) for r in cleaned.removed]
    # A colon line before the same long notice on every page is chrome with it.
    assert ("template.repeated", "温馨提示：") in [(r.rule, r.text) for r in cleaned.removed]
    assert cleaned.kept[-1] == stories[-1]


NOTICE = ("本网站所刊登的各种新闻、信息和各种专题专栏资料，均为本公司版权所有，未经协议授权，"
          "禁止下载使用，本公司保留追究其法律责任的权利，如有疑问请与本公司客服部门联系处理。")


def test_a_stock_lead_before_a_short_subheading_stays() -> None:
    """The lead opens the first item's own headline (国际联播快讯: several short items)."""
    template = SiteTemplate()
    for n, story in enumerate(["俄称打击乌军能源设施", "日国会举行首相指名选举", "欧盟峰会今日开幕",
                               "联合国发布全球经济展望", "中东局势出现新变化"]):
        html = ("<html><head><title>快讯 - 某某机械</title></head><body><h1>快讯</h1>"
                "<div class='content'><p>国际联播快讯</p><p>央视网消息（新闻联播）：</p>"
                f"<p>{story}</p><p>{story}。{NOTICE[:40]}这一消息引起了各方的广泛关注和讨论。</p>"
                "</div></body></html>").encode()
        cleaned = clean_page(FetchedPage(f"http://ggzj.example/html/{n}.htm", html),
                             template=template)
    assert cleaned.kept[:2] == ["央视网消息（新闻联播）：", "中东局势出现新变化"]
