"""The sweep runner shared by every experiment.

A run is (experiment, config, seed) -> arrays. Its key is a hash of the three; its random
stream is SeedSequence(seed, spawn_key=(hash of experiment and config,)), so results depend
neither on the other runs of the sweep nor on --jobs or the order of execution. Finished runs
are loaded from the store and never recomputed; the rest run locally in a process pool or on
a dask.distributed cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .store import Store

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Experiment:
    """An experiment: its configs per profile, one run, and the figure made from all runs."""

    name: str
    description: str
    configs: Callable[[str], list[Any]]
    run: Callable[[Any, np.random.SeedSequence], dict[str, np.ndarray]]
    summarize: Callable[[list[tuple[Any, dict[str, np.ndarray]]], Path], dict]


@dataclass
class SweepSummary:
    experiment: str
    total: int
    done: int = 0
    skipped: int = 0
    failed: int = 0
    diverged: int = 0
    seconds: float = 0.0
    errors: list[str] = dataclasses.field(default_factory=list)


def config_dict(config) -> dict:
    return {"type": type(config).__name__, **dataclasses.asdict(config)}


def run_key(experiment: str, config, seed: int) -> str:
    blob = json.dumps({"experiment": experiment, "config": config_dict(config), "seed": seed},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def run_seed(experiment: str, config, seed: int) -> np.random.SeedSequence:
    """The run's stream: a child of SeedSequence(seed) named by the config, not by its position."""
    blob = json.dumps({"experiment": experiment, "config": config_dict(config)}, sort_keys=True)
    child = int(hashlib.sha256(blob.encode()).hexdigest()[:15], 16)
    return np.random.SeedSequence(seed, spawn_key=(child,))


def execute(experiment_name: str, config, seed: int) -> tuple[dict | None, str | None, float]:
    """Run one config in the current process: (arrays, None) or (None, error text)."""
    from .registry import get

    started = time.time()
    try:
        arrays = get(experiment_name).run(config, run_seed(experiment_name, config, seed))
        return arrays, None, started
    except Exception:  # a failed run is recorded, the sweep goes on
        return None, traceback.format_exc(limit=6), started


def _thread_env(jobs: int) -> dict[str, str]:
    per = str(max(1, (os.cpu_count() or 1) // jobs))
    return {"NUMBA_NUM_THREADS": per, "OMP_NUM_THREADS": per, "OPENBLAS_NUM_THREADS": per,
            "MKL_NUM_THREADS": per}


def sweep(experiment: Experiment, configs: Sequence[Any], store: Store, seed: int = 0,
          jobs: int = 1, executor: str = "local", scheduler: str | None = None,
          progress: bool = True) -> tuple[SweepSummary, list[tuple[Any, dict]]]:
    """Run every config not already in the store; return the summary and all results."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}; got {executor!r}")
    t0 = time.time()
    summary = SweepSummary(experiment.name, len(configs))
    results: dict[int, dict] = {}
    todo = []
    for i, cfg in enumerate(configs):
        loaded = store.load(experiment.name, run_key(experiment.name, cfg, seed))
        if loaded is None:
            todo.append(i)
        else:
            results[i] = loaded
            summary.skipped += 1
    bar = tqdm(total=len(todo), desc=experiment.name, disable=not progress or not todo)

    def finish(i, arrays, error, started):
        cfg = configs[i]
        key = run_key(experiment.name, cfg, seed)
        if error is None:
            store.save(experiment.name, key, config_dict(cfg), seed, arrays, started)
            results[i] = arrays
            summary.done += 1
            summary.diverged += int(np.any(arrays.get("diverged", False)))
        else:
            store.fail(experiment.name, key, config_dict(cfg), seed, error, started)
            summary.failed += 1
            summary.errors.append(error.strip().splitlines()[-1])
        bar.update(1)

    if executor == "dask":
        _run_dask(experiment, configs, todo, seed, scheduler, finish)
    elif jobs <= 1:
        for i in todo:
            finish(i, *execute(experiment.name, configs[i], seed))
    else:
        _run_pool(experiment, configs, todo, seed, jobs, finish)
    bar.close()
    summary.seconds = time.time() - t0
    return summary, [(configs[i], results[i]) for i in sorted(results)]


def _run_pool(experiment, configs, todo, seed, jobs, finish):
    saved = {k: os.environ.get(k) for k in _thread_env(jobs)}
    os.environ.update(_thread_env(jobs))  # inherited by the spawned workers
    try:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            pending = {pool.submit(execute, experiment.name, configs[i], seed): i for i in todo}
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        finish(pending.pop(fut), *fut.result())
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _run_dask(experiment, configs, todo, seed, scheduler, finish):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("--executor dask needs the 'cluster' extra: pip install -e '.[cluster]'") from None
    if not scheduler:
        raise ValueError("--executor dask needs --scheduler ADDRESS (e.g. tcp://127.0.0.1:8786)")
    with Client(scheduler) as client:
        futures = {client.submit(execute, experiment.name, configs[i], seed, pure=False): i
                   for i in todo}
        for fut in as_completed(futures):
            finish(futures[fut], *fut.result())


def summary_table(summaries: Sequence[SweepSummary]) -> str:
    """A plain-text table of sweep summaries."""
    head = f"{'experiment':<12} {'runs':>5} {'done':>5} {'skipped':>7} {'failed':>6} {'diverged':>8} {'time':>8}"
    lines = [head, "-" * len(head)]
    for s in summaries:
        lines.append(f"{s.experiment:<12} {s.total:>5} {s.done:>5} {s.skipped:>7} {s.failed:>6} "
                     f"{s.diverged:>8} {s.seconds:>7.1f}s")
        lines.extend(f"    failed: {e}" for e in s.errors[:3])
    return "\n".join(lines)
