"""The sweep runner shared by every experiment.

A run is (experiment, config, seed) -> arrays. Its key is a hash of the three; its random
stream is SeedSequence(seed, spawn_key=(hash of experiment and config,)), so results depend
neither on the other runs of the sweep nor on --jobs or the order of execution. Finished runs
are loaded from the store and never recomputed; the rest run locally in a process pool or on
a dask.distributed cluster.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import time
import traceback
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from twolayer._resources import usable_cores

from .experiment import Experiment
from .store import Claim, Store

EXECUTORS = ("local", "dask")


@dataclass
class SweepSummary:
    experiment: str
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    diverged: int = 0
    seconds: float = 0.0
    figure_seconds: float = 0.0
    errors: list[str] = dataclasses.field(default_factory=list)


def config_dict(config) -> dict:
    return {"type": type(config).__name__, **dataclasses.asdict(config)}


def run_key(experiment: str, config, seed: int) -> str:
    """Hash of the experiment, its result-schema version, the config and the seed."""
    from .registry import get

    blob = json.dumps({"experiment": experiment, "version": get(experiment).version,
                       "config": config_dict(config), "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


#: the tracked paths whose changes make a checkout's code "dirty"
CODE_PATHS = ("twolayer", "theory", "sims", "pyproject.toml")


@functools.cache
def code_version() -> str:
    """The package version, with the git commit of the checkout (``-dirty`` if tracked code,
    ``CODE_PATHS``, changed; figures and documents do not count) when the code runs from one:
    recorded with every run and figure."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        text = version("twolayer")
    except PackageNotFoundError:
        text = "unknown"
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text}+g{commit}{'-dirty' if dirty else ''}" if commit else text


def run_seed(experiment: str, config, seed: int) -> np.random.SeedSequence:
    """The run's stream: a child of SeedSequence(seed) named by the config, not by its position."""
    blob = json.dumps({"experiment": experiment, "config": config_dict(config)}, sort_keys=True)
    child = int(hashlib.sha256(blob.encode()).hexdigest()[:15], 16)
    return np.random.SeedSequence(seed, spawn_key=(child,))


def execute(experiment_name: str, config, seed: int) -> tuple[dict | None, str | None, float]:
    """Run one config in the current process: (arrays, None) or (None, error text)."""
    from .registry import get  # the experiment is looked up in the worker process

    started = time.time()
    try:
        arrays = get(experiment_name).run(config, run_seed(experiment_name, config, seed))
        return arrays, None, started
    except Exception:  # a failed run is recorded, the sweep goes on
        return None, traceback.format_exc(limit=6), started


def _thread_env(jobs: int) -> dict[str, str]:
    """Threads per worker so that jobs x threads <= usable cores (numba, OpenMP and BLAS)."""
    per = str(max(1, usable_cores() // jobs))
    return {"NUMBA_NUM_THREADS": per, "OMP_NUM_THREADS": per, "OPENBLAS_NUM_THREADS": per,
            "MKL_NUM_THREADS": per}


def sweep(experiment: Experiment, configs: Sequence[Any], store: Store, seed: int = 0,
          jobs: int = 1, executor: str = "local", scheduler: str | None = None,
          progress: bool = True, overrides: dict | None = None) -> tuple[SweepSummary, list[tuple[Any, dict]]]:
    """Run every config not already in the store; return the summary and all results.

    ``done`` counts the runs computed here, ``skipped`` those loaded from the store (finished
    earlier, or by another sweep on the same store while this one ran)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}; got {executor!r}")
    t0 = time.time()
    summary = SweepSummary(experiment.name, len(configs))
    results: dict[int, dict] = {}

    def load(i) -> bool:
        loaded = store.load(experiment.name, run_key(experiment.name, configs[i], seed))
        if loaded is not None:
            results[i] = loaded
            summary.skipped += 1
        return loaded is not None

    todo = [i for i in range(len(configs)) if not load(i)]
    bar = tqdm(total=len(todo), desc=experiment.name, disable=not progress or not todo)

    def finish(i, arrays, error, started):
        cfg = configs[i]
        key = run_key(experiment.name, cfg, seed)
        if error is None:
            store.save(experiment.name, key, config_dict(cfg), seed, arrays, started, code_version(), overrides)
            results[i] = arrays
            summary.done += 1
            summary.diverged += int(np.any(arrays.get("diverged", False)))
        else:
            store.fail(experiment.name, key, config_dict(cfg), seed, error, started, code_version(), overrides)
            summary.failed += 1
            summary.errors.append(error.strip().splitlines()[-1])
        bar.update(1)

    def load_finished(i) -> bool:
        found = load(i)
        if found:
            bar.update(1)
        return found

    if executor == "dask":
        runner = _Dask(experiment.name, seed, scheduler)
    elif jobs <= 1:
        runner = _Inline(experiment.name, seed, store)
    else:
        runner = _Pool(experiment.name, seed, jobs)
    cancel = True
    try:
        _schedule(experiment, configs, todo, store, seed, runner, load_finished, finish)
        cancel = False
    finally:
        runner.close(cancel)
    bar.close()
    summary.seconds = time.time() - t0
    return summary, [(configs[i], results[i]) for i in sorted(results)]


#: how long to wait for a dask scheduler to answer
DASK_CONNECT_SECONDS = 5
#: seconds between checks on runs that another process is computing
POLL_SECONDS = 1.0


class _Inline:
    """The executor of --jobs 1: runs a config when submitted, in this process, with the usable
    cores shared among the sweeps that hold live claims on the store (numba and BLAS threads =
    cores // sweeps), so that concurrent sweeps do not oversubscribe the machine."""

    capacity = 1

    def __init__(self, experiment_name: str, seed: int, store: Store):
        self.name, self.seed, self.store = experiment_name, seed, store

    def submit(self, config) -> Future:
        import numba
        from threadpoolctl import threadpool_limits

        threads = max(1, min(usable_cores() // self.store.live_sweeps(), numba.config.NUMBA_NUM_THREADS))
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        fut: Future = Future()
        try:
            with threadpool_limits(limits=threads):
                fut.set_result(execute(self.name, config, self.seed))
        finally:
            numba.set_num_threads(previous)
        return fut

    def wait(self, futures, timeout):
        return set(futures)

    def close(self, cancel: bool) -> None:
        pass


def _worker_init(parent: int) -> None:
    """Pool worker setup: die with the parent (Linux: the kernel sends SIGKILL when it exits, by
    any signal) and leave Ctrl-C to the parent, which stops the workers itself."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError, TypeError):  # not Linux: workers end when their pipe to the parent closes
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: prctl option: the signal a process receives when its parent dies
PR_SET_PDEATHSIG = 1


class _Pool:
    """A spawn process pool with threads per worker capped (``_thread_env``); its workers die
    with this process and are killed when a sweep is interrupted."""

    def __init__(self, experiment_name: str, seed: int, jobs: int):
        self.name, self.seed, self.capacity = experiment_name, seed, jobs
        # workers are spawned on demand, so the thread limits stay in the environment until close()
        self.saved_env = {k: os.environ.get(k) for k in _thread_env(jobs)}
        os.environ.update(_thread_env(jobs))
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_worker_init, initargs=(os.getpid(),))

    def submit(self, config) -> Future:
        return self.pool.submit(execute, self.name, config, self.seed)

    def wait(self, futures, timeout):
        return wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)[0]

    def close(self, cancel: bool) -> None:
        if cancel:  # interrupted: stop the running workers now instead of waiting for their runs
            for process in list(getattr(self.pool, "_processes", {}).values()):
                process.kill()
        self.pool.shutdown(wait=True, cancel_futures=cancel)
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Dask:
    """A dask.distributed client: the same runs, on a cluster (twice its threads in flight)."""

    def __init__(self, experiment_name: str, seed: int, scheduler: str | None):
        try:
            import distributed
        except ImportError:
            raise ValueError("--executor dask needs the 'cluster' extra: pip install -e '.[cluster]'") from None
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        self.distributed = distributed
        self.name, self.seed = experiment_name, seed
        try:
            self.client = distributed.Client(scheduler, timeout=f"{DASK_CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as e:
            reason = " ".join(str(e).split())[:200]
            raise ValueError(f"--scheduler {scheduler}: no dask scheduler answered within "
                             f"{DASK_CONNECT_SECONDS} s ({reason})") from None
        self.capacity = 2 * max(1, sum(self.client.nthreads().values()))

    def submit(self, config):
        return self.client.submit(execute, self.name, config, self.seed, pure=False)

    def wait(self, futures, timeout):
        try:
            return self.distributed.wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
        except self.distributed.TimeoutError:
            return set()

    def close(self, cancel: bool) -> None:
        self.client.close()


def _schedule(experiment: Experiment, configs, todo: list[int], store: Store, seed: int, runner, load,
              finish) -> None:
    """Run the configs ``todo`` through ``runner``, at most ``runner.capacity`` at a time, each
    claimed in the store first. A run another live process has claimed is set aside and checked
    every POLL_SECONDS: loaded when it is done, computed here if its claim lapses."""
    queue = deque(todo)
    waiting: list[int] = []
    running: dict = {}
    while queue or waiting or running:
        while queue and len(running) < runner.capacity:
            i = queue.popleft()
            key = run_key(experiment.name, configs[i], seed)
            state = store.claim(experiment.name, key)
            if state is Claim.DONE and not load(i):
                state = store.claim(experiment.name, key, recompute=True)  # its file is missing or corrupt
            if state is Claim.MINE:
                running[runner.submit(configs[i])] = i
            elif state is Claim.TAKEN:
                waiting.append(i)
        if running:
            for fut in runner.wait(running, POLL_SECONDS if waiting else None):
                finish(running.pop(fut), *fut.result())
        elif waiting:
            time.sleep(POLL_SECONDS)
        if not queue and waiting:
            queue.extend(waiting)
            waiting.clear()


def summary_table(summaries: Sequence[SweepSummary]) -> str:
    """A plain-text table of sweep summaries."""
    head = (f"{'experiment':<15} {'runs':>5} {'done':>5} {'skipped':>7} {'failed':>6} {'diverged':>8} {'runs time':>9} "
            f"{'figure':>7}")
    lines = [head, "-" * len(head)]
    for s in summaries:
        lines.append(f"{s.experiment:<15} {s.total:>5} {s.done:>5} {s.skipped:>7} {s.failed:>6} "
                     f"{s.diverged:>8} {s.seconds:>8.1f}s {s.figure_seconds:>6.1f}s")
        lines.extend(f"    failed: {e}" for e in s.errors[:3])
    return "\n".join(lines)
