"""The result store: an SQLite index (WAL) plus one .npz per run, written atomically.

index.sqlite, table ``runs``: key (hash of experiment, its result-schema version, config and
seed), experiment, config JSON, seed, status (done | failed), metrics JSON (the run's
scalars), the .npz file's SHA-256, timestamps, the error of a failed run, the code version
that computed it (package version and git commit) and the ``--set`` overrides it was run
with. ``Store.table`` returns the finished runs of an experiment as a pandas DataFrame (one row
per run; ``sims.table``);
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

Every statement goes through the index's boundary (``sims.index``): an index found damaged on
opening or at any later read is moved aside and rebuilt from the result files (one warning),
and the statement runs again; a result file that is not an .npz of plain arrays is recomputed
(one warning); a write the disk refuses raises ``files.WriteFailed``. Table ``layouts`` keeps,
per experiment and result-schema version, the array names its latest computed run returned
(the runner checks stored results against them).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sqlite3
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .files import WriteFailed, atomic_write
from .index import RUNS_COLUMNS, RUNS_COLUMNS_V1, Index, IndexBusy, IndexDamaged, connect, transaction
from .table import frame

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["RUNS_COLUMNS", "RUNS_COLUMNS_V1", "THEORY", "Claim", "IndexBusy", "Store"]

#: the experiment name under which ``Store.cached`` keeps theory curves
THEORY = "theory"
#: a claim not renewed for this long belongs to a dead process and may be taken over
LEASE_SECONDS = 60.0

T = TypeVar("T")


class Claim(Enum):
    """Outcome of ``Store.claim``."""

    MINE = "mine"  # claimed by this process: compute it
    TAKEN = "taken"  # claimed by another live process: come back later
    DONE = "done"  # finished already: load it


#: what reading a result file raises when its bytes are not an .npz of plain arrays
UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {name: z[name] for name in z.files}


class Store:
    """Results of runs under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike, lease: float = LEASE_SECONDS):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.lease = lease
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.path_of_index = self.root / "index.sqlite"
        try:
            self.index = Index(self.path_of_index)
        except IndexDamaged as e:
            self._repair(str(e))
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._renew_leases, name="store-heartbeat", daemon=True)
        self._heartbeat.start()

    @property
    def db(self) -> sqlite3.Connection:
        return self.index.db

    def _repair(self, problem: str) -> None:
        """Move the damaged index aside (one warning line naming both files) and rebuild it from
        the .npz files, so nothing computed is lost."""
        if getattr(self, "index", None) is not None:
            self.index.close()
        path = self.path_of_index
        aside = path.with_name(f"index.sqlite.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            source = path.with_name(path.name + suffix)
            if source.exists():
                os.replace(source, aside.with_name(aside.name + suffix))
        self.index = Index(path)
        count = self._rebuild()
        print(f"warning: {path}: {problem}; moved to {aside.name} and rebuilt from {count} result files",
              file=sys.stderr)

    def _guarded(self, fn: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """``fn(connection)`` (in an IMMEDIATE transaction if ``write``), through the index's
        boundary: if the index turns out damaged it is repaired and ``fn`` runs once more."""
        for attempt in (0, 1):
            try:
                if not write:
                    return self.index.run(fn)
                with self.index.transaction() as db:
                    return fn(db)
            except IndexDamaged as e:
                if attempt:
                    raise ValueError(f"{self.path_of_index}: damaged again after it was rebuilt ({e})") from None
                self._repair(str(e))
        raise AssertionError("unreachable")

    def _rebuild(self) -> int:
        """Index every readable .npz under the store as a finished run (its config is not recoverable)."""
        rows = []
        for npz in sorted(self.root.glob("*/*.npz")):
            try:
                data = npz.read_bytes()
                arrays = _arrays(data)
            except UNREADABLE:
                continue
            metrics = {k: float(v) for k, v in arrays.items() if np.ndim(v) == 0 and np.isrealobj(v)}
            mtime = npz.stat().st_mtime
            rows.append((npz.stem, npz.parent.name, "{}", -1, "done", json.dumps(metrics), _sha256(data),
                         mtime, mtime, "index rebuilt; config unknown", None, None))
        with self.index.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def close(self) -> None:
        """Release this process's claims and close the index (a disk that refuses the release
        leaves the claims to lapse: this process is gone by then)."""
        self._stop.set()
        self._heartbeat.join()
        try:
            self._guarded(lambda db: db.execute("DELETE FROM claims WHERE owner = ?", (self.owner,)), write=True)
        except (WriteFailed, ValueError, sqlite3.Error):
            pass
        self.index.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction on the index (tests use it to set up states)."""
        with self.index.transaction() as db:
            yield db

    def claim(self, experiment: str, key: str, recompute: bool = False) -> Claim:
        """Claim a run for this process unless it is done (``recompute``: its file was found
        corrupt, claim it anyway) or another live process holds it."""
        def claim(db):
            now = time.time()
            row = db.execute("SELECT status FROM runs WHERE key = ?", (key,)).fetchone()
            if row is not None and row[0] == "done" and not recompute:
                return Claim.DONE
            held = db.execute("SELECT owner, expires FROM claims WHERE key = ?", (key,)).fetchone()
            if held is not None and held[0] != self.owner and held[1] > now and _owner_alive(held[0]):
                return Claim.TAKEN
            db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)", (key, experiment, self.owner,
                                                                             now + self.lease))
            return Claim.MINE

        return self._guarded(claim, write=True)

    def live_sweeps(self) -> int:
        """How many processes hold live claims on this store, counting this one (at least 1)."""
        owners = self._guarded(lambda db: {row[0] for row in db.execute(
            "SELECT DISTINCT owner FROM claims WHERE expires > ?", (time.time(),))})
        return len(owners | {self.owner})

    def _renew_leases(self) -> None:
        """The heartbeat: renew this process's leases (on a connection of its own, opened for each
        renewal, so that a repaired index is followed); a renewal that fails is skipped."""
        while not self._stop.wait(self.lease / 3):
            try:
                db = connect(self.path_of_index)
            except (ValueError, IndexDamaged, WriteFailed):
                continue
            try:
                with transaction(db):
                    db.execute("UPDATE claims SET expires = ? WHERE owner = ?", (time.time() + self.lease, self.owner))
            except sqlite3.Error:
                pass
            finally:
                db.close()

    def path(self, experiment: str, key: str) -> Path:
        return self.root / experiment / f"{key}.npz"

    def load(self, experiment: str, key: str) -> dict[str, np.ndarray] | None:
        """The stored arrays of a finished run, or None if missing, failed or corrupt (a file
        whose checksum matches the index but that is no .npz of plain arrays: one warning)."""
        row = self._guarded(lambda db: db.execute("SELECT status, checksum FROM runs WHERE key = ?",
                                                  (key,)).fetchone())
        if row is None or row[0] != "done":
            return None
        path = self.path(experiment, key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if _sha256(data) != row[1]:
            return None
        try:
            return _arrays(data)
        except UNREADABLE as e:
            reason = " ".join(str(e).split())[:80]
            print(f"warning: {path}: not a readable result file ({type(e).__name__}: {reason}); recomputing it",
                  file=sys.stderr)
            self._guarded(lambda db: db.execute("DELETE FROM runs WHERE key = ? AND checksum = ?", (key, row[1])),
                          write=True)  # no row points at it any more: it is warned about once
            return None

    def save(self, experiment: str, key: str, config: dict, seed: int,
             arrays: dict[str, np.ndarray], started: float, version: str = "",
             overrides: dict | None = None) -> None:
        """Write the .npz atomically (``files.atomic_write``), then mark the run done: a write the
        disk refuses raises ``WriteFailed`` and leaves neither a partial file nor a row."""
        path = self.path(experiment, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():  # something else stands where the result goes: keep it, out of the way
            aside = path.with_name(f"{path.name}.not-a-result-{os.getpid()}")
            os.replace(path, aside)
            print(f"warning: {path}: a directory where a result file belongs; moved to {aside.name}", file=sys.stderr)
        buf = io.BytesIO()
        np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
        data = buf.getvalue()
        atomic_write(path, data)
        metrics = {k: float(v) for k, v in arrays.items() if np.ndim(v) == 0}
        self._upsert(key, experiment, config, seed, "done", json.dumps(metrics), _sha256(data),
                     started, None, version, overrides)

    def layout(self, experiment: str, version: int) -> list[str] | None:
        """The array names the latest run of ``experiment`` (result-schema ``version``) computed
        into this store returned, or None if none is recorded."""
        row = self._guarded(lambda db: db.execute("SELECT names FROM layouts WHERE experiment = ? AND version = ?",
                                                  (experiment, version)).fetchone())
        return None if row is None else json.loads(row[0])

    def set_layout(self, experiment: str, version: int, names: list[str]) -> None:
        self._guarded(lambda db: db.execute("INSERT OR REPLACE INTO layouts VALUES (?, ?, ?)",
                                            (experiment, version, json.dumps(sorted(names)))), write=True)

    def table(self, experiment: str, **where) -> pd.DataFrame:
        """The finished runs of ``experiment`` whose config fields equal ``where``, one row each:
        the config fields, the stored arrays, and ``seed``, ``version``, ``overrides`` (JSON).

        Examples
        --------
        >>> Store(out).table("width", k=2).groupby("m")["weights"].mean()   # doctest: +SKIP
        """
        query = "SELECT key, config, seed, version, overrides FROM runs WHERE experiment = ? AND status = 'done'"
        found = self._guarded(lambda db: [(key, json.loads(config), seed, version, overrides) for
                                          key, config, seed, version, overrides in db.execute(query, (experiment,))])
        rows = []
        for key, config, seed, version, overrides in found:
            fields = {k: v for k, v in config.items() if k != "type"}
            if any(fields.get(k) != (getattr(v, "value", v)) for k, v in where.items()):
                continue
            arrays = self.load(experiment, key)
            if arrays is not None:
                rows.append(fields | arrays | {"seed": seed, "version": version or "", "overrides": overrides or "{}"})
        return frame(rows)

    def provenance(self, experiment: str, keys: list[str]) -> dict:
        """How the finished runs ``keys`` of ``experiment`` were made: the code versions that
        computed them, their number, the sum of their compute times and the wall time from the
        first run's start to the last run's end (seconds)."""
        def select(db):
            rows = []
            for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                chunk = keys[start:start + 500]
                rows += db.execute(
                    f"SELECT version, started, finished FROM runs WHERE experiment = ? AND status = 'done' "
                    f"AND key IN ({', '.join('?' * len(chunk))})", (experiment, *chunk)).fetchall()
            return rows

        rows = self._guarded(select)
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
        row = (key, experiment, json.dumps(config, sort_keys=True, default=str), seed, status, metrics,
               checksum, started, time.time(), error, version, json.dumps(overrides or {}, sort_keys=True))

        def upsert(db):
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            db.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))

        self._guarded(upsert, write=True)


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
