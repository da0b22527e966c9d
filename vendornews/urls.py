"""URL identity for the crawl state: one article, one key, whatever link led to it.

Two forms of a URL:

* :func:`clean_url` is what the crawler requests: the link without its fragment, tracking
  parameters (``utm_*``, ``spm``, ``from``, ``fbclid``, ``gclid`` …) and session ids
  (``;jsessionid=…``, ``PHPSESSID=``, ``sid=``, ASP.NET ``/(S(…))/``). The remaining query
  keeps its order and its raw percent-escapes (they may be GBK), so the site gets a URL it
  wrote itself.
* :func:`canonical_url` is the key the state stores: the clean URL through w3lib's
  ``canonicalize_url`` (sorted query, normalized escapes, no fragment), host lower-cased,
  default port dropped.

:func:`list_key` is one list page whatever its other query parameters (``?sort=``,
``?r=0.123``): the spider requests one list page once. :func:`section_key` names the list a
list page belongs to (its page number and any
query parameter that does not select a list taken out), for the per-section page cap that
bounds endless pagination, calendars and one list under many query strings.

Pure functions; no Scrapy. Those asked of every link (a site's menu and sidebars are on all
its pages) keep their recent answers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from w3lib.url import canonicalize_url

__all__ = [
    "SESSION_PARAMS",
    "TRACKING_PARAMS",
    "canonical_url",
    "clean_url",
    "has_session_id",
    "list_key",
    "section_key",
]

# Query parameters that say where a visitor came from, never which page it is.
TRACKING_PARAMS = frozenset(
    """spm fromid fbclid gclid gclsrc dclid yclid msclkid mc_cid mc_eid igshid _hsenc
    _hsmi hmsr hmpl hmcu hmkw hmci share_token sharesource share_from wxshare isappinstalled
    scene srcid ref_src ref_url src_ref _ga _gl vd_source trackid tracking_id
    """.split()
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")
# Tracking when the value is a word (from=timeline), a list offset when it is a number
# (from=20): dropped only in the first case.
WORD_TRACKING_PARAMS = frozenset({"from", "source", "share", "track"})
# Query parameters (lower-cased) that always carry a session id …
SESSION_PARAMS = frozenset(
    """jsessionid phpsessid sessionid session_id sessid sess_id zenid oscsid cfid cftoken
    """.split()
)
SESSION_PREFIXES = ("aspsessionid",)
# … and those that carry one when the value looks like a token (sid=3 is a section id).
TOKEN_SESSION_PARAMS = frozenset({"sid", "s_id", "ssid", "session", "token"})
_TOKEN = re.compile(r"^[0-9A-Za-z_-]{16,}$")
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sessionid|sid)=[^/?#]*", re.I)
_ASPNET_SESSION = re.compile(r"/\([A-Z]\([A-Za-z0-9]{10,}\)\)(?=/)")
# Query parameters that select a list (its section), kept in the section key.
_LIST_PARAMS = frozenset(
    """classid catid typeid cid sortid cat class lm column bigclassid smallclassid type
    nclassid cateid category channel channelid tid""".split()
)
# Query parameters that pick a page of a list, or a day/month of a date archive.
_PAGE_PARAMS = frozenset(
    """page pageno pagenum page_no pn pg paged pageindex curpage cp currentpage pageid start
    offset p""".split()
)
_DATE_PARAMS = frozenset({"date", "day", "month", "year", "ym", "d", "m", "y"})
_DATE_IN_URL = re.compile(r"(?:19|20)\d\d[-/_.]?(?:0[1-9]|1[0-2])(?:[-/_.]?(?:[0-2]\d|3[01]))?")


def _param_name(pair: str) -> str:
    return pair.split("=", 1)[0].strip().lower()


def _param_value(pair: str) -> str:
    return pair.split("=", 1)[1] if "=" in pair else ""


def _tracking(pair: str) -> bool:
    name = _param_name(pair)
    if name in WORD_TRACKING_PARAMS:
        return not _param_value(pair).isdigit()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _session(pair: str) -> bool:
    name = _param_name(pair)
    if name in TOKEN_SESSION_PARAMS:
        return bool(_TOKEN.match(_param_value(pair)))
    return name in SESSION_PARAMS or name.startswith(SESSION_PREFIXES)


@lru_cache(maxsize=4096)
def has_session_id(url: str) -> bool:
    """Whether the URL carries a session id (in its path or its query)."""
    parts = urlsplit(url)
    if _PATH_SESSION.search(parts.path) or _ASPNET_SESSION.search(parts.path):
        return True
    return any(_session(p) for p in parts.query.split("&") if p)


@lru_cache(maxsize=4096)
def clean_url(url: str) -> str:
    """``url`` without fragment, tracking parameters and session ids; otherwise as written."""
    parts = urlsplit(url)
    path = _ASPNET_SESSION.sub("", _PATH_SESSION.sub("", parts.path))
    query = "&".join(p for p in parts.query.split("&")
                     if p and not _tracking(p) and not _session(p))
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


@lru_cache(maxsize=4096)
def canonical_url(url: str) -> str:
    """The state's key of ``url``: clean, canonical query, lower-case host, no default port."""
    parts = urlsplit(canonicalize_url(clean_url(url)))
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def section_key(url: str) -> str:
    """The list a list page belongs to: host, path with the page number cut out, and only
    the query parameters that select a list (``classid=3``), sorted.

    ``/news/list_3_7.html`` and ``/news/list_3_8.html`` share ``/news/list_3_#.html``;
    ``/news/page/7/`` and ``/news/page/8/`` share ``/news/page/#/``; ``list.asp?classid=3
    &page=2&sort=asc`` is ``list.asp?classid=3``. A date in the path is cut too, so a
    calendar's days and months are one section.
    """
    parts = urlsplit(clean_url(url))
    path = _DATE_IN_URL.sub("#", parts.path)
    # The last number of the path is the page number (list_3_7.html, /page/7/, index_7.htm).
    path = re.sub(r"\d+(?=[^\d]*$)", "#", path)
    kept = sorted(
        p for p in parts.query.split("&") if p and _param_name(p) in _LIST_PARAMS
    )
    host = (parts.hostname or "").lower()
    return f"{host}{path}" + ("?" + "&".join(kept) if kept else "")


def list_key(url: str) -> str:
    """One list page: host, path and the query parameters that select a list, its page or
    a date (sorted); other parameters (sort orders, random cache-busters) are left out."""
    parts = urlsplit(clean_url(url))
    wanted = _LIST_PARAMS | _PAGE_PARAMS | _DATE_PARAMS
    kept = sorted(p for p in parts.query.split("&") if p and _param_name(p) in wanted)
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}" + ("?" + "&".join(kept) if kept else "")


def read_sites_file(path: str | Path) -> list[str]:
    """Start URLs of a sites file: one per line, ``#`` comments and blank lines ignored."""
    urls = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            urls.append(line)
    return urls
