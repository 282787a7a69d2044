"""A width run on a busy machine: OpenMP's spin-waiting threads against a CPU-bound neighbour.

Each measurement is a fresh process that runs one ``width`` run (k = 2, d = 10, m = 128, a
fixed GD step budget) through ``sims.runner.execute`` with numba and BLAS at as many threads as
the machine has cores (what ``--jobs 1`` gives a sweep alone on its store), and times the run
alone and beside ``cores`` busy-looping processes, with ``OMP_WAIT_POLICY`` unset (libgomp's
default: a thread that finishes its share of a parallel loop spins for a while before it
sleeps) and set to PASSIVE (it sleeps at once: what ``python -m sims`` sets). The conditions
are interleaved, each repeated; the table gives median, min and max seconds, and the busy /
alone ratio of the medians per policy.

    python benchmarks/bench_busy.py [--repeats 5] [--steps 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import report  # noqa: E402

#: the child: import (kernels compiled and cached beforehand), then time one run
CHILD = """
import json, time, numpy as np
from sims.common import GDConfig
from sims.runner import execute
cfg = GDConfig(k=2, d=10, m=128, steps={steps}, tol=None, replicate=0)
execute("width", GDConfig(k=2, d=10, m=4, steps=10, tol=None), 0)  # warm: load cached kernels
t0 = time.perf_counter()
arrays, error, _ = execute("width", cfg, 0)
assert error is None, error
print(json.dumps(time.perf_counter() - t0))
"""

SPIN = "while True: pass"


def measure(policy: str | None, busy: bool, steps: int, threads: int) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env |= {"PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    load = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(threads if busy else 0)]
    try:
        time.sleep(0.3 if busy else 0)
        out = subprocess.run([sys.executable, "-c", CHILD.format(steps=steps)], env=env, capture_output=True,
                             text=True, check=True, cwd=ROOT)
    finally:
        for p in load:
            p.kill()
            p.wait()
    return float(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args()
    threads = len(os.sched_getaffinity(0))
    conditions = [(policy, busy) for policy in (None, "PASSIVE") for busy in (False, True)]
    times: dict = {c: [] for c in conditions}
    measure("PASSIVE", False, 10, threads)  # compile and cache the kernels once
    for r in range(args.repeats):
        for c in conditions:
            times[c].append(measure(*c, args.steps, threads))
            print(f"# repeat {r}: policy={c[0] or 'default'} busy={c[1]}: {times[c][-1]:.2f} s", flush=True)
    rows = []
    for policy in (None, "PASSIVE"):
        alone, busy = np.array(times[(policy, False)]), np.array(times[(policy, True)])
        rows.append({"OMP_WAIT_POLICY": policy or "default (active)", "threads": threads, "steps": args.steps,
                     "alone_median_s": float(np.median(alone)), "alone_min_s": float(alone.min()),
                     "alone_max_s": float(alone.max()), "busy_median_s": float(np.median(busy)),
                     "busy_min_s": float(busy.min()), "busy_max_s": float(busy.max()),
                     "busy_over_alone": float(np.median(busy) / np.median(alone)),
                     "busy_over_alone_range": [float(busy.min() / alone.max()), float(busy.max() / alone.min())],
                     "alone_s": [round(t, 3) for t in alone], "busy_s": [round(t, 3) for t in busy]})
    default_busy = rows[0]["busy_median_s"]
    for row in rows:
        row["busy_default_over_this"] = float(default_busy / row["busy_median_s"])
    report("bench_busy", rows)


if __name__ == "__main__":
    main()
