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
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from twolayer._resources import memory_note, usable_cores
from twolayer.random import named_child
from twolayer.validation import check_enum

from .experiment import Experiment, config_dict
from .store import Claim, Store


class Executor(Enum):
    """Where a sweep's runs execute: processes on this machine (``--jobs``), or a dask cluster."""

    LOCAL = "local"
    DASK = "dask"

    def start(self, seed: int, jobs: int, store: Store, scheduler: str | None, workers: Workers | None = None):
        """The pool that runs the sweeps' configs: dask's client, this process (jobs <= 1), or
        ``jobs`` worker processes (``workers``' when given: kept for the next sweeps)."""
        if self is Executor.DASK:
            return _Dask(seed, scheduler)
        if jobs <= 1:
            return _Inline(seed, store)
        return _Pool(seed, jobs, workers)


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
    #: the run keys of the results the sweep returned, in their order
    keys: list[str] = dataclasses.field(default_factory=list)


def run_key(experiment: Experiment, config, seed: int) -> str:
    """Hash of the experiment's name, its result-schema version, the config and the seed."""
    blob = json.dumps({"experiment": experiment.name, "version": experiment.version,
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
    """The run's stream: a child of SeedSequence(seed) named by the experiment and the config, not
    by its position (``twolayer.random.named_child``)."""
    return named_child(seed, {"experiment": experiment, "config": config_dict(config)})


def execute(experiment_name: str, config, seed: int) -> tuple[dict | None, str | None, float]:
    """Run one config in the current process: (arrays, None) or (None, error text)."""
    from .registry import get  # the experiment is looked up in the worker process

    started = time.time()
    try:
        arrays = get(experiment_name).run(config, run_seed(experiment_name, config, seed))
        return arrays, None, started
    except MemoryError:  # no traceback: it says nothing more than this
        return None, f"MemoryError: the run needs more memory than this process may use ({memory_note()})", started
    except Exception:  # a failed run is recorded, the sweep goes on
        return None, traceback.format_exc(limit=6), started


#: OpenMP threads that wait for work sleep instead of spinning: numba's parallel loops (OpenMP
#: layer) beside other busy processes otherwise ran 20 to 90 times slower (benchmarks/bench_busy.py)
PASSIVE_WAIT = {"OMP_WAIT_POLICY": "PASSIVE"}


def _thread_env(jobs: int) -> dict[str, str]:
    """Threads per worker so that jobs x threads <= usable cores (numba, OpenMP and BLAS), and
    OpenMP's passive waiting unless the environment chose otherwise."""
    per = str(max(1, usable_cores() // jobs))
    return {"NUMBA_NUM_THREADS": per, "OMP_NUM_THREADS": per, "OPENBLAS_NUM_THREADS": per,
            "MKL_NUM_THREADS": per, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


def sweep(experiment: Experiment, configs: Sequence[Any], store: Store, seed: int = 0,
          jobs: int = 1, executor: Executor | str = Executor.LOCAL, scheduler: str | None = None,
          progress: bool = True, overrides: dict | None = None,
          workers: Workers | None = None) -> tuple[SweepSummary, list[tuple[Any, dict]]]:
    """Run every config not already in the store; return the summary and all results.

    ``done`` counts the runs computed here, ``skipped`` those loaded from the store (finished
    earlier, or by another sweep on the same store while this one ran); ``summary.keys`` are the
    results' run keys. ``workers``: worker processes shared by several sweeps (``Workers``), for
    ``jobs`` > 1 on this machine; by default the sweep starts its own and stops them at its end.
    Several experiments: ``sweeps``."""
    return sweeps([(experiment, configs)], store, seed, jobs, executor, scheduler, progress, overrides, workers)[0]


def sweeps(plans: Sequence[tuple[Experiment, Sequence[Any]]], store: Store, seed: int = 0, jobs: int = 1,
           executor: Executor | str = Executor.LOCAL, scheduler: str | None = None, progress: bool = True,
           overrides: dict | None = None, workers: Workers | None = None,
           on_done: Callable[[Experiment, SweepSummary, list[tuple[Any, dict]]], None] | None = None,
           ) -> list[tuple[SweepSummary, list[tuple[Any, dict]]]]:
    """The sweeps of several experiments (``plans``: (experiment, configs) pairs) as one queue of
    runs, in the order given: a worker that the last runs of one experiment leave idle begins the
    next experiment's. ``on_done(experiment, summary, results)`` is called as each experiment's
    runs are all finished (in that order, which need not be the order of ``plans``); the
    (summary, results) of every experiment are returned in the order of ``plans``, as ``sweep``
    returns them."""
    executor = check_enum("executor", executor, Executor)
    states = [_Sweep(experiment, configs, store, seed, progress, overrides) for experiment, configs in plans]
    runner = executor.start(seed, jobs, store, scheduler, workers)
    cancel = True
    try:
        _schedule(states, runner, lambda s: on_done and on_done(s.experiment, *s.outcome()))
        cancel = False
    finally:
        runner.close(cancel)
        for state in states:
            state.close_bar()
    return [state.outcome() for state in states]


class _Sweep:
    """One experiment's part of ``sweeps``: its run keys, the results loaded from the store and
    computed here, the runs still to compute, the summary and the progress bar."""

    def __init__(self, experiment: Experiment, configs: Sequence[Any], store: Store, seed: int, progress: bool,
                 overrides: dict | None):
        self.experiment, self.configs, self.store, self.seed = experiment, configs, store, seed
        self.overrides, self.progress = overrides, progress
        self.summary = SweepSummary(experiment.name, len(configs))
        self.keys = [run_key(experiment, cfg, seed) for cfg in configs]
        self.results: dict[int, dict] = {}
        self.started: float | None = None
        self.finished: float | None = None
        self.bar = None
        self.todo = [i for i in range(len(configs)) if not self._load(i)]
        # the arrays the current run returns: the latest recorded, then those of the runs computed here
        layout = store.layout(experiment.name, experiment.version)
        self.current = None if layout is None else tuple(layout)
        self.computed: set[int] = set()
        self.recompute: set[int] = set()
        stale = [i for i in self.results if self.current is not None and _names(self.results[i]) != self.current]
        if stale:
            self._set_aside(stale)
            self.todo += stale
        elif self.current is None and not self.todo and len({_names(a) for a in self.results.values()}) > 1:
            # stored results disagree and none is to be computed: recompute one of the rarest kind to learn
            counts = Counter(_names(a) for a in self.results.values())
            probe = next(i for i in sorted(self.results) if counts[_names(self.results[i])] == min(counts.values()))
            del self.results[probe]
            self.summary.skipped -= 1
            self.recompute.add(probe)
            self.todo.append(probe)
        self.total = len(self.todo)

    def _load(self, i: int) -> bool:
        loaded = self.store.load(self.experiment.name, self.keys[i])
        if loaded is not None:
            self.results[i] = loaded
            self.summary.skipped += 1
        return loaded is not None

    def _set_aside(self, stale: list[int]) -> None:
        """Stored results unlike the current run's: one warning, then recomputed."""
        names = {_names(self.results[i]) for i in stale}
        missing = sorted(set(self.current) - set().union(*names))
        extra = sorted(set().union(*names) - set(self.current))
        detail = "; ".join(f"{what}: {', '.join(n)}" for what, n in (("missing", missing), ("extra", extra)) if n)
        many = len(stale) > 1
        print(f"warning: {self.experiment.name}: {len(stale)} stored result{'s have' if many else ' has'} arrays "
              f"unlike the current run's ({detail}); recomputing {'them' if many else 'it'}", file=sys.stderr)
        for i in stale:
            del self.results[i]
        self.summary.skipped -= len(stale)
        self.recompute.update(stale)

    def _progress(self) -> None:
        """One more run finished: the bar (shown from the experiment's first run on) moves."""
        if self.bar is None:
            self.bar = tqdm(total=self.total, desc=self.experiment.name, disable=not self.progress)
        self.bar.update(1)

    def claim(self, i: int, again: bool = False) -> Claim:
        """Claim run i in the store, even if it is done when ``again`` (its file found missing or
        corrupt) or when it was set aside to be recomputed."""
        if self.started is None:
            self.started = time.time()
        return self.store.claim(self.experiment.name, self.keys[i], recompute=again or i in self.recompute)

    def load_finished(self, i: int) -> bool:
        """Run i, which another process finished, loaded from the store (False: its file is unreadable)."""
        found = self._load(i)
        if found:
            self._progress()
        return found

    def finish(self, i: int, arrays: dict | None, error: str | None, started: float) -> None:
        """Record run i computed here: its arrays, or its error."""
        cfg, key, name = self.configs[i], self.keys[i], self.experiment.name
        if error is None:
            self.store.save(name, key, config_dict(cfg), self.seed, arrays, started, code_version(), self.overrides)
            if _names(arrays) != self.current:
                self.current = _names(arrays)
                self.store.set_layout(name, self.experiment.version, list(self.current))
            self.computed.add(i)
            self.results[i] = arrays
            self.summary.done += 1
            self.summary.diverged += int(np.any(arrays.get("diverged", False)))
        else:
            self.store.fail(name, key, config_dict(cfg), self.seed, error, started, code_version(), self.overrides)
            self.summary.failed += 1
            self.summary.errors.append(error.strip().splitlines()[-1])
        self._progress()

    def stale_after_runs(self) -> list[int]:
        """Once every run is finished: the results loaded from the store whose arrays are unlike
        those the runs computed here returned (set aside, to compute)."""
        stale = [i for i in self.results
                 if i not in self.computed and self.current is not None and _names(self.results[i]) != self.current]
        if stale:
            self._set_aside(stale)
            self.total += len(stale)
            if self.bar is not None:
                self.bar.total = self.total
                self.bar.refresh()
        return stale

    def complete(self) -> None:
        self.finished = time.time()
        self.close_bar()

    def close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def outcome(self) -> tuple[SweepSummary, list[tuple[Any, dict]]]:
        """The summary (its seconds: from the first claim to the last run finished) and the results."""
        if self.started is not None:
            self.summary.seconds = (self.finished or time.time()) - self.started
        self.summary.keys = [self.keys[i] for i in sorted(self.results)]
        return self.summary, [(self.configs[i], self.results[i]) for i in sorted(self.results)]


#: how long to wait for a dask scheduler to answer
DASK_CONNECT_SECONDS = 5
#: seconds between checks on runs that another process is computing
POLL_SECONDS = 1.0


class _Inline:
    """The executor of --jobs 1: runs a config when submitted, in this process, with the usable
    cores shared among the sweeps that hold live claims on the store (numba and BLAS threads =
    cores // sweeps), so that concurrent sweeps do not oversubscribe the machine."""

    capacity = 1

    def __init__(self, seed: int, store: Store):
        self.seed, self.store = seed, store

    def submit(self, experiment_name: str, config, key: str) -> Future:
        """Run ``config`` of that experiment now (``key``, its run key, names it in the pool's
        messages only)."""
        import numba
        from threadpoolctl import threadpool_limits

        threads = max(1, min(usable_cores() // self.store.live_sweeps(), numba.config.NUMBA_NUM_THREADS))
        previous = numba.get_num_threads()
        numba.set_num_threads(threads)
        fut: Future = Future()
        try:
            with threadpool_limits(limits=threads):
                fut.set_result(execute(experiment_name, config, self.seed))
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


def _worker_main(conn, parent: int) -> None:
    """A pool worker: call the functions it is sent, fn(*args), one at a time, until its pipe closes."""
    _worker_init(parent)
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(fn(*args))


@dataclass
class _Job:
    process: Any
    conn: Any
    task: tuple = ()
    attempt: int = 0
    #: what the task is, in messages (a run: the experiment, the config and the run key)
    label: str = ""


class Workers:
    """Worker processes (spawn) for the sweeps of one command, started on demand and kept from one
    sweep to the next (each start imports the package and loads numba's cached kernels: 1 to 2 s),
    with threads per worker capped (``_thread_env``), one pipe each, so that the task a worker
    holds is known. Workers die with this process. ``warm=True``: the first ``jobs`` workers start
    by compiling (or loading from numba's cache) one group of kernels each
    (``twolayer.warmup``), so that a fresh checkout compiles each kernel once, on all cores,
    instead of once in every worker that needs it. Use as a context manager, or ``close()``."""

    def __init__(self, jobs: int, warm: bool = False):
        self.context = multiprocessing.get_context("spawn")
        # workers are spawned on demand, so the thread limits stay in the environment until close()
        self.saved_env = {k: os.environ.get(k) for k in _thread_env(jobs)}
        os.environ.update(_thread_env(jobs))
        self.idle: list[_Job] = []
        self.warming: list[tuple[_Job, str]] = []
        if warm:
            from twolayer.warmup import GROUPS
            for group in GROUPS[:jobs]:
                job = self.start()
                job.conn.send((warm_kernels, (group,)))
                self.warming.append((job, group))

    def start(self) -> _Job:
        """A new worker process."""
        ours, theirs = self.context.Pipe()
        process = self.context.Process(target=_worker_main, args=(theirs, os.getpid()), daemon=True)
        process.start()
        theirs.close()
        return _Job(process, ours)

    def take(self) -> _Job:
        """An idle worker (one that is warming up first finishes; a new one if there is none)."""
        if not self.idle and self.warming:
            ready = multiprocessing.connection.wait([job.conn for job, _ in self.warming])
            job, group = next((job, group) for job, group in self.warming if job.conn in ready)
            self.warming.remove((job, group))
            try:
                job.conn.recv()
                self.idle.append(job)
            except (EOFError, OSError):  # it died compiling: the runs it would take get a new worker
                job.process.join(5)
                print(f"warning: a worker compiling the {group} kernels exited with status "
                      f"{job.process.exitcode}; starting another", file=sys.stderr)
                job.conn.close()
        return self.idle.pop() if self.idle else self.start()

    def give_back(self, job: _Job) -> None:
        self.idle.append(job)

    def close(self, cancel: bool = False) -> None:
        """Stop every worker: idle ones once their pipe closes, those still warming up (nothing
        waits for them; numba writes its cache files whole) and, when ``cancel``, all at once."""
        warming = {id(job) for job, _ in self.warming}
        jobs = [*self.idle, *(job for job, _ in self.warming)]
        self.idle, self.warming = [], []
        for job in jobs:
            if cancel or id(job) in warming:
                job.process.kill()
            job.conn.close()  # an idle worker ends when its pipe closes
        for job in jobs:
            job.process.join()
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.saved_env = {}

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(cancel=kind is not None)


def warm_kernels(group: str) -> str:
    """In a worker: compile (or load) numba's kernels of ``group`` (``twolayer.warmup.warm``)."""
    from twolayer.warmup import warm

    warm(group)
    return group


class _Pool:
    """One sweep's runs on worker processes (``Workers``: its own, or shared with other sweeps). A
    worker that dies in a run (killed by a signal, as the kernel's out-of-memory killer does) is
    reported in one line naming the run and the signal, and the run is given once more to a new
    worker; dying twice, it is recorded as failed. Workers are killed when a sweep is interrupted."""

    def __init__(self, seed: int, jobs: int, workers: Workers | None = None):
        self.seed, self.capacity = seed, jobs
        self.own = workers is None
        self.workers = Workers(jobs) if workers is None else workers
        self.busy: dict[Future, _Job] = {}

    def _send(self, job: _Job, task: tuple, attempt: int, label: str) -> None:
        job.task, job.attempt, job.label = task, attempt, label
        job.conn.send(task)

    def call(self, fn, *args, label: str = "") -> Future:
        """``fn(*args)`` in a worker (a module-level function: it is pickled); ``label`` names it in
        messages (default: the call)."""
        job = self.workers.take()
        fut: Future = Future()
        self.busy[fut] = job
        self._send(job, (fn, args), 1, label or f"{fn.__name__}{args}")
        return fut

    def submit(self, experiment_name: str, config, key: str) -> Future:
        fields = " ".join(f"{k}={v}" for k, v in dataclasses.asdict(config).items())
        return self.call(execute, experiment_name, config, self.seed,
                         label=f"{experiment_name} run {fields} (key {key})")

    def wait(self, futures, timeout):
        """The futures finished within ``timeout`` seconds (None: until one is)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            watched = {}
            for fut in futures:
                job = self.busy[fut]
                watched[job.conn] = watched[job.process.sentinel] = fut
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = {watched[r] for r in multiprocessing.connection.wait(list(watched), left)}
            done = set()
            for fut in ready:
                job = self.busy[fut]
                try:
                    outcome = job.conn.recv() if job.conn.poll() else None
                except Exception:  # EOF, or the half of a result a dying worker sent
                    outcome = None
                if outcome is not None:
                    fut.set_result(outcome)
                    self.workers.give_back(self.busy.pop(fut))
                    done.add(fut)
                elif self._lost(fut, job):
                    done.add(fut)
            if done or (deadline is not None and time.monotonic() >= deadline):
                return done

    def _lost(self, fut: Future, job: _Job) -> bool:
        """The worker of ``job`` died in its run: report it, and retry the run once on a new
        worker (False) or record it as failed (True, ``fut`` set)."""
        job.process.join(5)
        code = job.process.exitcode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 and
               -code in signal.valid_signals() else f"exited with status {code}")
        job.conn.close()
        if job.attempt == 1:
            print(f"warning: {job.label}: its worker was {how}; running it again (once)", file=sys.stderr)
            fresh = self.workers.start()
            self.busy[fut] = fresh
            self._send(fresh, job.task, 2, job.label)
            return False
        del self.busy[fut]
        fut.set_result((None, f"WorkerLost: the worker running it was {how}, twice (out of memory? the kernel's "
                              f"OOM killer sends SIGKILL)", time.time()))
        return True

    def close(self, cancel: bool) -> None:
        """Stop the workers still running a task now (an interrupted sweep; a worker whose result
        is unread is never given another task); the idle ones stay with a shared ``Workers``, or stop
        with the sweep's own (all at once when ``cancel``)."""
        for job in self.busy.values():
            job.process.kill()
            job.conn.close()
            job.process.join()
        self.busy = {}
        if self.own or cancel:
            self.workers.close(cancel)


class _Dask:
    """A dask.distributed client: the same runs, on a cluster (twice its threads in flight)."""

    def __init__(self, seed: int, scheduler: str | None):
        try:
            import distributed
        except ImportError:
            raise ValueError("--executor dask needs the 'cluster' extra: pip install -e '.[cluster]'") from None
        if not scheduler:
            raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
        self.distributed = distributed
        self.seed = seed
        try:
            self.client = distributed.Client(scheduler, timeout=f"{DASK_CONNECT_SECONDS}s")
        except (OSError, TimeoutError, ValueError) as e:
            reason = " ".join(str(e).split())[:200]
            raise ValueError(f"--scheduler {scheduler}: no dask scheduler answered within "
                             f"{DASK_CONNECT_SECONDS} s ({reason})") from None
        self.capacity = 2 * max(1, sum(self.client.nthreads().values()))

    def submit(self, experiment_name: str, config, key: str):
        return self.client.submit(execute, experiment_name, config, self.seed, pure=False)

    def wait(self, futures, timeout):
        try:
            return self.distributed.wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
        except self.distributed.TimeoutError:
            return set()

    def close(self, cancel: bool) -> None:
        self.client.close()


def _names(arrays: dict) -> tuple[str, ...]:
    return tuple(sorted(arrays))


def _schedule(states: list[_Sweep], runner, on_done: Callable[[_Sweep], None]) -> None:
    """Run the runs ``todo`` of every sweep in ``states``, in order, through ``runner``, at most
    ``runner.capacity`` at a time, each claimed first. A run another live process has claimed is
    set aside and checked every POLL_SECONDS: loaded when it is done, computed here if its claim
    lapses. A run whose executor raised (a lost dask worker, three times over) is recorded as failed
    with the reason. A sweep whose runs are all finished is checked for stored results unlike the
    runs computed here (those are computed next), then completed: ``on_done(sweep)``."""
    queue = deque((s, i) for s in states for i in s.todo)
    left = {id(s): len(s.todo) for s in states}  # runs of each sweep not yet finished
    waiting: list[tuple[_Sweep, int]] = []
    running: dict = {}

    def settled(s: _Sweep) -> None:
        left[id(s)] -= 1
        if left[id(s)] == 0:
            again = s.stale_after_runs()
            if again:
                left[id(s)] = len(again)
                queue.extendleft((s, i) for i in reversed(again))
            else:
                s.complete()
                on_done(s)

    for s in states:
        if not s.todo:
            s.complete()
            on_done(s)
    while queue or waiting or running:
        while queue and len(running) < runner.capacity:
            s, i = queue.popleft()
            state = s.claim(i)
            if state is Claim.DONE and not s.load_finished(i):
                state = s.claim(i, again=True)  # its file is missing or corrupt
            if state is Claim.MINE:
                running[runner.submit(s.experiment.name, s.configs[i], s.keys[i])] = (s, i)
            elif state is Claim.TAKEN:
                waiting.append((s, i))
            else:  # done by another process, and loaded
                settled(s)
        if running:
            for fut in runner.wait(running, POLL_SECONDS if waiting else None):
                s, i = running.pop(fut)
                try:
                    outcome = fut.result()
                except Exception as e:  # the executor lost the run (not the run's own error)
                    outcome = (None, f"{type(e).__name__}: {' '.join(str(e).split())[:300]}", time.time())
                s.finish(i, *outcome)
                settled(s)
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
