"""Scale-out: ``vendor_news`` workers sharing one Redis frontier (a throw-away redis-server on
a free 127.0.0.1 port, see scripts/redis_server.py).

The end-to-end test feeds the demo sites with ``vendornews enqueue``, runs two worker
processes, SIGKILLs one of them once it has exported 3 records, checks that the other one
finishes the crawl and restarts the killed one (which settles its journal): the union of their
JSONL exports is the single-process crawl, each article exactly once. The other tests pin
the frontier's Redis semantics (reliable pop, ack, reclaim of a dead worker's work and claims,
settling a killed worker's journal) without Scrapy processes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sitefarm import DEMO, ROOT

from vendornews.frontier import Frontier, FrontierKeys, article_key, connect
from vendornews.frontier import main as frontier_main
from vendornews.state_redis import RedisCrawlState

# The spider the workers run: vendor_news itself, on the Redis frontier when REDIS_URL is set.
SPIDER = "vendor_news"

EXPECTED = {line.strip() for line in (DEMO / "expected_urls.txt").read_text("utf-8").splitlines()
            if line.strip() and not line.startswith("#")}

if shutil.which("redis-server") is None:
    if os.environ.get("CI"):
        raise RuntimeError("redis-server missing: scripts/install_redis.sh installs it")
    pytest.skip("redis-server missing (scripts/install_redis.sh)", allow_module_level=True)


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


redis_server = _load_script("redis_server")


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server.running(tmp_path_factory.mktemp("redis")) as url:
        yield url


def target(url: str) -> str:
    path, _, query = url.split("://", 1)[1].partition("/")[2].partition("?")
    return "/" + path + ("?" + query if query else "")


def read_jsonl(folder: Path) -> list[dict[str, Any]]:
    """Records of a worker's JSONL export; a line cut short by SIGKILL is not a record."""
    records = []
    for file in folder.glob("news-*.jsonl"):
        for line in file.read_text("utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                records.append(json.loads(line))
    return records


def same_body(body: str, other: str) -> bool:
    """The same article text, but for a line or two of site template (nav labels): each
    process learns a site's repeated lines from the pages it has seen, so the workers and the
    single process may each drop one more or one fewer such line."""
    lines, other_lines = body.splitlines(), other.splitlines()
    short, long = sorted((lines, other_lines), key=len)
    extra = [line for line in long if line not in short]
    return set(short) <= set(long) and len(extra) <= 2 and all(len(x) <= 20 for x in extra)


# ---------------------------------------------------------------------- frontier semantics


def test_dead_workers_work_and_claims_go_back(redis_url: str) -> None:
    client = connect(redis_url)
    dead = Frontier(client, prefix="t1", worker="dead", heartbeat_ttl=1.0)
    live = Frontier(client, prefix="t1", worker="live", heartbeat_ttl=30)
    keys = FrontierKeys("t1")
    dead.register()
    live.register()
    assert dead.enqueue(["a.example", "http://b.example/news/"]) == 2
    client.zadd(keys.requests, {b"low": 0, b"high": -20})
    start = dead.pop_start()
    assert start is not None and start[1] == "http://a.example"
    popped = dead.pop_request()
    assert popped is not None and popped[1] == b"high"  # highest priority first
    assert client.zcard(keys.requests) == 1 and client.hlen(keys.processing("dead")) == 2
    assert dead.claim("http://a.example/news/1.html#top")
    assert not live.claim("http://a.example/news/1.html")  # same article, claimed
    assert dead.claim("http://a.example/news/2.html")
    dead.commit("http://a.example/news/2.html")  # exported before the worker died
    assert not live.is_empty()
    assert live.reclaim_dead() == 0  # heartbeat still alive: nothing taken
    time.sleep(1.1)
    assert live.reclaim_dead() == 2
    assert live.reclaim_dead() == 0  # once only
    assert client.zrange(keys.requests, 0, -1, withscores=True) == [(b"high", -20.0),
                                                                       (b"low", 0.0)]
    assert client.lrange(keys.start_urls, 0, -1)[-1] == b"http://a.example"  # popped next
    assert client.smembers(keys.workers) == {b"live"}
    assert live.claim("http://a.example/news/1.html")  # the pending claim was released
    assert not live.claim("http://a.example/news/2.html")  # the exported one was not
    assert client.hget(keys.exported, article_key("http://a.example/news/2.html")) == b"done:dead"
    # The live worker leaves: its unfinished work and pending claims go back too.
    taken = live.pop_request()
    assert taken is not None
    live.ack(taken[0])
    live.pop_request()
    assert live.unregister() == 1
    assert client.zcard(keys.requests) == 1
    assert dead.claim("http://a.example/news/1.html")


def test_a_killed_workers_journal_is_settled(redis_url: str, tmp_path: Path) -> None:
    """Records a killed worker journaled but never confirmed: the ones another worker
    exported again are cut on its next start, the others become its exports; one another
    worker is exporting at that moment waits for that worker's outcome."""
    client = connect(redis_url)
    dead = Frontier(client, prefix="t6", worker="dead")
    other = Frontier(client, prefix="t6", worker="other")
    journal = tmp_path / "news-1.jsonl"
    dead.own_journal(journal)
    urls = [f"http://a.example/news/{n}.html" for n in range(6)]
    dead.claim(urls[0])
    dead.commit(urls[0])  # confirmed before the kill
    dead.claim(urls[1])  # journaled, killed before confirming: pending
    assert other.claim(urls[2])  # released with the dead one's work, redone by another
    other.commit(urls[2])
    # urls[3]: released, nobody has redone it yet
    assert other.claim(urls[4])  # being redone by another: exported in a moment
    assert other.claim(urls[5])  # being redone by another: dropped in a moment
    outcome = threading.Timer(0.3, lambda: (other.commit(urls[4]), other.release(urls[5])))
    outcome.start()
    assert dead.settle_journal(journal, urls) == [True, True, False, True, False, True]
    outcome.join()
    keys = FrontierKeys("t6")
    assert client.hgetall(keys.exported) == {
        article_key(urls[0]).encode(): b"done:dead", article_key(urls[1]).encode(): b"done:dead",
        article_key(urls[2]).encode(): b"done:other", article_key(urls[3]).encode(): b"done:dead",
        article_key(urls[4]).encode(): b"done:other", article_key(urls[5]).encode(): b"done:dead"}
    assert not other.claim(urls[3])
    # A repair killed before it rewrote the journal settles it again, alike.
    assert dead.settle_journal(journal, urls) == [True, True, False, True, False, True]
    # Forgotten once rewritten (or closed): a journal nobody owns keeps every record.
    dead.forget_journal(journal)
    assert client.hlen(keys.journals) == 0
    assert dead.settle_journal(journal, urls) == [True] * 6


def test_the_frontier_is_empty_only_when_no_worker_has_work(redis_url: str) -> None:
    client = connect(redis_url)
    one = Frontier(client, prefix="t2", worker="one")
    one.register()
    assert one.is_empty()
    one.enqueue(["http://a.example/"])
    assert not one.is_empty()
    token, _ = one.pop_start() or ("", "")
    assert not one.is_empty()  # in progress
    one.ack(token)
    assert one.is_empty()
    one.reset(force=True)
    assert not client.keys("t2:*")


def test_enqueue_cli(redis_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sites = tmp_path / "sites.txt"
    sites.write_text("\ufeff# vendors\nhttp://a.example/  # home\n\nb.example/news/\n", "utf-8")
    assert frontier_main(["enqueue", "--redis", redis_url, "--prefix", "t3", "--file",
                          str(sites), "http://c.example/"]) == 0
    assert "queued 3 start URL(s)" in capsys.readouterr().out
    client = connect(redis_url)
    assert client.lrange("t3:start_urls", 0, -1) == [
        b"http://b.example/news/", b"http://a.example/", b"http://c.example/"]  # FIFO
    assert frontier_main(["frontier", "status", "--redis", redis_url, "--prefix", "t3"]) == 0
    assert "start URLs waiting: 3" in capsys.readouterr().out
    assert frontier_main(["enqueue", "--redis", redis_url, "--prefix", "t3"]) == 2
    assert capsys.readouterr().err == "vendornews: no start URL: give URL... or --file PATH\n"
    assert frontier_main(["enqueue", "--redis", redis_url, "--file", str(tmp_path / "no")]) == 2
    assert "no such file" in capsys.readouterr().err
    env = os.environ.pop("REDIS_URL", None)
    try:
        assert frontier_main(["enqueue", "http://a.example/"]) == 2
        assert "no Redis: pass --redis URL" in capsys.readouterr().err
    finally:
        if env is not None:
            os.environ["REDIS_URL"] = env
    dead_port = redis_server.free_port()
    assert frontier_main(["frontier", "--redis", f"redis://127.0.0.1:{dead_port}/0"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("vendornews: cannot reach Redis") and error.count("\n") == 1


def test_a_continuation_request_survives_the_queue(redis_url: str) -> None:
    """The multi-page chain's request (the partial article in cb_kwargs) goes through Redis."""
    from scrapy.utils.test import get_crawler

    from spiders.redis_frontier import RedisDupeFilter, ReliablePriorityQueue
    from spiders.vendor_news import VendorNewsSpider, _Article
    from vendornews.record import FetchedPage

    crawler = get_crawler(VendorNewsSpider, {"REDIS_URL": redis_url,
                                             "REDIS_FRONTIER_PREFIX": "t4"})
    spider = VendorNewsSpider.from_crawler(crawler, start_urls="http://a.example/")
    client = connect(redis_url)
    frontier = Frontier(client, prefix="t4", worker="w")
    queue = ReliablePriorityQueue(client, spider, "t4:requests", frontier=frontier)
    page = FetchedPage("http://a.example/news/1.html", "<p>页一</p>".encode(), {"x": "y"})
    article = _Article(pages=[page], crawled_at="2024-01-01T00:00:00", fetched={page.url},
                       anchors=["标题"], pending=["http://a.example/news/1_3.html"])
    request = spider._request("http://a.example/news/1_2.html", "continuation",
                              spider.parse_continuation, cb_kwargs={"article": article},
                              errback=spider.continuation_failed, dont_filter=True,
                              meta={"depth_reset": True, "redis_frontier_token": "7"})
    assert request is not None
    queue.push(request)
    back = queue.pop()
    assert back is not None
    assert back.callback == spider.parse_continuation
    assert back.errback == spider.continuation_failed
    assert back.priority == request.priority and back.dont_filter
    assert back.cb_kwargs["article"] == article
    token = back.meta.pop("redis_frontier_token")
    assert token != "7"
    assert back.meta == {k: v for k, v in request.meta.items() if k != "redis_frontier_token"}
    assert client.hlen("t4:processing:w") == 1
    frontier.ack(token)
    assert client.hlen("t4:processing:w") == 0
    # Seen requests use Scrapy's fingerprinter, shared through Redis.
    dupefilter = RedisDupeFilter.from_crawler(crawler)
    assert dupefilter.key == "t4:dupefilter"
    assert not dupefilter.request_seen(request)
    assert dupefilter.request_seen(request.replace(meta={}))
    assert client.smembers("t4:dupefilter") == {
        crawler.request_fingerprinter.fingerprint(request).hex().encode()}


# ---------------------------------------------------------------------- two worker processes


def crawl_args(tmp: Path, name: str) -> list[str]:
    return ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DEPTH_LIMIT=2",
            "-s", f"VENDORNEWS_STATE={tmp / f'state-{name}.sqlite'}",
            "-a", f"output_dir={tmp / name}", "-s", "LOG_LEVEL=INFO"]


def start_worker(tmp: Path, name: str, redis_url: str,
                 log: str | None = None) -> subprocess.Popen[str]:
    log_file = (tmp / f"{log or name}.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "scrapy", "crawl", SPIDER, "-s", f"REDIS_URL={redis_url}",
         # A crawl of several seconds (so the kill falls mid-crawl), quick hand-over.
         "-s", "DOWNLOAD_DELAY=0.3", "-s", "MAX_IDLE_TIME_BEFORE_CLOSE=2",
         "-s", "REDIS_HEARTBEAT_TTL=2", "-s", "REDIS_START_POLL_INTERVAL=0.2",
         *crawl_args(tmp, name)],
        cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, text=True)


def test_a_killed_worker_loses_nothing(demo_server: Any, redis_url: str,
                                       tmp_path: Path) -> None:
    sites = tmp_path / "sites.txt"
    sites.write_text("".join(f"{url}\n" for url in demo_server.sites().values()), "utf-8")

    # The reference: one process, no Redis.
    single = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "vendor_news", "-a", f"sites_file={sites}",
         "-s", "DOWNLOAD_DELAY=0", *crawl_args(tmp_path, "single")],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert single.returncode == 0, single.stderr[-3000:]
    reference = {r["url"]: r for r in read_jsonl(tmp_path / "single")}
    assert {target(u) for u in reference} == EXPECTED

    assert frontier_main(["enqueue", "--redis", redis_url, "--fresh", "--file", str(sites)]) == 0
    restarted = None
    doomed = start_worker(tmp_path, "doomed", redis_url)
    survivor = start_worker(tmp_path, "survivor", redis_url)
    try:
        deadline = time.monotonic() + 40
        while len(read_jsonl(tmp_path / "doomed")) < 3:
            assert doomed.poll() is None, (tmp_path / "doomed.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the doomed worker exported nothing"
            time.sleep(0.05)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        # What the dead worker held (read before the survivor can find it dead: a heartbeat
        # TTL of 2 s); nothing when the kill fell between two of its requests.
        worker = re.search(r"Redis frontier \S+: worker (\S+),",
                           (tmp_path / "doomed.log").read_text())
        assert worker, (tmp_path / "doomed.log").read_text()[-3000:]
        held = connect(redis_url).hlen(FrontierKeys().processing(worker[1]))
        journaled = len(read_jsonl(tmp_path / "doomed"))
        assert survivor.wait(60) == 0
        # The killed worker's next start repairs its run: a record it journaled but could
        # not confirm before the kill, and that the survivor exported again, is cut.
        restarted = start_worker(tmp_path, "doomed", redis_url, log="restarted")
        assert restarted.wait(60) == 0
    finally:
        for process in (doomed, survivor, restarted):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    log = (tmp_path / "survivor.log").read_text()
    assert "Spider closed (finished)" in log, log[-3000:]
    reclaimed = re.search(r"'vendornews/redis/reclaimed': (\d+)", log)
    assert (int(reclaimed[1]) if reclaimed else 0) == held, log[-3000:]  # took the dead one's work
    assert "taken for dead" not in log + (tmp_path / "doomed.log").read_text()

    restart_log = (tmp_path / "restarted.log").read_text()
    assert "repaired killed run" in restart_log, restart_log[-3000:]
    settled = re.search(r"cut (\d+) records other workers exported", restart_log)
    killed, finished = read_jsonl(tmp_path / "doomed"), read_jsonl(tmp_path / "survivor")
    assert len(killed) == journaled - (int(settled[1]) if settled else 0) and finished
    urls = [r["url"] for r in killed + finished]
    assert len(urls) == len(set(urls)), "an article was exported twice"
    assert set(urls) == set(reference)
    for record in killed + finished:
        expected = reference[record["url"]]
        for field in ("title", "published", "source", "author", "pages"):
            assert record[field] == expected[field], (record["url"], field)
        assert same_body(record["body"], expected["body"]), record["url"]

    assert connect(redis_url).hlen(FrontierKeys().journals) == 0  # closed or settled
    # The crawl state is shared in the same Redis: every article is known as exported, and
    # the killed run was found dead, and repaired, by the restarted worker.
    shared = RedisCrawlState(connect(redis_url))
    known = [shared.lookup(url) for url in reference]
    assert all(seen is not None and seen.content_hash for seen in known)
    assert sorted(run.status for run in shared.runs()) == ["finished", "finished", "killed"]
    status = Frontier(connect(redis_url)).status()
    assert status["start_urls"] == status["requests"] == 0
    assert not any(w["in_progress"] for w in status["workers"].values())
    assert status["exported_articles"] == len(reference)


# ---------------------------------------------------------------------- shared crawl state


def test_redis_state_behaves_as_the_sqlite_state(redis_url: str) -> None:
    """One scenario through both CrawlState backends: the same answers."""
    state = pytest.importorskip("vendornews.state")

    def scenario(backend: Any) -> list[Any]:
        out: list[Any] = []
        assert isinstance(backend, state.CrawlState)
        run1 = state.RunInfo("r1", "2024-05-01T00:00:00", sites=("a.example",))
        backend.start_run(run1)
        out.append(backend.lookup("http://a.example/n/1.html"))
        out.append(backend.record("http://a.example/n/1.html?utm_source=x", "h1", "a.example",
                                  "r1", "new", when="2024-05-01T00:00:01",
                                  aliases=["http://a.example/old/1.html"]))
        out.append(backend.record("http://a.example/n/1.html", "h1", "a.example", "r1", "new"))
        backend.record_not_article("http://a.example/about.html", "a.example", "r1",
                                   when="2024-05-01T00:00:02")
        backend.add_counts("r1", "a.example", pages=7)
        backend.set_capped("r1", "a.example")
        backend.end_run("r1", "finished", ended="2024-05-01T01:00:00")
        run2 = state.RunInfo("r2", "2024-05-02T00:00:00", sites=("a.example", "b.example"))
        backend.start_run(run2)
        backend.mark_checked("http://a.example/n/1.html", "a.example", "r2",
                             when="2024-05-02T00:00:01")
        out.append(backend.record("http://a.example/n/1.html", "h2", "a.example", "r2",
                                  "changed", when="2024-05-02T00:00:02"))
        backend.add_alias("http://b.example/x", "http://a.example/n/1.html")
        out += [backend.lookup("http://a.example/old/1.html"), backend.seen("http://b.example/x"),
                backend.seen("http://a.example/about.html"), backend.seen("http://no.example/"),
                backend.unfinished_runs(), backend.site_history(),
                backend.site_history("b.example"),
                backend.last_site_run("a.example"), backend.last_site_run("a.example", before="r2"),
                list(backend.articles("a.example"))]
        return out

    sqlite = state.SqliteCrawlState(":memory:")
    client = connect(redis_url)
    redis_state = RedisCrawlState(client, prefix="t5")
    try:
        assert scenario(redis_state) == scenario(sqlite)
    finally:
        sqlite.close()
        redis_state.close()


def test_workers_share_near_duplicate_groups(redis_url: str) -> None:
    """Two workers' indexes on one Redis group the farm's syndicated copies exactly as one
    SQLite index does, whichever worker sees which copy."""
    from test_dedup import _gold

    from vendornews.dedup import DupIndex
    from vendornews.dedup_redis import RedisDupIndex

    rows = _gold()
    client = connect(redis_url)
    workers = [RedisDupIndex(client, prefix="t7"), RedisDupIndex(connect(redis_url), prefix="t7")]
    with DupIndex(":memory:") as single:
        expected = [single.assign(row["url"], row["body"]) for row in rows]
    shared = [workers[i % 2].assign(row["url"], row["body"]) for i, row in enumerate(rows)]
    assert shared == expected
    assert len(set(expected)) < len(rows)  # the copies did group
    assert len(workers[0]) == len(rows)
    assert workers[1].assign(rows[0]["url"], rows[0]["body"]) == expected[0]  # known version
    # Another threshold, another band layout: built from the stored signatures at open.
    looser = RedisDupIndex(client, prefix="t7", threshold=0.5)
    copy = "（转载）\n" + rows[0]["body"]
    assert looser.assign("http://copy.example/1.html", copy) == expected[0]
    assert workers[0].assign("http://copy.example/2.html", copy + "\n（完）") == expected[0]
    with pytest.raises(ValueError, match="num_perm"):
        RedisDupIndex(client, prefix="t7", num_perm=64)
    for index in workers:
        index.close()
