"""The command line as a user meets it: signals, paths and options checked before any work,
one-line errors with exit 2, help, figure sets that are whole or absent, nothing written into
the repository unless asked."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_sims import ROOT, sims

LONG_RUN = ["run", "lr", "--jobs", "2", "--quiet"]


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_with_workers(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "sims", *LONG_RUN, "--out", str(tmp_path / "r")], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        workers = [p for p in _children(proc.pid) if _alive(p)]
        if len(workers) >= 2:
            time.sleep(1.0)  # let them start computing
            return proc, workers
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the sweep never started its workers")


def _gone(pids, within=10.0) -> bool:
    deadline = time.time() + within
    while time.time() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.2)
    return False


def test_sigkill_of_the_sweep_takes_its_workers_with_it(tmp_path):
    proc, workers = _start_with_workers(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _gone(workers)


@pytest.mark.parametrize("signals,code,word", [([signal.SIGTERM], 143, "terminated (SIGTERM)"),
                                               ([signal.SIGINT], 130, "interrupted (SIGINT)"),
                                               ([signal.SIGINT, signal.SIGINT], 130, "interrupted (SIGINT)")])
def test_signals_stop_the_workers_with_one_line_and_an_exit_code(tmp_path, signals, code, word):
    proc, workers = _start_with_workers(tmp_path)
    for sig in signals:
        os.kill(proc.pid, sig)
        time.sleep(0.1)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code
    assert word in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert _gone(workers)


@pytest.mark.parametrize("args,message", [
    (["--out", ""], "--out must name a directory"),
    (["--out", "/proc/nonexistent/x"], "--out /proc/nonexistent/x: not a writable directory"),
    (["--figures", "/proc/nonexistent/f"], "--figures /proc/nonexistent/f: not a writable directory"),
    (["--seed", str(2**64)], "--seed must be >= 0 and < 2**63"),
    (["--set", "nokey=1"], "experiment imp: unknown key 'nokey'"),
])
def test_paths_and_options_are_checked_before_any_work(tmp_path, args, message):
    defaults = {"--out": str(tmp_path / "r")}
    given_opts = dict(zip(args[::2], args[1::2]))
    rest = [x for k, v in defaults.items() if k not in given_opts for x in (k, v)]
    proc = run_cli("run", "--quiet", "imp", *args, *rest)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r" / "imp").exists()  # nothing computed


def test_out_or_figures_naming_a_file_is_refused(tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    for option in ("--out", "--figures"):
        other = ["--figures", str(tmp_path / "f")] if option == "--out" else ["--out", str(tmp_path / "r")]
        proc = run_cli("run", "--quiet", "imp", option, str(afile), *other)
        assert proc.returncode == 2 and f"{option} {afile}: exists and is not a directory" in proc.stderr


def test_data_errors_name_their_source_and_come_before_the_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("TWOLAYER_DATA", "/bad")  # read by the command when it runs (in this process here)
    proc = run_cli("run", "imp", "--set", "steps=300", "--set", "rewind=20", "--set", "rounds=2",
                   "--out", str(tmp_path / "r"), "--quiet", cwd=ROOT)
    assert proc.returncode == 0  # imp reads no data: the variable is not its concern
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = run_cli("run", "--quiet", "real_width", "--data", str(empty), "--out", str(tmp_path / "r2"))
    assert proc.returncode == 2 and f"--data {empty}: {empty}: no train-images-idx3-ubyte" in proc.stderr
    assert not (tmp_path / "r2").exists()
    proc = run_cli("run", "real_width", "--out", str(tmp_path / "r3"), cwd=ROOT)
    assert proc.returncode == 2
    assert "TWOLAYER_DATA=/bad: data '/bad': not a folder and not one of mnist1d" in proc.stderr


@pytest.mark.slow
def test_dask_scheduler_that_does_not_answer_is_one_line(tmp_path):
    pytest.importorskip("distributed")
    t0 = time.time()
    proc = sims("run", "imp", "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9", "--out",
                str(tmp_path / "r"), check=False)
    assert proc.returncode == 2 and "--scheduler tcp://127.0.0.1:9: no dask scheduler answered" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and time.time() - t0 < 60


def test_list_into_a_closed_pipe_and_report_outside_the_repository(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m sims list | head -1", shell=True, cwd=ROOT, capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr and proc.stdout.startswith("width")
    proc = subprocess.run([sys.executable, "-m", "sims", "report"], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "--figures figures: not a directory" in proc.stderr


def test_help_shows_defaults_and_the_keys_of_an_experiment():
    out = run_cli("run", "lr", "--help").stdout
    assert "(default: results)" in out and "--set keys of lr" in out
    assert "variant" in out and "one of gd, frozen, meanfield, online" in out and "lr_rel" in out


def test_a_run_writes_figures_beside_its_results_not_into_the_repository(tmp_path):
    tracked = {p: p.stat().st_mtime_ns for p in (ROOT / "figures").iterdir()}
    run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(tmp_path / "r"), check=True)
    assert (tmp_path / "r" / "figures" / "imp.png").exists() and (tmp_path / "r" / "figures" / "README.md").exists()
    assert {p: p.stat().st_mtime_ns for p in (ROOT / "figures").iterdir()} == tracked


def test_an_interrupted_figure_set_is_completed_and_a_broken_json_is_skipped(tmp_path):
    from sims.figureset import recover
    from sims.report import write_report
    figs = tmp_path / "f"
    figs.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    for suffix, text in (("png", "new png"), ("json", json.dumps({"a": 1.0}))):
        (figs / f"imp.{suffix}").write_text(f"old {suffix}")
        (figs / f".imp.{pid}.{suffix}.tmp").write_text(text)
    (figs / f".imp.{pid}.pending.json").write_text(json.dumps({"imp.png": f".imp.{pid}.png.tmp",
                                                               "imp.json": f".imp.{pid}.json.tmp"}))
    (figs / f".three.{pid}.png.tmp").write_text("never staged")
    recover(figs)
    assert (figs / "imp.png").read_text() == "new png" and json.loads((figs / "imp.json").read_text()) == {"a": 1.0}
    assert not list(figs.glob(".*"))
    (figs / "width.json").write_text("")  # a zero-byte JSON
    (figs / "landscape_plane.json").write_text(json.dumps({"resolution": 21}))  # sims.landscape's, not an experiment
    (figs / "lr_phase.json").write_text(json.dumps({"m": 32}))  # lr's second figure
    write_report(figs)
    report = (figs / "README.md").read_text()
    assert "## imp" in report and "## width" not in report
    assert "## lr_phase" in report and "## lr\n" not in report and "## regimes_phase" not in report
    assert "## landscape_plane" in report and "![landscape_plane](landscape_plane.png)" in report
    assert report.index("## imp") < report.index("## landscape_plane") and "## landscape_path" not in report


ARGUMENT_LISTS = st.lists(st.sampled_from(["run", "all", "list", "report", "lr", "imp", "nosuch", "--jobs", "0", "-1",
                                           "x", "--seed", "--set", "m=abc", "steps=0", "--profile", "huge",
                                           "--executor", "mpi", "--out", "", "--figures", "/proc/x", "--data",
                                           "/nonexistent", "--quiet", "=", "--bogus"]), max_size=6)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ARGUMENT_LISTS)
def test_random_argument_lists_never_end_in_a_traceback(tmp_path, args):  # 150 lists: the slow one below
    _exits_cleanly(tmp_path, args)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ARGUMENT_LISTS)
def test_random_argument_lists_never_end_in_a_traceback_thorough(tmp_path, args):
    _exits_cleanly(tmp_path, args)


def _exits_cleanly(tmp_path, args):
    if args[:1] in (["run"], ["all"]) and not {"--out"} & set(args):
        args = [*args, "--out", str(tmp_path / "never")]
    if args[:1] in (["run"], ["all"]) and "--jobs" not in args:  # keep accidental valid sweeps short
        args = [*args, "--set", "steps=0"]
    proc = subprocess.run([sys.executable, "-m", "sims", *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 2)


FAST_IMP = ["--set", "steps=300", "--set", "rewind=20", "--set", "rounds=2"]


@pytest.fixture(scope="module")
def imp_store(tmp_path_factory) -> Path:
    """A finished imp sweep (3 runs), made once; tests copy it."""
    out = tmp_path_factory.mktemp("imp") / "r"
    run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), check=True)
    return out


def _damage(index: Path, how: str) -> None:
    data = bytearray(index.read_bytes())
    if how == "header":
        data[:16] = b"not a database!!"
    elif how == "truncated":
        data = data[: len(data) // 3]
    elif how == "flipped":
        for i in range(100, len(data), 97):
            data[i] ^= 0xFF
    index.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["header", "truncated", "flipped", "old-schema"])
def test_a_corrupt_index_is_moved_aside_and_rebuilt_from_the_results(tmp_path, imp_store, how):
    import shutil
    import sqlite3
    out = tmp_path / "r"
    shutil.copytree(imp_store, out)
    index = out / "index.sqlite"
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    if how == "old-schema":
        index.unlink()
        db = sqlite3.connect(index)
        db.execute("CREATE TABLE runs (key TEXT PRIMARY KEY, config TEXT, result TEXT)")
        db.commit()
        db.close()
    else:
        _damage(index, how)
    proc = run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), check=True)
    row = next(line for line in proc.stdout.splitlines() if line.startswith("imp")).split()
    assert "Traceback" not in proc.stderr
    if how != "flipped" or "moved to index.sqlite.corrupt" in proc.stderr:  # flipped bytes may miss every page
        assert f"warning: {index}:" in proc.stderr and "rebuilt from 3 result files" in proc.stderr
        assert row[1:4] == ["3", "0", "3"]  # nothing recomputed
        assert list(out.glob("index.sqlite.corrupt-*"))
    else:
        assert int(row[2]) + int(row[3]) == 3


def test_a_directory_where_a_result_belongs_is_moved_aside(tmp_path, imp_store):
    import shutil
    out = tmp_path / "r"
    shutil.copytree(imp_store, out)
    victim = next((out / "imp").glob("*.npz"))
    victim.unlink()
    victim.mkdir()
    proc = run_cli("run", "--quiet", "imp", *FAST_IMP, "--out", str(out), check=True)
    assert "Traceback" not in proc.stderr and "a directory where a result file belongs" in proc.stderr
    assert victim.is_file()


def test_a_single_width_sweep_summarizes_without_a_slope(tmp_path):
    proc = run_cli("run", "--quiet", "width", "--set", "m=16", "--set", "steps=500", "--out", str(tmp_path / "r"),
                   check=True)
    fitted = json.loads((tmp_path / "r" / "figures" / "width.json").read_text())
    assert "theory_slope" not in fitted["k=2"] and fitted["made_with"]["overrides"] == {"m": "16", "steps": "500"}
    assert "Traceback" not in proc.stderr
