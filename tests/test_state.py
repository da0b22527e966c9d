"""Crawl state (vendornews.state), URL identity (vendornews.urls) and the run journal."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from vendornews.state import (
    CrawlState,
    Journal,
    JournalLocked,
    RunInfo,
    SqliteCrawlState,
    StateError,
    holding_dead_journal,
    journal_is_live,
    read_journal,
    register,
    repair_journal,
    rewrite_journal,
)
from vendornews.urls import canonical_url, clean_url, has_session_id, list_key, section_key

# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(("url", "clean"), [
    ("http://a.cn/n/1.html?utm_source=wx&utm_medium=x", "http://a.cn/n/1.html"),
    ("http://a.cn/show.asp?id=3&spm=a2c.1&from=timeline#top", "http://a.cn/show.asp?id=3"),
    ("http://a.cn/list.asp?from=20&classid=2", "http://a.cn/list.asp?from=20&classid=2"),
    ("http://a.cn/a.php?fbclid=Iw1&gclid=Cj0&p=7", "http://a.cn/a.php?p=7"),
    ("http://a.cn/n/list.jsp;jsessionid=0A1B2C3D4E5F?page=2", "http://a.cn/n/list.jsp?page=2"),
    ("http://a.cn/n.php?PHPSESSID=9f8e7d6c5b4a39281706&id=5", "http://a.cn/n.php?id=5"),
    ("http://a.cn/n.php?id=5&sid=k2j3h4g5f6d7s8a9q0w1", "http://a.cn/n.php?id=5"),
    ("http://a.cn/n.php?sid=3&id=5", "http://a.cn/n.php?sid=3&id=5"),  # a section id
    ("http://a.cn/(S(abcdefghij0123456789))/news.aspx?id=1", "http://a.cn/news.aspx?id=1"),
    # raw escapes (GBK) and parameter order kept: the site gets a URL it wrote
    ("http://a.cn/s.asp?kw=%C4%E3&b=2&a=1", "http://a.cn/s.asp?kw=%C4%E3&b=2&a=1"),
])
def test_clean_url_drops_tracking_and_session_ids(url: str, clean: str) -> None:
    assert clean_url(url) == clean


def test_canonical_url_is_one_key_per_page() -> None:
    forms = [
        "http://Example.CN:80/news/show.asp?id=3&classid=2",
        "http://example.cn/news/show.asp?classid=2&id=3&utm_campaign=x#comments",
        "http://example.cn/news/show.asp?classid=2&id=3&jsessionid=ABCDEF0123456789AB",
    ]
    assert len({canonical_url(u) for u in forms}) == 1
    assert canonical_url(forms[0]) == "http://example.cn/news/show.asp?classid=2&id=3"
    assert canonical_url("https://a.cn:8443/x") == "https://a.cn:8443/x"
    assert canonical_url("http://a.cn") == "http://a.cn/"


def test_session_ids_are_detected() -> None:
    assert has_session_id("http://a.cn/x.jsp;jsessionid=1234")
    assert has_session_id("http://a.cn/x?ASPSESSIONIDQQ=ABCD")
    assert not has_session_id("http://a.cn/x?sid=3")
    assert not has_session_id("http://a.cn/news/123.html")


def test_section_key_groups_the_pages_of_one_list() -> None:
    assert section_key("http://a.cn/a/news/list_1_7.html") == section_key(
        "http://a.cn/a/news/list_1_8.html") == "a.cn/a/news/list_1_#.html"
    assert section_key("http://a.cn/a/news/list_1_2.html") != section_key(
        "http://a.cn/a/news/list_2_2.html")
    assert section_key("http://a.cn/news/page/7/") == section_key("http://a.cn/news/page/99/")
    assert section_key("http://a.cn/list.asp?classid=3&page=2&sort=asc") == section_key(
        "http://a.cn/list.asp?page=9&classid=3&r=0.123") == "a.cn/list.asp?classid=3"
    assert section_key("http://a.cn/list.asp?classid=3") != section_key(
        "http://a.cn/list.asp?classid=4")
    # a calendar's days are one section
    assert section_key("http://a.cn/news/2023/05/01/") == section_key(
        "http://a.cn/news/2023/06/17/")


def test_list_key_ignores_sort_orders_and_cache_busters() -> None:
    assert list_key("http://a.cn/news/list_1.html?order=desc&r=0.52") == list_key(
        "http://a.cn/news/list_1.html;jsessionid=0123456789ABCDEF") == "a.cn/news/list_1.html"
    assert list_key("http://a.cn:8080/list.asp?page=2&classid=3&sort=t") == (
        "a.cn:8080/list.asp?classid=3&page=2")
    assert list_key("http://a.cn/cal.php?date=2024-05-01") != list_key(
        "http://a.cn/cal.php?date=2024-05-02")


# --------------------------------------------------------------------------- state


def test_sqlite_state_implements_the_protocol(tmp_path: Path) -> None:
    with SqliteCrawlState(tmp_path / "s.sqlite") as state:
        assert isinstance(state, CrawlState)


def test_record_lookup_and_change_history(tmp_path: Path) -> None:
    path = tmp_path / "out" / "state.sqlite"
    state = SqliteCrawlState(path)
    state.start_run(RunInfo("r1", "2024-01-01T00:00:00", sites=("a.cn",)))
    url = "http://a.cn/news/1.html?utm_source=x"
    assert state.lookup(url) is None and state.seen(url) is None
    assert state.record(url, "h1", "a.cn", "r1", "new", when="2024-01-01T00:00:05")
    # idempotent: the same record marked twice (a repair) counts once
    assert not state.record(url, "h1", "a.cn", "r1", "new", when="2024-01-01T00:00:05")
    assert state.seen("http://a.cn/news/1.html") == "h1"
    state.record_not_article("http://a.cn/about.html", "a.cn", "r1")
    assert state.seen("http://a.cn/about.html") == ""
    state.end_run("r1", "finished", ended="2024-01-01T00:01:00")
    state.close()

    state = SqliteCrawlState(path)  # persisted
    state.start_run(RunInfo("r2", "2024-01-02T00:00:00", sites=("a.cn",)))
    assert state.record(url, "h2", "a.cn", "r2", "changed", when="2024-01-02T00:00:05")
    state.mark_checked("http://a.cn/news/2.html", "a.cn", "r2")
    known = state.lookup(url)
    assert known is not None
    assert (known.content_hash, known.first_seen, known.last_changed, known.run_id) == (
        "h2", "2024-01-01T00:00:05", "2024-01-02T00:00:05", "r2")
    history = state.site_history("a.cn")
    assert [(h.run_id, h.new, h.changed, h.unchanged, h.not_articles, h.status)
            for h in history] == [("r2", 0, 1, 1, 0, "running"),
                                  ("r1", 1, 0, 0, 1, "finished")]
    assert history[1].complete and not history[0].complete
    assert state.last_site_run("a.cn", before="r2") == history[1]
    state.close()


def test_aliases_and_capped_runs(tmp_path: Path) -> None:
    with SqliteCrawlState(tmp_path / "s.sqlite") as state:
        state.start_run(RunInfo("r1", "2024-01-01T00:00:00", sites=("a.cn",)))
        state.record("http://a.cn/new/5.html", "h", "a.cn", "r1", "new",
                     aliases=["http://a.cn/old/5.html"])
        state.add_alias("http://a.cn/older/5.html", "http://a.cn/new/5.html")
        assert state.seen("http://a.cn/old/5.html") == state.seen("http://a.cn/older/5.html") == "h"
        state.add_counts("r1", "a.cn", pages=7)
        state.set_capped("r1", "a.cn")
        state.end_run("r1", "finished")
        (run,) = state.site_history()
        assert run.pages == 7 and run.capped and not run.complete


def test_unfinished_runs_and_other_tables_untouched(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE dup_members (member TEXT)")
    db.execute("INSERT INTO dup_members VALUES ('x')")
    db.commit()
    db.close()
    with SqliteCrawlState(path) as state:
        state.start_run(RunInfo("r1", "2024-01-01T00:00:00", journal="j1"))
        state.start_run(RunInfo("r2", "2024-01-02T00:00:00", journal="j2"))
        state.end_run("r1", "finished")
        assert [r.run_id for r in state.unfinished_runs()] == ["r2"]
        assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert sqlite3.connect(path).execute("SELECT member FROM dup_members").fetchall() == [("x",)]


# --------------------------------------------------------------------------- journal


def _hold(path: str, ready: Event, done: Event) -> None:
    journal = Journal(Path(path))
    ready.set()
    done.wait(10)
    journal.close()


def test_journal_is_locked_while_its_run_lives(tmp_path: Path) -> None:
    path = tmp_path / "news-1.jsonl"
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(str(path), ready, done))
    holder.start()
    assert ready.wait(10)
    assert journal_is_live(path)
    with pytest.raises(JournalLocked):
        Journal(path)
    holder.kill()  # SIGKILL: the kernel drops the lock
    holder.join(10)
    assert not journal_is_live(path)
    Journal(path).close()


def test_a_dead_journal_is_repaired_by_one_process_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "news-1.jsonl"
    Journal(path).close()  # its run is gone
    ctx = multiprocessing.get_context("fork")
    with holding_dead_journal(path) as held:
        assert held
        other = ctx.Process(target=_expect_held_elsewhere, args=(str(path),))
        other.start()
        other.join(10)
        assert other.exitcode == 0  # the other process saw the repair going on
        # The repair replaces the journal file: still nobody else gets in.
        rewrite_journal(path, [{"url": "http://a.cn/1.html"}])
        other = ctx.Process(target=_expect_held_elsewhere, args=(str(path),))
        other.start()
        other.join(10)
        assert other.exitcode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["news-1.jsonl"]  # no lock file left
    with holding_dead_journal(path) as held:
        assert held  # done: free again (a repair killed midway frees it too)
    with holding_dead_journal(tmp_path / "never-written.jsonl") as held:
        assert held


def _expect_held_elsewhere(path: str) -> None:
    with holding_dead_journal(path) as held:
        os._exit(0 if not held else 1)


def test_journal_lines_and_repair_of_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "news-1.jsonl"
    journal = Journal(path)
    journal.append({"url": "http://a.cn/1.html", "title": "中文标题"})
    journal.append({"url": "http://a.cn/2.html"})
    journal.close()
    assert "中文标题" in path.read_text("utf-8")  # real characters, not \u escapes
    with path.open("ab") as handle:
        handle.write(b'{"url": "http://a.cn/3.ht')  # killed mid-line
    assert [r["url"] for r in read_journal(path)] == ["http://a.cn/1.html", "http://a.cn/2.html"]
    records, cut = repair_journal(path)
    assert len(records) == 2 and cut == len(b'{"url": "http://a.cn/3.ht')
    assert path.read_bytes().endswith(b"}\n")
    assert repair_journal(path) == (records, 0)
    # a complete line that is not JSON goes; the lines after it stay
    with path.open("ab") as handle:
        handle.write(b'{"url": \n{"url": "http://a.cn/4.html"}\n{"url": "http')
    records, cut = repair_journal(path)
    assert [json.loads(line) for line in path.read_text("utf-8").splitlines()] == records
    assert [r["url"] for r in records][-1] == "http://a.cn/4.html" and len(records) == 3


# --------------------------------------------------------------------------- CLI


def _history(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="vendornews")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["history", *argv])
    return int(args.run(args))


def test_history_subcommand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "state.sqlite"
    with SqliteCrawlState(path) as state:
        state.start_run(RunInfo("r1", "2024-01-01T00:00:00", sites=("a.cn", "b.cn")))
        state.record("http://a.cn/1.html", "h", "a.cn", "r1", "new")
        state.add_counts("r1", "a.cn", pages=12)
        state.end_run("r1", "finished", ended="2024-01-01T00:05:00")
    assert _history("--state", str(path), "--site", "a.cn") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "site", "status", "ended", "pages", "new", "changed",
                                "unchanged", "not_articles"]
    assert lines[1].split() == ["r1", "a.cn", "finished", "2024-01-01T00:05:00", "12", "1", "0",
                                "0", "0"]
    assert len(lines) == 2
    with pytest.raises(StateError, match="no such state file"):
        _history("--state", str(tmp_path / "none.sqlite"))
    (tmp_path / "junk.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(StateError, match="not a crawl state file"):
        _history("--state", str(tmp_path / "junk.sqlite"))


def test_run_stamps_never_share_files(tmp_path: Path) -> None:
    from pipelines.state import run_stamp

    class Spider:  # what run_stamp reads of a spider
        output_dir = str(tmp_path)
        crawler = None

    first = run_stamp(Spider())  # type: ignore[arg-type]
    (tmp_path / f"news-{first}.jsonl").touch()
    second = run_stamp(Spider())  # type: ignore[arg-type]
    assert second > first  # the same second is taken: the next one
    one = Spider()
    assert run_stamp(one) == run_stamp(one)  # type: ignore[arg-type]
