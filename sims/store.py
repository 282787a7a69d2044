"""The result store: an SQLite index (WAL) plus one .npz per run, written atomically.

index.sqlite, table ``runs``: key (hash of experiment, config and seed), experiment, config
JSON, seed, status (done | failed), metrics JSON (the run's scalars), the .npz file's
SHA-256, timestamps and the error of a failed run. A run counts as done only when its
index row says so *and* its file exists with the recorded checksum; anything else is
recomputed. Only the main process writes (workers return their arrays).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT NULL, seed INTEGER NOT NULL,
    status TEXT NOT NULL, metrics TEXT, checksum TEXT, started REAL, finished REAL, error TEXT
)
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """Results of runs under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.root / "index.sqlite", timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(SCHEMA)
        self.db.commit()

    def close(self) -> None:
        self.db.close()

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
             arrays: dict[str, np.ndarray], started: float) -> None:
        """Write the .npz atomically (temporary file, fsync, rename), then mark the run done."""
        path = self.path(experiment, key)
        path.parent.mkdir(parents=True, exist_ok=True)
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
                     started, None)

    def fail(self, experiment: str, key: str, config: dict, seed: int, error: str,
             started: float) -> None:
        self._upsert(key, experiment, config, seed, "failed", None, None, started, error)

    def _upsert(self, key, experiment, config, seed, status, metrics, checksum, started, error):
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, experiment, json.dumps(config, sort_keys=True), seed, status, metrics,
                 checksum, started, time.time(), error))
