"""Faults a long sweep meets (issue 25), each injected and held to what the user sees and what is
kept: a damaged index or result file, a full disk or read-only store, a worker killed mid-run, a
lost dask worker, a busy machine, a parent that goes away, memory limits, and the last inputs
that ended in a traceback. docs/faults.md tabulates the outcomes.

Most tests run a toy experiment in this process (milliseconds a run); the ones that need real
processes (workers, dask, a small file system, signals) are marked slow.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli

import sims.__main__ as cli
import sims.registry as registry
from sims.experiment import Experiment
from sims.files import WriteFailed
from sims.store import Store

ROOT = Path(__file__).resolve().parents[1]


# --- a toy experiment: four runs of a few microseconds, registered for this module's tests -------------


@dataclass(frozen=True)
class ToyConfig:
    """A toy run: n numbers a run, ``run`` numbers the config."""

    n: int = 3
    run: int = 0


#: the arrays the toy's ``run`` returns; tests change it to mimic a changed ``run``
TOY_ARRAYS = ["a", "b"]


def _toy_run(cfg: ToyConfig, seq: np.random.SeedSequence) -> dict:
    rng = np.random.default_rng(seq)
    arrays = {"a": rng.standard_normal(cfg.n), "b": float(cfg.run), "c": np.arange(2.0)}
    return {k: arrays[k] for k in TOY_ARRAYS}


TOY = Experiment("toy", "a toy", lambda profile: [ToyConfig(run=i) for i in range(4)], _toy_run,
                 lambda table, figures, store: {})


@pytest.fixture
def toy(monkeypatch):
    """``python -m sims run toy`` in this process (``run_cli``), --jobs 1."""
    real = registry.get
    fake = lambda name: TOY if name == "toy" else real(name)  # noqa: E731
    monkeypatch.setattr(registry, "get", fake)
    monkeypatch.setattr(cli, "get", fake)
    monkeypatch.setattr(sys.modules[__name__], "TOY_ARRAYS", ["a", "b"])
    return lambda out, *args: run_cli("run", "toy", "--quiet", "--out", str(out), *args)


def _row(proc) -> list[str]:
    """runs, done, skipped, failed of the summary line."""
    return next(line for line in proc.stdout.splitlines() if line.startswith("toy")).split()[1:5]


def _done_rows(out: Path) -> dict[str, str]:
    db = sqlite3.connect(out / "index.sqlite")
    rows = dict(db.execute("SELECT key, checksum FROM runs WHERE status = 'done'").fetchall())
    db.close()
    return rows


def _arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _replace_result(out: Path, path: Path, data: bytes) -> None:
    """Replace a result file and record its checksum, as if it had been saved so (consistent)."""
    path.write_bytes(data)
    db = sqlite3.connect(out / "index.sqlite")
    db.execute("UPDATE runs SET checksum = ? WHERE key = ?", (hashlib.sha256(data).hexdigest(), path.stem))
    db.commit()
    db.close()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- damaged result files -------------------------------------------------------------------------------


def test_a_result_file_of_garbage_is_recomputed_with_one_warning(tmp_path, toy):
    out = tmp_path / "r"
    assert toy(out).returncode == 0
    victim = next((out / "toy").glob("*.npz"))
    kept = _arrays(victim)
    _replace_result(out, victim, b"garbage " * 100)
    proc = toy(out)
    assert proc.returncode == 0 and _row(proc) == ["4", "1", "3", "0"]
    line = _one_line(proc.stderr)
    assert line.startswith(f"warning: {victim}: not a readable result file") and "recomputing" in line
    assert all(np.array_equal(kept[k], v) for k, v in _arrays(victim).items())  # the same arrays again


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_a_result_file_with_other_arrays_than_run_gives_is_recomputed(tmp_path, toy, change):
    out = tmp_path / "r"
    assert toy(out).returncode == 0
    victim = next((out / "toy").glob("*.npz"))
    arrays = _arrays(victim)
    if change == "missing":
        del arrays["b"]
    else:
        arrays["old"] = np.zeros(2)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _replace_result(out, victim, buf.getvalue())
    proc = toy(out)
    assert proc.returncode == 0 and _row(proc) == ["4", "1", "3", "0"]
    line = _one_line(proc.stderr)
    assert line.startswith("warning: toy: 1 stored result has arrays unlike the current run's")
    assert "recomputing" in line
    assert sorted(_arrays(victim)) == ["a", "b"]


def test_results_of_an_older_run_are_recomputed_when_run_returns_more(tmp_path, toy, monkeypatch):
    out = tmp_path / "r"
    monkeypatch.setattr(sys.modules[__name__], "TOY_ARRAYS", ["a"])
    assert toy(out).returncode == 0
    monkeypatch.setattr(sys.modules[__name__], "TOY_ARRAYS", ["a", "b"])  # run changed, version not raised
    toy(out, "--set", "n=4")  # one new config computed by the current run (different key), 4 old ones stored
    proc = toy(out)
    assert proc.returncode == 0 and _row(proc) == ["4", "4", "0", "0"]
    assert "4 stored results have arrays unlike the current run's (missing: b)" in _one_line(proc.stderr)


# --- a damaged index ------------------------------------------------------------------------------------


def test_an_undecodable_index_field_takes_the_repair_path(tmp_path, toy):
    out = tmp_path / "r"
    assert toy(out).returncode == 0
    db = sqlite3.connect(out / "index.sqlite")
    db.execute("UPDATE runs SET checksum = CAST(X'C328FFFE' AS TEXT) WHERE rowid = 2")
    db.commit()
    db.close()
    proc = toy(out)
    assert proc.returncode == 0 and _row(proc) == ["4", "0", "4", "0"]  # nothing recomputed
    line = _one_line(proc.stderr)
    assert line.startswith(f"warning: {out / 'index.sqlite'}:") and "rebuilt from 4 result files" in line


def _store_of(root: Path, runs: int) -> list[str]:
    """A store of ``runs`` finished runs of a few experiments; their keys."""
    store = Store(root)
    keys = []
    for i in range(runs):
        key = hashlib.sha256(str(i).encode()).hexdigest()[:24]
        store.save(f"exp{i % 3}", key, {"i": i, "name": "x" * (7 * i % 300)}, i, {"v": np.arange(3.0) + i, "s": i},
                   time.time(), "0.1+gabc", {"k": str(i)})
        keys.append(key)
    store.close()
    return keys


def _flip(path: Path, bits: int, seed: int) -> None:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    for _ in range(bits):
        pos = rng.randrange(100, len(data))  # past the header (its damage is caught on opening already)
        data[pos] ^= 1 << rng.randrange(8)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def store_of_60(tmp_path_factory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("flips") / "r"
    return root, _store_of(root, 60)


@pytest.mark.parametrize("seed", range(8))
def test_bit_flips_in_the_index_are_caught_at_the_boundary(tmp_path, store_of_60, seed):
    """Every read of a damaged index either works or takes the repair path; the index left behind
    passes sqlite's integrity check. A flip inside a row's text (SQLite keeps no checksums of
    its content) can make that one run's checksum or key wrong: it is recomputed, at most one
    run a flip; damage to the file's structure rebuilds the index and keeps every run."""
    import shutil

    root, keys = tmp_path / "r", store_of_60[1]
    shutil.copytree(store_of_60[0], root)
    _flip(root / "index.sqlite", 8, seed)
    store = Store(root)
    found = sum(store.load(f"exp{i % 3}", key) is not None for i, key in enumerate(keys))
    store.table("exp1")
    store.provenance("exp0", keys)
    store.claim("exp2", keys[2])
    store.close()
    db = sqlite3.connect(root / "index.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    assert found >= len(keys) - 8


# --- a full disk, a read-only store ---------------------------------------------------------------------


def _fail_writes(monkeypatch, code: int, after: int, what: str = "fsync") -> None:
    """os.fsync (or os.replace) raises OSError(code) from its ``after``-th call on, as a full or
    read-only file system does."""
    real = getattr(os, what)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) > after:
            raise OSError(code, os.strerror(code))
        return real(*args, **kwargs)

    monkeypatch.setattr(os, what, failing)


@pytest.mark.parametrize("code,what,words", [(errno.ENOSPC, "fsync", "no space left on device"),
                                             (errno.EROFS, "replace", "read-only file system"),
                                             (errno.EDQUOT, "fsync", "disk quota exceeded")])
def test_a_full_or_read_only_disk_stops_the_sweep_with_one_line_and_the_rerun_resumes(tmp_path, toy, monkeypatch,
                                                                                        code, what, words):
    out = tmp_path / "r"
    with monkeypatch.context() as m:
        _fail_writes(m, code, after=2, what=what)
        proc = toy(out)
    line = _one_line(proc.stderr)
    assert proc.returncode == 74
    assert line.startswith(f"error: cannot write {out / 'toy'}{os.sep}") and words in line
    assert re.search(r"\(needs \d+ B, [\d.]+ [KMGT]?B free\)", line) and "rerun to resume" in line  # the file's size
    assert not list(out.rglob("*.tmp"))  # no partial file
    rows = _done_rows(out)
    assert len(rows) == 2 and all((out / "toy" / f"{k}.npz").is_file() for k in rows)  # no row without its file
    proc = toy(out)
    assert proc.returncode == 0 and _row(proc) == ["4", "2", "2", "0"]  # the 2 finished runs kept


def test_a_full_disk_while_a_figure_set_is_written_leaves_the_old_set_whole(tmp_path, monkeypatch):
    from sims.figureset import write_set

    figures = tmp_path / "f"
    write_set(figures, "x", {"csv": lambda p: p.write_text("old"), "json": lambda p: p.write_text("{}")})
    with monkeypatch.context() as m:
        _fail_writes(m, errno.ENOSPC, after=1)
        with pytest.raises(WriteFailed, match=f"cannot write {figures / 'x.json'}: no space left on device"):
            write_set(figures, "x", {"csv": lambda p: p.write_text("new"), "json": lambda p: p.write_text("[]")})
    assert sorted(p.name for p in figures.iterdir()) == ["x.csv", "x.json"]  # no temporary file left
    assert (figures / "x.csv").read_text() == "old" and (figures / "x.json").read_text() == "{}"


@pytest.mark.slow
def test_a_small_file_system_fills_and_the_rerun_resumes(tmp_path):
    """A real tmpfs too small for the sweep (mounted in a user namespace; 128 KB: the index's
    write-ahead log fills it after two of imp's three runs): the sweep stops with one line, exit
    74; after the file system grows, the rerun keeps every finished run."""
    if subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespaces here (unshare -rm)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    sweep = (f"{sys.executable} -m sims run imp --quiet --set steps=300 --set rewind=20 --set rounds=2 "
             f"--out {mnt}/r --figures {tmp_path}/f")
    script = f"""
mount -t tmpfs -o size=128k tmpfs {mnt} || exit 99
{sweep} 2> {tmp_path}/err1; echo $? > {tmp_path}/rc1
ls {mnt}/r/imp > {tmp_path}/kept 2>/dev/null
mount -o remount,size=8m {mnt}
{sweep} > {tmp_path}/out2 2> {tmp_path}/err2; echo $? > {tmp_path}/rc2
"""
    subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=ROOT, timeout=600,
                   env={**os.environ, "PYTHONPATH": str(ROOT)})
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "74", err1
    assert _one_line(err1).startswith("error: cannot write ") and "no space left on device" in err1
    kept = [n for n in (tmp_path / "kept").read_text().split() if n.endswith(".npz")]
    assert not [n for n in (tmp_path / "kept").read_text().split() if n.endswith(".tmp")]
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    row = next(x for x in (tmp_path / "out2").read_text().splitlines() if x.startswith("imp")).split()
    assert 1 <= int(row[3]) <= len(kept) and int(row[2]) + int(row[3]) == 3  # finished runs skipped


# --- workers that die, parents that go away -------------------------------------------------------------


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


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_for(predicate, within: float, step: float = 0.2):
    deadline = time.time() + within
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


SLOW_WIDTH = ["run", "width", "--quiet", "--set", "d=10", "--set", "m=24", "--set", "steps=40000", "--set", "tol=none"]


@pytest.mark.slow
def test_a_pool_worker_killed_mid_run_is_reported_once_and_its_run_retried(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "sims", *SLOW_WIDTH, "--jobs", "2", "--out", str(out),
                             "--figures", str(tmp_path / "f")], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    workers = _wait_for(lambda: [p for p in _children(proc.pid) if "spawn" in _cmdline(p)], 120)
    assert workers, "no worker started"
    time.sleep(3.0)  # mid-run: the kernels are loaded, the first runs are computing
    os.kill(workers[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=900)
    assert proc.returncode == 0, stderr
    line = _one_line(stderr)
    assert line.startswith("warning: width run") and "worker was killed by SIGKILL" in line
    assert "running it again (once)" in line
    row = next(x for x in stdout.splitlines() if x.startswith("width")).split()
    assert row[1:5] == ["4", "4", "0", "0"]
    # the retried run is bit-identical to the same run computed alone
    from sims.common import GDConfig
    from sims.runner import execute, run_key
    key = line.split("key ")[1].split(")")[0]
    cfg = next(c for c in (GDConfig(k=2, d=10, m=24, steps=40000, tol=None, replicate=r) for r in range(4))
               if run_key(registry.get("width"), c, 0) == key)
    alone, error, _ = execute("width", cfg, 0)
    stored = _arrays(out / "width" / f"{key}.npz")
    assert error is None and all(np.array_equal(np.asarray(alone[k]), stored[k]) for k in stored)


@pytest.mark.slow
def test_a_dask_worker_killed_mid_run_leaves_every_run_computed_once(tmp_path):
    pytest.importorskip("distributed")
    from distributed import LocalCluster
    from test_sims import stored

    args = [*SLOW_WIDTH, "--figures", str(tmp_path / "f")]
    with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                      processes=True) as cluster:
        proc = subprocess.Popen([sys.executable, "-m", "sims", *args, "--executor", "dask", "--scheduler",
                                 cluster.scheduler_address, "--out", str(tmp_path / "dask")], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        busy = _wait_for(lambda: [t for t in list(cluster.scheduler.tasks.values()) if t.state == "processing"],
                         120, 0.2)
        time.sleep(2.0)  # mid-run (a run takes ~5 s)
        victim = next(iter(cluster.workers.values())).process.process.pid  # a worker process (its nanny restarts it)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=900)
    assert busy and proc.returncode == 0, stderr
    row = next(x for x in stdout.splitlines() if x.startswith("width")).split()
    assert row[1:5] == ["4", "4", "0", "0"]  # each run stored once, none failed
    subprocess.run([sys.executable, "-m", "sims", *args, "--out", str(tmp_path / "local")], cwd=ROOT, check=True,
                   capture_output=True)
    a, b = stored(tmp_path / "local"), stored(tmp_path / "dask")
    assert a.keys() == b.keys() and len(a) == 4
    assert all(np.array_equal(a[k][n], b[k][n]) for k in a for n in a[k])


@pytest.mark.slow
@pytest.mark.parametrize("how", ["wrapper", "hangup"])
def test_a_sweep_stops_when_its_wrapper_is_terminated_or_its_terminal_hangs_up(tmp_path, how):
    out = tmp_path / "r"
    sweep = [sys.executable, "-m", "sims", *SLOW_WIDTH, "--out", str(out), "--figures", str(tmp_path / "f")]
    if how == "wrapper":  # a shell script that runs the sweep and does more afterwards
        wrapper = subprocess.Popen(["sh", "-c", " ".join(sweep) + " 2> " + str(tmp_path / "err") + "; echo after"],
                                   cwd=ROOT)
        child = _wait_for(lambda: _children(wrapper.pid), 60)[0]
        time.sleep(3.0)
        wrapper.send_signal(signal.SIGTERM)
        wrapper.wait()
        assert _wait_for(lambda: not _alive(child), 30), "the sims child kept running after its wrapper died"
        err = (tmp_path / "err").read_text()
        assert _one_line(err).startswith("terminated (its parent process")
    else:
        proc = subprocess.Popen(sweep, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        time.sleep(5.0)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 129 and _one_line(err).startswith("terminated (SIGHUP)")


# --- memory ---------------------------------------------------------------------------------------------


def test_the_memory_check_honours_the_process_limit(tmp_path):
    """Under RLIMIT_AS, ``available_memory`` is at most the address space left below the limit."""
    code = """
import resource, sys
from twolayer._resources import available_memory, check_memory
size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 200 * 2**20, resource.RLIM_INFINITY))
print(available_memory() <= 200 * 2**20)
try:
    check_memory('a 300 MB array', 300 * 2**20)
except ValueError as e:
    print(e)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines = proc.stdout.splitlines()
    assert lines[0] == "True", proc.stderr
    assert lines[1].startswith("a 300 MB array needs 300.0 MB of memory;") and "limit" in lines[1]


@pytest.mark.slow
def test_a_gzip_bomb_under_a_memory_limit_is_one_line(tmp_path):
    import gzip

    data = tmp_path / "bomb"
    data.mkdir()
    n = 400_000  # 300 MB of pixels declared truthfully, 300 KB compressed
    header = bytes([0, 0, 8, 3]) + b"".join(int(s).to_bytes(4, "big") for s in (n, 28, 28))
    (data / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(n))
    with gzip.open(data / "train-images-idx3-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(header)
        zeros = bytes(28 * 28 * 1000)
        for _ in range(n // 1000):
            f.write(zeros)
    code = f"""
import resource, sys
import sims.__main__ as cli
size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (size + 100 * 2**20, resource.RLIM_INFINITY))
sys.exit(cli.main(["run", "real_width", "--quiet", "--data", "{data}", "--out", "{tmp_path / 'r'}"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and "limit" in _one_line(proc.stderr) and "train-images-idx3-ubyte.gz" in proc.stderr


def test_memory_error_in_a_run_is_a_failed_run_and_one_line(tmp_path, toy, monkeypatch):
    def hungry(cfg, seq):
        raise MemoryError()

    monkeypatch.setattr(sys.modules[__name__], "TOY", Experiment("toy", "a toy", TOY.configs, hungry, TOY.summarize))
    proc = toy(tmp_path / "r")
    assert proc.returncode == 1 and _row(proc) == ["4", "0", "0", "4"] and "Traceback" not in proc.stderr
    assert "failed: MemoryError: the run needs more memory than this process may use" in proc.stdout


def test_memory_error_while_loading_the_data_is_one_line_and_exit_2(tmp_path, monkeypatch):
    def hungry(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(cli, "load_dataset", hungry)
    proc = run_cli("run", "real_width", "--quiet", "--data", "digits", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert _one_line(proc.stderr) == ("error: --data digits: loading it needs more memory than this process may "
                                      "use (MemoryError)")


# --- inputs that ended in a traceback -------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--out", "--figures"])
def test_a_path_too_long_is_one_line_and_creates_nothing(tmp_path, option):
    long = str(tmp_path / ("x" * 5000))
    paths = {"--out": str(tmp_path / "r"), "--figures": str(tmp_path / "f")} | {option: long}
    proc = run_cli("run", "imp", "--quiet", *(x for kv in paths.items() for x in kv))
    assert proc.returncode == 2
    assert _one_line(proc.stderr).startswith(f"error: {option} {long[:20]}") and "File name too long" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # the other path not created either


def test_all_checks_set_keys_before_loading_the_data(tmp_path, monkeypatch):
    loads = []
    monkeypatch.setattr(cli, "load_dataset", lambda *a, **k: loads.append(a))
    proc = run_cli("all", "--quiet", "--set", "nosuchkey=1", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "unknown key 'nosuchkey'" in _one_line(proc.stderr)
    assert loads == []


def test_classification_checks_the_network_before_it_evaluates():
    import twolayer as tl

    net = tl.MLP.init((3, 4, 2), 0)
    with pytest.raises(ValueError, match="labels reach 7 but the network has 2 outputs"):
        tl.Classification(np.eye(3), np.array([0, 1, 7])).loss(net)
    with pytest.raises(ValueError, match="labels reach 7 but the network has 2 outputs"):
        tl.Classification(np.eye(3), np.array([0, 1, 7])).error(net)
    with pytest.raises(ValueError, match="X has 5 features; the network takes 3"):
        tl.Classification(np.ones((2, 5)), np.array([0, 1])).loss(net)
