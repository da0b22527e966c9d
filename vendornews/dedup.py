"""Near-duplicate clusters: the same article syndicated on several vendor sites.

Vendor sites copy industry news from each other (and from the wires) with small edits: a
different source line, a sentence of their own, other punctuation. :class:`DupIndex` gives
every record a ``dup_group`` id so that analysts can count a story once.

How:

* the body is normalized (NFKC, case-folded, all whitespace removed) and cut into character
  5-grams: Chinese has no word boundaries, and character shingles survive re-wrapping;
* a MinHash signature (datasketch, ``affine32`` scheme, 128 permutations) of those shingles
  is looked up in a MinHash LSH index tuned to the threshold (default 0.7 Jaccard);
* LSH candidates are verified with the signatures' Jaccard estimate, and the record joins the
  group of the most similar one; otherwise it starts a group of its own.

A group id never changes once given: it is the ``content_hash`` (or the SHA-1 of the URL when
there is none) of the group's first member, so tomorrow's copy of an article joins today's
group. Members and their signatures live in SQLite tables prefixed ``dup_`` (other modules
keep their own tables in the same state file); the LSH is rebuilt from the stored signatures
when the index is opened, so the threshold may change between runs but the signature
parameters may not (they are stored in ``dup_meta`` and checked).

``python -m vendornews.dedup GOLD.jsonl [--extract]`` scores the index against gold clusters.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import sqlite3
import unicodedata
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from datasketch import MinHash, MinHashLSH

DEFAULT_THRESHOLD = 0.7
DEFAULT_NUM_PERM = 128
SHINGLE = 5
# Fixed so stored signatures stay comparable when datasketch changes its default.
SCHEME = "affine32"
SEED = 1
# Storage of one hash value of the affine32 scheme: uint32, little-endian.
_HASH_DTYPE = np.dtype("<u4")
# Bump when normalize()/shingles() change: old signatures would no longer match new ones.
NORMALIZATION = "nfkc-casefold-nospace-v1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dup_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dup_members (
    member    TEXT PRIMARY KEY,  -- content_hash, or SHA-1 of the URL
    group_id  TEXT NOT NULL,     -- member id of the group's first member
    url       TEXT NOT NULL,     -- first URL seen with this content
    signature BLOB,              -- MinHash hash values; NULL when the body has no shingle
    seen_at   TEXT NOT NULL      -- UTC, ISO 8601
);
CREATE INDEX IF NOT EXISTS dup_members_group ON dup_members (group_id);
"""


def normalize(body: str) -> str:
    """The body as compared: width/case variants unified, whitespace (incl. newlines) gone."""
    text = unicodedata.normalize("NFKC", body).casefold()
    return "".join(text.split())


def shingles(body: str, size: int = SHINGLE) -> set[str]:
    """Character ``size``-grams of the normalized body (the whole text when shorter)."""
    text = normalize(body)
    if len(text) <= size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


@cache
def _permutations(num_perm: int) -> Any:
    """The permutation parameters every signature shares (MinHash draws them anew for
    each instance otherwise)."""
    return MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations


def signature(body: str, num_perm: int = DEFAULT_NUM_PERM) -> MinHash | None:
    """MinHash of the body's shingles; ``None`` for a body without any."""
    grams = shingles(body)
    if not grams:
        return None
    minhash = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME,
                      permutations=_permutations(num_perm))
    minhash.update_batch([gram.encode("utf-8") for gram in sorted(grams)])
    return minhash


def signature_params(num_perm: int) -> dict[str, str]:
    """What makes two stored signatures comparable; an index refuses others."""
    return {"num_perm": str(num_perm), "scheme": SCHEME, "seed": str(SEED),
            "shingle": str(SHINGLE), "normalization": NORMALIZATION}


def member_id(url: str, content_hash: str | None) -> str:
    """Identity of one version of an article: its content hash, else a hash of its URL."""
    if content_hash:
        return content_hash
    return hashlib.sha1(url.encode("utf-8")).hexdigest()


def compact(minhash: MinHash) -> np.ndarray:
    """The signature's hash values as stored and kept in memory (uint32: 4 bytes each)."""
    return np.asarray(minhash.hashvalues).astype(_HASH_DTYPE)


def from_blob(blob: bytes, num_perm: int) -> np.ndarray:
    values = np.frombuffer(blob, dtype=_HASH_DTYPE)
    if len(values) != num_perm:
        raise ValueError(f"stored signature has {len(values)} values, expected {num_perm}")
    return values


def band_key(band: bytes) -> bytes:
    """What the LSH keeps of a band: 8 bytes instead of its hash values (a collision only
    adds a candidate, which the Jaccard check then turns down)."""
    return hashlib.blake2b(band, digest_size=8).digest()


def _jaccard(one: np.ndarray, other: np.ndarray) -> float:
    """MinHash's Jaccard estimate: the share of equal hash values."""
    return float(np.count_nonzero(one == other)) / len(one)


def closest_group(values: np.ndarray, candidates: Iterable[tuple[str, np.ndarray, int, str]],
                  threshold: float) -> str | None:
    """The group of the most similar earlier member at or above ``threshold``; among equals
    the earliest one, so the answer does not depend on the LSH's query order.
    ``candidates``: (member, its hash values, its arrival number, its group)."""
    scored = [(_jaccard(values, signature), -order, group)
              for _member, signature, order, group in candidates]
    matches = [item for item in scored if item[0] >= threshold]
    return max(matches)[2] if matches else None


class DupIndex:
    """Assigns stable near-duplicate group ids, persisted in an SQLite file.

    Use as a context manager, or call :meth:`close` (commits are per assignment, so a crash
    loses nothing already assigned). ``path=":memory:"`` keeps nothing.
    """

    def __init__(
        self,
        path: str | Path,
        threshold: float = DEFAULT_THRESHOLD,
        num_perm: int = DEFAULT_NUM_PERM,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.num_perm = num_perm
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit: no write transaction stays open to block the other tables' writers.
        self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._check_meta()
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, hashfunc=band_key)
        # Hash values only (512 bytes for 128 permutations), not MinHash objects.
        self._signatures: dict[str, np.ndarray] = {}
        self._groups: dict[str, str] = {}
        self._order: dict[str, int] = {}  # member -> arrival number (ties go to the earliest)
        self._load()

    def _check_meta(self) -> None:
        """Refuse a file whose signatures were made with other parameters (not comparable)."""
        wanted = signature_params(self.num_perm)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            stored = dict(self._db.execute("SELECT key, value FROM dup_meta").fetchall())
            for key, value in wanted.items():
                if key not in stored:
                    self._db.execute(
                        "INSERT INTO dup_meta (key, value) VALUES (?, ?)", (key, value)
                    )
                elif stored[key] != value:
                    raise ValueError(
                        f"dup index was built with {key}={stored[key]!r}, not {value!r}: "
                        "drop the dup_* tables to rebuild it"
                    )

    def _load(self) -> None:
        rows = self._db.execute(
            "SELECT member, group_id, signature FROM dup_members ORDER BY rowid"
        ).fetchall()
        with self._lsh.insertion_session() as session:
            for member, group_id, blob in rows:
                self._groups[member] = group_id
                self._order[member] = len(self._order)
                if blob is not None:
                    values = from_blob(blob, self.num_perm)
                    self._signatures[member] = values
                    session.insert(member, self._as_minhash(values), check_duplication=False)

    def __len__(self) -> int:
        """Number of distinct article versions (content hashes) known."""
        return len(self._groups)

    def group_of(self, member: str) -> str | None:
        """Group id of a known member id, ``None`` when unknown."""
        return self._groups.get(member)

    def assign(self, url: str, body: str, content_hash: str | None = None) -> str:
        """The ``dup_group`` of this article version; remembered for later calls and runs."""
        member = member_id(url, content_hash)
        known = self._groups.get(member)
        if known is not None:
            return known
        minhash = signature(body, self.num_perm)
        values = None if minhash is None else compact(minhash)
        group_id = member
        if minhash is not None and values is not None:
            candidates = [(c, self._signatures[c], self._order[c], self._groups[c])
                          for c in self._lsh.query(minhash)]
            group_id = closest_group(values, candidates, self.threshold) or member
        self._db.execute(
            "INSERT INTO dup_members (member, group_id, url, signature, seen_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                member,
                group_id,
                url,
                None if values is None else values.tobytes(),
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        self._groups[member] = group_id
        self._order[member] = len(self._order)
        if minhash is not None and values is not None:
            self._signatures[member] = values
            self._lsh.insert(member, minhash, check_duplication=False)
        return group_id

    def _as_minhash(self, values: np.ndarray) -> MinHash:
        return MinHash(num_perm=self.num_perm, seed=SEED, scheme=SCHEME, hashvalues=values,
                       permutations=_permutations(self.num_perm))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> DupIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass(frozen=True)
class PairScores:
    """Pairwise agreement of predicted groups with gold clusters."""

    precision: float
    recall: float
    true_pairs: int
    predicted_pairs: int
    gold_pairs: int


def _pairs(labels: Sequence[Hashable]) -> set[tuple[int, int]]:
    by_label: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    return {pair for members in by_label.values() for pair in itertools.combinations(members, 2)}


def pair_scores(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> PairScores:
    """Pairwise precision/recall: a pair of items is a duplicate when they share a label.

    With no pair on one side the corresponding score is 1.0 (nothing claimed, nothing missed).
    """
    if len(predicted) != len(gold):
        raise ValueError("predicted and gold label lists differ in length")
    pred, true = _pairs(predicted), _pairs(gold)
    hits = len(pred & true)
    return PairScores(
        precision=hits / len(pred) if pred else 1.0,
        recall=hits / len(true) if true else 1.0,
        true_pairs=hits,
        predicted_pairs=len(pred),
        gold_pairs=len(true),
    )


def score_records(
    records: Iterable[Mapping[str, Any]], threshold: float = DEFAULT_THRESHOLD
) -> PairScores:
    """Group ``{url, body, article_id[, content_hash]}`` rows in a fresh in-memory index."""
    predicted: list[str] = []
    gold: list[str] = []
    with DupIndex(":memory:", threshold=threshold) as index:
        for row in records:
            predicted.append(index.assign(row["url"], row["body"], row.get("content_hash")))
            gold.append(row["article_id"])
    return pair_scores(predicted, gold)


def _farm_pages(farm: Path, row: Mapping[str, Any]) -> list[Any]:
    """The gold row's page 1 and continuation pages as fetched pages (``/`` → index.html)."""
    from vendornews.record import FetchedPage

    pages = []
    for path in [row["url"], *(row.get("parts") or [])]:
        local = farm / path.lstrip("/")
        if path.endswith("/"):
            local = local / "index.html"
        pages.append(FetchedPage(url="http://farm.invalid" + path, body=local.read_bytes()))
    return pages


def _extracted(farm: Path, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Gold rows with the body vendornews extracts from the farm pages (empty when none)."""
    from vendornews.extract import extract_article
    from vendornews.record import Record

    out = []
    for row in rows:
        result = extract_article(_farm_pages(farm, row), crawled_at="2024-01-01T00:00:00+00:00")
        body, content_hash = ("", None)
        if isinstance(result, Record):
            body, content_hash = result.body, result.content_hash
        out.append({**row, "body": body, "content_hash": content_hash})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print pairwise precision/recall of the index on a gold file (see ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="python -m vendornews.dedup",
        description="Score DupIndex groups against gold article_id clusters.",
    )
    parser.add_argument("gold", type=Path, help="gold JSONL: url, article_id, body[, parts]")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument(
        "--extract",
        action="store_true",
        help="use bodies extracted by vendornews from the pages beside the gold file",
    )
    args = parser.parse_args(argv)
    lines = args.gold.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    if args.extract:
        rows = _extracted(args.gold.parent, rows)
    scores = score_records(rows, args.threshold)
    bodies = "extracted" if args.extract else "gold"
    print(
        f"{len(rows)} records ({bodies} bodies), threshold {args.threshold}: "
        f"precision {scores.precision:.4f} recall {scores.recall:.4f} "
        f"({scores.true_pairs} of {scores.predicted_pairs} predicted pairs correct, "
        f"{scores.gold_pairs} gold pairs)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
