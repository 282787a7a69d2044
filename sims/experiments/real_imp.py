"""real_imp: iterative magnitude pruning on real data (Sharma et al. 2024's IMP experiment) for a
deep MLP (2 hidden layers), the VGG-style and the ResNet-style network. In each round the
fraction ``PRUNE`` of the remaining weights with the smallest |w| (all weight matrices and
convolution kernels together; biases and BatchNorm never pruned) is removed, the rest rewound to
step ``REWIND`` and retrained with the mask. Barrier between the two pruned networks with the
dense networks' permutations, with fresh matching, and with none, at every sparsity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from twolayer.random import child

from ..common import FigureDir, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile
from ..table import long
from .realdata import (
    BARRIER_LABEL,
    KINDS,
    Architecture,
    RealConfig,
    architectures,
    barrier_kwargs,
    data_label,
    dataset,
    mean_curves,
    pairs,
    test_objective,
    three_architectures,
    train_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

PRUNE = 0.4
REWIND = 20
KEYS = ("dense_perm", "fresh_perm", "plain")


def configs(profile: Profile) -> list[RealConfig]:
    return three_architectures(profile, conv_steps=400)


def rounds(cfg: RealConfig) -> int:
    """Pruning rounds: 4 (0.6^4 = 13 % of the weights left), 3 for the convolutional nets."""
    return 4 if cfg.architecture is Architecture.MLP else 3


def prunable(array: np.ndarray) -> bool:
    """Weight matrices and convolution kernels (two or more axes) are pruned; vectors are not."""
    return array.ndim >= 2


def prune(arrays: dict[str, np.ndarray], masks: dict[str, np.ndarray], fraction: float) -> dict[str, np.ndarray]:
    """Masks that also remove the ``fraction`` smallest surviving prunable weights, pooled."""
    weights = [k for k, a in arrays.items() if prunable(a)]
    alive = np.concatenate([np.abs(arrays[k][masks[k] > 0]) for k in weights])
    cut = np.quantile(alive, fraction)
    return {k: (np.abs(arrays[k]) > cut) * m if k in weights else m for k, m in masks.items()}


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    dense = train_pair(cfg, data, seq, checkpoints=[REWIND])
    perms = tl.match(dense[0].net, dense[1].net).perms
    nets = [r.net for r in dense]
    masks = [{k: np.ones_like(p) for k, p in n.arrays().items()} for n in nets]
    train, test = train_objective(data), test_objective(data)
    options = barrier_kwargs(data, cfg.bn_rows)
    count = rounds(cfg) + 1
    out = {f"{k}_{kind}": np.empty(count) for k in KEYS for kind in ("loss", "error")} | {"remaining": np.empty(count)}
    for rnd in range(count):
        if rnd:
            for i in range(2):
                masks[i] = prune(nets[i].arrays(), masks[i], PRUNE)
                nets[i] = tl.train(dense[i].checkpoints[0][1], train, "sgd", lr=cfg.lr, steps=cfg.steps - REWIND,
                                   batch=cfg.batch, seed=child(seq, 10 + i), masks=masks[i]).net
        A, B = nets
        weights = [k for k, a in A.arrays().items() if prunable(a)]
        out["remaining"][rnd] = float(np.mean([sum(m[k].sum() for k in weights) / sum(m[k].size for k in weights)
                                               for m in masks]))
        for key, res in (("dense_perm", tl.barrier(A, tl.permute(B, perms), test, **options)),
                         ("fresh_perm", tl.barrier_modulo_permutation(A, B, test, **options)),
                         ("plain", tl.barrier(A, B, test, **options))):
            out[f"{key}_loss"][rnd], out[f"{key}_error"][rnd] = res.value, res.error.value
    return out


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); per architecture, round by round,
    the mean over its pairs of the fraction of weights remaining and of each path's barrier
    (``realdata.mean_curves``): "{arch}_remaining_fraction", "{arch}_{path}_{kind}".
    Pure: no drawing, no files."""
    out = {"data": data}
    for arch in architectures(table):
        runs = table[table["arch"] == arch.value]
        curves = mean_curves(runs, ("remaining", *(f"{k}_{kind}" for kind in KINDS for k in KEYS)))
        out[f"{arch.value}_remaining_fraction"] = curves.pop("remaining").tolist()
        out |= {f"{arch.value}_{c}": y.tolist() for c, y in curves.items()}
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """One column per architecture: the mean loss (top) and error (bottom) barrier of each path
    against the mean fraction of weights remaining (log scale, decreasing to the right)."""
    archs = architectures(table)
    fig, axes = figure(len(archs), width=4.6, height=3.6, nrows=2)
    for col, arch in enumerate(archs):
        remaining = np.array(analysis[f"{arch.value}_remaining_fraction"])
        for row, kind in enumerate(KINDS):
            ax = axes[row][col]
            for k in KEYS:
                ax.plot(remaining, analysis[f"{arch.value}_{k}_{kind}"], marker="o", label=k.replace("_", " "))
            ax.set(xscale="log", xlabel="fraction of weights remaining", ylabel=BARRIER_LABEL[kind])
            ax.invert_xaxis()
            fixed_log_ticks(ax.xaxis, np.round(remaining, 2))
            if row == 0:
                ax.set_title(f"{arch.value} on {analysis['data']} ({pairs(int((table['arch'] == arch.value).sum()))})")
        axes[0][col].legend(fontsize=7)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    columns = ("remaining", *(f"{k}_{kind}" for k in KEYS for kind in KINDS))
    return save(plot(analysis, table), "real_imp", out, long(table, ("arch", "replicate"), columns, index="round"),
                analysis)


EXPERIMENT = Experiment("real_imp", "IMP of an MLP, VGG and ResNet on real data: dense permutation vs fresh matching "
                        "vs none", configs, run, summarize, version=2, order=150)
