"""The raw archive: a crawl's WARC, and ``clean`` re-extracting it offline on every core.

One crawl of the demo sites, each on its own loopback address (three hosts, so cleaning has
three sites to spread over workers), feeds the tests: the archive must hold every response
with its role, and cleaning it must give the crawl's records exactly.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sitefarm import DEMO, ROOT, serve_demo
from terminal import run_on_terminal
from test_incremental import Run, run_crawl
from warcio.archiveiterator import ArchiveIterator
from warcio.warcwriter import WARCWriter

from vendornews.warc import (
    ARTICLE_HEADER,
    ROLE_HEADER,
    ArchiveError,
    WarcArchive,
    clean_archives,
    read_items,
    read_page,
    register,
    repair_warc,
)


@dataclass
class Archived:
    run: Run
    warc: Path
    tmp: Path
    origins: list[str]


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archived]:
    tmp = tmp_path_factory.mktemp("warc")
    with ExitStack() as stack:
        starts, origins = [], []
        for number, name in enumerate(("dongfang", "hengtong", "lixin"), start=1):
            server = serve_demo.make_server(DEMO, host=f"127.0.0.{number}")
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True).start()
            starts.append(f"{server.origin}/{name}/")
            origins.append(server.origin)
        run = run_crawl(starts, tmp / "out", tmp / "state.sqlite", "-s", "DEPTH_LIMIT=2")
    assert run.returncode == 0, run.log[-3000:]
    (warc,) = (tmp / "out" / "warc").glob("*.warc.gz")
    yield Archived(run, warc, tmp, origins)


def warc_records(path: Path) -> list[Any]:
    out = []
    with path.open("rb") as handle:
        for record in ArchiveIterator(handle):
            http = record.http_headers
            out.append((record.rec_type, record.rec_headers, http.get_statuscode() if http
                        else None))
    return out


def test_archive_is_named_after_the_run_and_holds_every_response(archived: Archived) -> None:
    assert archived.run.journal is not None
    assert archived.warc.name == archived.run.journal.name.removeprefix("news-").replace(
        ".jsonl", ".warc.gz")
    records = warc_records(archived.warc)
    assert records[0][0] == "warcinfo"
    responses = [(h.get_header("WARC-Target-URI"), h.get_header(ROLE_HEADER), status)
                 for kind, h, status in records if kind == "response"]
    assert len(responses) == archived.run.stats["vendornews/warc/responses"]
    roles = {role for _, role, _ in responses}
    assert roles == {"robots", "meta", "list", "article", "continuation"}
    statuses = {status for *_, status in responses}
    assert {"200", "301", "503"} <= statuses  # redirects and retries are archived
    requests = [h for kind, h, _ in records if kind == "request"]
    assert len(requests) == len(responses)
    assert all(h.get_header("WARC-Concurrent-To") for h in requests)
    continuations = {h.get_header("WARC-Target-URI"): h.get_header(ARTICLE_HEADER)
                     for kind, h, _ in records
                     if kind == "response" and h.get_header(ROLE_HEADER) == "continuation"}
    assert continuations[archived.origins[1] + "/hengtong/a/news/104_3.html"] == (
        archived.origins[1] + "/hengtong/a/news/104.html")


def test_crawled_at_is_the_fetch_time_of_page_one(archived: Archived) -> None:
    dates = {h.get_header("WARC-Target-URI"): h.get_header("WARC-Date")
             for kind, h, _ in warc_records(archived.warc) if kind == "response"}
    for record in archived.run.records:
        assert dates[record["url"]] == record["crawled_at"] + "Z"


def test_clean_gives_the_crawls_records_on_several_workers(archived: Archived) -> None:
    out = archived.tmp / "clean.jsonl"
    summary = clean_archives([archived.warc], out, workers=2, progress=False)
    total = len(archived.run.records)
    assert summary.workers == 2 and summary.items == summary.records == total
    cleaned = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    crawled = [{k: v for k, v in r.items() if k != "change"} for r in archived.run.records]
    assert cleaned == crawled


def test_clean_in_small_chunks_hands_each_sites_template_on(archived: Archived) -> None:
    """Chunks of 2 articles, sites on 2 workers: the same records as the crawl's (the
    template learned from a site's earlier chunks goes with its next one)."""
    out = archived.tmp / "chunks.jsonl"
    summary = clean_archives([archived.warc], out, workers=2, progress=False, chunk=2)
    cleaned = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    crawled = [{k: v for k, v in r.items() if k != "change"} for r in archived.run.records]
    assert summary.records == len(crawled) and cleaned == crawled


def _without_manifests(source: Path, target: Path) -> None:
    with source.open("rb") as handle, target.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for record in ArchiveIterator(handle):
            if record.rec_type != "metadata":
                writer.write_record(record)


def test_an_archive_without_manifests_is_read_by_roles(archived: Archived) -> None:
    bare = archived.tmp / "bare.warc.gz"
    _without_manifests(archived.warc, bare)
    items = read_items([bare])
    assert len(items) == len(archived.run.records)
    pages = {item.pages[0][0]: len(item.pages) for item in items}
    assert pages[archived.origins[1] + "/hengtong/a/news/104.html"] == 3
    out = archived.tmp / "bare.jsonl"
    clean_archives([bare], out, workers=1, progress=False)
    cleaned = {r["url"]: r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    assert set(cleaned) == {r["url"] for r in archived.run.records}
    for record in archived.run.records:  # WARC-Date is the crawl's crawled_at
        assert cleaned[record["url"]]["crawled_at"] == record["crawled_at"]


def test_compressed_bodies_are_stored_raw_and_decoded_when_read(tmp_path: Path) -> None:
    html = "<html><body><h1>标题</h1><p>正文内容</p></body></html>".encode()
    archive = WarcArchive(tmp_path / "a.warc.gz")
    archive.write_response("http://a.cn/1.html", 200,
                           [("Content-Type", "text/html; charset=utf-8"),
                            ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")],
                           gzip.compress(html), date="2024-05-01T08:00:00", role="article")
    archive.close()
    (item,) = read_items([tmp_path / "a.warc.gz"])
    assert item.crawled_at == "2024-05-01T08:00:00"
    page = read_page(tmp_path / "a.warc.gz", item.pages[0][1])
    assert page.body == html
    assert page.headers == {"content-type": "text/html; charset=utf-8"}


def test_a_half_written_last_record_is_skipped_and_repaired(archived: Archived) -> None:
    broken = archived.tmp / "broken.warc.gz"
    data = archived.warc.read_bytes()
    cut = io.BytesIO()
    WARCWriter(cut, gzip=True).write_record(
        WARCWriter(io.BytesIO()).create_warc_record("http://x/", "resource",
                                                    payload=io.BytesIO(b"x" * 5000),
                                                    length=5000))
    broken.write_bytes(data + cut.getvalue()[:40])
    assert len(read_items([broken])) == len(archived.run.records)  # a killed crawl's archive
    assert repair_warc(broken) == 40
    assert broken.read_bytes() == data
    assert repair_warc(broken) == 0


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"", "empty file, not a WARC archive"),
    (b"<html>not an archive</html>\n" * 20, "not a readable WARC archive"),
    (gzip.compress(b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\nabc"),
     "not a readable WARC archive"),
])
def test_broken_archives_are_one_line_errors(tmp_path: Path, content: bytes | None,
                                             message: str) -> None:
    path = tmp_path / "x.warc.gz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ArchiveError, match=message) as error:
        clean_archives([path], tmp_path / "out.jsonl", progress=False)
    assert "\n" not in str(error.value) and str(path) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_clean_subcommand(archived: Archived) -> None:
    parser = argparse.ArgumentParser(prog="vendornews")
    register(parser.add_subparsers(dest="command", required=True))
    out = archived.tmp / "cli.jsonl"
    args = parser.parse_args(["clean", str(archived.warc), "-o", str(out), "--workers", "1",
                              "-q"])
    assert args.run(args) == 0
    assert len(out.read_text("utf-8").splitlines()) == len(archived.run.records)


_PROGRESS = ("from vendornews.warc import clean_archives; import sys; "
             "clean_archives([sys.argv[1]], sys.argv[2], workers=1)")


def test_progress_bar_on_a_terminal_only(archived: Archived) -> None:
    piped = subprocess.run([sys.executable, "-c", _PROGRESS, str(archived.warc),
                            str(archived.tmp / "p1.jsonl")], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert "article" not in piped.stderr
    done, shown = run_on_terminal([sys.executable, "-c", _PROGRESS, str(archived.warc),
                                   str(archived.tmp / "p2.jsonl")], cwd=ROOT)
    assert done.returncode == 0
    total = len(archived.run.records)
    assert b"clean: 100%" in shown and f"{total}/{total}".encode() in shown
