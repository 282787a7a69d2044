"""real_trajectory: simultaneous weak LMC along training (Sharma et al. 2024) on real data, for a
deep MLP (2 hidden layers), the VGG-style and the ResNet-style network: the final networks'
permutations applied to every checkpoint, against matching each checkpoint afresh, and against
no alignment; loss and error barriers on the test set."""

from __future__ import annotations

import numpy as np

import twolayer as tl

from ..common import FigureDir, figure, save
from ..experiment import Experiment
from ..profile import Profile
from ..table import Table
from .realdata import (
    Architecture,
    RealConfig,
    barrier_kwargs,
    data_label,
    dataset,
    pairs,
    test_objective,
    three_architectures,
    train_pair,
)

KEYS = ("plain", "final_perm", "fresh_perm")
CHECKPOINTS = 7


def configs(profile: Profile) -> list[RealConfig]:
    return three_architectures(profile, quick_conv_steps=600)


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    steps = np.unique(np.r_[0, np.geomspace(5, cfg.steps, CHECKPOINTS).astype(int)])
    A, B = train_pair(cfg, data, seq, checkpoints=steps)
    final = tl.match(A.net, B.net).perms
    test = test_objective(data)
    options = barrier_kwargs(data)
    out = {f"{k}_{kind}": np.empty(steps.size) for k in KEYS for kind in ("loss", "error")}
    for j, ((_, a), (_, b)) in enumerate(zip(A.checkpoints, B.checkpoints)):
        for key, res in (("plain", tl.barrier(a, b, test, **options)),
                         ("final_perm", tl.barrier(a, tl.permute(b, final), test, **options)),
                         ("fresh_perm", tl.barrier_modulo_permutation(a, b, test, **options))):
            out[f"{key}_loss"][j], out[f"{key}_error"][j] = res.value, res.error.value
    return out | {"steps": steps.astype(float)}


def summarize(table: Table, out: FigureDir, store) -> dict:
    archs = [a for a in Architecture if a.value in set(table["arch"])]
    fig, axes = figure(len(archs), width=4.6, height=3.6, nrows=2)
    fitted = {"data": data_label(table)}
    for col, arch in enumerate(archs):
        runs = table.where(arch=arch.value)
        steps = np.maximum(runs["steps"][0], 1)
        for row, kind in enumerate(("loss", "error")):
            ax = axes[row][col]
            for k in KEYS:
                y = runs.stack(f"{k}_{kind}").mean(axis=0)
                ax.plot(steps, y, marker="o", label=k.replace("_", " "))
                fitted[f"{arch.value}_{k}_{kind}_max"] = float(y.max())
                fitted[f"{arch.value}_{k}_{kind}_final"] = float(y[-1])
            ax.set(xscale="log", xlabel="SGD step (0 drawn at 1)",
                   ylabel="loss barrier (test cross-entropy)" if kind == "loss" else "error barrier (test, fraction)")
            if row == 0:
                ax.set_title(f"{arch.value} on {fitted['data']} ({pairs(len(runs))})")
        axes[0][col].legend(fontsize=7)
    fig.tight_layout()
    columns = ("steps", *(f"{k}_{kind}" for k in KEYS for kind in ("loss", "error")))
    return save(fig, "real_trajectory", out, table.long(("arch", "replicate"), columns), fitted)


EXPERIMENT = Experiment("real_trajectory", "MLP, VGG and ResNet on real data: final permutation along training vs "
                        "fresh vs none", configs, run, summarize, version=2, order=140)
