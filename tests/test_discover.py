"""vendornews.discover on saved pages: which links are articles, lists, pagination, page 2.

Fixtures: pages of the dev farm (``tests/fixtures/farm``, read through ``farmpages``; every
farm page's kind in ``tests/fixtures/discover/kinds.json``) and the bundled demo sites
(``demo/``).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from farmpages import FARM, farm_bytes

from vendornews.discover import (
    LinkContext,
    LinkKind,
    article_root,
    classify_link,
    continuation_links,
    extract_links,
    load_overrides,
    override_for,
    page_number,
    parse_sitemap,
    same_site,
    site_key,
    sitemaps_from_robots,
)

HERE = Path(__file__).parent
DEMO = HERE.parent / "demo"
ORIGIN = "http://127.0.0.1:8000"
FARM_INFO = json.loads((HERE / "fixtures" / "discover" / "kinds.json").read_text("utf-8"))

ART, LIST, PAGE, CONT, OTHER = (LinkKind.ARTICLE, LinkKind.LIST, LinkKind.PAGINATION,
                                LinkKind.CONTINUATION, LinkKind.OTHER)


def url_of(file: str) -> str:
    """The URL a saved page was served at (``x/index.html`` is ``x/``; ``a@q`` is ``a?q``)."""
    return ORIGIN + "/" + file.removesuffix("index.html").replace("@", "?")


def links(folder: Path, file: str, page_kind: LinkKind) -> dict[str, LinkKind]:
    """Path(+query) -> kind of every same-origin link on a saved page."""
    body = farm_bytes(file) if folder == FARM else (folder / file).read_bytes()
    found = extract_links(body, url_of(file), page_kind=page_kind)
    return {link.url.removeprefix(ORIGIN): link.kind for link in found
            if link.url.startswith(ORIGIN + "/")}


def of_kind(found: dict[str, LinkKind], kind: LinkKind) -> set[str]:
    return {url for url, k in found.items() if k is kind}


# --------------------------------------------------------------------------- farm pages

FARM_PAGES = {
    "jxjcj/index.html": LIST, "jxjcj/a/news/list_1_1.html": LIST,
    "jxjcj/a/gongsi/2474.html": ART, "jxjcj/a/gongsi/2474_2.html": ART,
    "apsww/index.html": LIST, "apsww/html/hangye/list_2.htm": LIST,
    "apsww/html/hangye/2797.htm": ART, "qzjxw/index.html": LIST,
    "qzjxw/category/news/index.html": LIST,
    "qzjxw/archives/2816/index.html": ART, "qzjxw/archives/2816/2/index.html": ART,
    "fstcw/category/news/page/2/index.html": LIST, "ggzj/html/gongsi/2138_3.htm": ART,
    "bfzx/index.html": LIST,
}
# Farm page kind -> the link kinds that are right for a link to such a page. Decoys are
# article-shaped pages that robots.txt forbids: the crawler's robots check drops them.
EXPECTED = {"article": {ART}, "decoy": {ART}, "list": {LIST, PAGE}, "continuation": {CONT}}


def _farm_links() -> Iterator[tuple[str, str, str, LinkKind]]:
    kinds, redirects = FARM_INFO["kinds"], FARM_INFO["redirects"]
    for file, page_kind in FARM_PAGES.items():
        page_path = url_of(file).removeprefix(ORIGIN)
        root = (article_root(ORIGIN + page_path) or (ORIGIN + page_path, 1))[0]
        for path, kind in links(FARM, file, page_kind).items():
            target = redirects.get(path, path)
            if target in kinds:
                yield file, path, target, kind
            if page_kind is ART and page_number(ORIGIN + path, root) is not None:
                assert kind is CONT, (file, path)  # the page itself, or its page 1 / page N


@pytest.mark.parametrize("file", sorted(FARM_PAGES))
def test_every_link_to_a_farm_page_gets_that_pages_kind(file: str) -> None:
    kinds = FARM_INFO["kinds"]
    checked = 0
    for page, path, target, kind in _farm_links():
        if page != file:
            continue
        page_path = url_of(file).removeprefix(ORIGIN)
        root = (article_root(ORIGIN + page_path) or (ORIGIN + page_path, 1))[0]
        if FARM_PAGES[file] is ART and page_number(ORIGIN + path, root) is not None:
            continue  # links to this article's own pages, checked in _farm_links
        assert kind in EXPECTED.get(kinds[target], {OTHER}), (path, kinds[target], kind)
        checked += 1
    assert checked >= 10


def test_dede_list_page() -> None:
    found = links(FARM, "jxjcj/a/news/list_1_1.html", LIST)
    assert of_kind(found, PAGE) == {"/jxjcj/a/news/list_1_2.html"}
    assert of_kind(found, LIST) == {"/jxjcj/a/news/list_1_1.html", "/jxjcj/a/gongsi/list_21_1.html",
                                 "/jxjcj/a/hangye/list_17_1.html", "/jxjcj/a/faq/list_28_1.html"}
    assert len(of_kind(found, ART)) == 23
    assert "/jxjcj/html/hangye/20200907/2626.html" in of_kind(found, ART)  # old URL, 301s
    for other in ("/jxjcj/", "/jxjcj/a/about/", "/jxjcj/a/product/", "/jxjcj/a/product/1.html",
                  "/jxjcj/a/contact/"):
        assert found[other] is OTHER
    assert all(found[u] is OTHER for u in found if "search.php" in u)


def test_dede_article_page_continuations_and_spam() -> None:
    found = links(FARM, "jxjcj/a/gongsi/2474.html", ART)
    assert of_kind(found, CONT) == {"/jxjcj/a/gongsi/2474_2.html", "/jxjcj/a/gongsi/2474_3.html"}
    assert found["/jxjcj/a/gongsi/2484.html"] is ART  # 下一篇
    for spam in ("/jxjcj/yy/50849.html", "/jxjcj/zl/68110.html", "/jxjcj/zl/76369.html"):
        assert found[spam] is OTHER  # hospital ads under the article


def test_continuation_links_in_page_order() -> None:
    page1 = farm_bytes("jxjcj/a/gongsi/2474.html")
    page2 = farm_bytes("jxjcj/a/gongsi/2474_2.html")
    base = ORIGIN + "/jxjcj/a/gongsi/"
    assert continuation_links(page1, base + "2474.html") == [base + "2474_2.html",
                                                              base + "2474_3.html"]
    assert continuation_links(page2, base + "2474_2.html") == [base + "2474_3.html"]
    last = farm_bytes("ggzj/html/gongsi/2138_3.htm")
    assert continuation_links(last, ORIGIN + "/ggzj/html/gongsi/2138_3.htm") == [
        ORIGIN + "/ggzj/html/gongsi/2138_2.htm"]
    table = farm_bytes("apsww/html/hangye/2797.htm")
    assert continuation_links(table, ORIGIN + "/apsww/html/hangye/2797.htm") == [
        ORIGIN + "/apsww/html/hangye/2797_2.htm"]


def test_wordpress_article_page() -> None:
    found = links(FARM, "qzjxw/archives/2816/index.html", ART)
    assert of_kind(found, CONT) == {"/qzjxw/archives/2816/", "/qzjxw/archives/2816/2/",
                                 "/qzjxw/archives/2816/3/"}
    assert found["/qzjxw/archives/2811/"] is ART  # 上一篇 in the post navigation
    assert found["/qzjxw/archives/2829/"] is ART
    for other in ("/qzjxw/tag/1/", "/qzjxw/author/30/", "/qzjxw/products/product-1/",
                  "/qzjxw/html/yiyuan/83419.html"):
        assert found[other] is OTHER
    page = farm_bytes("qzjxw/archives/2816/index.html")
    base = ORIGIN + "/qzjxw/archives/2816/"
    assert continuation_links(page, base) == [base + "2/", base + "3/"]
    page2 = farm_bytes("qzjxw/archives/2816/2/index.html")
    assert continuation_links(page2, base + "2/") == [base + "3/"]


def test_wordpress_list_pages() -> None:
    found = links(FARM, "qzjxw/category/news/index.html", LIST)
    assert of_kind(found, PAGE) == {"/qzjxw/category/news/page/2/"}
    assert "/qzjxw/2022/05/2811.html" not in found or found["/qzjxw/2022/05/2811.html"] is ART
    back = links(FARM, "fstcw/category/news/page/2/index.html", LIST)  # UTF-8 with a BOM
    assert back["/fstcw/category/news/"] in (LIST, PAGE)
    assert back["/fstcw/preview/319/"] is ART  # article-shaped; robots.txt forbids it


def test_table_list_page_relative_links() -> None:
    found = links(FARM, "apsww/html/hangye/list_2.htm", LIST)
    assert of_kind(found, PAGE) == {"/apsww/html/hangye/list_3.htm"}
    assert found["/apsww/html/hangye/list_1.htm"] in (LIST, PAGE)
    assert found["/apsww/news/2843.htm"] is ART  # old URL (301) in the list
    assert found["/apsww/html/hangye/2851.htm"] is ART


def test_home_pages_find_sections() -> None:
    found = links(FARM, "jxjcj/index.html", LIST)
    assert {"/jxjcj/a/news/list_1_1.html", "/jxjcj/a/gongsi/list_21_1.html",
            "/jxjcj/a/hangye/list_17_1.html", "/jxjcj/a/faq/list_28_1.html"} == of_kind(found, LIST)
    wp = links(FARM, "qzjxw/index.html", LIST)
    assert of_kind(wp, LIST) == {"/qzjxw/category/news/", "/qzjxw/category/hangye/",
                              "/qzjxw/category/jishu/", "/qzjxw/category/faq/"}
    assert wp["/qzjxw/2022/05/2811.html"] is ART


# --------------------------------------------------------------------------- demo pages

def test_demo_asp_list_and_article() -> None:
    found = links(DEMO, "dongfang/news.asp", LIST)
    assert of_kind(found, ART) == {f"/dongfang/news_show.asp?id={n}" for n in (13, 14, 15)}
    assert of_kind(found, PAGE) == {"/dongfang/news.asp?page=2"}
    assert found["/dongfang/news.asp"] is LIST
    for other in ("/dongfang/product.asp?id=1", "/dongfang/product.asp", "/dongfang/about.asp",
                  "/dongfang/contact.asp", "/dongfang/"):
        assert found[other] is OTHER
    article = links(DEMO, "dongfang/news_show.asp@id=12", ART)
    assert of_kind(article, ART) == {"/dongfang/news_show.asp?id=11",
                                     "/dongfang/news_show.asp?id=13"}
    assert of_kind(article, CONT) == set()
    assert article["/dongfang/yy/3321.html"] is OTHER


def test_demo_gbk_home_and_multipage_article() -> None:
    home = links(DEMO, "hengtong/index.html", LIST)
    assert of_kind(home, LIST) == {"/hengtong/a/news/list_1_1.html",
                                   "/hengtong/a/hangye/list_2_1.html"}
    assert home["/hengtong/a/product/1.html"] is OTHER
    assert home["/hengtong/a/about/"] is OTHER
    page = (DEMO / "hengtong/a/news/104.html").read_bytes()
    base = ORIGIN + "/hengtong/a/news/"
    assert continuation_links(page, base + "104.html") == [base + "104_2.html", base + "104_3.html"]
    last = (DEMO / "hengtong/a/news/104_3.html").read_bytes()
    assert continuation_links(last, base + "104_3.html") == [base + "104_2.html"]


# --------------------------------------------------------------------------- bare URLs

@pytest.mark.parametrize(("url", "text", "kind"), [
    ("/a/news/123.html", "", ART),
    ("/html/hangye/2733.htm", "", ART),
    ("/archives/123/", "", ART),
    ("/news/detail/123", "", ART),
    ("/?p=123", "", ART),
    ("/2022/05/123.html", "", ART),
    ("/2018/07/02/tiny-house-cons/", "", ART),
    ("/news_show.asp?id=12", "", ART),
    ("/NewsView.asp?ID=12", "", ART),
    ("/news/123.html", "", ART),
    ("/news/20220512/123.html", "", ART),
    ("/index.php?m=content&c=index&a=show&catid=8&id=12", "", ART),
    ("/news/show-8-123.html", "", ART),
    ("/news/t20220512_123.html", "", ART),
    ("/blog/how-to-choose-a-pump.html", "", ART),
    ("/a/news/list_1_2.html", "", PAGE),
    ("/html/news/list_3.htm", "", PAGE),
    ("/category/news/page/2/", "", PAGE),
    ("/news.asp?page=2", "", PAGE),
    ("/news/page-2.html", "", PAGE),
    ("/?cat=3&paged=2", "", PAGE),
    ("/a/news/list_1_1.html", "", LIST),
    ("/category/news/", "", LIST),
    ("/news/", "", LIST),
    ("/news_list.asp?classid=2", "", LIST),
    ("/index.php?m=content&c=index&a=lists&catid=8", "", LIST),
    ("/xwzx/", "新闻中心", LIST),
    ("/html/3/", "行业动态", LIST),
    ("/news/1.html", "公司新闻", LIST),
    ("/service/news/", "", LIST),
    ("/news/product-launch-event-in-shanghai.html", "", ART),
    ("/a/news/123_2.html", "", CONT),
    ("/archives/123/2/", "", CONT),
    ("/show.asp?id=12&page=2", "", CONT),
    ("/", "", OTHER),
    ("/index.html", "网站首页", OTHER),
    ("/2022/05/", "", OTHER),
    ("/2022/05", "", OTHER),
    ("/a/product/1.html", "", OTHER),
    ("/products/gear-pump/", "", OTHER),
    ("/product_show.asp?id=3", "", OTHER),
    ("/about/", "", OTHER),
    ("/contact.htm", "联系我们", OTHER),
    ("/cpzx/12.html", "", OTHER),
    ("/news/product/1.html", "", OTHER),
    ("/uploads/brochure.pdf", "", OTHER),
    ("/uploads/2023/05/1.jpg", "", OTHER),
    ("/plus/search.php?keyword=pump", "", OTHER),
    ("/yy/50849.html", "石家庄白癜风医院哪家好", OTHER),
    ("/tag/pumps/", "", OTHER),
])
def test_url_shapes(url: str, text: str, kind: LinkKind) -> None:
    assert classify_link("http://vendor.example" + url, text) is kind


def test_anchor_text_and_page_context_decide_ambiguous_shapes() -> None:
    page = "http://v.example/news/"
    # "/news/2.html" is an article id ... or page 2 of the list, when it sits in a pager.
    assert classify_link("http://v.example/news/2.html", "某某公司参加国际展会") is ART
    assert classify_link("http://v.example/news/2.html", "2",
                         LinkContext(page_url=page, page_kind=LIST, in_pager=True)) is PAGE
    assert classify_link("http://v.example/news/2.html", "下一页",
                         LinkContext(page_url=page)) is PAGE
    # A headline in a dated list is an article even without an id in the URL.
    listed = LinkContext(page_url=page, page_kind=LIST, date_near=True, same_shape=12)
    assert classify_link("http://v.example/news/xinchangfang", "我公司新厂房正式投产运营",
                         listed) is ART
    assert classify_link("http://v.example/news/xinchangfang", "我公司新厂房正式投产运营") is OTHER
    # A product box lists product pages that look like article ids.
    box = LinkContext(page_url=page, page_kind=LIST, heading="产品分类")
    assert classify_link("http://v.example/a/jiaoxianji/12.html", "笼式绞线机", box) is OTHER
    # Another site's link is never followed.
    assert classify_link("http://other.example/a/news/1.html", "新闻",
                         LinkContext(page_url=page)) is OTHER
    # An article headline that merely mentions a product or starts with 关于 stays an article.
    assert classify_link("http://v.example/a/news/88.html", "产品质量提升座谈会顺利召开") is ART
    assert classify_link("http://v.example/a/news/89.html", "关于2023年端午节放假安排的通知") is ART


def test_article_pager_links() -> None:
    phpcms = "http://v.example/news/show-8-123-1.html"
    on_page = LinkContext(page_url=phpcms, page_kind=ART, in_pager=True)
    assert classify_link("http://v.example/news/show-8-123-2.html", "2", on_page) is CONT
    # "下一页" that is really the next article (another id) stays an article.
    assert classify_link("http://v.example/news/show-8-124-1.html", "下一页", on_page) is ART
    dede = LinkContext(page_url="http://v.example/a/news/2474.html", page_kind=ART)
    assert classify_link("http://v.example/a/news/2475.html", "下一页", dede) is ART
    assert classify_link("http://v.example/a/news/2474_2.html", "下一页", dede) is CONT


def test_section_label_in_a_dated_list_is_an_article() -> None:
    dated = LinkContext(page_url="http://v.example/news/", page_kind=LIST, date_near=True)
    assert classify_link("http://v.example/news/88.html", "公司公告", dated) is ART
    assert classify_link("http://v.example/news/88.html", "公司公告") is LIST


def test_tracking_parameters_are_dropped() -> None:
    html = ('<a href="/a/news/1.html?utm_source=x&amp;spm=a.b">新闻一</a>'
            '<a href="/show.asp?id=%C4%FA&amp;from=home">新闻二</a>')
    assert [link.url for link in extract_links(html, "http://v.example/")] == [
        "http://v.example/a/news/1.html", "http://v.example/show.asp?id=%C4%FA"]


def test_extract_links_prefers_titles_of_truncated_anchors() -> None:
    html = """<html><body><ul class="list">
      <li><a href="/a/1.html" title="完整的新闻标题在这里显示出来">完整的新闻标题...</a>
          <span>2023-05-12</span></li>
      <li><a href="javascript:;">分享</a><a href="#top">顶部</a><a href="mailto:x@y.z">信箱</a></li>
    </ul></body></html>"""
    found = extract_links(html, "http://v.example/news/")
    assert [(link.url, link.text) for link in found] == [
        ("http://v.example/a/1.html", "完整的新闻标题在这里显示出来")]
    assert found[0].context.date_near


# --------------------------------------------------------------------------- helpers

def test_article_root_and_page_number() -> None:
    assert article_root("http://v.example/a/news/2474_3.html") == (
        "http://v.example/a/news/2474.html", 3)
    assert article_root("http://v.example/archives/2816/2/") == (
        "http://v.example/archives/2816/", 2)
    assert article_root("http://v.example/a/news/list_1_2.html") is None
    assert article_root("http://v.example/2022/05/") is None
    assert article_root("http://v.example/category/news/page/2/") is None
    assert page_number("http://v.example/x/12.html", "http://v.example/x/12.html") == 1
    assert page_number("http://v.example/x/12_4.html", "http://v.example/x/12.html") == 4
    assert page_number("http://v.example/x/13.html", "http://v.example/x/12.html") is None
    assert page_number("http://v.example/s.asp?id=1&page=2", "http://v.example/s.asp?id=1") == 2
    assert page_number("http://v.example/s.asp?id=2", "http://v.example/s.asp?id=1") is None


def test_sites() -> None:
    assert site_key("https://www.Example.com/a") == "example.com"
    assert site_key("http://127.0.0.1:8000/x/") == "127.0.0.1:8000"
    assert same_site("http://example.com/", "https://www.example.com/news/")
    assert not same_site("http://127.0.0.1:8000/", "http://127.0.0.1:8001/")
    assert not same_site("http://bbs.example.com/", "http://example.com/")


# --------------------------------------------------------------------------- sitemaps, robots

def test_sitemap_from_the_farm() -> None:
    body = (FARM / "apsww/sitemap.xml").read_bytes().replace(b"__ORIGIN__", ORIGIN.encode())
    pages, children = parse_sitemap(body)
    assert children == []
    assert len(pages) == 45
    kinds = [classify_link(url, "", LinkContext(page_url=ORIGIN + "/apsww/sitemap.xml"))
             for url in pages]
    assert kinds.count(ART) == 36
    assert classify_link(ORIGIN + "/apsww/product/1.htm") is OTHER


def test_sitemap_index_gzip_and_text() -> None:
    index = (b'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>http://v.example/s1.xml</loc></sitemap></sitemapindex>")
    assert parse_sitemap(index) == ([], ["http://v.example/s1.xml"])
    urlset = b"<urlset><url><loc> http://v.example/a/1.html </loc></url></urlset>"
    assert parse_sitemap(gzip.compress(urlset)) == (["http://v.example/a/1.html"], [])
    assert parse_sitemap(b"http://v.example/a/1.html\nhttp://v.example/a/2.html\n") == (
        ["http://v.example/a/1.html", "http://v.example/a/2.html"], [])


def test_sitemap_entities_are_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    body = (f'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file://{secret}">'
            '<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<urlset><url><loc>http://v.example/&x;</loc></url>"
            "<url><loc>http://v.example/&b;</loc></url></urlset>").encode()
    pages, _ = parse_sitemap(body)
    assert not any("TOPSECRET" in url or "aaaa" in url for url in pages)


def test_sitemaps_from_robots() -> None:
    robots = (FARM / "qzjxw/robots.txt").read_text()
    assert sitemaps_from_robots(robots) == ["__ORIGIN__/qzjxw/sitemap.xml"]
    assert sitemaps_from_robots("User-agent: *\nsitemap:  http://v.example/s.xml \n") == [
        "http://v.example/s.xml"]


# --------------------------------------------------------------------------- overrides

def test_overrides(tmp_path: Path) -> None:
    assert isinstance(load_overrides(), dict)  # the bundled file parses
    file = tmp_path / "overrides.toml"
    file.write_text('[sites."www.odd.example"]\nlist_pages = ["/zx/"]\n'
                    "article_pattern = '^/zx/v\\d+$'\nexclude_pattern = '^/zx/old/'\n")
    overrides = load_overrides(file)
    override = override_for("http://odd.example/", overrides)
    assert override is not None and override.list_pages == ("/zx/",)
    ctx = LinkContext(page_url="http://odd.example/zx/", override=override)
    assert classify_link("http://odd.example/zx/v12", "", ctx) is ART
    assert classify_link("http://odd.example/zx/old/1.html", "", ctx) is OTHER
    assert classify_link("http://odd.example/zx/v12", "") is OTHER
    assert override_for("http://else.example/", overrides) is None
