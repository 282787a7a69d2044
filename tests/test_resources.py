"""Concurrent sweeps and hostile inputs: run claims, racing store creation, resource bounds,
validation of dtypes, weights, labels and repeated options."""

import gzip
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from conftest import run_cli
from test_sims import ROOT, sims, stored

import twolayer as tl
from sims.profile import Profile
from sims.runner import run_key
from sims.store import Claim, Store
from twolayer import MLP
from twolayer.data import read_idx, write_idx

FAST_THREE = ["--set", "steps=1500"]


def _summary_row(stdout: str, name: str) -> list[int]:
    row = next(line for line in stdout.splitlines() if line.startswith(name))
    return [int(v) for v in row.split()[1:6]]  # runs, done, skipped, failed, diverged


@pytest.mark.slow
def test_two_sweeps_on_one_store_compute_each_run_once(tmp_path):
    out = tmp_path / "shared"
    cmd = [sys.executable, "-m", "sims", "run", "three", *FAST_THREE, "--out", str(out), "--figures",
           str(tmp_path / "f"), "--quiet"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outputs]
    rows = [_summary_row(stdout, "three") for stdout, _ in outputs]
    assert rows[0][0] == rows[1][0] == 18
    assert rows[0][1] + rows[1][1] == 18  # computed once in total
    assert all(r[1] + r[2] == 18 for r in rows)  # each sweep ends with every result
    alone = tmp_path / "alone"
    sims("run", "three", *FAST_THREE, "--out", str(alone), "--figures", str(tmp_path / "g"))
    shared, single = stored(out), stored(alone)
    assert shared.keys() == single.keys()
    for key in single:
        for name in single[key]:
            np.testing.assert_array_equal(shared[key][name], single[key][name])


def test_claims_are_exclusive_until_done_or_expired(tmp_path):
    first, second = Store(tmp_path), Store(tmp_path)
    try:
        assert first.claim("e", "k1") is Claim.MINE
        assert second.claim("e", "k1") is Claim.TAKEN
        first.save("e", "k1", {"x": 1}, 0, {"v": np.arange(3.0)}, time.time())
        assert second.claim("e", "k1") is Claim.DONE
        assert second.claim("e", "k1", recompute=True) is Claim.MINE  # a corrupt file is recomputed
        with first._transaction() as db:  # a claim whose owner stopped renewing it
            db.execute("INSERT OR REPLACE INTO claims VALUES ('k2', 'e', 'dead-host:1:x', ?)", (time.time() - 1,))
        assert second.claim("e", "k2") is Claim.MINE
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        ghost = f"{first.owner.split(':')[0]}:{int(dead.stdout)}:x"  # this host, a process that has exited
        with first._transaction() as db:
            db.execute("INSERT OR REPLACE INTO claims VALUES ('k3', 'e', ?, ?)", (ghost, time.time() + 3600))
        assert second.claim("e", "k3") is Claim.MINE
    finally:
        first.close()
        second.close()


def test_a_sweep_takes_over_the_runs_of_a_dead_claimant(tmp_path):
    from sims.registry import get
    out = tmp_path / "r"
    config = get("three").configs(Profile.QUICK)[0]
    key = run_key(get("three"), config, 0)
    store = Store(out)
    with store._transaction() as db:
        db.execute("INSERT INTO claims VALUES (?, 'three', 'dead-host:1:x', ?)", (key, time.time() - 5))
    store.close()
    proc = sims("run", "three", *FAST_THREE, "--set", "m=4", "--out", str(out), "--figures", str(tmp_path / "f"))
    assert _summary_row(proc.stdout, "three")[1] == 2  # the quick profile's two m=4 runs, the dead claim's included


RACE = """
import sys, time
from sims.store import Store
start = float(sys.argv[2])
while time.time() < start:
    time.sleep(0.001)
store = Store(sys.argv[1])
store.claim("e", "k")
store.close()
"""


@pytest.mark.slow
def test_eight_processes_racing_to_create_a_store(tmp_path):
    for round_ in range(3):
        start = time.time() + 1.5  # every process has imported the store by then
        procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path / f"s{round_}"), str(start)], cwd=ROOT,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
        errors = [p.communicate(timeout=120)[1] for p in procs]
        assert [p.returncode for p in procs] == [0] * 8, errors


def test_jobs_beyond_the_cores_are_capped_with_a_warning(tmp_path):
    jobs = str(10**20)  # also beyond a C long: no OverflowError
    proc = sims("run", "imp", "--set", "steps=300", "--set", "rewind=20", "--set", "rounds=2", "--jobs", jobs,
                "--out", str(tmp_path / "r"), "--figures", str(tmp_path / "f"))
    assert f"--jobs {jobs} exceeds the" in proc.stderr and "Traceback" not in proc.stderr


def test_repeated_set_key_is_an_error(tmp_path):
    proc = run_cli("run", "--quiet", "imp", "--set", "steps=300", "--set", "steps=400", "--out", str(tmp_path / "r"))
    assert proc.returncode == 2 and "--set steps given twice" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_gzip_that_expands_beyond_its_header_is_refused(tmp_path):
    path = tmp_path / "bomb-idx1-ubyte.gz"
    header = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big")
    path.write_bytes(gzip.compress(header + bytes(10) + bytes(50_000_000)))  # 50 MB of zeros, ~50 KB on disk
    with pytest.raises(ValueError, match=f"{path}: more data than the header"):
        read_idx(path, 1)


def test_hostile_idx_files_are_refused_by_name(tmp_path):
    zero = tmp_path / "zero-idx1-ubyte"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ValueError, match=f"{zero}: wrong magic number"):
        read_idx(zero, 1)
    huge = tmp_path / "huge-idx3-ubyte"
    huge.write_bytes(bytes([0, 0, 8, 3]) + (2**31).to_bytes(4, "big") * 2 + (4).to_bytes(4, "big"))
    with pytest.raises(ValueError, match="needs .* of memory"):
        read_idx(huge, 3)
    flipped = tmp_path / "flip-idx1-ubyte.gz"
    write_idx(flipped, np.arange(200) % 10)
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"{flipped}: unreadable"):
        read_idx(flipped, 1)
    with pytest.raises(ValueError, match="is a directory"):
        read_idx(tmp_path, 1)


def test_mnist_with_no_images_or_empty_images_is_refused(tmp_path):
    from twolayer.data import load_mnist
    for shape in ((0, 28, 28), (5, 0, 0)):
        folder = tmp_path / f"d{shape[0]}"
        folder.mkdir()
        write_idx(folder / "train-images-idx3-ubyte", np.zeros(shape))
        write_idx(folder / "train-labels-idx1-ubyte", np.zeros(shape[0]))
        write_idx(folder / "t10k-images-idx3-ubyte", np.zeros(shape))
        write_idx(folder / "t10k-labels-idx1-ubyte", np.zeros(shape[0]))
        with pytest.raises(ValueError, match="need at least one image of at least one pixel"):
            load_mnist(folder)


def test_sizes_beyond_memory_are_refused_before_allocating():
    big = tl.Student(np.ones(100_000), np.ones((100_000, 2)))
    t0 = time.time()
    with pytest.raises(ValueError, match=r"match at m=100000 .* needs .* of memory"):
        tl.match(big, big)
    with pytest.raises(ValueError, match=r"population_hessian at m=100000, d=2 .* needs .* of memory"):
        tl.population_hessian(big, tl.Teacher.orthonormal(2, 2))
    assert time.time() - t0 < 5


def test_a_long_population_loss_is_announced_with_its_estimate():
    student = tl.Student(np.ones(200_000), np.ones((200_000, 10)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match=r"population loss at m=200000, d=10: about \d+ s"):
            tl.population_loss(student, tl.Teacher.orthonormal(2, 10))


def test_complex_arrays_are_refused():
    with pytest.raises(ValueError, match="must be a real array"):
        tl.Student(np.ones(3) + 1j, np.ones((3, 2)))
    with pytest.raises(ValueError, match="must be a real array"):
        tl.participation_dimension(np.ones((4, 2)) * (1 + 1j))


@pytest.mark.parametrize("weights", [[1.0, -1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
def test_participation_weights_must_be_non_negative_with_positive_sum(weights):
    with pytest.raises(ValueError, match="weights must be non-negative with a positive sum"):
        tl.participation_dimension(np.random.default_rng(0).standard_normal((4, 3)), np.array(weights))


@pytest.mark.parametrize("labels,inputs_nan", [([0, 1, -1, 2], False), ([0, 1, 3, 2], False), ([0, 1, 2, 2], True)])
def test_mlp_functions_check_labels_and_inputs(labels, inputs_nan):
    net = MLP.init((4, 5, 3), seed=0)
    X = np.random.default_rng(0).standard_normal((4, 4))
    if inputs_nan:
        X[1, 2] = np.nan
    y = np.array(labels)
    message = "finite" if inputs_nan else ("non-negative integer labels" if min(labels) < 0 else "labels reach 3")
    with pytest.raises(ValueError, match=message):
        tl.Classification(X, y).check(net)
    with pytest.raises(ValueError, match=message):
        tl.barrier(net, MLP.init((4, 5, 3), seed=1), tl.Classification(X, y))


def test_an_inline_sweep_shares_the_cores_with_other_live_sweeps(tmp_path, monkeypatch):
    import os

    import numba

    import sims.runner as runner
    from twolayer._resources import usable_cores
    seen = []
    monkeypatch.setattr(runner, "execute", lambda name, config, seed: seen.append(numba.get_num_threads()))
    store = Store(tmp_path)
    try:
        inline = runner._Inline(0, store)
        inline.submit("demo", None, "k0")
        other = f"{store.owner.split(':')[0]}:{os.getpid()}:other-sweep"  # a live process of this host
        with store._transaction() as db:
            db.execute("INSERT INTO claims VALUES ('k', 'demo', ?, ?)", (other, time.time() + 60))
        inline.submit("demo", None, "k1")
    finally:
        store.close()
    assert seen == [min(usable_cores(), numba.config.NUMBA_NUM_THREADS), max(1, usable_cores() // 2)]


def test_sweeps_given_one_set_of_workers_reuse_its_processes_after_they_warm_up():
    """``python -m sims all`` starts its workers once (warming numba's kernels, one group each) and
    every sweep runs on them; closing the set stops them."""
    import os

    import sims.runner as runner
    pids = []
    with runner.Workers(2, warm=True) as workers:
        assert len(workers.warming) == 2
        for _ in ("first sweep", "second sweep"):
            pool = runner._Pool(0, 2, workers)
            calls = [pool.call(os.getpid) for _ in range(2)]
            while not all(c.done() for c in calls):
                pool.wait([c for c in calls if not c.done()], None)
            pool.close(cancel=False)
            pids.append({c.result() for c in calls})
        processes = [job.process for job in workers.idle]
        assert len(processes) == 2 and not workers.warming
    assert pids[0] == pids[1] == {p.pid for p in processes}
    assert not any(p.is_alive() for p in processes)


def test_pool_workers_get_their_share_of_the_cores():
    """Workers are spawned on demand: the thread limits must still be in force when they start."""
    import os

    import sims.runner as runner
    from twolayer._resources import usable_cores
    before = os.getenv("NUMBA_NUM_THREADS")
    pool = runner._Pool(0, 2)
    try:
        calls = [pool.call(os.getenv, "NUMBA_NUM_THREADS") for _ in range(2)]
        while not all(c.done() for c in calls):
            pool.wait([c for c in calls if not c.done()], None)
        values = {c.result() for c in calls}
    finally:
        pool.close(cancel=False)
    assert values == {str(max(1, usable_cores() // 2))}
    assert os.getenv("NUMBA_NUM_THREADS") == before  # restored after close


def test_the_next_experiments_runs_fill_the_workers_the_last_runs_of_one_leave_idle(tmp_path):
    """``sweeps``: one queue over the experiments; a long last run of the first does not keep the
    second worker idle, the second experiment completes first, and the outcomes come back in the
    order given, as ``sweep`` returns them."""
    from sims.experiments.width import WidthConfig
    from sims.registry import get
    from sims.runner import sweep, sweeps
    width = get("width")
    long_run = [WidthConfig(k=2, d=10, m=24, steps=20000, tol=None, replicate=0)]
    short_runs = [WidthConfig(k=2, d=10, m=4, steps=300, tol=None, replicate=r) for r in range(3)]
    completed = []
    store = Store(tmp_path / "a")
    try:
        outcomes = sweeps([(width, long_run), (width, short_runs)], store, jobs=2, progress=False,
                          on_done=lambda exp, summary, results: completed.append(len(results)))
    finally:
        store.close()
    assert [(s.done, s.failed, len(r)) for s, r in outcomes] == [(1, 0, 1), (3, 0, 3)]
    assert completed == [3, 1]  # the short runs ran beside the long one
    store = Store(tmp_path / "b")
    try:
        alone = sweep(width, short_runs, store, progress=False)
    finally:
        store.close()
    assert alone[0].keys == outcomes[1][0].keys
    pairs = zip(alone[1], outcomes[1][1])
    assert [k for (_, a), (_, b) in pairs for k in a if not np.array_equal(a[k], b[k], equal_nan=True)] == []
