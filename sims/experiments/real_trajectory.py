"""real_trajectory: simultaneous weak LMC along training (Sharma et al. 2024) on real data, for a
deep MLP (2 hidden layers), the VGG-style and the ResNet-style network: the final networks'
permutations applied to every checkpoint, against matching each checkpoint afresh, and against
no alignment; loss and error barriers on the test set."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import FigureDir, figure, save
from ..experiment import Experiment
from ..profile import Profile
from ..table import long
from .realdata import (
    BARRIER_LABEL,
    KINDS,
    RealConfig,
    architectures,
    barrier_kwargs,
    data_label,
    dataset,
    mean_curves,
    pairs,
    test_objective,
    three_architectures,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

KEYS = ("plain", "final_perm", "fresh_perm")
#: the per-run barrier curves in the order of the analysis: kind by kind, path by path
BARRIERS = tuple(f"{k}_{kind}" for kind in KINDS for k in KEYS)
CHECKPOINTS = 7


def configs(profile: Profile) -> list[RealConfig]:
    return three_architectures(profile, conv_steps=600)


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    steps = np.unique(np.r_[0, np.geomspace(5, cfg.steps, CHECKPOINTS).astype(int)])
    A, B = train_pair(cfg, data, seq, checkpoints=steps)
    final = tl.match(A.net, B.net).perms
    test = test_objective(data)
    options = barrier_kwargs(data, cfg.bn_rows)
    out = {f"{k}_{kind}": np.empty(steps.size) for k in KEYS for kind in ("loss", "error")}
    for j, ((_, a), (_, b)) in enumerate(zip(A.checkpoints, B.checkpoints)):
        for key, res in (("plain", tl.barrier(a, b, test, **options)),
                         ("final_perm", tl.barrier(a, tl.permute(b, final), test, **options)),
                         ("fresh_perm", tl.barrier_modulo_permutation(a, b, test, **options))):
            out[f"{key}_loss"][j], out[f"{key}_error"][j] = res.value, res.error.value
    return out | {"steps": steps.astype(float)}


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); per architecture, kind of barrier and
    path, the barrier's mean over the pairs at each checkpoint (``realdata.mean_curves``) and of
    that curve its maximum over the checkpoints ("{arch}_{path}_{kind}_max") and its value at the
    last one ("..._final"). Pure: no drawing, no files."""
    out = {"data": data}
    for arch in architectures(table):
        curves = mean_curves(table[table["arch"] == arch.value], BARRIERS)
        for c, y in curves.items():
            out[f"{arch.value}_{c}_max"] = float(y.max())
            out[f"{arch.value}_{c}_final"] = float(y[-1])
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """One column per architecture: each path's mean loss (top) and error (bottom) barrier against
    the SGD step (the curves, not in ``analysis``, from ``realdata.mean_curves``)."""
    archs = architectures(table)
    fig, axes = figure(len(archs), width=4.6, height=3.6, nrows=2)
    for col, arch in enumerate(archs):
        runs = table[table["arch"] == arch.value]
        steps = np.maximum(runs["steps"].iloc[0], 1)
        curves = mean_curves(runs, BARRIERS)
        for row, kind in enumerate(KINDS):
            ax = axes[row][col]
            for k in KEYS:
                ax.plot(steps, curves[f"{k}_{kind}"], marker="o", label=k.replace("_", " "))
            ax.set(xscale="log", xlabel="SGD step (0 drawn at 1)", ylabel=BARRIER_LABEL[kind])
            if row == 0:
                ax.set_title(f"{arch.value} on {analysis['data']} ({pairs(len(runs))})")
        axes[0][col].legend(fontsize=7)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    columns = ("steps", *(f"{k}_{kind}" for k in KEYS for kind in KINDS))
    return save(plot(analysis, table), "real_trajectory", out, long(table, ("arch", "replicate"), columns),
                analysis)


EXPERIMENT = Experiment("real_trajectory", "MLP, VGG and ResNet on real data: final permutation along training vs "
                        "fresh vs none", configs, run, summarize, version=2, order=140)
