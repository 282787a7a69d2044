import os

# OpenMP threads (PyTorch's, numba's) that wait for work sleep instead of spinning, as in the
# runner's workers: beside another busy process a spinning PyTorch test ran 10x slower (a ResNet
# pair of test_sims: 260 s instead of 24 s). Set before numba or torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import twolayer as tl  # noqa: E402


def random_pair(rng, m, k, d, inputs="gaussian", scaling="standard", train_output=True):
    """A random student/teacher pair with generic (non-degenerate) angles."""
    teacher = tl.Teacher(rng.standard_normal((k, d)), rng.standard_normal(k), inputs)
    a = rng.standard_normal(m) if train_output else np.ones(m)
    student = tl.Student(a, rng.standard_normal((m, d)), scaling, train_output)
    return student, teacher


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def run_cli(*args, cwd=None, check=False):
    """``python -m sims ARGS`` in this process (the checks of the command line, without paying
    for a new interpreter): an object with returncode, stdout and stderr like subprocess.run's.
    Tests of signals, workers and the environment use a real process instead."""
    import contextlib
    import io
    import os
    import signal
    import types

    from sims.__main__ import main

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as e:  # argparse: --help, usage errors
                code = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(here)
        for s, h in handlers.items():
            signal.signal(s, h)
    if check and code != 0:
        raise AssertionError(err.getvalue())
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels():
    """numba's first compilation of the kernels, split over two processes that run side by side
    (``twolayer.warmup``; a fresh checkout: ~41 s on two cores side by side; with numba's cache warm: ~2 s)."""
    import fcntl
    import hashlib
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from twolayer.warmup import GROUPS

    root = str(Path(__file__).parents[1])  # the checkout under test, whatever is installed
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
    # one compilation per checkout: under pytest-xdist the other workers wait here and then find
    # numba's cache warm
    lock = Path(tempfile.gettempdir()) / f"twolayer-compile-{hashlib.sha256(root.encode()).hexdigest()[:12]}.lock"
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        procs = [subprocess.Popen([sys.executable, "-m", "twolayer.warmup", group], cwd=root, env=env)
                 for group in GROUPS]
        for proc in procs:
            assert proc.wait() == 0
