"""Finished runs as a pandas DataFrame: one row per run, config fields and results as columns.

``from_results`` builds it from a sweep's (config, arrays) pairs and ``Store.table`` from the
result store. Scalar results are ordinary columns; a result holding an array per run is an
object column of numpy arrays. Summaries select, group and pivot with pandas itself; this
module keeps only what pandas lacks: statistics per group as the figures report them
(``group_stats``: the mean of the finite values with its standard error, in the runs' order, so
that the numbers are those of plain NumPy), a per-run array column as a 2-d array (``stack``) or
pivoted against a field (``pivot``), and the long CSV layout of per-run arrays (``long``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


def _scalar(value):
    """A plain scalar for a column: None -> NaN, an enum -> its value, a numpy scalar -> Python."""
    if value is None:
        return np.nan
    if isinstance(value, Enum):
        return value.value
    return value.item() if hasattr(value, "item") else value


def frame(rows: Sequence[dict]) -> pd.DataFrame:
    """One row per run. A key holding an array of rank >= 1 in any row is an object column of
    numpy arrays; any other key a column of plain scalars (None as NaN, an enum as its value).

    Parameters
    ----------
    rows : sequence of dict
        One dict per run: field or result name -> value.

    Returns
    -------
    pandas.DataFrame
        The runs in the order given, with a default integer index.
    """
    import pandas as pd  # here: commands that draw nothing start without it

    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns: dict[str, Any] = {}
    for k in keys:
        values = [row.get(k) for row in rows]
        if any(np.ndim(v) > 0 for v in values):
            column = np.empty(len(values), dtype=object)
            column[:] = [np.asarray(v) for v in values]
            columns[k] = column
        else:
            columns[k] = np.array([_scalar(v) for v in values])
    return pd.DataFrame(columns, index=pd.RangeIndex(len(rows)))


def from_results(results: Sequence[tuple[Any, dict]]) -> pd.DataFrame:
    """The table of a sweep's (config dataclass, result arrays) pairs (``frame``).

    Parameters
    ----------
    results : sequence of (dataclass, dict)
        Each run's config and the arrays it returned.

    Returns
    -------
    pandas.DataFrame
        One row per run: the config's fields and the results.
    """
    return frame([dataclasses.asdict(c) | dict(r) for c, r in results])


def stack(table: pd.DataFrame, key: str) -> np.ndarray:
    """A per-run array column as a (runs, length) array (equal lengths required).

    Parameters
    ----------
    table : pandas.DataFrame
        Runs, one per row.
    key : str
        An object column holding one array per run.

    Returns
    -------
    numpy.ndarray
        The arrays stacked in the rows' order.
    """
    return np.stack(table[key].tolist())


def _sem(values: pd.Series) -> float:
    """Standard error of the mean (nan for fewer than two values)."""
    v = values.to_numpy(dtype=float)
    return v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else np.nan


def group_stats(table: pd.DataFrame, by: str | Sequence[str], value: str,
                stat: Callable[[np.ndarray], float] = np.mean,
                keep: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    """``stat`` (default the mean), standard error and count of ``value`` per distinct value of ``by``.

    Non-finite values are left out, and ``keep`` (values -> mask) can leave out more; a group
    with no values left gets NaN. The statistics are computed by NumPy on each group's values in
    the rows' order (pandas' own mean sums in another order, which can change the last bit).

    Parameters
    ----------
    table : pandas.DataFrame
        Runs, one per row.
    by : str or sequence of str
        The field(s) to group by.
    value : str
        A scalar column.
    stat : callable, optional
        Statistic of a group's values (a 1-d float array).
    keep : callable, optional
        Values (a 1-d float array of the whole column) -> boolean mask of those to use.

    Returns
    -------
    pandas.DataFrame
        Indexed by the sorted group keys (a MultiIndex for several fields), with columns
        ``value``, ``sem`` and ``count``.
    """
    y = table[value].to_numpy(dtype=float)
    ok = np.isfinite(y) if keep is None else np.isfinite(y) & keep(y)
    keys = table.groupby(by).size().index
    stats = (table[ok].groupby(by)[value]
             .agg(value=lambda s: stat(s.to_numpy(dtype=float)), sem=_sem, count="size")
             .reindex(keys))
    stats["count"] = stats["count"].fillna(0).astype(int)
    return stats


def by_key(values: pd.Series) -> dict:
    """``{key: value}`` of a Series indexed by group keys, with plain Python keys and floats, for JSON.

    Parameters
    ----------
    values : pandas.Series
        E.g. the ``value`` column of ``group_stats``.

    Returns
    -------
    dict
    """
    return {k: float(v) for k, v in zip(values.index.tolist(), values.tolist())}


def pivot(table: pd.DataFrame, index: str, columns: str, value: str, column_values: Sequence) -> np.ndarray:
    """A column (scalar or an equal-length array per run) against two fields, as a 2-d array.

    ``DataFrame.pivot`` for a column that may hold an array per run: one row per distinct
    ``index`` value and per array entry, one column per entry of ``column_values``.

    Parameters
    ----------
    table : pandas.DataFrame
        Runs, one per row.
    index : str
        The field whose sorted distinct values give the rows.
    columns : str
        The field whose values are looked up in ``column_values``.
    value : str
        The column to place.
    column_values : sequence
        The values of ``columns`` in the output's column order.

    Returns
    -------
    numpy.ndarray
        Shape (rows, len(column_values)); NaN where a combination is missing.
    """
    keys = np.unique(table[index]).tolist()
    values, at, col = table[value].tolist(), table[index].tolist(), table[columns].tolist()
    per_run = np.size(values[0]) if len(table) else 1
    Y = np.full((len(keys) * per_run, len(column_values)), np.nan)
    where = {x: j for j, x in enumerate(column_values)}
    for r in range(len(table)):
        row = keys.index(at[r]) * per_run
        Y[row:row + per_run, where[col[r]]] = values[r]
    return Y


def long(table: pd.DataFrame, fields: Sequence[str], arrays: Sequence[str],
         index: str | None = None) -> dict[str, list]:
    """Runs whose results hold equal-length arrays, as long CSV columns.

    Parameters
    ----------
    table : pandas.DataFrame
        Runs, one per row.
    fields : sequence of str
        Scalar columns repeated on each of a run's rows.
    arrays : sequence of str
        Per-run array columns, one CSV row per entry.
    index : str, optional
        Name of a column holding the entry's position in the arrays.

    Returns
    -------
    dict of str to list
        One row per array entry, plain Python values.
    """
    out: dict[str, list] = {f: [] for f in (*fields, *([index] if index else []), *arrays)}
    scalars = {f: table[f].tolist() for f in fields}
    per_run = {k: table[k].tolist() for k in arrays}
    for r in range(len(table)):
        n = len(per_run[arrays[0]][r])
        for f in fields:
            out[f] += [scalars[f][r]] * n
        if index:
            out[index] += list(range(n))
        for k in arrays:
            out[k] += [float(v) for v in per_run[k][r]]
    return out
