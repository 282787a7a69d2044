"""mnist_imp: iterative magnitude pruning of a deep MLP (2 hidden layers) on real data: in each
round the fraction ``PRUNE`` of the remaining weights with the smallest |w| (all weight
matrices together) is removed, the rest rewound to step ``REWIND`` and retrained with the mask.
Barrier between the two pruned networks with the dense networks' permutations, with fresh
matching, and with none, at every sparsity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import twolayer as tl
from twolayer.random import child

from ..common import figure, fixed_log_ticks, plot_mean_curves, save
from ..experiment import Experiment
from ..table import Table
from .realdata import RealConfig, dataset, test_objective, train_objective, train_pair

PRUNE = 0.4
REWIND = 20
ROUNDS = 4
KEYS = ("dense_perm", "fresh_perm", "plain")


def configs(profile: str) -> list[RealConfig]:
    return [RealConfig(depth=2, replicate=r) for r in range(2 if profile == "quick" else 6)]


def _prune(arrays, masks, fraction):
    """Masks that also remove the ``fraction`` smallest surviving weights (pooled over the weight
    matrices; biases are never pruned)."""
    weights = [k for k in arrays if k.startswith("W")]
    alive = np.concatenate([np.abs(arrays[k][masks[k] > 0]) for k in weights])
    cut = np.quantile(alive, fraction)
    return {k: (np.abs(arrays[k]) > cut) * m if k in weights else m for k, m in masks.items()}


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    dense = train_pair(data, cfg.sizes(data), seq, cfg.lr, cfg.steps, cfg.batch, checkpoints=[REWIND])
    perms = tl.match(dense[0].net, dense[1].net).perms
    nets = [r.net for r in dense]
    masks = [{k: np.ones_like(p) for k, p in n.arrays().items()} for n in nets]
    train, test = train_objective(data), test_objective(data)
    out = {k: np.empty(ROUNDS + 1) for k in (*KEYS, "remaining")}
    for rnd in range(ROUNDS + 1):
        if rnd:
            for i in range(2):
                masks[i] = _prune(nets[i].arrays(), masks[i], PRUNE)
                nets[i] = tl.train(dense[i].checkpoints[0][1], train, "sgd", lr=cfg.lr, steps=cfg.steps - REWIND,
                                   batch=cfg.batch, seed=child(seq, 10 + i), masks=masks[i]).net
        A, B = nets
        kept = [sum(v.sum() for k, v in m.items() if k.startswith("W")) /
                sum(v.size for k, v in m.items() if k.startswith("W")) for m in masks]
        out["remaining"][rnd] = float(np.mean(kept))
        out["dense_perm"][rnd] = tl.barrier(A, tl.permute(B, perms), test).value
        out["fresh_perm"][rnd] = tl.barrier_modulo_permutation(A, B, test).value
        out["plain"][rnd] = tl.barrier(A, B, test).value
    return out


def summarize(table: Table, out: Path, store) -> dict:
    fig, (ax,) = figure(1, width=6)
    remaining = table.stack("remaining").mean(axis=0)
    means = plot_mean_curves(ax, remaining, table, KEYS)
    fitted = {"remaining_fraction": remaining.tolist()} | {k: y.tolist() for k, y in means.items()}
    ax.invert_xaxis()
    ax.set(xscale="log", xlabel="fraction of weights remaining", ylabel="loss barrier (test cross-entropy)",
           title="Deep MLP: barrier along IMP")
    fixed_log_ticks(ax.xaxis, np.round(remaining, 3))
    ax.legend(fontsize=8)
    return save(fig, "mnist_imp", out, table.long(("replicate",), ("remaining", *KEYS), index="round"), fitted)


EXPERIMENT = Experiment("mnist_imp", "IMP of a deep MLP on real data: dense permutation vs fresh matching vs none",
                        configs, run, summarize)
