"""Crawl state kept across runs: which articles were exported, in which version, and when.

A crawl asks the state before it fetches an article (:meth:`CrawlState.lookup`), and marks
an article exported only once its record is durably in the run's journal
(:meth:`CrawlState.record`). Each run and each site's share of it is logged
(:meth:`CrawlState.site_history`).

:class:`CrawlState` is the small interface a crawl needs; :class:`SqliteCrawlState` keeps
it in the project's SQLite state file (setting ``VENDORNEWS_STATE``, default
``output/state.sqlite``) in tables prefixed ``crawl_`` (WAL mode; the ``dup_*`` tables of
:mod:`vendornews.dedup` live in the same file). Another backend (Redis …) implements the
same protocol beside it.

URLs are keyed by :func:`vendornews.urls.canonical_url`, so ``?utm_source=…`` or a session
id does not make an article new.

The journal (:class:`Journal`) is the run's JSONL export written for durability: one
record per line, each line flushed and fsync'ed before the article is marked exported, the
file locked (``flock``) while its run is alive. :func:`repair_journal` cuts the half-written
last line a killed run may leave.

Pure module: no Scrapy.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from vendornews.urls import canonical_url

__all__ = [
    "Change",
    "CrawlState",
    "Journal",
    "JournalLocked",
    "RunInfo",
    "SeenArticle",
    "SiteRun",
    "SqliteCrawlState",
    "StateError",
    "content_signature",
    "holding_dead_journal",
    "journal_is_live",
    "now_iso",
    "read_journal",
    "register",
    "repair_journal",
    "rewrite_journal",
    "same_content",
]

Change = Literal["new", "changed", "unchanged"]
# Run statuses: "running" until the run ends; then Scrapy's finish reason ("finished",
# "shutdown", "closespider_…") or "killed" (found dead by a later run and repaired).
RUNNING = "running"
FINISHED = "finished"
KILLED = "killed"
_COUNTS = ("pages", "new", "changed", "unchanged", "not_articles")


def _line_hash(line: str) -> str:
    return hashlib.sha1(" ".join(line.split()).encode("utf-8")).hexdigest()[:12]


# Rules whose decisions depend on what else the crawl saw (the site template learned so
# far, the anchor texts that chose the title), not on the page alone.
_CONTEXT_RULES = ("template.", "title.")


def content_signature(record: dict[str, Any]) -> str:
    """What :func:`same_content` compares: hashes of the body's lines and of the lines
    that context-dependent rules removed (JSON, a few hundred bytes)."""
    body = [line for line in (record.get("body") or "").split("\n") if line.strip()]
    context = [removal.get("text") or "" for removal in record.get("removed") or ()
               if isinstance(removal, dict)
               and str(removal.get("rule", "")).startswith(_CONTEXT_RULES)]
    return json.dumps({"b": sorted({_line_hash(x) for x in body}),
                       "x": sorted({_line_hash(x) for x in context})}, separators=(",", ":"))


def same_content(old: str | None, new: str | None) -> bool:
    """Whether two versions of an article have the same text, whatever the crawl learned.

    The content hash of a record changes when the site template learned so far or the
    anchor texts differ between two crawls (a boilerplate line kept in one is dropped as
    ``template.repeated`` in the other): a refetched, unedited article must not come out
    "changed". So the body lines are compared as sets, leaving out any line that either
    version had removed by such a context rule. Title-only edits are not seen.
    """
    if not old or not new:
        return False
    a, b = json.loads(old), json.loads(new)
    context = set(a.get("x", ())) | set(b.get("x", ()))
    return set(a.get("b", ())) - context == set(b.get("b", ())) - context


def now_iso() -> str:
    """UTC now as the state stores times: ``YYYY-MM-DDTHH:MM:SS``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class SeenArticle:
    """What the state knows about one URL."""

    url: str  # as last fetched (final URL)
    site: str
    content_hash: str | None  # None: fetched, and not an article
    first_seen: str
    last_changed: str  # when the current content_hash was first exported
    last_checked: str  # when it was last fetched (exported, or found unchanged)
    run_id: str = ""  # the run that exported this version (or found no article)
    signature: str = ""  # content_signature() of the exported version ("" when unknown)

    def checked_before(self, days: float, now: datetime | None = None) -> bool:
        """Whether the last fetch is more than ``days`` days old."""
        now = now or datetime.now(UTC)
        checked = datetime.fromisoformat(self.last_checked).replace(tzinfo=UTC)
        return now - checked > timedelta(days=days)


@dataclass(frozen=True)
class RunInfo:
    """One crawl run: its id (the time stamp of its output files) and where it wrote."""

    run_id: str
    started: str
    sites: tuple[str, ...] = ()
    journal: str | None = None  # path of the run's JSONL journal
    archive: str | None = None  # path of the run's WARC file, when archiving
    full: bool = False
    status: str = RUNNING
    ended: str | None = None
    # Host of the crawl process, in state shared by several machines (Redis): only a
    # process on that host can tell whether the run is dead and repair it. None: this one.
    host: str | None = None


@dataclass(frozen=True)
class SiteRun:
    """One site's share of one run (a row of :meth:`CrawlState.site_history`)."""

    run_id: str
    site: str
    started: str
    ended: str | None
    status: str
    pages: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    not_articles: int = 0
    capped: bool = False

    @property
    def complete(self) -> bool:
        """The run went through the whole site: finished normally, no page cap hit."""
        return self.status == FINISHED and not self.capped


@runtime_checkable
class CrawlState(Protocol):
    """What an incremental, resumable crawl needs to remember between runs."""

    def lookup(self, url: str) -> SeenArticle | None:
        """The state of ``url`` (any form: it is canonicalized), or None when never seen."""

    def seen(self, url: str) -> str | None:
        """Content hash of the last exported version of ``url``; "" for a fetched
        non-article; None when never seen."""
        found = self.lookup(url)
        if found is None:
            return None
        return found.content_hash or ""

    def record(self, url: str, content_hash: str, site: str, run_id: str, change: Change,
               *, when: str | None = None, aliases: Sequence[str] = (),
               signature: str | None = None) -> bool:
        """Mark a record exported by ``run_id`` (idempotent: False when already marked);
        ``signature`` is its :func:`content_signature`."""

    def mark_checked(self, url: str, site: str, run_id: str, *, when: str | None = None) -> None:
        """An article fetched again and found unchanged."""

    def record_not_article(self, url: str, site: str, run_id: str,
                           *, when: str | None = None) -> None:
        """A page fetched as an article that the core says is not one."""

    def add_alias(self, url: str, target: str) -> None:
        """``url`` redirects to ``target``: looking up ``url`` finds ``target``."""

    def start_run(self, run: RunInfo) -> None: ...

    def add_counts(self, run_id: str, site: str, **counts: int) -> None:
        """Add to one site's counters (pages, new, changed, unchanged, not_articles)."""

    def set_capped(self, run_id: str, site: str) -> None: ...

    def end_run(self, run_id: str, status: str, *, ended: str | None = None) -> None: ...

    def unfinished_runs(self) -> list[RunInfo]: ...

    def site_history(self, site: str | None = None, limit: int = 20) -> list[SiteRun]:
        """Latest runs first: every site's, or one site's."""

    def last_site_run(self, site: str, *, before: str | None = None) -> SiteRun | None:
        """The latest run over ``site`` (started before run ``before`` when given)."""

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS crawl_urls (
    key          TEXT PRIMARY KEY,  -- canonical URL
    url          TEXT NOT NULL,     -- as fetched (final URL)
    site         TEXT NOT NULL,
    content_hash TEXT,              -- of the exported version; NULL: not an article
    signature    TEXT,              -- content_signature() of that version
    first_seen   TEXT NOT NULL,
    last_changed TEXT NOT NULL,
    last_checked TEXT NOT NULL,
    run_id       TEXT NOT NULL      -- run that exported this version (or found no article)
);
CREATE INDEX IF NOT EXISTS crawl_urls_site ON crawl_urls (site);
CREATE TABLE IF NOT EXISTS crawl_aliases (
    key    TEXT PRIMARY KEY,        -- canonical URL that redirects
    target TEXT NOT NULL            -- canonical URL it lands on
);
CREATE TABLE IF NOT EXISTS crawl_runs (
    run_id  TEXT PRIMARY KEY,       -- time stamp of the run's output files
    started TEXT NOT NULL,
    ended   TEXT,
    status  TEXT NOT NULL,
    sites   TEXT NOT NULL,          -- JSON list of site keys
    journal TEXT,
    archive TEXT,
    full    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS crawl_site_runs (
    run_id       TEXT NOT NULL,
    site         TEXT NOT NULL,
    pages        INTEGER NOT NULL DEFAULT 0,
    new          INTEGER NOT NULL DEFAULT 0,
    changed      INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    not_articles INTEGER NOT NULL DEFAULT 0,
    capped       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, site)
);
"""


def _seen(row: Sequence[Any]) -> SeenArticle:
    return SeenArticle(url=row[0], site=row[1], content_hash=row[2], first_seen=row[3],
                       last_changed=row[4], last_checked=row[5], run_id=row[6],
                       signature=row[7] or "")


class SqliteCrawlState(CrawlState):
    """:class:`CrawlState` in an SQLite file (``":memory:"`` keeps nothing).

    Every write commits at once: a killed process loses nothing it was told.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def __enter__(self) -> SqliteCrawlState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One transaction, committed at once (a writer waits for another's to end)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------------ articles

    def _row(self, key: str) -> SeenArticle | None:
        row = self.db.execute(
            "SELECT url, site, content_hash, first_seen, last_changed, last_checked, run_id, "
            "signature FROM crawl_urls WHERE key = ?", (key,)).fetchone()
        return _seen(row) if row else None

    def lookup(self, url: str) -> SeenArticle | None:
        key = canonical_url(url)
        found = self._row(key)
        if found is None:
            alias = self.db.execute("SELECT target FROM crawl_aliases WHERE key = ?",
                                    (key,)).fetchone()
            if alias:
                found = self._row(alias[0])
        return found

    def record(self, url: str, content_hash: str, site: str, run_id: str, change: Change,
               *, when: str | None = None, aliases: Sequence[str] = (),
               signature: str | None = None) -> bool:
        when = when or now_iso()
        key = canonical_url(url)
        with self._tx():
            row = self.db.execute("SELECT content_hash, run_id FROM crawl_urls WHERE key = ?",
                                  (key,)).fetchone()
            if row is not None and tuple(row) == (content_hash, run_id):
                return False
            if row is None:
                self.db.execute(
                    "INSERT INTO crawl_urls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, url, site, content_hash, signature, when, when, when, run_id))
            else:
                self.db.execute(
                    "UPDATE crawl_urls SET url = ?, site = ?, content_hash = ?, signature = ?, "
                    "last_changed = CASE WHEN content_hash IS ? THEN last_changed ELSE ? END, "
                    "last_checked = ?, run_id = ? WHERE key = ?",
                    (url, site, content_hash, signature, content_hash, when, when, run_id, key))
            for alias in aliases:
                self._alias(alias, key)
            self._count(run_id, site, "changed" if change == "changed" else
                        "unchanged" if change == "unchanged" else "new")
        return True

    def mark_checked(self, url: str, site: str, run_id: str, *, when: str | None = None) -> None:
        when = when or now_iso()
        with self._tx():
            self.db.execute("UPDATE crawl_urls SET last_checked = ? WHERE key = ?",
                            (when, canonical_url(url)))
            self._count(run_id, site, "unchanged")

    def record_not_article(self, url: str, site: str, run_id: str,
                           *, when: str | None = None) -> None:
        when = when or now_iso()
        with self._tx():
            self.db.execute(
                "INSERT INTO crawl_urls VALUES (?, ?, ?, NULL, NULL, ?, ?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET last_checked = excluded.last_checked",
                (canonical_url(url), url, site, when, when, when, run_id))
            self._count(run_id, site, "not_articles")

    def add_alias(self, url: str, target: str) -> None:
        with self._tx():
            self._alias(url, canonical_url(target))

    def _alias(self, url: str, target_key: str) -> None:
        key = canonical_url(url)
        if key != target_key:
            self.db.execute("INSERT OR REPLACE INTO crawl_aliases VALUES (?, ?)",
                            (key, target_key))

    def articles(self, site: str | None = None) -> Iterator[SeenArticle]:
        """Every URL the state knows (of one site), in key order."""
        query = ("SELECT url, site, content_hash, first_seen, last_changed, last_checked, "
                 "run_id, signature FROM crawl_urls")
        rows = (self.db.execute(query + " WHERE site = ? ORDER BY key", (site,)) if site
                else self.db.execute(query + " ORDER BY key"))
        for row in rows:
            yield _seen(row)

    # ------------------------------------------------------------------ runs

    def _count(self, run_id: str, site: str, name: str, value: int = 1) -> None:
        if name not in _COUNTS:
            raise ValueError(f"unknown counter {name!r}")
        self.db.execute(
            f"INSERT INTO crawl_site_runs (run_id, site, {name}) VALUES (?, ?, ?) "
            f"ON CONFLICT (run_id, site) DO UPDATE SET {name} = {name} + excluded.{name}",
            (run_id, site, value))

    def add_counts(self, run_id: str, site: str, **counts: int) -> None:
        with self._tx():
            for name, value in counts.items():
                self._count(run_id, site, name, value)

    def set_capped(self, run_id: str, site: str) -> None:
        with self._tx():
            self._count(run_id, site, "pages", 0)
            self.db.execute("UPDATE crawl_site_runs SET capped = 1 WHERE run_id = ? AND site = ?",
                            (run_id, site))

    def start_run(self, run: RunInfo) -> None:
        with self._tx():
            self.db.execute(
                "INSERT OR REPLACE INTO crawl_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run.run_id, run.started, run.ended, run.status, json.dumps(list(run.sites)),
                 run.journal, run.archive, int(run.full)))
            for site in run.sites:
                self._count(run.run_id, site, "pages", 0)

    def end_run(self, run_id: str, status: str, *, ended: str | None = None) -> None:
        with self._tx():
            self.db.execute("UPDATE crawl_runs SET status = ?, ended = ? WHERE run_id = ?",
                            (status, ended or now_iso(), run_id))

    def _runs(self, where: str = "", args: tuple[Any, ...] = ()) -> list[RunInfo]:
        rows = self.db.execute(
            "SELECT run_id, started, sites, journal, archive, full, status, ended "
            f"FROM crawl_runs {where} ORDER BY started, run_id", args).fetchall()
        return [RunInfo(r[0], r[1], tuple(json.loads(r[2])), r[3], r[4], bool(r[5]), r[6], r[7])
                for r in rows]

    def runs(self) -> list[RunInfo]:
        """Every run, oldest first."""
        return self._runs()

    def unfinished_runs(self) -> list[RunInfo]:
        """Runs still marked running: alive now, or killed (see :func:`journal_is_live`)."""
        return self._runs("WHERE status = ?", (RUNNING,))

    def site_history(self, site: str | None = None, limit: int = 20) -> list[SiteRun]:
        query = (
            "SELECT s.run_id, s.site, r.started, r.ended, r.status, s.pages, s.new, s.changed, "
            "s.unchanged, s.not_articles, s.capped FROM crawl_site_runs s "
            "JOIN crawl_runs r ON r.run_id = s.run_id "
        )
        args: tuple[Any, ...] = ()
        if site is not None:
            query += "WHERE s.site = ? "
            args = (site,)
        query += "ORDER BY r.started DESC, r.run_id DESC, s.site LIMIT ?"
        rows = self.db.execute(query, (*args, limit)).fetchall()
        return [SiteRun(run_id=r[0], site=r[1], started=r[2], ended=r[3], status=r[4],
                        pages=r[5], new=r[6], changed=r[7], unchanged=r[8], not_articles=r[9],
                        capped=bool(r[10])) for r in rows]

    def last_site_run(self, site: str, *, before: str | None = None) -> SiteRun | None:
        for run in self.site_history(site, limit=1000):
            if before is None or run.run_id != before:
                return run
        return None


# --------------------------------------------------------------------------- journal


class JournalLocked(RuntimeError):
    """Another live process holds the journal."""


def _json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class Journal:
    """A run's JSONL export written for durability, locked while the run lives.

    :meth:`append` returns once the line is on disk (write, flush, fsync): only then may
    the record be marked exported.
    """

    path: Path
    fsync: bool = True
    _fd: int = field(default=-1, repr=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = -1
            raise JournalLocked(f"{self.path}: in use by another crawl") from None

    def append(self, record: dict[str, Any]) -> None:
        data = _json_line(record)
        while data:
            written = os.write(self._fd, data)
            data = data[written:]
        if self.fsync:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            if self.fsync:
                os.fsync(self._fd)
            os.close(self._fd)  # releases the lock
            self._fd = -1

    @property
    def closed(self) -> bool:
        return self._fd < 0


def journal_is_live(path: str | Path) -> bool:
    """Whether a live process holds the journal (a killed one's lock is gone with it)."""
    with holding_dead_journal(path) as held:
        return not held


@contextmanager
def holding_dead_journal(path: str | Path) -> Iterator[bool]:
    """Hold a dead run's journal while repairing it: True inside when no live process
    holds it (neither its run nor another repair; a missing journal too), False when one
    does.

    The run's own lock is on the journal; a repair also takes ``.<journal name>.repair``
    beside it (a repair replaces the journal file, so its lock alone would not keep a
    second repairer out). Both go with this process, so a repair killed midway is done
    again; the caller should check that the run still needs it once inside.
    """
    journal = Path(path)
    with _flocked(journal) as dead:
        if not dead:
            yield False
            return
        repair = journal.with_name(f".{journal.name}.repair")
        if not journal.parent.is_dir():
            yield True
            return
        with _flocked(repair, create=True) as free:
            yield free
            if free:
                repair.unlink(missing_ok=True)


@contextmanager
def _flocked(path: Path, create: bool = False) -> Iterator[bool]:
    """An exclusive, non-blocking flock on ``path`` while inside: True when taken (or the
    file is missing and not to be created), False when another process holds it."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT if create else os.O_RDONLY, 0o644)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def read_journal(path: str | Path) -> list[dict[str, Any]]:
    """The complete records of a journal (a half-written last line is left out)."""
    records = []
    data = Path(path).read_bytes()
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is not complete
        if line.strip():
            records.append(json.loads(line))
    return records


def rewrite_journal(path: Path, records: Sequence[dict[str, Any]]) -> None:
    """Replace a (dead run's) journal by these records: written beside, fsync'ed, moved over
    it, so a kill meanwhile leaves the old journal."""
    partial = path.with_name(path.name + ".repair")
    partial.write_bytes(b"".join(_json_line(r) for r in records))
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, path)


def repair_journal(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """Make a killed run's journal whole again; its records and the number of bytes cut.

    A kill mid-write leaves a half-written last line: it is cut. A complete line that is
    not JSON (never written by a journal, but files get edited) is dropped too, and the
    lines after it are kept.
    """
    path = Path(path)
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: never complete
    records: list[dict[str, Any]] = []
    bad = 0
    for line in lines:
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            bad += 1
    if bad:
        rewrite_journal(path, records)
    elif tail:
        with path.open("r+b") as handle:
            handle.truncate(len(data) - len(tail))
            handle.flush()
            os.fsync(handle.fileno())
    return records, len(data) - path.stat().st_size


# --------------------------------------------------------------------------- CLI


class StateError(ValueError):
    """A state file that cannot be shown (missing, not SQLite), in one line."""


def format_history(runs: Sequence[SiteRun]) -> str:
    """A plain-text table of site runs, latest first."""
    header = ("run", "site", "status", "ended", "pages", "new", "changed", "unchanged",
              "not_articles")
    rows = [header] + [
        (r.run_id, r.site, r.status + (" (capped)" if r.capped else ""), r.ended or "-",
         str(r.pages), str(r.new), str(r.changed), str(r.unchanged), str(r.not_articles))
        for r in runs
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                          strict=True)).rstrip()
                     for row in rows) + "\n"


def _cmd_history(args: argparse.Namespace) -> int:
    path = Path(args.state)
    if not path.is_file():
        raise StateError(f"{path}: no such state file")
    try:
        with SqliteCrawlState(path) as state:
            runs = state.site_history(args.site, limit=args.limit)
    except sqlite3.DatabaseError as error:
        raise StateError(f"{path}: not a crawl state file ({error})") from None
    print(format_history(runs), end="")
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``history [--state FILE] [--site SITE] [--limit N]`` to the CLI's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "history", help="show the crawl history per site: runs, pages, new/changed articles")
    parser.add_argument("--state", default="output/state.sqlite", metavar="FILE",
                        help="the crawl's state file (default: output/state.sqlite)")
    parser.add_argument("--site", help="one site (host[:port], without www.)")
    parser.add_argument("--limit", type=int, default=20, help="latest N rows (default 20)")
    parser.set_defaults(run=_cmd_history)
    return parser
