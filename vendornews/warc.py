"""The raw archive: every fetched response in WARC, and cleaning it again offline.

A crawl writes ``<warc dir>/<run>.warc.gz`` (see ``pipelines/archive.py``): a ``warcinfo``
record, then for every response the crawler downloads a ``response`` record (final URL,
status, headers and the body as received, each record its own gzip member written in one
piece and flushed, so a killed crawl leaves whole records) with its ``request`` record, and
for every article the spider hands to extraction a ``metadata`` record, the *item
manifest*. Headers of ours:

* ``WARC-Vendornews-Role``: what the spider fetched the page as: ``list``, ``article``,
  ``continuation`` (page N of an article), ``meta`` (sitemaps), ``robots`` or ``other``;
* ``WARC-Vendornews-Article``: on a continuation page, the URL of its article's page 1;
* the item manifest (``Content-Type: application/vnd.vendornews.item+json``) lists the
  article's pages by ``WARC-Record-ID``, with the crawl's ``crawled_at`` and the anchor
  texts that led to it. Manifests are in the order the crawl extracted the articles.

:func:`clean_archives` (``vendornews clean ARCHIVE... -o OUT.jsonl``) re-runs extraction on
archived articles using every core: the pages of each manifest are merged as the crawl
merged them, and each run's sites are cleaned in the crawl's order with the crawl's
per-site template learning, so that, with a fresh near-duplicate index in the same order,
its records equal the crawl's (``change``, a crawl-state field, aside). Work is split by
(archive, site): a site's articles go in order, :data:`CHUNK` at a time, the template
learned so far handed on with each chunk; sites run side by side, and finished records wait
on disk (not in memory) to be written in crawl order. An archive without
manifests (another tool's, or an older crawl's) is read by roles: each ``article``
response with the ``continuation`` responses naming it, ``crawled_at`` from WARC-Date.

Pure module: no Scrapy. A broken archive raises :class:`ArchiveError` (one line).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sqlite3
import sys
import tempfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from tqdm import tqdm
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from vendornews.record import FetchedPage
from vendornews.template import TemplateBook

__all__ = [
    "ARTICLE_HEADER",
    "ITEM_CONTENT_TYPE",
    "ROLE_HEADER",
    "ArchiveError",
    "ArchivedItem",
    "CleanSummary",
    "WarcArchive",
    "clean_archives",
    "read_items",
    "register",
    "repair_warc",
]

ROLE_HEADER = "WARC-Vendornews-Role"
ARTICLE_HEADER = "WARC-Vendornews-Article"
ITEM_CONTENT_TYPE = "application/vnd.vendornews.item+json"
ROLES = ("list", "article", "continuation", "meta", "robots", "other")
# Hop-by-hop: the body stored is already de-chunked.
_DROP_HEADERS = frozenset({"transfer-encoding"})


class ArchiveError(ValueError):
    """An archive that cannot be read (missing, not WARC, corrupt), in one line."""


def warc_date(when: datetime | str | None = None) -> str:
    """WARC-Date for ``when`` (UTC; a naive ISO string is taken as UTC), whole seconds."""
    if when is None:
        when = datetime.now(UTC)
    if isinstance(when, str):
        return when if when.endswith("Z") else when[:19] + "Z"
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- writing


class WarcArchive:
    """Appends records to one ``.warc.gz`` file: each record one gzip member, one write.

    ``fsync=True`` syncs after every record (power-loss safety; a kill needs only the
    flush that always happens).
    """

    def __init__(self, path: str | Path, info: dict[str, str] | None = None,
                 fsync: bool = False) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self._file: IO[bytes] | None = self.path.open("ab")
        self.records = 0
        if self._file.tell() == 0:
            self._write(lambda w: [w.create_warcinfo_record(self.path.name, info or {})])

    def _write(self, build: Any) -> list[str]:
        """Write the records ``build(writer)`` returns, as one piece; their ids."""
        if self._file is None:
            raise ValueError(f"{self.path}: archive is closed")
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version="1.1")
        records = build(writer)
        for record in records:
            writer.write_record(record)
        self._file.write(buffer.getvalue())
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())
        self.records += len(records)
        return [r.rec_headers.get_header("WARC-Record-ID") for r in records]

    def write_response(self, url: str, status: int, headers: Sequence[tuple[str, str]],
                       body: bytes, *, date: datetime | str | None = None,
                       role: str | None = None, article: str | None = None,
                       request_headers: Sequence[tuple[str, str]] | None = None,
                       method: str = "GET") -> str:
        """A response (and its request, when ``request_headers`` is given); the response's
        WARC-Record-ID."""
        stamp = warc_date(date)
        extra = {"WARC-Date": stamp}
        if role:
            extra[ROLE_HEADER] = role
        if article:
            extra[ARTICLE_HEADER] = article
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        http = StatusAndHeaders(f"{status} {reason}",
                                [(k, v) for k, v in headers if k.lower() not in _DROP_HEADERS],
                                protocol="HTTP/1.1")

        def build(writer: WARCWriter) -> list[Any]:
            response = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                 length=len(body), http_headers=http,
                                                 warc_headers_dict=dict(extra))
            records = [response]
            if request_headers is not None:
                parts = urlsplit(url)
                target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
                request = writer.create_warc_record(
                    url, "request", payload=io.BytesIO(b""), length=0,
                    http_headers=StatusAndHeaders(f"{method} {target} HTTP/1.1",
                                                  list(request_headers), is_http_request=True),
                    warc_headers_dict={
                        "WARC-Date": stamp,
                        "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
                    })
                records.append(request)
            return records

        return self._write(build)[0]

    def write_item(self, pages: Sequence[tuple[str, str | None]], crawled_at: str,
                   anchors: Sequence[str] = (), *, date: datetime | str | None = None) -> str:
        """The manifest of one article: ``pages`` as (URL, response record id)."""
        payload = json.dumps({
            "pages": [{"url": url, "record": record} for url, record in pages],
            "crawled_at": crawled_at,
            "anchors": list(anchors),
        }, ensure_ascii=False).encode("utf-8")
        extra = {"WARC-Date": warc_date(date), "Content-Type": ITEM_CONTENT_TYPE}
        if pages and pages[0][1]:
            extra["WARC-Refers-To"] = str(pages[0][1])

        def build(writer: WARCWriter) -> list[Any]:
            return [writer.create_warc_record(pages[0][0] if pages else "", "metadata",
                                              payload=io.BytesIO(payload), length=len(payload),
                                              warc_content_type=ITEM_CONTENT_TYPE,
                                              warc_headers_dict=extra)]

        return self._write(build)[0]

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Response:
    offset: int
    url: str
    date: str
    role: str | None
    article: str | None


@dataclass
class ArchivedItem:
    """One article as the crawl extracted it: pages by archive offset, in order."""

    seq: int  # order of extraction over all archives read
    archive: str
    host: str
    pages: list[tuple[str, int]]  # (URL, offset of its response record)
    crawled_at: str
    anchors: list[str] = field(default_factory=list)


def _open(path: Path) -> IO[bytes]:
    if not path.exists():
        raise ArchiveError(f"{path}: no such file")
    if path.is_dir():
        raise ArchiveError(f"{path}: is a directory, give WARC files")
    return path.open("rb")


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """(offset, record) of every record, with corrupt data as :class:`ArchiveError`."""
    with _open(path) as handle:
        iterator = ArchiveIterator(handle, check_digests=False)
        try:
            for record in iterator:
                yield iterator.offset, record  # start of the record (before reading it)
        except ArchiveError:
            raise
        except Exception as error:  # warcio, gzip and zlib each have their own
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ArchiveError(f"{path}: not a readable WARC archive ({message})") from None


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _scan(path: Path, start_seq: int) -> list[ArchivedItem]:
    responses: dict[str, _Response] = {}
    manifests: list[tuple[str, dict[str, Any]]] = []
    order: list[_Response] = []
    saw_warc = False
    for offset, record in _records(path):
        saw_warc = True
        headers = record.rec_headers
        kind = record.rec_type
        if kind == "response":
            http = record.http_headers
            status = int(http.get_statuscode()) if http is not None else 0
            response = _Response(offset, headers.get_header("WARC-Target-URI") or "",
                                 headers.get_header("WARC-Date") or "",
                                 headers.get_header(ROLE_HEADER),
                                 headers.get_header(ARTICLE_HEADER))
            responses[headers.get_header("WARC-Record-ID")] = response
            if status == 200:
                order.append(response)
        elif kind == "metadata" and (headers.get_header("Content-Type") or "").startswith(
                ITEM_CONTENT_TYPE):
            try:
                manifest = json.loads(record.raw_stream.read())
            except ValueError as error:
                raise ArchiveError(f"{path}: bad item manifest at byte {offset} ({error})") \
                    from None
            manifests.append((headers.get_header("WARC-Target-URI") or "", manifest))
    if not saw_warc:
        raise ArchiveError(f"{path}: empty file, not a WARC archive")
    items: list[ArchivedItem] = []
    if manifests:
        for target, manifest in manifests:
            pages = []
            for page in manifest.get("pages", []):
                found = responses.get(page.get("record"))
                if found is None:
                    raise ArchiveError(f"{path}: item {target} names a missing record "
                                       f"{page.get('record')}")
                pages.append((page.get("url") or found.url, found.offset))
            items.append(ArchivedItem(start_seq + len(items), str(path), _host(target), pages,
                                      manifest.get("crawled_at") or "",
                                      list(manifest.get("anchors") or [])))
        return items
    # No manifest: articles by role, continuations by the article they name.
    continuations: dict[str, list[_Response]] = defaultdict(list)
    for response in order:
        if response.role == "continuation" and response.article:
            continuations[response.article].append(response)
    for response in order:
        if response.role == "article":
            pages = [(response.url, response.offset)]
            pages += [(c.url, c.offset) for c in continuations.get(response.url, [])]
            items.append(ArchivedItem(start_seq + len(items), str(path), _host(response.url),
                                      pages, response.date.rstrip("Z")[:19]))
    return items


def read_items(paths: Iterable[str | Path]) -> list[ArchivedItem]:
    """Every archived article of ``paths``, in the crawl's extraction order."""
    items: list[ArchivedItem] = []
    for path in paths:
        items += _scan(Path(path), len(items))
    return items


def _decode_body(body: bytes, encoding: str) -> bytes:
    """Undo Content-Encoding as Scrapy's HttpCompressionMiddleware does (last first)."""
    for coding in reversed([c.strip().lower() for c in encoding.split(",") if c.strip()]):
        if coding in ("gzip", "x-gzip"):
            body = gzip.decompress(body)
        elif coding == "deflate":
            try:
                body = zlib.decompress(body)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)
        elif coding == "br":
            import brotli

            body = brotli.decompress(body)
        elif coding == "zstd":
            import zstandard

            body = zstandard.ZstdDecompressor().decompressobj().decompress(body)
        elif coding != "identity":
            break
    return body


def read_page(path: str | Path, offset: int) -> FetchedPage:
    """The response record at ``offset`` as the crawl handed it to the core."""
    with _open(Path(path)) as handle:
        handle.seek(offset)
        try:
            record = next(iter(ArchiveIterator(handle, check_digests=False)))
            url = record.rec_headers.get_header("WARC-Target-URI")
            http = record.http_headers
            body = record.raw_stream.read()
        except Exception as error:
            raise ArchiveError(f"{path}: unreadable record at byte {offset} ({error})") from None
    headers: dict[str, str] = {}
    for name, value in http.headers if http is not None else []:
        key = name.lower()
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    encoding = headers.pop("content-encoding", "")
    if encoding:
        try:
            body = _decode_body(body, encoding)
        except Exception as error:
            raise ArchiveError(f"{path}: cannot decode {encoding} body of {url} ({error})") \
                from None
    return FetchedPage(url=url, body=body, headers=headers)


# --------------------------------------------------------------------------- repair


def repair_warc(path: str | Path) -> int:
    """Cut a half-written last record (a killed writer); the number of bytes cut."""
    path = Path(path)
    good = 0
    with path.open("rb") as handle:
        iterator = ArchiveIterator(handle, check_digests=False)
        try:
            for record in iterator:
                record.raw_stream.read()
                iterator.read_to_end(record)
                good = iterator.get_record_offset() + iterator.get_record_length()
        except Exception:  # noqa: S110 - whatever follows the last whole record goes
            pass
    size = path.stat().st_size
    if good < size:
        with path.open("r+b") as handle:
            handle.truncate(good)
    return size - good


# --------------------------------------------------------------------------- cleaning


@dataclass
class CleanSummary:
    archives: int = 0
    items: int = 0
    records: int = 0
    not_articles: dict[str, int] = field(default_factory=dict)
    workers: int = 1


# One archived article as a task carries it: (seq, [(url, offset), ...], crawled_at, anchors).
_Entry = tuple[int, list[tuple[str, int]], str, list[str]]
# Articles per task: a worker hands back at most this many records at once.
CHUNK = 200


def _clean_chunk(archive: str, entries: list[_Entry],
                 templates: TemplateBook) -> tuple[list[tuple[int, str, str]], TemplateBook]:
    """Extract some of one site's articles, in order, with the site template learned so
    far; the results (``(seq, not-article reason or "", record JSON)``) and the template
    to carry on with."""
    from vendornews import worker
    from vendornews.record import NotArticle

    worker.use(templates)
    out: list[tuple[int, str, str]] = []
    for seq, refs, crawled_at, anchors in entries:
        pages = [read_page(archive, offset) for _url, offset in refs]
        result = worker.extract(pages, crawled_at, anchors)
        if isinstance(result, NotArticle):
            out.append((seq, result.reason, ""))
        else:
            out.append((seq, "", json.dumps(result, ensure_ascii=False)))
    return out, worker.templates()


def _site_chunks(items: Sequence[ArchivedItem],
                 chunk: int) -> list[tuple[str, list[list[_Entry]]]]:
    """Each (archive, site)'s articles in order, cut into chunks; largest sites first (the
    long ones start early and the pool ends together)."""
    groups: dict[tuple[str, str], list[_Entry]] = {}
    for item in items:
        groups.setdefault((item.archive, item.host), []).append(
            (item.seq, item.pages, item.crawled_at, item.anchors))
    ordered = sorted(groups.items(), key=lambda kv: -sum(len(e[1]) for e in kv[1]))
    return [(archive, [entries[i:i + chunk] for i in range(0, len(entries), chunk)])
            for (archive, _host), entries in ordered]


class _Spill:
    """Finished results on disk, keyed by crawl order, so memory stays flat however long
    the archive: the records are written in crawl order once all are done."""

    def __init__(self, folder: str) -> None:
        self.db = sqlite3.connect(str(Path(folder) / "results.sqlite"))
        self.db.execute("CREATE TABLE done (seq INTEGER PRIMARY KEY, reason TEXT, record TEXT)")

    def add(self, results: list[tuple[int, str, str]]) -> None:
        self.db.executemany("INSERT INTO done VALUES (?, ?, ?)", results)

    def in_order(self) -> Iterator[tuple[str, str]]:
        yield from self.db.execute("SELECT reason, record FROM done ORDER BY seq")


def _run_chunks(sites: list[tuple[str, list[list[_Entry]]]], workers: int, spill: _Spill,
                done: Any) -> None:
    """Every chunk, each site's in order with its template carried from chunk to chunk;
    sites side by side in ``workers`` processes (1: in this process)."""
    from vendornews import keywords, worker

    if workers == 1:
        keywords.load()
        for archive, chunks in sites:
            templates = TemplateBook()
            for chunk in chunks:
                results, templates = _clean_chunk(archive, chunk, templates)
                spill.add(results)
                done(len(chunk))
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=worker.start,
                             initargs=(os.getpid(),)) as pool:
        pending: dict[Future[tuple[list[tuple[int, str, str]], TemplateBook]],
                      tuple[str, list[list[_Entry]], int]] = {}
        for archive, chunks in sites:
            future = pool.submit(_clean_chunk, archive, chunks[0], TemplateBook())
            pending[future] = (archive, chunks, 0)
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                archive, chunks, index = pending.pop(future)
                results, templates = future.result()
                spill.add(results)
                done(len(chunks[index]))
                if index + 1 < len(chunks):
                    following = pool.submit(_clean_chunk, archive, chunks[index + 1], templates)
                    pending[following] = (archive, chunks, index + 1)


def clean_archives(paths: Sequence[str | Path], out_path: str | Path,
                   workers: int | None = None, progress: bool = True,
                   dup_threshold: float | None = None, chunk: int = CHUNK) -> CleanSummary:
    """Extract every archived article of ``paths`` again into JSONL ``out_path``.

    Records come in the crawl's order, each with a ``dup_group`` from a fresh
    near-duplicate index fed in that order. ``workers`` processes (default: every core);
    a progress bar on a terminal (stderr), none in a pipe or with ``progress=False``.
    Each site's articles go to the workers ``chunk`` at a time, its template handed on.
    """
    from vendornews.dedup import DEFAULT_THRESHOLD, DupIndex

    items = read_items(paths)
    sites = _site_chunks(items, chunk)
    workers = max(1, min(workers or os.cpu_count() or 1, len(sites) or 1))
    summary = CleanSummary(archives=len(paths), items=len(items), workers=workers)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    not_articles: dict[str, int] = defaultdict(int)
    bar = tqdm(total=len(items), unit="article", desc="clean", file=sys.stderr,
               disable=not (progress and sys.stderr.isatty()))
    with tempfile.TemporaryDirectory(prefix="vendornews-clean-") as folder:
        spill = _Spill(folder)
        try:
            _run_chunks(sites, workers, spill, bar.update)
        finally:
            bar.close()
        with DupIndex(":memory:", threshold=dup_threshold or DEFAULT_THRESHOLD) as index, \
                out.open("w", encoding="utf-8") as handle:
            for reason, line in spill.in_order():
                if reason:
                    not_articles[reason] += 1
                    continue
                record = json.loads(line)
                record["dup_group"] = index.assign(record["url"], record.get("body") or "",
                                                   record.get("content_hash"))
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                summary.records += 1
        spill.db.close()
    summary.not_articles = dict(not_articles)
    return summary


# --------------------------------------------------------------------------- CLI


def _cmd_clean(args: argparse.Namespace) -> int:
    summary = clean_archives(args.archives, args.output, workers=args.workers,
                             progress=not args.quiet)
    dropped = sum(summary.not_articles.values())
    print(f"{summary.records} records from {summary.items} archived articles in "
          f"{summary.archives} archive(s) -> {args.output}"
          + (f" ({dropped} not articles)" if dropped else ""), file=sys.stderr)
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``clean ARCHIVE... -o OUT.jsonl [--workers N]`` to the CLI's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "clean", help="extract records again from a crawl's WARC archives, on every core")
    parser.add_argument("archives", nargs="+", metavar="ARCHIVE",
                        help="WARC files a crawl wrote (output/warc/*.warc.gz)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.jsonl",
                        help="JSONL file of the records")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="worker processes (default: one per core)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=_cmd_clean)
    return parser
