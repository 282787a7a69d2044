"""The result table (a pandas DataFrame) and the store's queries: grouping, selection, provenance,
cached theory."""

import json
import sqlite3
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from test_sims import sims

from sims.store import RUNS_COLUMNS, Store
from sims.table import by_key, frame, from_results, group_stats, long, pivot, stack


@dataclass(frozen=True)
class Cfg:
    m: int
    replicate: int


def _table():
    rng = np.random.default_rng(0)
    results = [(Cfg(m, r), {"b": rng.random(), "curve": rng.random(3)}) for m in (4, 8, 16) for r in range(5)]
    return results, from_results(results)


def test_the_table_is_a_dataframe_with_scalar_and_array_columns():
    results, t = _table()
    assert isinstance(t, pd.DataFrame) and len(t) == 15 and list(t.columns) == ["m", "replicate", "b", "curve"]
    assert t["m"].dtype == np.int64 and t["b"].dtype == np.float64 and t["curve"].dtype == object
    np.testing.assert_array_equal(t["curve"].iloc[7], results[7][1]["curve"])
    assert stack(t, "curve").shape == (15, 3)
    # None becomes NaN, an enum its value, a numpy scalar a plain one
    rows = frame([{"x": None, "y": np.float64(2.0)}, {"x": 1.0, "y": np.float64(3.0)}])
    assert np.isnan(rows["x"].iloc[0]) and rows["y"].tolist() == [2.0, 3.0]


def test_group_stats_select_and_pivot_equal_hand_computation():
    results, t = _table()
    g = group_stats(t, "m", "b")
    assert g.index.tolist() == [4, 8, 16] and g["count"].tolist() == [5, 5, 5]
    for key, mean, sem in zip(g.index, g["value"], g["sem"]):
        vals = np.array([r["b"] for c, r in results if c.m == key])
        assert mean == vals.mean()  # NumPy's sum, in the runs' order: the same bits
        assert sem == vals.std(ddof=1) / np.sqrt(5)
    assert by_key(g["value"]) == {4: g["value"].iloc[0], 8: g["value"].iloc[1], 16: g["value"].iloc[2]}
    med = group_stats(t, "m", "b", stat=np.median)
    assert med["value"].iloc[1] == np.median([r["b"] for c, r in results if c.m == 8])
    sel = t.query("m == 8 and replicate >= 3")
    assert len(sel) == 2 and set(sel["replicate"]) == {3, 4}
    assert [m for m, _ in t.groupby("m")] == [4, 8, 16] and len(t.groupby("m").get_group(16)) == 5
    Y = pivot(t, "replicate", "m", "curve", [4, 8, 16, 32])
    assert Y.shape == (15, 4) and np.isnan(Y[:, 3]).all()
    np.testing.assert_array_equal(Y[3:6, 1], results[5 + 1][1]["curve"])  # replicate 1 at m = 8
    np.testing.assert_array_equal(pivot(t, "replicate", "m", "b", [4, 8, 16]),
                                  t.pivot(index="replicate", columns="m", values="b").to_numpy())
    rows = long(t, ("m",), ("curve",), index="point")
    assert len(rows["curve"]) == 45 and rows["point"][:3] == [0, 1, 2] and rows["m"][:4] == [4, 4, 4, 4]
    assert all(type(v) is int for v in rows["m"]) and all(type(v) is float for v in rows["curve"])


def test_group_stats_leave_out_non_finite_values_and_report_empty_groups():
    t = frame([{"m": 1, "b": np.nan}, {"m": 2, "b": 1.0}, {"m": 2, "b": np.inf}])
    g = group_stats(t, "m", "b")
    assert np.isnan(g["value"].iloc[0]) and g["count"].tolist() == [0, 1] and g["value"].iloc[1] == 1.0


def test_store_table_filters_and_records_version_and_overrides(tmp_path):
    out = tmp_path / "r"
    sims("run", "three", "--set", "m=4", "--out", str(out))
    store = Store(out)
    try:
        table = store.table("three", m=4)
        assert len(table) == 2 and sorted(table["replicate"]) == [0, 1]  # quick: 2 pairs a width
        assert len(store.table("three", m=8)) == 0
        assert all(json.loads(o) == {"m": "4"} for o in table["overrides"])
        assert all(v.startswith("0.") for v in table["version"])  # package version (+ git commit)
        # the figure's numbers come from the same runs
        assert isinstance(table, pd.DataFrame)
        assert table.groupby("m")["direct"].mean().iloc[0] == pytest.approx(np.mean(table["direct"]))
    finally:
        store.close()
    made_with = json.loads((out / "figures" / "three.json").read_text())["made_with"]
    assert made_with["overrides"] == {"m": "4"} and made_with["package"].startswith("twolayer ")


def test_cached_theory_is_computed_once(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"curve": np.arange(3.0)}

    store = Store(tmp_path)
    try:
        first = store.cached("demo", {"k": 2}, compute)
        again = store.cached("demo", {"k": 2}, compute)
        other = store.cached("demo", {"k": 3}, compute)
    finally:
        store.close()
    assert len(calls) == 2
    np.testing.assert_array_equal(first["curve"], again["curve"])
    np.testing.assert_array_equal(other["curve"], np.arange(3.0))


def test_an_index_of_the_first_layout_gains_the_provenance_columns_in_place(tmp_path):
    db = sqlite3.connect(tmp_path / "index.sqlite")
    db.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, experiment TEXT NOT NULL, config TEXT NOT NULL, "
               "seed INTEGER NOT NULL, status TEXT NOT NULL, metrics TEXT, checksum TEXT, started REAL, "
               "finished REAL, error TEXT)")
    db.execute("INSERT INTO runs VALUES ('k', 'width', '{}', 0, 'failed', NULL, NULL, 0, 0, 'boom')")
    db.commit()
    db.close()
    Store(tmp_path).close()
    db = sqlite3.connect(tmp_path / "index.sqlite")
    assert [row[1] for row in db.execute("PRAGMA table_info(runs)")] == RUNS_COLUMNS
    assert db.execute("SELECT error FROM runs WHERE key = 'k'").fetchone() == ("boom",)
    db.close()


def test_runs_stored_under_an_older_result_layout_are_recomputed_not_loaded(tmp_path, monkeypatch):
    import dataclasses

    from conftest import run_cli

    import sims.experiments.three as three

    args = ("run", "--quiet", "three", "--set", "m=4", "--set", "steps=500", "--out", str(tmp_path / "r"))
    first = run_cli(*args, check=True).stdout
    assert next(line for line in first.splitlines() if line.startswith("three")).split()[1:4] == ["2", "2", "0"]
    newer = dataclasses.replace(three.EXPERIMENT, version=three.EXPERIMENT.version + 1)
    monkeypatch.setattr(three, "EXPERIMENT", newer)
    again = run_cli(*args, check=True).stdout
    assert next(line for line in again.splitlines() if line.startswith("three")).split()[1:4] == ["2", "2", "0"]
