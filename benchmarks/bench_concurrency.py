"""Two sweeps on one store: wall time against one sweep alone, and the share each computed.

Runs `python -m sims run three --profile quick` (18 runs) once alone into a fresh store, then
twice at the same time into another fresh store, each with --jobs 1 (so that two sweeps use
the machine's two cores), REPEATS times. Without run claims both concurrent sweeps computed
every run; with them each run is computed once and the pair should finish in about the time
of one sweep.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import report

ROOT = Path(__file__).resolve().parents[1]
REPEATS = 3


def _sweeps(count: int, out: Path) -> tuple[float, list[int]]:
    cmd = [sys.executable, "-m", "sims", "run", "three", "--jobs", "1", "--quiet", "--out", str(out),
           "--figures", str(out / "figures")]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(count)]
    outputs = [p.communicate()[0] for p in procs]
    seconds = time.perf_counter() - t0
    done = [int(next(line for line in o.splitlines() if line.startswith("three")).split()[2]) for o in outputs]
    return seconds, done


def main() -> None:
    alone, together, shares = [], [], []
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp:
            seconds, _ = _sweeps(1, Path(tmp) / "alone")
            alone.append(seconds)
            seconds, done = _sweeps(2, Path(tmp) / "shared")
            together.append(seconds)
            shares.append(done)
    rows = [{"case": "one sweep alone (18 runs)", "median_s": float(np.median(alone)), "min_s": min(alone),
             "max_s": max(alone)},
            {"case": "two sweeps on one store", "median_s": float(np.median(together)), "min_s": min(together),
             "max_s": max(together), "runs_computed_by_each": str(shares),
             "ratio_to_alone": float(np.median(together) / np.median(alone))}]
    report("bench_concurrency", rows)


if __name__ == "__main__":
    main()
