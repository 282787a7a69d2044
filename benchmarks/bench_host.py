"""How fast this machine runs the engine, against the machine the engine benchmarks were measured on.

    python benchmarks/bench_host.py [rounds]

Times one population GD step at m = 100, k = 4, d = 20 (the ``bench_engine.py`` case: 50 steps per
``train`` call, median of 5 calls per round) for ``rounds`` rounds (default 5), and divides by that
case's ``numba_ms`` in ``bench_engine.json``: the host factor (> 1: this machine is slower). A time
measured on another host converts by it only approximately (it times the GD kernels; PyTorch's and
BLAS's parts need not scale alike). Also records
the processor (``/proc/cpuinfo``), LLVM's name for it and whether it has AVX-512 (numba compiles for
the host: without AVX-512 the kernels run on narrower vectors). Writes benchmarks/bench_host.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
from _common import best_time, report

import twolayer as tl

#: GD steps per timed train() call, as in bench_engine.py
STEPS = 50
CASE = "population GD step m=100 k=4 d=20"


def reference_ms() -> float:
    """The case's numba time per step in bench_engine.json (the engine benchmarks' machine)."""
    rows = json.loads(Path(__file__).with_name("bench_engine.json").read_text())["rows"]
    return next(r["numba_ms"] for r in rows if r["case"] == CASE)


def step_ms() -> float:
    """Median time of one population GD step of the bench_engine.py case, in ms (numba warm)."""
    rng = np.random.default_rng(1)
    teacher = tl.Teacher.orthonormal(4, 20)
    s = tl.Student(rng.standard_normal(100) / 100, rng.standard_normal((100, 20)) / np.sqrt(20))
    objective = tl.Population(teacher)
    tl.train(s, objective, lr=1e-3, steps=STEPS)
    return 1e3 * best_time(lambda: tl.train(s, objective, lr=1e-3, steps=STEPS, record_every=STEPS),
                           repeats=5) / STEPS


def processor() -> dict:
    """The processor's model name, LLVM's name for it, and whether it has AVX-512."""
    import llvmlite.binding as llvm

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown") if Path("/proc/cpuinfo").exists() else "unknown"
    features = llvm.get_host_cpu_features()
    return {"model": model, "llvm_cpu": llvm.get_host_cpu_name(), "avx512f": bool(features.get("avx512f")),
            "cores": os.cpu_count()}


def measure(rounds: int) -> dict:
    """The host factor: median, min and max over rounds of step_ms() / reference_ms()."""
    load = os.getloadavg()[0]
    times = [step_ms() for _ in range(rounds)]
    ref = reference_ms()
    return {"case": CASE, **processor(), "rounds": rounds, "step_ms_median": float(np.median(times)),
            "step_ms_min": min(times), "step_ms_max": max(times), "reference_ms": ref,
            "factor_median": float(np.median(times)) / ref, "factor_min": min(times) / ref,
            "factor_max": max(times) / ref, "load_before": load}


if __name__ == "__main__":
    report("bench_host", [measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5)])
