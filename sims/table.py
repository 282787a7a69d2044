"""Finished runs as a table: one row per run, config fields and results as columns.

``Table.from_results`` builds it from a sweep's (config, arrays) pairs and ``Store.table``
from the result store; summaries select, group and average through ``where`` and ``group``
instead of writing their own loops.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Groups:
    """Per-group statistics of one column: ``keys`` (sorted group values, tuples when grouped by
    several fields), ``value`` (the statistic: mean unless asked otherwise), ``sem`` (standard
    error of the mean; nan for one value) and ``count`` (values used)."""

    keys: list
    value: np.ndarray
    sem: np.ndarray
    count: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """The keys as an array (single-field grouping)."""
        return np.array(self.keys)

    def as_dict(self) -> dict:
        """{key: mean} with plain Python keys, for JSON."""
        return {(k.item() if hasattr(k, "item") else k): float(v) for k, v in zip(self.keys, self.value)}


def _scalar(value):
    """A plain scalar for a column: None -> NaN, an enum -> its value, a numpy scalar -> Python."""
    if value is None:
        return np.nan
    if isinstance(value, Enum):
        return value.value
    return value.item() if hasattr(value, "item") else value


class Table:
    """Columns of equal length: scalars as 1-d arrays, per-run arrays as lists of arrays."""

    def __init__(self, columns: dict[str, Any]):
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns must have equal lengths; got {sorted(lengths)}")
        self.columns = columns

    @classmethod
    def from_rows(cls, rows: Sequence[dict]) -> Table:
        """One row per run; a key holding an array of rank >= 1 in any row stays a list of arrays."""
        keys = list(dict.fromkeys(k for row in rows for k in row))
        columns: dict[str, Any] = {}
        for k in keys:
            values = [row.get(k) for row in rows]
            if any(np.ndim(v) > 0 for v in values):
                columns[k] = [np.asarray(v) for v in values]
            else:
                columns[k] = np.array([_scalar(v) for v in values])
        return cls(columns)

    @classmethod
    def from_results(cls, results: Sequence[tuple[Any, dict]]) -> Table:
        """From a sweep's (config dataclass, result arrays) pairs."""
        return cls.from_rows([dataclasses.asdict(c) | dict(r) for c, r in results])

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0

    def __getitem__(self, key: str):
        if key not in self.columns:
            raise KeyError(f"no column {key!r}; columns: {', '.join(self.columns)}")
        return self.columns[key]

    def __contains__(self, key: str) -> bool:
        return key in self.columns

    def rows(self, mask) -> Table:
        """The rows where ``mask`` is True."""
        mask = np.asarray(mask, dtype=bool)
        return Table({k: (v[mask] if isinstance(v, np.ndarray) else [x for x, keep in zip(v, mask) if keep])
                      for k, v in self.columns.items()})

    def where(self, **conditions) -> Table:
        """Rows whose fields equal the given values (or satisfy the given predicates)."""
        mask = np.ones(len(self), dtype=bool)
        for field, want in conditions.items():
            col = self[field]
            mask &= np.array([bool(want(v)) for v in col]) if callable(want) else (col == want)
        return self.rows(mask)

    def unique(self, field: str) -> np.ndarray:
        """The sorted distinct values of a scalar column."""
        return np.unique(self[field])

    def group(self, by: str | Sequence[str], value: str, stat: Callable[[np.ndarray], float] = np.mean,
              keep: Callable[[np.ndarray], np.ndarray] | None = None) -> Groups:
        """``stat`` (default the mean) and the standard error of ``value`` per distinct value of
        ``by`` (a field or fields). Non-finite values are left out; ``keep`` (values -> mask) can
        leave out more; a group with no values gets NaN."""
        fields = [by] if isinstance(by, str) else list(by)
        y = np.asarray(self[value], dtype=float)
        ok = np.isfinite(y) if keep is None else np.isfinite(y) & keep(y)
        labels = list(zip(*(self[f] for f in fields)))
        keys = sorted(set(labels))
        means, sems, counts = [], [], []
        for key in keys:
            vals = y[np.array([lab == key for lab in labels]) & ok]
            counts.append(vals.size)
            means.append(stat(vals) if vals.size else np.nan)
            sems.append(vals.std(ddof=1) / np.sqrt(vals.size) if vals.size > 1 else np.nan)
        keys = [k[0] for k in keys] if isinstance(by, str) else keys
        return Groups(keys, np.array(means), np.array(sems), np.array(counts))

    def split(self, by: str | Sequence[str]) -> dict:
        """{value (tuple when several fields): the rows with that value}, in sorted order."""
        fields = [by] if isinstance(by, str) else list(by)
        labels = list(zip(*(self[f] for f in fields)))
        out = {}
        for key in sorted(set(labels), key=lambda k: tuple(getattr(v, "value", v) for v in k)):
            rows = self.rows(np.array([lab == key for lab in labels]))
            out[key[0] if isinstance(by, str) else key] = rows
        return out

    def pivot(self, index: str, columns: str, value: str, column_values: Sequence) -> np.ndarray:
        """(rows, len(column_values)) array of ``value``: one row per distinct ``index`` value (and
        per entry, when ``value`` holds an array per run), NaN where a combination is missing."""
        keys = list(self.unique(index))
        per_run = np.size(self[value][0]) if len(self) else 1
        Y = np.full((len(keys) * per_run, len(column_values)), np.nan)
        where = {x: j for j, x in enumerate(column_values)}
        for r in range(len(self)):
            row = keys.index(self[index][r]) * per_run
            Y[row:row + per_run, where[self[columns][r]]] = self[value][r]
        return Y

    def with_column(self, name: str, values) -> Table:
        """The table with one more (or a replaced) column."""
        return Table(self.columns | {name: np.asarray(values)})

    def stack(self, key: str) -> np.ndarray:
        """A per-run array column as a (runs, length) array (equal lengths required)."""
        return np.stack(self[key])

    def csv(self, keys: Sequence[str]) -> dict[str, list]:
        """Scalar columns for a CSV file."""
        return {k: self[k].tolist() for k in keys}

    def long(self, fields: Sequence[str], arrays: Sequence[str], index: str | None = None) -> dict[str, list]:
        """Runs whose results hold equal-length arrays, as long CSV columns: one row per array
        entry with the scalar ``fields``, an optional position column ``index`` and the ``arrays``."""
        out: dict[str, list] = {f: [] for f in (*fields, *([index] if index else []), *arrays)}
        for r in range(len(self)):
            n = len(self[arrays[0]][r])
            for f in fields:
                out[f] += [self[f][r].item()] * n
            if index:
                out[index] += list(range(n))
            for k in arrays:
                out[k] += [float(v) for v in self[k][r]]
        return out
