"""matching: the alignment methods compared on the same trained pairs, versus width.

weights, weights_cov (identity second moment for Gaussian inputs: equal to weights here),
activations (on 10^4 inputs), refine (up to REFINE_MAX_WIDTH) and the OT plan; the barrier
each one leaves and its wall time (measured warm: each method is first called on a tiny pair, so
that numba's compilation is not counted).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import twolayer as tl

from ..common import BARRIER_FLOOR, GDConfig, figure, save
from ..experiment import Experiment
from ..table import Table

METHODS = ("weights", "weights_cov", "activations", "refine", "ot")
REFINE_MAX_WIDTH = 128


def configs(profile: str) -> list[GDConfig]:
    widths, reps = ((8, 16, 32, 64, 128), 3) if profile == "quick" else ((8, 16, 32, 64, 128, 256), 6)
    return [GDConfig(m=m, replicate=r) for m in widths for r in range(reps)]


def _warm_up(teacher: tl.Teacher) -> None:
    """Call every method once on a tiny pair, so that the timed calls exclude numba's compilation."""
    small = [tl.Student.init(4, teacher.d, 1.0, seed=s) for s in (0, 1)]
    for method in METHODS:
        tl.barrier_modulo_permutation(*small, tl.Population(teacher), method=method)


def run(cfg: GDConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    A, B = (r.student for r in cfg.students(seq, 2))
    _warm_up(teacher)
    out = {}
    for method in METHODS:
        if method == "refine" and cfg.m > REFINE_MAX_WIDTH:
            out[method], out[f"{method}_seconds"] = np.nan, np.nan
            continue
        t0 = time.perf_counter()
        res = tl.barrier_modulo_permutation(A, B, tl.Population(teacher), method=method)
        out[f"{method}_seconds"] = time.perf_counter() - t0
        out[method] = res.value
    return out


def summarize(table: Table, out: Path, store) -> dict:
    fig, (ax, ax2) = figure(2)
    fitted: dict = {}
    for method in METHODS:
        barrier, seconds = table.group("m", method), table.group("m", f"{method}_seconds")
        ax.plot(barrier.x, np.maximum(barrier.value, BARRIER_FLOOR), marker="o", label=method)
        ax2.plot(seconds.x, seconds.value, marker="o", label=method)
        fitted[method] = {"mean_barrier_by_m": barrier.as_dict(), "mean_seconds_by_m": seconds.as_dict()}
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylabel="barrier mod P (population)",
           title="Barrier left by each alignment method")
    ax2.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
            ylabel="wall time of match + barrier (s)", title="Cost of each method")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    columns = table.csv(("m", "replicate", *(k for method in METHODS for k in (method, f"{method}_seconds"))))
    return save(fig, "matching", out, columns, fitted)


EXPERIMENT = Experiment("matching", "weights, weights_cov, activations, refine, OT: barrier and wall time vs m",
                        configs, run, summarize)
