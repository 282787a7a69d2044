"""The result store: an SQLite index (WAL) plus one .npz per run, written atomically.

index.sqlite, table ``runs``: key (hash of experiment, its result-schema version, config and
seed), experiment, config JSON, seed, status (done | failed), metrics JSON (the run's
scalars), the .npz file's SHA-256, timestamps, the error of a failed run, the code version
that computed it (package version and git commit) and the ``--set`` overrides it was run
with. ``Store.table`` returns the finished runs of an experiment as a ``Table``;
``Store.cached`` keeps theory curves that figures draw, computed once. A run counts as done only when its
index row says so *and* its file exists with the recorded checksum; anything else is
recomputed. Only the main process writes (workers return their arrays).

Table ``claims``: a run being computed is claimed first (key, the claiming process as
host:pid:token, and a lease expiry). Concurrent sweeps on one store, and dask clients, skip
runs another live process has claimed and pick them up when they are finished, or take them
over once the claim's lease has expired or, on the same host, as soon as its process is gone.
A heartbeat thread renews the process's leases every LEASE_SECONDS / 3. Creating a store
races safely: opening retries with backoff while another process holds the database, the
pragmas included.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path

import numpy as np

from .table import Table

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
#: the experiment name under which ``Store.cached`` keeps theory curves
THEORY = "theory"
#: a claim not renewed for this long belongs to a dead process and may be taken over
LEASE_SECONDS = 60.0
#: how long opening the index may wait for other processes in total
OPEN_TIMEOUT_SECONDS = 60.0


class Claim(Enum):
    """Outcome of ``Store.claim``."""

    MINE = "mine"  # claimed by this process: compute it
    TAKEN = "taken"  # claimed by another live process: come back later
    DONE = "done"  # finished already: load it


class IndexBusy(ValueError):
    """The index stayed locked by other processes for OPEN_TIMEOUT_SECONDS (not a sign of damage)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """Results of runs under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike, lease: float = LEASE_SECONDS):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.db = self._open_checked()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._renew_leases, name="store-heartbeat", daemon=True)
        self._heartbeat.start()

    def _open_checked(self) -> sqlite3.Connection:
        """Open the index; if it is corrupt or has another layout, move it aside (one warning line
        naming both files) and rebuild it from the .npz files, so nothing computed is lost."""
        path = self.root / "index.sqlite"
        try:
            db = _open(path)
            problem = _index_problem(db)
        except IndexBusy:
            raise
        except ValueError as e:
            db, problem = None, str(e)
        if problem is None:
            return db
        if db is not None:
            db.close()
        aside = path.with_name(f"index.sqlite.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                os.replace(source, aside.with_name(aside.name + suffix))
        db = _open(path)
        count = self._rebuild(db)
        print(f"warning: {path}: {problem}; moved to {aside.name} and rebuilt from {count} result files",
              file=sys.stderr)
        return db

    def _rebuild(self, db: sqlite3.Connection) -> int:
        """Index every readable .npz under the store as a finished run (its config is not recoverable)."""
        count = 0
        for npz in sorted(self.root.glob("*/*.npz")):
            try:
                data = npz.read_bytes()
                with np.load(io.BytesIO(data), allow_pickle=False) as z:
                    arrays = {name: z[name] for name in z.files}
            except (OSError, ValueError, EOFError, zipfile.BadZipFile):
                continue
            metrics = {k: float(v) for k, v in arrays.items() if np.ndim(v) == 0 and np.isrealobj(v)}
            mtime = npz.stat().st_mtime
            with self._transaction(db):
                db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           (npz.stem, npz.parent.name, "{}", -1, "done", json.dumps(metrics), _sha256(data),
                            mtime, mtime, "index rebuilt; config unknown", None, None))
            count += 1
        return count

    def close(self) -> None:
        """Release this process's claims and close the index."""
        self._stop.set()
        self._heartbeat.join()
        with self._transaction():
            self.db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
        self.db.close()

    @contextmanager
    def _transaction(self, db: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: the write lock is taken at its start (check-then-set is atomic)."""
        db = db or self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def claim(self, experiment: str, key: str, recompute: bool = False) -> Claim:
        """Claim a run for this process unless it is done (``recompute``: its file was found
        corrupt, claim it anyway) or another live process holds it."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] == "done" and not recompute:
                return Claim.DONE
            held = db.execute("SELECT owner, expires FROM claims WHERE key = ?", (key,)).fetchone()
            if held is not None and held[0] != self.owner and held[1] > now and _owner_alive(held[0]):
                return Claim.TAKEN
            db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", (key, experiment, self.owner,
                                                                             now + self.lease))
        return Claim.MINE

    def live_sweeps(self) -> int:
        """How many processes hold live claims on this store, counting this one (at least 1)."""
        owners = {row[0] for row in self.db.execute("SELECT DISTINCT owner FROM claims WHERE expires > ?",
                                                    (time.time(),))}
        return len(owners | {self.owner})

    def _renew_leases(self) -> None:
        db = _open(self.root / "index.sqlite")
        try:
            while not self._stop.wait(self.lease / 3):
                with self._transaction(db):
                    db.execute("UPDATE claims SET expires = ? WHERE owner = ?", (time.time() + self.lease, self.owner))
        finally:
            db.close()

    def path(self, experiment: str, key: str) -> Path:
        return self.root / experiment / f"{key}.npz"

    def load(self, experiment: str, key: str) -> dict[str, np.ndarray] | None:
        """The stored arrays of a finished run, or None if missing, failed or corrupt."""
        row = self.db.execute("SELECT status, checksum FROM runs WHERE key = ?", (key,)).fetchone()
        if row is None or row[0] != "done":
            return None
        path = self.path(experiment, key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if _sha256(data) != row[1]:
            return None
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return {name: z[name] for name in z.files}

    def save(self, experiment: str, key: str, config: dict, seed: int,
             arrays: dict[str, np.ndarray], started: float, version: str = "",
             overrides: dict | None = None) -> None:
        """Write the .npz atomically (temporary file, fsync, rename), then mark the run done."""
        path = self.path(experiment, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():  # something else stands where the result goes: keep it, out of the way
            aside = path.with_name(f"{path.name}.not-a-result-{os.getpid()}")
            os.replace(path, aside)
            print(f"warning: {path}: a directory where a result file belongs; moved to {aside.name}", file=sys.stderr)
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        data = buf.getvalue()
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        metrics = {k: float(v) for k, v in arrays.items() if np.ndim(v) == 0}
        self._upsert(key, experiment, config, seed, "done", json.dumps(metrics), _sha256(data),
                     started, None, version, overrides)

    def table(self, experiment: str, **where) -> Table:
        """The finished runs of ``experiment`` whose config fields equal ``where``, one row each:
        the config fields, the stored arrays, and ``seed``, ``version``, ``overrides`` (JSON).

        Examples
        --------
        >>> Store(out).table("width", k=2).group("m", "weights").mean   # doctest: +SKIP
        """
        rows = []
        query = "SELECT key, config, seed, version, overrides FROM runs WHERE experiment = ? AND status = 'done'"
        for key, config, seed, version, overrides in self.db.execute(query, (experiment,)).fetchall():
            fields = {k: v for k, v in json.loads(config).items() if k != "type"}
            if any(fields.get(k) != (getattr(v, "value", v)) for k, v in where.items()):
                continue
            arrays = self.load(experiment, key)
            if arrays is not None:
                rows.append(fields | arrays | {"seed": seed, "version": version or "", "overrides": overrides or "{}"})
        return Table.from_rows(rows)

    def provenance(self, experiment: str, keys: list[str]) -> dict:
        """How the finished runs ``keys`` of ``experiment`` were made: the code versions that
        computed them, their number, the sum of their compute times and the wall time from the
        first run's start to the last run's end (seconds)."""
        rows = []
        for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
            chunk = keys[start:start + 500]
            rows += self.db.execute(
                f"SELECT version, started, finished FROM runs WHERE experiment = ? AND status = 'done' "
                f"AND key IN ({', '.join('?' * len(chunk))})", (experiment, *chunk)).fetchall()
        if not rows:
            return {"runs": 0}
        started = [r[1] for r in rows if r[1] is not None]
        finished = [r[2] for r in rows if r[2] is not None]
        return {"code_version": sorted({r[0] or "unknown" for r in rows}), "runs": len(rows),
                "run_seconds": round(sum(f - s for _, s, f in rows if s is not None and f is not None), 1),
                "sweep_wall_seconds": round(max(finished) - min(started), 1) if started and finished else None}

    def cached(self, name: str, params: dict, compute) -> dict[str, np.ndarray]:
        """The arrays ``compute()`` returns for (name, params), computed once and kept in the store
        (under ``theory/``, checksummed like a run): figures draw theory curves from here."""
        blob = json.dumps({"name": name, "params": params}, sort_keys=True, default=str)
        key = hashlib.sha256(blob.encode()).hexdigest()[:24]
        found = self.load(THEORY, key)
        if found is None:
            found = {k: np.asarray(v) for k, v in compute().items()}
            self.save(THEORY, key, {"name": name, **params}, -1, found, time.time())
        return found

    def fail(self, experiment: str, key: str, config: dict, seed: int, error: str,
             started: float, version: str = "", overrides: dict | None = None) -> None:
        self._upsert(key, experiment, config, seed, "failed", None, None, started, error, version, overrides)

    def _upsert(self, key, experiment, config, seed, status, metrics, checksum, started, error, version,
                overrides):
        """Record the run and release its claim, in one transaction."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (key, experiment, json.dumps(config, sort_keys=True, default=str), seed, status, metrics,
                        checksum, started, time.time(), error, version, json.dumps(overrides or {}, sort_keys=True)))
            db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))


RUNS_COLUMNS = ["key", "experiment", "config", "seed", "status", "metrics", "checksum", "started", "finished",
                "error", "version", "overrides"]
#: the columns of the first layout, brought up to date in place by adding the provenance columns
RUNS_COLUMNS_V1 = RUNS_COLUMNS[:10]


def _index_problem(db: sqlite3.Connection) -> str | None:
    """Why the index cannot be used (integrity check failed, another table layout), or None."""
    try:
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            return f"integrity check failed ({check})"
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
    except sqlite3.DatabaseError as e:
        return f"not a valid result index ({e})"
    if columns == RUNS_COLUMNS_V1:
        db.execute("ALTER TABLE runs ADD COLUMN version TEXT")
        db.execute("ALTER TABLE runs ADD COLUMN overrides TEXT")
        columns = RUNS_COLUMNS
    if columns != RUNS_COLUMNS:
        return f"runs table has columns {columns}, expected {RUNS_COLUMNS}"
    return None


def _owner_alive(owner: str) -> bool:
    """False if ``owner`` (host:pid:token) is a process of this host that no longer exists; a
    process on another host counts as alive until its lease lapses."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _open(path: Path) -> sqlite3.Connection:
    """Connect to the index, set WAL and create the tables, retrying with jittered exponential
    backoff while another process holds the database (the busy timeout does not cover the
    journal-mode pragma). Raises ValueError naming the file if it stays busy or is not a database."""
    deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
    delay = 0.005
    while True:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(SCHEMA)
            db.execute(CLAIMS)
            return db
        except sqlite3.OperationalError as e:
            db.close()
            if "locked" not in str(e) and "busy" not in str(e):
                raise ValueError(f"{path}: cannot open the result index ({e})") from None
            if time.monotonic() > deadline:
                raise IndexBusy(f"{path}: the result index stayed locked for {OPEN_TIMEOUT_SECONDS:.0f} s") from None
            time.sleep(delay * (1 + random.random()))
            delay = min(2 * delay, 0.5)
        except sqlite3.DatabaseError as e:
            db.close()
            raise ValueError(f"{path}: not a valid result index ({e})") from None
