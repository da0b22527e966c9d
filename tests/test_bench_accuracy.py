"""Smoke test of ``python -m bench.accuracy``: vendornews on the seed page, from fixtures.

The harness runs as a command (``bench`` lives in the checkout, it is not installed), on
``tests/fixtures/seed_page`` (the seed page's HTML replica, its gold record and the text
dump), so the test needs no ``../shared`` folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
SEED = CHECKOUT / "tests" / "fixtures" / "seed_page"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    missing_shared = tmp_path_factory.mktemp("no-shared")
    done = subprocess.run(
        [sys.executable, "-m", "bench.accuracy", "--json", "--sets", "seed,zh",
         "--tools", "vendornews", "--seed", str(SEED), "--shared", str(missing_shared)],
        cwd=CHECKOUT, capture_output=True, text=True, check=True, timeout=120)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    record: dict[str, Any] = json.loads((SEED / "gold.jsonl").read_text(encoding="utf-8"))
    return record


@pytest.mark.parametrize("tool", ["vendornews", "vendornews-dump"])
def test_seed_metadata_is_exact(report: dict[str, Any], gold: dict[str, Any], tool: str) -> None:
    (record,) = report["seed"]["tools"][tool]["records"]
    for name in ("title", "published", "source"):
        assert record[name] == gold[name], name


def test_seed_figures_pass(report: dict[str, Any]) -> None:
    passed = report["seed"]["tools"]["vendornews"]["pass"]
    assert passed["title_exact"] and passed["published_exact"] and passed["source_exact"]


def test_missing_set_is_skipped_with_its_folder(report: dict[str, Any]) -> None:
    assert report["zh"]["skipped"].startswith("skipped:")
    assert "real_zh" in report["zh"]["skipped"]
