"""The boundary of the result index (SQLite, WAL): every statement the store runs goes through here.

``Index.run(fn)`` runs ``fn(connection)`` and sorts what can go wrong into three kinds:

- damage (SQLite's "malformed", "not a database", a field that does not decode as UTF-8 or as
  JSON) raises ``IndexDamaged``, which the store answers by moving the index aside and
  rebuilding it from the result files (the same path a damaged header takes on opening);
- a full or read-only disk raises ``files.WriteFailed`` (one line; the sweep stops);
- a lock held by another process is SQLite's own business (busy timeout) and passes through.

Opening checks the whole file with ``PRAGMA integrity_check`` (pages *and* the agreement of
the table with its index), so damage is found before the first read, not in the middle of a sweep.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from .files import WriteFailed

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, metrics TEXT, checksum TEXT, started REAL, finished REAL, error TEXT,
    version TEXT, overrides TEXT
)
"""
CLAIMS = """
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY, experiment TEXT NOT NULL, owner TEXT NOT NULL, expires REAL NOT NULL
)
"""
#: per experiment and result-schema version, the arrays its ``run`` returned most recently
LAYOUTS = """
CREATE TABLE IF NOT EXISTS layouts (
    experiment TEXT NOT NULL, version INTEGER NOT NULL, names TEXT NOT NULL, PRIMARY KEY (experiment, version)
)
"""
RUNS_COLUMNS = ["key", "experiment", "config", "seed", "status", "metrics", "checksum", "started", "finished",
                "error", "version", "overrides"]
#: the columns of the first layout, brought up to date in place by adding the provenance columns
RUNS_COLUMNS_V1 = RUNS_COLUMNS[:10]
#: how long opening the index may wait for other processes in total
OPEN_TIMEOUT_SECONDS = 60.0

# SQLite's primary result codes
_BUSY, _LOCKED, _READONLY, _IOERR, _FULL = 5, 6, 8, 10, 13

T = TypeVar("T")


class IndexBusy(ValueError):
    """The index stayed locked by other processes for OPEN_TIMEOUT_SECONDS (not a sign of damage)."""


class IndexDamaged(Exception):
    """The index cannot be read: the text says why."""


def _code(e: sqlite3.Error) -> int:
    """SQLite's primary result code of ``e`` (from its message where Python does not give it)."""
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(e)
    for words, value in (("locked", _LOCKED), ("busy", _BUSY), ("disk is full", _FULL), ("readonly", _READONLY),
                         ("disk I/O", _IOERR)):
        if words in text:
            return value
    return 0


def _translate(e: Exception, path: Path) -> Exception:
    """The exception ``Index.run`` raises for ``e``: damage, a failed write, or ``e`` itself."""
    if isinstance(e, sqlite3.Error):
        code = _code(e)
        if code in (_BUSY, _LOCKED):
            return e
        if code in (_FULL, _READONLY, _IOERR):
            reason = {_FULL: "no space left on device", _READONLY: "read-only file system"}.get(code, str(e))
            return WriteFailed(path, reason)
        if isinstance(e, sqlite3.DatabaseError):
            return IndexDamaged(f"not a valid result index ({e})")
        return e
    if isinstance(e, (UnicodeDecodeError, json.JSONDecodeError)):
        return IndexDamaged(f"a field does not decode ({e})")
    return e


class Index:
    """The open index at ``path``; raises ``IndexDamaged`` if it fails its checks."""

    def __init__(self, path: Path):
        self.path = path
        self.db = connect(path)
        try:
            problem = _problem(self.db, path)
        except BaseException:
            self.db.close()
            raise
        if problem is not None:
            self.db.close()
            raise IndexDamaged(problem)

    def run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """``fn(connection)``, its errors sorted as the module says."""
        try:
            return fn(self.db)
        except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise _translate(e, self.path) from e

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: the write lock is taken at its start (check-then-set is atomic)."""
        try:
            with transaction(self.db) as db:
                yield db
        except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise _translate(e, self.path) from e

    def close(self) -> None:
        self.db.close()


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:  # the failed statement may have rolled it back already
            pass
        raise
    db.execute("COMMIT")


def _problem(db: sqlite3.Connection, path: Path) -> str | None:
    """Why the index cannot be used (integrity check failed, another table layout), or None."""
    try:
        check = db.execute("PRAGMA integrity_check(1)").fetchone()[0]
        if check != "ok":
            return f"integrity check failed ({check})"
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        if columns == RUNS_COLUMNS_V1:
            db.execute("ALTER TABLE runs ADD COLUMN version TEXT")
            db.execute("ALTER TABLE runs ADD COLUMN overrides TEXT")
            columns = RUNS_COLUMNS
    except (sqlite3.Error, UnicodeDecodeError) as e:
        err = _translate(e, path)
        if isinstance(err, IndexDamaged):
            return str(err)
        raise err from e
    if columns != RUNS_COLUMNS:
        return f"runs table has columns {columns}, expected {RUNS_COLUMNS}"
    return None


def connect(path: Path) -> sqlite3.Connection:
    """Connect to the index, set WAL and create the tables, retrying with jittered exponential
    backoff while another process holds the database (the busy timeout does not cover the
    journal-mode pragma). Raises ``IndexBusy`` if it stays busy, ``IndexDamaged`` if it is not a
    database, ``WriteFailed`` if the disk refuses the write."""
    deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            for table in (SCHEMA, CLAIMS, LAYOUTS):
                db.execute(table)
            return db
        except sqlite3.Error as e:
            db.close()
            err = _translate(e, path)
            if err is not e:
                raise err from None
            if _code(e) not in (_BUSY, _LOCKED):
                raise ValueError(f"{path}: cannot open the result index ({e})") from None
            if time.monotonic() > deadline:
                raise IndexBusy(f"{path}: the result index stayed locked for {OPEN_TIMEOUT_SECONDS:.0f} s") from None
            time.sleep(delay * (1 + random.random()))
            delay = min(2 * delay, 0.5)
