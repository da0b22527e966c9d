"""Resume without loss: a crawl killed with SIGKILL and started again with the same command.

The union of the records both runs exported (their journals, ``news-<time>.jsonl``) must be
a clean crawl's records: every article once, no half-written line, and the killed run's CSV
and Parquet rebuilt by the second run so that ``vendornews.load`` reads every run.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sitefarm import ROOT, serving
from test_incremental import SITE, build_site, crawl_command, number_of, run_crawl

from vendornews import load
from vendornews.state import SqliteCrawlState, read_journal
from vendornews.warc import read_items

NUMBERS = list(range(1, 31))
MULTIPAGE = {7: 3, 15: 2, 26: 2}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("resume-site")
    build_site(folder, NUMBERS, pages_of=MULTIPAGE)
    return folder


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_after(command: list[str], out: Path, records: int, timeout: float = 60) -> Path | None:
    """Start a crawl and SIGKILL it once its journal holds ``records`` lines (0: as soon as
    the journal exists); the killed run's journal."""
    before = set(out.glob("news-*.jsonl")) if out.is_dir() else set()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    journal = None
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if journal is None and out.is_dir():
                new = set(out.glob("news-*.jsonl")) - before
                journal = new.pop() if new else None
            if journal is not None and _lines(journal) >= records:
                break
            time.sleep(0.005)
        assert process.poll() is None, "the crawl ended before it could be killed"
        workers = _children(process.pid)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    # its extraction workers end with it (within a few seconds), not left holding memory
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    return journal


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux /proc)."""
    tasks = Path(f"/proc/{pid}/task").glob("*/children")
    return [int(child) for task in tasks for child in task.read_text().split()]


def jsonl_records(out: Path) -> list[dict[str, object]]:
    records = []
    for path in sorted(out.glob("news-*.jsonl")):
        for line in path.read_bytes().split(b"\n")[:-1]:
            records.append(json.loads(line))  # every line whole and valid
        assert path.read_bytes().endswith(b"\n") or path.stat().st_size == 0
    return records


@pytest.mark.parametrize("kills", [[0], [14], [3, 9]], ids=["at-start", "after-14", "twice"])
def test_killed_crawl_resumed_by_the_same_command_loses_and_repeats_nothing(
        site: Path, tmp_path: Path, kills: list[int]) -> None:
    out, state = tmp_path / "out", tmp_path / "state.sqlite"
    with serving(site) as server:
        start = [f"{server.origin}/{SITE}/"]
        command = crawl_command(start, out, state)
        killed = []
        for count in kills:
            journal = kill_after(command, out, count)
            assert journal is not None
            killed.append(journal)
            warc = out / "warc" / journal.with_suffix(".warc.gz").name.removeprefix("news-")
            if warc.exists():  # whole records only (one write each): readable as it is
                items = read_items([warc])
                assert {number_of(str(r["url"])) for r in read_journal(journal)} <= {
                    number_of(item.pages[0][0]) for item in items}
        if kills == [14]:
            # as if the kill had come in the middle of writing a line
            with killed[0].open("ab") as handle:
                handle.write(b'{"url": "' + start[0].encode() + b'a/news/99.ht')
        final = run_crawl(start, out, state)
    assert final.returncode == 0, final.log[-3000:]
    if any(_lines(journal) for journal in killed):
        assert "repaired killed run" in final.log
    records = jsonl_records(out)
    urls = [str(r["url"]) for r in records]
    assert len(urls) == len(set(urls)), "an article was exported twice"
    assert sorted(number_of(u) for u in urls) == NUMBERS
    assert {r["change"] for r in records} == {"new"}
    assert {number_of(str(r["url"])): r["pages"] for r in records
            if number_of(str(r["url"])) in MULTIPAGE} == MULTIPAGE
    # the killed runs' CSV and Parquet hold their journals' records again
    for journal in killed:
        lines = _lines(journal)
        if not lines and not journal.with_suffix(".parquet").exists():
            continue  # killed before its feeds were opened
        assert pq.read_table(journal.with_suffix(".parquet")).num_rows == lines
        with journal.with_suffix(".csv").open(encoding="utf-8-sig", newline="") as handle:
            assert len(list(csv.DictReader(handle))) == lines
    frame = load(out)  # the cumulative table over every run
    assert len(frame) == len(NUMBERS) and frame["url"].is_unique
    with SqliteCrawlState(state) as db:
        statuses = [run.status for run in db.runs()]
        # a run killed within milliseconds of its start may not have been recorded at all
        # (its journal, created first, is empty): nothing to repair then
        assert statuses[-1] == "finished" and set(statuses[:-1]) <= {"killed"}
        assert len(kills) - (kills[0] == 0) <= len(statuses) - 1 <= len(kills)
        assert db.site_history(limit=1)[0].new == len(NUMBERS) - sum(
            _lines(j) for j in killed)
