"""The sweep runner and the command line: resume, faults, parallel and dask equality, errors."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

from sims.profile import Profile
from sims.store import THEORY

ROOT = Path(__file__).resolve().parents[1]
FAST_IMP = ["--set", "steps=300", "--set", "rewind=20", "--set", "rounds=2"]


def sims(*args, cwd=None, check=True, timeout=600):
    proc = subprocess.run([sys.executable, "-m", "sims", *args, "--quiet"] if args[0] in ("run", "all")
                          else [sys.executable, "-m", "sims", *args],
                          cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def stored(out: Path) -> dict:
    """key -> arrays of every done run in a store (not the cached theory curves)."""
    db = sqlite3.connect(out / "index.sqlite")
    rows = db.execute("SELECT key, experiment FROM runs WHERE status = 'done' AND experiment != ?",
                      (THEORY,)).fetchall()
    db.close()
    result = {}
    for key, exp in rows:
        with np.load(out / exp / f"{key}.npz", allow_pickle=False) as z:
            result[key] = {k: z[k] for k in z.files}
    return result


def test_list_names_every_experiment():
    out = run_cli("list").stdout
    for name in ("width", "lr", "wasserstein", "trajectory", "three", "imp", "matching"):
        assert name in out


def test_experiments_are_found_in_their_modules_in_a_stable_order(tmp_path, monkeypatch):
    import sims.experiments as package
    from sims import registry
    # the order of list, all and the report: the synthetic experiments, then the real-data ones
    # (the last, dimension, draws its figure quickly: nothing is left to overlap the last drawing)
    assert registry.names() == ("width", "width_frozen", "lr", "lr_dynamics", "wasserstein", "trajectory", "three",
                                "imp", "matching", "repair_width", "merge", "regimes", "regimes_matching",
                                "real_width", "real_depth", "real_lr", "real_trajectory", "real_imp", "real_conv",
                                "real_three", "real_repair", "dimension")
    # a new module defining EXPERIMENT is all it takes; a module of helpers is not an experiment
    (tmp_path / "zz_toy.py").write_text("from sims.experiment import Experiment\n"
                                        "EXPERIMENT = Experiment('zz_toy', 'a toy', None, None, None, order=15)\n")
    (tmp_path / "zz_late.py").write_text("from sims.experiment import Experiment\n"
                                         "EXPERIMENT = Experiment('zz_late', 'no order', None, None, None)\n")
    (tmp_path / "zz_helpers.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])
    for module in ("zz_toy", "zz_late", "zz_helpers"):
        monkeypatch.delitem(sys.modules, f"sims.experiments.{module}", raising=False)
    registry.names.cache_clear()
    try:
        found = registry.names()
        assert found[:3] == ("width", "zz_toy", "width_frozen") and found[-1] == "zz_late"
        assert "zz_helpers" not in found and registry.get("zz_toy").description == "a toy"
    finally:
        registry.names.cache_clear()


@pytest.mark.parametrize("args,message", [
    (["run", "nosuch"], "unknown experiment"),
    (["run", "imp", "--profile", "huge"], "--profile"),
    (["run", "imp", "--set", "nokey=1"], "unknown key"),
    (["run", "imp", "--set", "m=abc"], "expected int"),
    (["run", "imp", "--set", "m=0"], "m must be"),
    (["run", "imp", "--set", "prune=1.5"], "prune"),
    (["run", "imp", "--jobs", "0"], "--jobs"),
    (["run", "imp", "--executor", "mpi"], "--executor"),
    (["run", "imp", "--executor", "dask"], "--scheduler"),
    (["run", "lr", "--set", "variant=sgd"], "--set variant: expected one of gd, frozen, meanfield, online"),
    (["run", "lr", "--set", "lr_rel=-1"], "lr_rel must be"),
    (["run", "lr", "--set", "balanced=true"], "balanced must be false for variant frozen"),
    (["run", "lr_dynamics", "--set", "trace=x"], "expected int"),
    (["run", "regimes", "--set", "init=xavier"], "--set init: expected one of small, pytorch, lecun, meanfield"),
    (["run", "regimes", "--set", "lr_rel=-1"], "lr_rel must be a finite number > 0"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path):
    proc = run_cli(*args, "--quiet", "--out", str(tmp_path / "r"), "--figures", str(tmp_path / "f"))
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_rerun_skips_and_corrupt_file_is_recomputed(tmp_path):
    out, figs = tmp_path / "r", tmp_path / "f"
    run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), "--figures", str(figs), check=True)
    first = stored(out)
    assert len(first) == 3 and (figs / "imp.png").exists() and (figs / "imp.csv").exists()
    made = json.loads((figs / "imp.json").read_text())["made_with"]  # provenance of the runs drawn
    assert made["runs"]["runs"] == 3 and made["runs"]["run_seconds"] > 0 and made["profile"] == "quick"
    assert made["runs"]["sweep_wall_seconds"] >= made["runs"]["run_seconds"] / 2  # --jobs 1: runs one after another
    assert all(v.startswith("0.") or v == "unknown" for v in made["runs"]["code_version"])
    again = run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), "--figures", str(figs), check=True).stdout
    assert next(line for line in again.splitlines() if line.startswith("imp")).split()[1:4] == ["3", "0", "3"]
    victim = next((out / "imp").glob("*.npz"))
    victim.write_bytes(victim.read_bytes()[:100])  # truncate: checksum no longer matches
    third = run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), "--figures", str(figs), check=True).stdout
    row = next(line for line in third.splitlines() if line.startswith("imp"))
    assert row.split()[1:4] == ["3", "1", "2"]  # runs, done, skipped
    final = stored(out)
    for key in first:
        for name in first[key]:
            np.testing.assert_array_equal(first[key][name], final[key][name])


@pytest.mark.slow
def test_jobs_do_not_change_results(tmp_path):
    sims("run", "imp", *FAST_IMP, "--jobs", "1", "--out", str(tmp_path / "a"), "--figures", str(tmp_path / "f"))
    sims("run", "imp", *FAST_IMP, "--jobs", "2", "--out", str(tmp_path / "b"), "--figures", str(tmp_path / "f"))
    a, b = stored(tmp_path / "a"), stored(tmp_path / "b")
    assert a.keys() == b.keys() and len(a) == 3
    for key in a:
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name])


@pytest.mark.slow
def test_sigkill_midway_keeps_finished_runs(tmp_path):
    out = tmp_path / "r"
    args = [sys.executable, "-m", "sims", "run", "width", "--set", "steps=3000", "--set", "d=10", "--out", str(out),
            "--figures", str(tmp_path / "f"), "--quiet"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    done = {}
    while time.time() < deadline:
        time.sleep(0.5)
        if (out / "index.sqlite").exists():
            try:
                done = stored(out)
            except (sqlite3.OperationalError, FileNotFoundError, ValueError):
                continue
            if len(done) >= 5:
                break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 5 <= len(done) < 44, "the sweep should have been killed midway"
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "width").glob("*.npz")}
    rerun = run_cli("run", "--quiet", "width", "--set", "steps=3000", "--set", "d=10", "--out", str(out),
                    "--figures", str(tmp_path / "f"), check=True).stdout
    row = next(line for line in rerun.splitlines() if line.startswith("width")).split()
    assert int(row[3]) >= len(done) and int(row[2]) + int(row[3]) == 44 and row[4] == "0"
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / "width").glob("*.npz")}
    for key in done:
        assert after[f"{key}.npz"] == before[f"{key}.npz"]  # not recomputed, not rewritten
    assert len(stored(out)) == 44


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_results(tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    sims("run", "imp", *FAST_IMP, "--out", str(tmp_path / "local"), "--figures", str(tmp_path / "f"))
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        sims("run", "imp", *FAST_IMP, "--executor", "dask", "--scheduler", cluster.scheduler_address,
             "--out", str(tmp_path / "dask"), "--figures", str(tmp_path / "f"))
    a, b = stored(tmp_path / "local"), stored(tmp_path / "dask")
    assert a.keys() == b.keys() and len(a) == 3
    for key in a:
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name])


def test_report_lists_the_figures(tmp_path):
    figs = tmp_path / "f"
    run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(tmp_path / "r"), "--figures", str(figs), check=True)
    run_cli("report", "--figures", str(figs), check=True)
    text = (figs / "README.md").read_text()
    assert "![imp](imp.png)" in text and "dense_perm" in text
    assert json.loads((figs / "imp.json").read_text())["remaining_fraction"][0] == 1.0
    # an absolute path below the working directory is written relative to it (the page is committed)
    run_cli("report", "--figures", str(figs.resolve()), cwd=tmp_path, check=True)
    assert "--figures f`" in (figs / "README.md").read_text() and str(tmp_path) not in (figs / "README.md").read_text()


def test_real_data_experiment_reads_mnist_given_with_data(tmp_path):
    from twolayer.data import write_idx
    rng = np.random.default_rng(0)
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    for split, n in (("train", 300), ("t10k", 100)):
        labels = rng.integers(0, 10, n)
        images = (rng.integers(0, 60, (n, 6, 6)) + 150 * (np.arange(36).reshape(6, 6) % 10 == labels[:, None, None]))
        write_idx(mnist / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(mnist / f"{split}-labels-idx1-ubyte.gz", labels)
    proc = sims("run", "real_width", "--data", str(mnist), "--set", "steps=100", "--set", "width=16",
                "--out", str(tmp_path / "r"), "--figures", str(tmp_path / "f"))
    assert "mnist from" in proc.stderr and (tmp_path / "f" / "real_width.png").exists()
    assert json.loads((tmp_path / "f" / "real_width.json").read_text())["data"] == "mnist"
    db = sqlite3.connect(tmp_path / "r" / "index.sqlite")
    configs = [json.loads(c) for (c,) in db.execute("SELECT config FROM runs WHERE status = 'done'")]
    assert configs and all(c["data"] == str(mnist) for c in configs)


def test_real_data_runs_on_pytorch_networks_are_finite_and_named(tmp_path):
    pytest.importorskip("torch")
    from sims.common import FigureDir
    from sims.experiments import real_three
    from sims.experiments.realdata import RealConfig
    from sims.table import from_results
    # float32, as the quick profile trains its convolutional networks (half the time of float64)
    cfg = RealConfig(arch="resnet", multiplier=0.25, depth=8, steps=20, n_train=200, precision="float32")
    first = real_three.run(cfg, np.random.SeedSequence(3))  # PyTorch training is bitwise reproducible: test_torch
    assert set(first) == {f"{k}_{kind}" for k in real_three.KEYS for kind in ("loss", "error")}
    assert all(np.isfinite(v) for v in first.values())
    table = from_results([(cfg, first)])
    fitted = real_three.summarize(table, FigureDir(tmp_path), None)
    assert fitted["data"] == "mnist1d" and (tmp_path / "real_three.png").exists()
    with pytest.raises(ValueError, match="arch must be one of 'mlp', 'vgg', 'resnet'"):
        RealConfig(arch="vgg16")
    with pytest.raises(ValueError, match="depth must be 6 n \\+ 2"):
        RealConfig(arch="resnet", depth=9)


def test_fields_added_later_are_validated_and_leave_the_earlier_runs_keys_alone():
    # precision and bn_rows came after the paper's runs were stored: at its default a field is not part of a
    # run's key or random stream, so those runs stay valid; float32 runs are other runs
    import dataclasses
    import hashlib
    import json

    from sims.experiments.realdata import RealConfig
    from sims.registry import get
    from sims.runner import run_key, run_seed
    with pytest.raises(ValueError, match="precision must be one of 'float64', 'float32'; got 'float16'"):
        RealConfig(arch="vgg", precision="float16")
    with pytest.raises(ValueError, match="precision must be 'float64' for arch='mlp'"):
        RealConfig(precision="float32")
    with pytest.raises(ValueError, match="bn_rows must be"):
        RealConfig(arch="vgg", bn_rows=0)
    cfg = RealConfig(arch="resnet", depth=8)
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("precision", "bn_rows")}
    blob = json.dumps({"experiment": "real_three", "version": get("real_three").version,
                       "config": {"type": "RealConfig", **fields}, "seed": 0}, sort_keys=True, default=str)
    assert run_key(get("real_three"), cfg, 0) == hashlib.sha256(blob.encode()).hexdigest()[:24]
    single = dataclasses.replace(cfg, precision="float32")
    assert run_key(get("real_three"), single, 0) != run_key(get("real_three"), cfg, 0)
    streams = [run_seed("real_three", c, 0).generate_state(4) for c in (single, cfg)]
    assert not np.array_equal(*streams)


def test_quick_profile_trains_convolutional_networks_in_float32_and_paper_in_float64():
    from sims.experiments.realdata import Architecture
    from sims.registry import get
    for name in ("real_conv", "real_three", "real_repair", "real_imp", "real_trajectory"):
        for profile, precision in ((Profile.QUICK, "float32"), (Profile.PAPER, "float64")):
            conv = [c for c in get(name).configs(profile) if c.architecture is not Architecture.MLP]
            assert conv and {c.precision for c in conv} == {precision}, (name, profile)


@pytest.mark.parametrize("profile", list(Profile))
def test_every_profile_builds_valid_distinct_configs(profile):
    from sims.registry import get, names
    from sims.runner import run_key
    for name in names():
        configs = get(name).configs(profile)
        assert configs, name
        assert len({run_key(get(name), c, 0) for c in configs}) == len(configs), f"{name}: duplicate runs"


def test_configs_refuse_a_profile_that_is_not_a_profile():
    # a string is not a profile (any other string used to mean the paper profile): Profile.of parses one
    from sims.registry import get, names
    for name in names():
        with pytest.raises(ValueError, match=r"^profile must be a Profile \(quick, paper, full; "):
            get(name).configs("quick")
    assert Profile.of("full") is Profile.FULL
    with pytest.raises(ValueError, match="^--profile must be one of 'quick', 'paper', 'full'; got 'huge'$"):
        Profile.of("huge", "--profile")


@pytest.mark.slow
def test_all_quick_profile_end_to_end(tmp_path):
    figs = tmp_path / "f"
    # the whole quick profile: about 6 min on two cores from a cold numba cache (README)
    proc = sims("all", "--profile", "quick", "--jobs", "2", "--out", str(tmp_path / "r"), "--figures", str(figs),
                timeout=2400)
    from sims.registry import names
    for name in names():
        for ext in ("png", "pdf", "csv", "json"):
            assert (figs / f"{name}.{ext}").exists(), (name, ext)
    assert "total" in proc.stdout and (figs / "README.md").exists()


def test_saving_the_same_results_twice_gives_identical_files(tmp_path):
    import time

    from sims.common import FigureDir, figure, save

    def make(out, value):
        fig, (ax,) = figure(1)
        ax.plot([1, 2, 3], [0.1, 0.2, 0.4], label="x")
        save(fig, "demo", FigureDir(out), {"x": [1.0, 2.0], "y": [value, 0.25]}, {"slope": value, "ci": [value, 1.0]})

    make(tmp_path / "a", 0.1 + 0.2)
    time.sleep(1.1)  # a PDF timestamp would differ by now
    make(tmp_path / "b", 0.3)  # differs from 0.1 + 0.2 in the last bit only
    for suffix in ("png", "pdf", "csv", "json"):
        assert (tmp_path / "a" / f"demo.{suffix}").read_bytes() == (tmp_path / "b" / f"demo.{suffix}").read_bytes()


def test_trajectory_ratio_is_reported_by_width_with_a_trend():
    """A synthetic table where the final permutation's barrier is 1.1x the fresh one at m = 16 and 2x
    at m = 128: the per-width medians recover both, and the trend's interval lies above 0."""
    from sims.experiments.trajectory import ratio_by_width
    from sims.table import frame

    rng = np.random.default_rng(0)
    rows = []
    for m, factor in ((16, 1.1), (32, 1.4), (128, 2.0)):
        for r in range(12):
            fresh = np.exp(rng.normal(-6, 0.3, 15))
            rows.append(({"m": m, "replicate": r}, {"fresh_perm": fresh, "final_perm": fresh * factor
                                                    * np.exp(rng.normal(0, 0.05, 15))}))
    out = ratio_by_width(frame([c | arr for c, arr in rows]))
    assert out["median_final_over_fresh_by_m"][16] == pytest.approx(1.1, rel=0.05)
    assert out["median_final_over_fresh_by_m"][128] == pytest.approx(2.0, rel=0.05)
    assert out["pairs_by_m"] == {16: 12, 32: 12, 128: 12}
    lo, hi = out["ratio_trend_slope_ci95"]
    assert 0 < lo < out["ratio_trend_slope"] < hi


def test_figures_are_drawn_beside_the_sweeps_in_order_and_a_drawing_error_reaches_the_caller(tmp_path):
    import threading
    import types

    from sims.__main__ import FigureDrawer

    drawn = []

    def experiment(name, fail=False):
        def summarize(table, folder, store):
            drawn.append((name, threading.current_thread().name, store.root))
            if fail:
                raise OSError(28, "No space left on device")
        return types.SimpleNamespace(summarize=summarize)

    drawer = FigureDrawer(tmp_path)
    summaries = [types.SimpleNamespace(figure_seconds=-1.0) for _ in range(2)]
    drawer.draw(experiment("a"), None, None, summaries[0])
    drawer.draw(experiment("b"), None, None, summaries[1])
    drawer.finish()
    assert drawn == [("a", "figures", tmp_path), ("b", "figures", tmp_path)]
    assert all(s.figure_seconds >= 0 for s in summaries)  # timed
    drawer = FigureDrawer(tmp_path)
    drawer.draw(experiment("c", fail=True), None, None, summaries[0])
    drawer.draw(experiment("d"), None, None, summaries[1])
    with pytest.raises(OSError, match="No space left"):
        drawer.finish()
    assert [d[0] for d in drawn[2:]] == ["c"]  # nothing is drawn after an error
