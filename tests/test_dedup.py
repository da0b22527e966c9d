"""Near-duplicate groups: accuracy on farm gold clusters, stability and persistence in SQLite.

``fixtures/dedup/gold_bodies.jsonl`` is copied from the dev farm gold: every article of its
33 multi-site clusters plus 16 single-site articles (url, article_id, body).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from scrapy.utils.test import get_crawler
from test_export import article_records

from pipelines.dedup import DedupPipeline
from vendornews.dedup import DupIndex, member_id, pair_scores, score_records, shingles

GOLD = Path(__file__).parent / "fixtures/dedup/gold_bodies.jsonl"


def _gold() -> list[dict[str, str]]:
    return [json.loads(line) for line in GOLD.read_text("utf-8").splitlines() if line]


def test_pairwise_precision_and_recall_on_farm_gold() -> None:
    rows = _gold()
    assert len({row["article_id"] for row in rows}) < len(rows)
    scores = score_records(rows)
    assert scores.gold_pairs == 72
    assert scores.precision >= 0.98 and scores.recall >= 0.98, scores


def test_pair_scores() -> None:
    scores = pair_scores(["a", "a", "b", "c"], [1, 1, 1, 2])
    assert (scores.precision, scores.recall) == (1.0, 1 / 3)
    assert pair_scores(["a", "b"], [1, 2]).precision == 1.0


def test_shingles_ignore_whitespace_width_and_case() -> None:
    assert shingles("ＡＢ c\nDE") == shingles("abcde") == {"abcde"}
    assert shingles("  ") == set()


def _variant(body: str) -> str:
    """A syndicated copy: another lead-in line and re-wrapped paragraphs."""
    return "（转载自行业网）\n" + body.replace("\n", "\n\n")


def test_groups_persist_across_sessions(tmp_path: Path) -> None:
    rows = _gold()
    story, other = rows[0], next(r for r in rows if r["article_id"] != rows[0]["article_id"])
    state = tmp_path / "state.sqlite"
    with DupIndex(state) as index:
        group = index.assign("http://a.test/1.html", story["body"], "a" * 40)
        assert group == "a" * 40  # a new group is named after its first member
        assert index.assign("http://a.test/1.html", story["body"], "a" * 40) == group
        assert index.assign("http://c.test/9.html", other["body"], "c" * 40) == "c" * 40
        assert len(index) == 2

    with DupIndex(state) as index:  # tomorrow's crawl
        assert len(index) == 2
        copy = index.assign("http://b.test/2.html", _variant(story["body"]), "b" * 40)
        assert copy == group
        no_hash = index.assign("http://d.test/3.html", _variant(other["body"]))
        assert no_hash == "c" * 40
        assert index.group_of(member_id("http://d.test/3.html", None)) == "c" * 40

    with sqlite3.connect(state) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        members = db.execute("SELECT member, group_id, length(signature) FROM dup_members"
                             " ORDER BY rowid").fetchall()
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master"
                                                 " WHERE type = 'table'")}
    assert [m[1] for m in members] == ["a" * 40, "c" * 40, "a" * 40, "c" * 40]
    assert {m[2] for m in members} == {128 * 4}
    assert tables == {"dup_meta", "dup_members"}


def test_other_tables_in_the_state_file_are_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state.sqlite"
    other = sqlite3.connect(state, isolation_level=None)
    other.execute("CREATE TABLE pages (url TEXT PRIMARY KEY, etag TEXT)")
    rows = _gold()
    with DupIndex(state) as index:
        for number, row in enumerate(rows[:5]):
            other.execute("INSERT INTO pages VALUES (?, ?)", (row["url"], str(number)))
            index.assign(row["url"], row["body"])
    assert other.execute("SELECT count(*) FROM pages").fetchone() == (5,)
    other.close()


def test_threshold_decides_and_signature_parameters_are_checked(tmp_path: Path) -> None:
    body = _gold()[0]["body"]
    # about 0.85 of the shingles shared: one story at 0.7, two at 0.95
    edited = body + "本站编辑补充：" + body[: len(body) // 7][::-1]
    for threshold, same in ((0.7, True), (0.95, False)):
        with DupIndex(tmp_path / f"{threshold}.sqlite", threshold=threshold) as index:
            first = index.assign("u1", body, "1" * 40)
            assert (index.assign("u2", edited, "2" * 40) == first) is same
    with pytest.raises(ValueError, match="num_perm"):
        DupIndex(tmp_path / "0.7.sqlite", num_perm=64)
    with pytest.raises(ValueError):
        DupIndex(tmp_path / "bad.sqlite", threshold=0)


def test_empty_bodies_get_groups_of_their_own(tmp_path: Path) -> None:
    with DupIndex(tmp_path / "state.sqlite") as index:
        assert index.assign("u1", "", None) != index.assign("u2", " \n", None)


def test_pipeline_adds_dup_group_to_extracted_records(tmp_path: Path) -> None:
    state = tmp_path / "out" / "state.sqlite"
    crawler = get_crawler(settings_dict={"VENDORNEWS_STATE": str(state),
                                         "VENDORNEWS_DUP_THRESHOLD": 0.8})
    crawler.stats.open_spider()
    pipeline = DedupPipeline.from_crawler(crawler)
    assert pipeline.threshold == 0.8
    records = article_records()[:4]  # seed, a two-page article, one article on two sites
    pipeline.open_spider()
    groups = [pipeline.process_item(record)["dup_group"] for record in records]
    pipeline.close_spider()
    assert groups[:3] == [r["content_hash"] for r in records[:3]]
    assert groups[3] == groups[2]
    assert crawler.stats.get_value("vendornews/dedup/new_group") == 3
    assert state.exists()
