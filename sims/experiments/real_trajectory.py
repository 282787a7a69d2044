"""mnist_trajectory: simultaneous weak LMC along training for a deep MLP (2 hidden layers):
the final networks' permutations applied to every checkpoint, vs fresh matching, vs none."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import twolayer as tl

from ..common import figure, plot_mean_curves, save
from ..experiment import Experiment
from ..table import Table
from .realdata import RealConfig, dataset, test_objective, train_pair

KEYS = ("plain", "final_perm", "fresh_perm")


def configs(profile: str) -> list[RealConfig]:
    return [RealConfig(depth=2, replicate=r) for r in range(2 if profile == "quick" else 6)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    steps = np.unique(np.r_[0, np.geomspace(5, cfg.steps, 10).astype(int)])
    A, B = train_pair(data, cfg.sizes(data), seq, cfg.lr, cfg.steps, cfg.batch, checkpoints=steps)
    final = tl.match(A.net, B.net).perms
    test = test_objective(data)
    out = {k: np.empty(steps.size) for k in KEYS}
    for j, ((_, a), (_, b)) in enumerate(zip(A.checkpoints, B.checkpoints)):
        out["plain"][j] = tl.barrier(a, b, test).value
        out["final_perm"][j] = tl.barrier(a, tl.permute(b, final), test).value
        out["fresh_perm"][j] = tl.barrier_modulo_permutation(a, b, test).value
    return out | {"steps": steps.astype(float)}


def summarize(table: Table, out: Path, store) -> dict:
    fig, (ax,) = figure(1, width=6)
    steps = table["steps"][0]
    fitted = {}
    for k, y in plot_mean_curves(ax, np.maximum(steps, 1), table, KEYS).items():
        fitted[f"{k}_max"], fitted[f"{k}_final"] = float(y.max()), float(y[-1])
    ax.set(xscale="log", xlabel="SGD step (0 drawn at 1)", ylabel="loss barrier (test cross-entropy)",
           title="Deep MLP: barrier along training")
    ax.legend(fontsize=7)
    return save(fig, "mnist_trajectory", out, table.long(("replicate",), ("steps", *KEYS)), fitted)


EXPERIMENT = Experiment("mnist_trajectory", "deep MLP on real data: final permutation along training vs fresh "
                        "vs none", configs, run, summarize)
