"""The ``vendor_news`` spider: from vendor home pages to their news articles.

    scrapy crawl vendor_news -a start_urls=URL[,URL...] [-a sites_file=PATH] [-a output_dir=DIR]
                             [-a full=1]
    scrapy crawl vendor_news -s REDIS_URL=redis://HOST:6379/0 [...]   # see redis_frontier

From each start page (a home or news-list page) it follows news sections, their pagination
and article links, and the site's sitemaps; it stays on the start page's site. Every link
decision comes from :mod:`vendornews.discover`. It yields one item per article: page 1 and
the article's continuation pages (正文分页), fetched in a chain and merged, for the
extraction pipeline.

Incremental (see ``pipelines/state.py``): an article already exported by an earlier run is
not fetched again (unless its last fetch is older than ``VENDORNEWS_REFRESH_DAYS``), and a
list page whose articles were all exported before leads to no further list pages
(``VENDORNEWS_STOP_ON_SEEN_PAGE``), except on a site whose last run did not go through it
(killed, stopped, capped): that run is finished first. ``-a full=1`` (or
``VENDORNEWS_FULL=1``) fetches everything again.

Traps: links lose tracking parameters and session ids before they are requested; list pages
of one section (:func:`vendornews.urls.section_key`) are capped by
``VENDORNEWS_MAX_LIST_PAGES_PER_SECTION``, requests per site by
``VENDORNEWS_MAX_PAGES_PER_SITE`` (both count each URL once), link hops by ``DEPTH_LIMIT``;
each hit is counted in the stats under ``vendornews/trap/``.

Same site: links off the start sites are never requested, and :class:`SameSiteMiddleware`
refuses any request that reaches the downloader for another host or port (a redirect, a
continuation page), before robots.txt is asked. Article pages that fail are counted in the
stats under ``vendornews/article_failed/<cause>`` (:func:`failure_cause`).

With ``REDIS_URL`` set the crawl runs on the shared Redis frontier
(:mod:`spiders.redis_frontier`): start URLs come from Redis, requests go through it.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy import logformatter
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from pipelines.state import CrawlRun
from spiders import logsafe
from spiders.redis_frontier import apply_redis_settings, redis_start
from vendornews.decode import decode_html
from vendornews.discover import (
    Link,
    LinkContext,
    LinkKind,
    SiteOverride,
    classify_link,
    continuation_links,
    extract_links,
    load_overrides,
    override_for,
    parse_html,
    parse_sitemap,
    site_key,
    sitemaps_from_robots,
)
from vendornews.record import FetchedPage
from vendornews.urls import clean_url, has_session_id, list_key, read_sites_file, section_key

# A multi-page article longer than this is cut (pages beyond are not fetched).
MAX_ARTICLE_PAGES = 50
# Anchor texts kept per article URL, as title hints for the core.
MAX_ANCHORS = 5
# Request priorities: finish articles in progress first, then articles, then list pages.
_PRIORITY = {"continuation": 20, "article": 10, "list": 0, "meta": 30}


def _normalize_start(url: str) -> str:
    return url if "://" in url else "http://" + url


def _text(response: TextResponse) -> str:
    """The page decoded as the core decodes it (lying charset declarations included)."""
    content_type = response.headers.get("Content-Type")
    return decode_html(response.body, content_type.decode("latin-1") if content_type else None)[0]


def _fetched(response: Response) -> FetchedPage:
    headers = {str(k).lower(): str(v) for k, v in response.headers.to_unicode_dict().items()}
    return FetchedPage(url=response.url, body=response.body, headers=headers)


class OffsiteRequest(IgnoreRequest):
    """A request for a page off the crawled sites reached the downloader."""


class SameSiteMiddleware:
    """Downloader middleware (before robots.txt): only the crawled sites are fetched.

    Scrapy's OffsiteMiddleware compares host names only and lets ``dont_filter`` requests
    through, so a redirect to another port of the start host, or a continuation page
    redirected anywhere, would be fetched (with that origin's robots.txt). This one compares
    :func:`site_key` (host and port) with the spider's ``sites``, for every request.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        sites: set[str] | None = getattr(self.crawler.spider, "sites", None)
        if sites is not None and site_key(request.url) not in sites:
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("vendornews/offsite/refused")
            raise OffsiteRequest(f"off the crawled sites: {request.url}")


# IgnoreRequest messages of Scrapy's middlewares (2.19) -> failure cause.
_IGNORED = (("robots.txt", "robots"), ("max redirections", "max_redirects"),
            ("DOWNLOAD_MAXSIZE", "maxsize"))
# Causes that are the site's answer, not an accident of this run: recorded in the state.
PERMANENT_CAUSES = frozenset({"http_404", "http_410", "robots"})


def failure_cause(failure: Failure) -> str:
    """Why a request failed, as a stats key part: ``http_<status>``, ``robots``,
    ``max_redirects``, ``maxsize`` (a body over DOWNLOAD_MAXSIZE, compressed or not),
    ``offsite_redirect``, else the exception's class name."""
    if failure.check(HttpError):
        return f"http_{failure.value.response.status}"  # type: ignore[union-attr]
    if failure.check(OffsiteRequest):
        return "offsite_redirect"
    if failure.check(DownloadCancelledError):
        # Scrapy's HTTP handler cancels a download only when its body outgrows
        # DOWNLOAD_MAXSIZE (declared or received); a timeout is DownloadTimeoutError.
        return "maxsize"
    if failure.check(IgnoreRequest):
        message = str(failure.value)
        for text, cause in _IGNORED:
            if text in message:
                return cause
    return type(failure.value).__name__


class LogFormatter(logformatter.LogFormatter):
    """Dropped non-articles are routine: one INFO line with the reason, not the page bytes."""

    def dropped(self, item: Any, exception: BaseException, response: Response | Failure | None,
                spider: scrapy.Spider) -> logformatter.LogFormatterResult:
        return {"level": logging.INFO, "msg": "Dropped: %(exception)s",
                "args": {"exception": exception}}


@dataclass
class _Article:
    """A multi-page article being fetched: pages so far and pages still to fetch."""

    pages: list[FetchedPage]
    crawled_at: str
    fetched: set[str]
    anchors: list[str]
    pending: list[str] = field(default_factory=list)

    def add_pending(self, urls: Iterable[str]) -> None:
        for url in urls:
            if url not in self.fetched and url not in self.pending:
                self.pending.append(url)

    def item(self) -> dict[str, Any]:
        return {"pages": self.pages, "crawled_at": self.crawled_at, "anchors": self.anchors}


class VendorNewsSpider(scrapy.Spider):
    name = "vendor_news"

    # The crawl state (pipelines.state.CrawlRun) serves this spider.
    uses_crawl_state = True

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        apply_redis_settings(settings)  # no-op unless REDIS_URL is set

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        """The spider of a crawl; on the Redis frontier (``REDIS_URL``) it may start without
        start URLs (they come from Redis). Masks secrets in the log from here on, before
        Scrapy logs its overridden settings."""
        logsafe.install()
        kwargs.setdefault("frontier", "redis" if crawler.settings.get("REDIS_URL") else "")
        return super().from_crawler(crawler, *args, **kwargs)

    def __init__(self, start_urls: str = "", sites_file: str = "", output_dir: str = "output",
                 full: str = "", frontier: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        urls = [u.strip() for u in start_urls.split(",") if u.strip()]
        if sites_file:
            urls += read_sites_file(sites_file)
        if not urls and not frontier:
            raise ValueError("no start URL: pass -a start_urls=URL[,URL...] or -a sites_file=PATH")
        self.site_starts = list(dict.fromkeys(_normalize_start(u) for u in urls))
        self.sites = {site_key(u) for u in self.site_starts}
        # OffsiteMiddleware: the hosts without "www." (it allows their subdomains; the
        # stricter same-site check is ours, per response and per link).
        self.allowed_domains = sorted({site_key(u).split(":")[0] for u in self.site_starts})
        # A feed URI parameter: FEEDS write to %(output_dir)s.
        self.output_dir = output_dir
        self.overrides: dict[str, SiteOverride] = {}
        self.max_pages = 0
        self._requested: Counter[str] = Counter()
        # Every URL requested (continuations aside): a link seen again costs no cap.
        self._requested_urls: set[str] = set()
        self._capped: set[str] = set()
        self._articles_seen: set[str] = set()
        self._anchors: dict[str, list[str]] = {}
        # -a full=1: fetch every article again (read by CrawlRun with VENDORNEWS_FULL).
        self.full = full
        # Final URL of an article -> the URLs that redirected to it (for the state).
        self.redirected_from: dict[str, list[str]] = {}
        self.run: CrawlRun | None = None
        self.stop_on_seen = True
        self.refresh_days = 0.0
        self.max_section_pages = 0
        self._section_pages: Counter[str] = Counter()
        self._section_capped: set[str] = set()
        self._lists: set[str] = set()
        self._skipped: set[str] = set()
        self._refetched: set[str] = set()

    # ------------------------------------------------------------------ start

    async def start(self) -> AsyncIterator[Request]:
        self.overrides = load_overrides(self.settings.get("VENDORNEWS_OVERRIDES_FILE"))
        self.max_pages = self.settings.getint("VENDORNEWS_MAX_PAGES_PER_SITE")
        self.max_section_pages = self.settings.getint("VENDORNEWS_MAX_LIST_PAGES_PER_SECTION")
        self.stop_on_seen = self.settings.getbool("VENDORNEWS_STOP_ON_SEEN_PAGE", True)
        self.refresh_days = self.settings.getfloat("VENDORNEWS_REFRESH_DAYS", 0.0)
        self.run = CrawlRun.of(self.crawler)
        if self.settings.get("JOBDIR"):
            self.logger.warning(
                "JOBDIR is set: its dupefilter outlives this run, so a later run with the same "
                "JOBDIR skips every page fetched before; a killed crawl needs no JOBDIR (run "
                "the same command again: the crawl state resumes it)")
        for site in sorted(self.sites):
            if self.run.resumes(site) and not self.run.full:
                self.logger.info("resuming %s: its last run did not finish, every list page "
                                 "is read again", site)
        if self.settings.get("REDIS_URL"):
            async for request in redis_start(self, self.start_requests_for):
                yield request
            return
        for url in self.site_starts:
            for request in self.start_requests_for(url):
                yield request

    def start_requests_for(self, url: str) -> Iterator[Request]:
        """The requests of one start page: the page, the site's override list pages, and its
        robots.txt (for the sitemaps)."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        requests = [self._request(url, "list", self.parse_list)]
        override = override_for(url, self.overrides)
        for path in override.list_pages if override else ():
            requests.append(self._request(urljoin(url, path), "list", self.parse_list))
        requests.append(self._request(origin + "/robots.txt", "meta", self.parse_robots,
                                      errback=self.robots_failed, cb_kwargs={"start": url}))
        for request in requests:
            if request is not None:
                yield request

    def _stat(self, name: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(name)

    def _request(self, url: str, kind: str, callback: Any, meta: dict[str, Any] | None = None,
                 **kwargs: Any) -> Request | None:
        """A request for a page of one of the crawled sites, within the per-site page cap
        and, for list pages, the per-section cap; None for a URL already requested (a page
        linked from every page costs the caps once). The URL loses tracking parameters and
        session ids."""
        if has_session_id(url):
            self._stat("vendornews/trap/session_id")
        url = clean_url(url)
        site = site_key(url)
        if site not in self.sites:
            return None
        if kind != "continuation":
            if url in self._requested_urls:
                return None
            if self.max_pages and self._requested[site] >= self.max_pages:
                self._stat("vendornews/trap/site_cap")
                if site not in self._capped:
                    self._capped.add(site)
                    self.logger.warning("page cap (%d) reached for %s", self.max_pages, site)
                    if self.run is not None:
                        self.run.capped(site)
                return None
            if kind == "list" and not self._section_allows(url, site):
                return None
            self._requested[site] += 1
            self._requested_urls.add(url)
        meta = {**(meta or {}), "vendornews_role": kind}
        return Request(url, callback=callback, priority=_PRIORITY[kind], meta=meta, **kwargs)

    def _section_allows(self, url: str, site: str) -> bool:
        """Whether to request a list page: not one already requested under other query
        parameters (:func:`list_key`), and within its section's cap (pagination, calendars);
        each refusal counted."""
        key = list_key(url)
        if key in self._lists:  # the same list page under other query parameters
            self._stat("vendornews/trap/list_variant")
            return False
        self._lists.add(key)
        if not self.max_section_pages:
            return True
        section = section_key(url)
        if self._section_pages[section] >= self.max_section_pages:
            self._stat("vendornews/trap/section_cap")
            if section not in self._section_capped:
                self._section_capped.add(section)
                self.logger.warning("list page cap (%d) reached for section %s",
                                    self.max_section_pages, section)
                if self.run is not None:
                    self.run.capped(site)
            return False
        self._section_pages[section] += 1
        return True

    def _known(self, url: str) -> bool:
        """Whether an article link leads to a page an earlier run fetched (exported, or
        found not to be an article) and that is not due for a refresh."""
        run = self.run
        if run is None or run.full:
            return False
        known = run.state.lookup(url)
        if known is None or known.run_id == run.run_id:  # this run's: the dupefilter's job
            return False
        if self.refresh_days and known.checked_before(self.refresh_days):
            if url not in self._refetched:
                self._refetched.add(url)
                self._stat("vendornews/incremental/refresh")
            return False
        return True

    def _on_site(self, response: Response) -> bool:
        """False when redirects took the response off the crawled sites: it is not used."""
        return site_key(response.url) in self.sites

    def _override(self, url: str) -> SiteOverride | None:
        return override_for(url, self.overrides)

    # ------------------------------------------------------------------ robots, sitemaps

    def parse_robots(self, response: Response, start: str) -> Iterator[Request]:
        """Sitemaps named in robots.txt; the usual places when it names none."""
        named = []
        if isinstance(response, TextResponse) and self._on_site(response):
            named = [urljoin(response.url, u) for u in sitemaps_from_robots(response.text)]
        yield from self._sitemap_requests(named or self._guessed_sitemaps(start))

    def robots_failed(self, failure: Failure) -> Iterator[Request]:
        yield from self._sitemap_requests(
            self._guessed_sitemaps(failure.request.cb_kwargs["start"]))  # type: ignore[attr-defined]

    @staticmethod
    def _guessed_sitemaps(start: str) -> list[str]:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
        return list(dict.fromkeys([origin + "/sitemap.xml", urljoin(start, "sitemap.xml")]))

    def _sitemap_requests(self, urls: Iterable[str]) -> Iterator[Request]:
        for url in urls:
            request = self._request(url, "meta", self.parse_sitemap)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if not self._on_site(response):
            return
        pages, children = parse_sitemap(response.body)
        yield from self._sitemap_requests(urljoin(response.url, u) for u in children)
        ctx = LinkContext(page_url=response.url, override=self._override(response.url))
        # Incremental: a sitemap's list pages (page N of a list) are reached, if need be,
        # through page 1; its articles are checked one by one.
        stop = self._stops_paginating(response.url)
        for url in (urljoin(response.url, u) for u in pages):
            kind = classify_link(url, "", ctx)
            if stop and kind is LinkKind.PAGINATION:
                continue
            yield from self._follow(url, kind)

    # ------------------------------------------------------------------ lists and articles

    def _follow(self, url: str, kind: LinkKind) -> Iterator[Request]:
        request = None
        if kind is LinkKind.ARTICLE:
            if self._known(url):
                if url not in self._skipped:
                    self._skipped.add(url)
                    self._stat("vendornews/incremental/skipped_seen")
                return
            request = self._request(url, "article", self.parse_article,
                                    errback=self.article_failed)
        elif kind is LinkKind.LIST:
            request = self._request(url, "list", self.parse_list)
        elif kind is LinkKind.PAGINATION:
            # List page N is as close to the news as page 1: pagination does not add depth.
            request = self._request(url, "list", self.parse_list, meta={"depth_reset": True})
        if request is not None:
            yield request

    def parse_list(self, response: Response) -> Iterator[Request]:
        """A home or news-list page: follow articles, sections and pagination."""
        if not isinstance(response, TextResponse) or not self._on_site(response):
            return
        links = extract_links(_text(response), response.url, page_kind=LinkKind.LIST,
                              override=self._override(response.url))
        stop = self._all_seen(response.url, links)
        for link in links:
            if stop and link.kind is LinkKind.PAGINATION:
                continue
            yield from self._follow_link(link)

    def _stops_paginating(self, url: str) -> bool:
        """Whether seen articles may stop pagination on this page's site: incremental
        runs with ``VENDORNEWS_STOP_ON_SEEN_PAGE``, not while resuming the site."""
        run = self.run
        return not (run is None or run.full or not self.stop_on_seen
                    or run.resumes(site_key(url)))

    def _all_seen(self, url: str, links: list[Link]) -> bool:
        """Stop paginating here: every article this list page links to was fetched before."""
        if not self._stops_paginating(url):
            return False
        articles = [link.url for link in links if link.kind is LinkKind.ARTICLE]
        if not articles or not all(self._known(a) for a in articles):
            return False
        if any(link.kind is LinkKind.PAGINATION for link in links):
            self._stat("vendornews/incremental/pagination_stopped")
            self.logger.debug("every article on %s was seen: no further list pages", url)
        return True

    def _follow_link(self, link: Link) -> Iterator[Request]:
        if link.kind is LinkKind.ARTICLE and link.context.date_near:
            self._remember_anchor(link.url, link.text)
        yield from self._follow(link.url, link.kind)

    def _remember_anchor(self, url: str, text: str) -> None:
        """Keep the headline a dated list entry shows for an article not fetched yet (sidebar
        boxes cut headlines short without a mark, 上一篇 links add labels: not those)."""
        if url in self._articles_seen:
            return
        texts = self._anchors.setdefault(url, [])
        if text not in texts and len(texts) < MAX_ANCHORS:
            texts.append(text)

    def _anchors_for(self, response: Response) -> list[str]:
        """Anchor texts of the links to this article, longest first, none inside another."""
        urls = [*response.meta.get("redirect_urls", ()), response.url]
        texts = sorted({t for u in urls for t in self._anchors.pop(u, ())}, key=len, reverse=True)
        return [t for i, t in enumerate(texts) if not any(t in longer for longer in texts[:i])]

    def parse_article(self, response: Response) -> Iterator[Request | dict[str, Any]]:
        """Page 1 of an article: follow its links, fetch its continuation pages, yield it."""
        if not isinstance(response, TextResponse) or not self._on_site(response):
            return
        if response.meta.get("redirect_urls") and self._not_an_article(response.url):
            yield from self.parse_list(response)
            return
        key = urldefrag(response.url)[0]
        if key in self._articles_seen:
            return
        self._articles_seen.add(key)
        redirects = response.meta.get("redirect_urls")
        if redirects:
            if self._known(response.url):
                # An old URL of an article already exported: remember the old one too.
                self._stat("vendornews/incremental/seen_after_redirect")
                if self.run is not None:
                    for url in redirects:
                        self.run.state.add_alias(url, response.url)
                return
            self.redirected_from[response.url] = list(redirects)
        # The archive stamps the fetch time (the WARC-Date of the response record).
        crawled_at = (response.meta.get("vendornews_fetched_at")
                      or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"))
        article = _Article(pages=[_fetched(response)],
                           crawled_at=crawled_at,
                           fetched={key, urldefrag(response.request.url)[0]
                                    if response.request else key},
                           anchors=self._anchors_for(response))
        tree = parse_html(_text(response))
        links = extract_links(tree, response.url, page_kind=LinkKind.ARTICLE,
                              override=self._override(response.url))
        for link in links:
            if link.kind is not LinkKind.CONTINUATION:
                yield from self._follow_link(link)
        article.add_pending(continuation_links(tree, response.url, links))
        yield from self._next_page(article)

    def article_failed(self, failure: Failure) -> None:
        """An article page failed: counted by cause. One that is not there for us (404, 410,
        robots.txt) is remembered like a non-article, so that its list page can count as
        seen; any other failure (5xx, timeout, size or redirect limit, a redirect off the
        site) may pass, so later runs try the page again."""
        request = failure.request  # type: ignore[attr-defined]
        cause = failure_cause(failure)
        self._stat(f"vendornews/article_failed/{cause}")
        if cause in PERMANENT_CAUSES and self.run is not None:
            self.run.state.record_not_article(request.url, site_key(request.url),
                                              self.run.run_id)
        self.logger.debug("article page failed: %s (%s: %s)", request.url, cause, failure.value)

    def _not_an_article(self, url: str) -> bool:
        """A redirect that landed on a start page, a list or a later page of some article."""
        if url in self.site_starts or urlsplit(url).path in ("", "/"):
            return True
        return classify_link(url) in (LinkKind.LIST, LinkKind.PAGINATION, LinkKind.CONTINUATION)

    def _next_page(self, article: _Article) -> Iterator[Request | dict[str, Any]]:
        while article.pending and len(article.pages) < MAX_ARTICLE_PAGES:
            url = article.pending.pop(0)
            article.fetched.add(url)
            # Never filtered (a lost page would lose the whole article): not by the dupe
            # filter, nor by DEPTH_LIMIT (continuations follow no other link).
            request = self._request(url, "continuation", self.parse_continuation,
                                    cb_kwargs={"article": article},
                                    errback=self.continuation_failed, dont_filter=True,
                                    meta={"depth_reset": True,
                                          "vendornews_article": article.pages[0].url})
            if request is not None:
                yield request
                return
        yield article.item()

    def parse_continuation(self, response: Response,
                           article: _Article) -> Iterator[Request | dict[str, Any]]:
        """Page N of an article: keep it, queue the pages it links to, go on."""
        if isinstance(response, TextResponse) and self._on_site(response):
            url = urldefrag(response.url)[0]
            if url not in {p.url for p in article.pages}:
                article.pages.append(_fetched(response))
                article.fetched.add(url)
                article.add_pending(continuation_links(_text(response), response.url))
        yield from self._next_page(article)

    def continuation_failed(self, failure: Failure) -> Iterator[Request | dict[str, Any]]:
        """A continuation page failed (404, robots, timeout): go on without it."""
        request = failure.request  # type: ignore[attr-defined]
        self.logger.info("continuation page failed: %s (%s)", request.url, failure.value)
        yield from self._next_page(request.cb_kwargs["article"])

    def closed(self, reason: str) -> None:
        """Links dropped by DEPTH_LIMIT are trap hits too (Scrapy counts them)."""
        stats = self.crawler.stats
        if stats is not None:
            ignored = stats.get_value("depth/request_ignored_count")
            if ignored:
                stats.set_value("vendornews/trap/depth", ignored)
