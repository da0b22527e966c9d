"""The ``vendornews`` command: offline extraction and inspection.

Every failure the user can cause (a missing file, a directory, bad arguments) ends with
a one-line message on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import codecs
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from vendornews.clean import clean_page
from vendornews.extract import extract_article
from vendornews.frontier import register as register_frontier
from vendornews.record import FetchedPage, NotArticle
from vendornews.report import ReportInputError
from vendornews.report import register as register_report
from vendornews.state import StateError
from vendornews.state import register as register_history
from vendornews.template import TemplateBook
from vendornews.textdump import dump_to_html
from vendornews.warc import ArchiveError
from vendornews.warc import register as register_clean


class UsageError(Exception):
    """A problem with the user's input, reported in one line."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad command line is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _read_page(path: Path, url: str | None, encoding: str | None) -> FetchedPage:
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"--encoding {encoding}: unknown encoding") from None
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, give page files")
    data = path.read_bytes()
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UsageError(f"{path}: binary data, not an HTML page or text dump")
    page_url = url or path.resolve().as_uri()
    if path.suffix.lower() == ".txt":
        from vendornews.decode import decode_html

        text, _ = decode_html(data, encoding=encoding)
        return FetchedPage(
            page_url,
            dump_to_html(text).encode("utf-8"),
            {"content-type": "text/html; charset=utf-8"},
        )
    headers = {"content-type": f"text/html; charset={encoding}"} if encoding else {}
    return FetchedPage(page_url, data, headers)


def _cmd_extract(args: argparse.Namespace) -> int:
    if args.url and len(args.files) > 1:
        raise UsageError("--url names one page: give one FILE with it")
    pages = [_read_page(Path(f), args.url, args.encoding) for f in args.files]
    book = TemplateBook()
    if args.learn_template and len(pages) > 1:
        for page in pages:
            clean_page(page, template=book.for_site(_host(page.url)))
        for template in book.sites.values():
            template.frozen = True
    # A progress bar on a terminal only: in a pipe stderr stays quiet.
    shown = len(pages) > 1 and sys.stderr.isatty()
    for page in tqdm(pages, unit="page", disable=not shown, file=sys.stderr):
        learned = book.sites.get(_host(page.url)) if args.learn_template else None
        result = extract_article([page], template=learned)
        if isinstance(result, NotArticle):
            out = {"url": result.url, "not_article": result.reason}
        else:
            out = result.to_dict()
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).hostname or url.rsplit("/", 1)[0]


def _cmd_explain(args: argparse.Namespace) -> int:
    page = _read_page(Path(args.file), args.url, args.encoding)
    cleaned = clean_page(page)
    result = extract_article([page])
    write = sys.stdout.write
    write(f"# encoding: {cleaned.encoding}\n")
    # Lines the record took out of the body after cleaning: the headline repeated at its
    # top (title.*), credits read into fields (meta.*; a report mark is cut off its line).
    late = [] if isinstance(result, NotArticle) else [
        r for r in result.removed if r.rule.startswith(("title.", "meta."))]
    late_drops = {r.text: r.rule for r in late}
    marks = [r.text for r in late if r.rule == "meta.report-mark"]
    for decision in cleaned.decisions:
        text = decision.line.text
        rule = decision.rule or late_drops.get(text)
        status = "KEEP" if rule is None else "DROP"
        if rule is None and any(text.startswith(mark) and text != mark for mark in marks):
            status, rule = "CUT", "meta.report-mark"  # the mark goes, the line stays
        if rule is None or decision.in_main or args.all:
            write(f"{status:4}  {rule or '':28}  {text[:100]}\n")
    if isinstance(result, NotArticle):
        write(f"# not an article: {result.reason}\n")
    else:
        write(
            f"# title: {result.title}\n# published: {result.published}\n"
            f"# source: {result.source}\n# author: {result.author}\n"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vendornews", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    extract = commands.add_parser("extract", help="print one JSON record per page file")
    extract.add_argument("files", nargs="+", metavar="FILE", help="HTML page or .txt text dump")
    extract.add_argument("--url", help="the page's URL (one FILE only)")
    extract.add_argument("--encoding", help="charset, as an HTTP header would give it")
    extract.add_argument(
        "--learn-template",
        action="store_true",
        help="learn lines repeated across the given pages of one site",
    )
    extract.set_defaults(run=_cmd_extract)

    explain = commands.add_parser(
        "explain", help="show each line of a page, kept or dropped, and why"
    )
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("--url")
    explain.add_argument("--encoding")
    explain.add_argument(
        "--all", action="store_true", help="also list lines outside the main region"
    )
    explain.set_defaults(run=_cmd_explain)

    register_report(commands)
    register_clean(commands)
    register_history(commands)
    register_frontier(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except (UsageError, ReportInputError, ArchiveError, StateError) as error:
        print(f"vendornews: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
