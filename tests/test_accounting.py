"""No data lost: a pipeline step or a feed exporter failing on one article.

Two crawls of the demo sites with one shared state. The first runs with an extra pipeline
step that raises on one article and a CSV exporter that cannot write another
(``tests/faulty_components.py``): every other record is exported, the CSV-less record is in
the JSONL and Parquet, and the closing stats say how many articles were seen, exported,
dropped (by reason) and lost to errors (by exception). The second, ordinary run then
exports exactly the article the first one lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from faulty_components import CSV_FAILS_ON
from sitefarm import DEMO, ROOT, parse_stats, serving

from spiders import settings as project_settings
from vendornews import load

LOST = "/hengtong/a/news/103.html"  # the pipeline step raises on it
EXPECTED = [line for line in (DEMO / "expected_urls.txt").read_text("utf-8").splitlines()
            if line and not line.startswith("#")]


@dataclass
class Run:
    returncode: int
    log: str
    stats: dict[str, Any]
    out: Path


def _paths(urls: Any, origin: str) -> list[str]:
    return sorted(url.removeprefix(origin) for url in urls)


def _crawl(demo: Any, tmp: Path, run: str, *extra: str) -> Run:
    out = tmp / run
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "vendor_news",
         "-a", f"start_urls={','.join(demo.sites().values())}", "-a", f"output_dir={out}",
         "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0",
         "-s", f"VENDORNEWS_STATE={tmp / 'state.sqlite'}", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    return Run(done.returncode, done.stderr, parse_stats(done.stderr), out)


@pytest.fixture(scope="module")
def demo() -> Iterator[Any]:
    """A demo server of its own: the shared one's one-time 503s belong to test_crawl."""
    with serving(DEMO) as server:
        yield server


@pytest.fixture(scope="module")
def runs(demo: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    tmp = tmp_path_factory.mktemp("accounting")
    pipelines = {**project_settings.ITEM_PIPELINES, "faulty_components.RaisingPipeline": 450}
    exporters = {**project_settings.FEED_EXPORTERS, "csv": "faulty_components.CsvFailingOnOne"}
    faulty = _crawl(demo, tmp, "faulty", "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}",
                    "-s", f"FEED_EXPORTERS={json.dumps(exporters)}", "-s", f"FAULTY_ARTICLE={LOST}")
    again = _crawl(demo, tmp, "again")
    return faulty, again


def test_a_failing_step_loses_only_its_own_article(runs: tuple[Run, Run],
                                                   demo: Any) -> None:
    faulty, _ = runs
    assert faulty.returncode == 0, faulty.log[-3000:]
    (journal,) = faulty.out.glob("news-*.jsonl")
    records = load(journal)
    assert _paths(records["url"], demo.origin) == sorted(set(EXPECTED) - {LOST})


def test_a_failing_exporter_misses_only_that_record_in_that_feed(runs: tuple[Run, Run],
                                                                 demo: Any) -> None:
    faulty, _ = runs
    (csv_file,) = faulty.out.glob("news-*.csv")
    (parquet,) = faulty.out.glob("news-*.parquet")
    in_csv = _paths(pd.read_csv(csv_file, encoding="utf-8-sig")["url"], demo.origin)
    in_parquet = _paths(pd.read_parquet(parquet)["url"], demo.origin)
    assert in_parquet == sorted(set(EXPECTED) - {LOST})
    assert in_csv == sorted(set(EXPECTED) - {LOST, CSV_FAILS_ON})


def test_closing_stats_say_where_every_article_went(runs: tuple[Run, Run]) -> None:
    stats = runs[0].stats
    exported = len(EXPECTED) - 1
    counts = {key: value for key, value in stats.items() if key.startswith("vendornews/items/")}
    dropped = {key: value for key, value in counts.items()
               if key.startswith("vendornews/items/dropped/")}
    assert counts["vendornews/items/exported"] == exported
    assert counts["vendornews/items/error/RuntimeError"] == 1
    assert counts["vendornews/items/error"] == 1
    assert dropped == {}  # the demo's spider fetches articles only
    assert counts["vendornews/items/dropped"] == 0
    assert counts["vendornews/items/seen"] == exported + 1
    assert stats["item_scraped_count"] == exported
    assert stats["vendornews/export_failed/csv/ValueError"] == 1
    assert "vendornews/export_failed/parquet/ValueError" not in stats
    assert (f"articles: {exported + 1} seen, {exported} exported, 0 dropped, "
            "1 lost to errors (RuntimeError 1)") in runs[0].log


def test_the_next_run_exports_the_lost_article(runs: tuple[Run, Run], demo: Any) -> None:
    _, again = runs
    assert again.returncode == 0, again.log[-3000:]
    (journal,) = again.out.glob("news-*.jsonl")
    assert _paths(load(journal)["url"], demo.origin) == [LOST]
    assert again.stats["vendornews/items/error"] == 0
