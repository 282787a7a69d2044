"""mnist_imp: iterative magnitude pruning of a deep MLP (2 hidden layers) on real data: in each
round the fraction ``PRUNE`` of the remaining weights with the smallest |w| (all weight
matrices together) is removed, the rest rewound to step ``REWIND`` and retrained with the mask.
Barrier between the two pruned networks with the dense networks' permutations, with fresh
matching, and with none, at every sparsity."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twolayer.mlp import mlp_barrier, train_mlp
from twolayer.mlp_matching import match_mlp, permute_mlp

from .common import child, figure, fixed_log_ticks, long_columns, plot_mean_curves, save
from .realdata import RealConfig, dataset, train_pair
from .runner import Experiment

PRUNE = 0.4
REWIND = 20
ROUNDS = 4
KEYS = ("dense_perm", "fresh_perm", "plain")


def configs(profile: str) -> list[RealConfig]:
    return [RealConfig(depth=2, replicate=r) for r in range(2 if profile == "quick" else 6)]


def _prune(params, masks, layers, fraction):
    alive = np.concatenate([np.abs(params[i][masks[i] > 0]) for i in range(layers)])
    cut = np.quantile(alive, fraction)
    return [(np.abs(p) > cut) * m if i < layers else m for i, (p, m) in enumerate(zip(params, masks))]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    dense = train_pair(data, cfg.sizes(data), seq, cfg.lr, cfg.steps, cfg.batch, checkpoints=[REWIND])
    perms = match_mlp(dense[0].net, dense[1].net)
    nets = [r.net for r in dense]
    layers = len(nets[0].weights)
    masks = [[np.ones_like(p) for p in n.params()] for n in nets]
    out = {k: np.empty(ROUNDS + 1) for k in (*KEYS, "remaining")}
    for rnd in range(ROUNDS + 1):
        if rnd:
            for i in range(2):
                masks[i] = _prune(nets[i].params(), masks[i], layers, PRUNE)
                nets[i] = train_mlp(dense[i].checkpoints[0][1], data.X_train, data.y_train, lr=cfg.lr,
                                    steps=cfg.steps - REWIND, batch=cfg.batch, seed=child(seq, 10 + i),
                                    masks=masks[i]).net
        A, B = nets
        kept = [sum(m[j].sum() for j in range(layers)) / sum(m[j].size for j in range(layers)) for m in masks]
        out["remaining"][rnd] = float(np.mean(kept))
        out["dense_perm"][rnd] = mlp_barrier(A, permute_mlp(B, perms), data.X_test, data.y_test)[0].value
        out["fresh_perm"][rnd] = mlp_barrier(A, permute_mlp(B, match_mlp(A, B)), data.X_test, data.y_test)[0].value
        out["plain"][rnd] = mlp_barrier(A, B, data.X_test, data.y_test)[0].value
    return out


def summarize(results, out: Path) -> dict:
    fig, (ax,) = figure(1, width=6)
    columns = long_columns(results, ("replicate",), ("remaining", *KEYS), index="round")
    remaining = np.mean([r["remaining"] for _, r in results], axis=0)
    means = plot_mean_curves(ax, remaining, results, KEYS)
    fitted = {"remaining_fraction": remaining.tolist()} | {k: y.tolist() for k, y in means.items()}
    ax.invert_xaxis()
    ax.set(xscale="log", xlabel="fraction of weights remaining", ylabel="loss barrier (test cross-entropy)",
           title="Deep MLP: barrier along IMP")
    fixed_log_ticks(ax.xaxis, np.round(remaining, 3))
    ax.legend(fontsize=8)
    return save(fig, "mnist_imp", out, columns, fitted)


EXPERIMENT = Experiment("mnist_imp", "IMP of a deep MLP on real data: dense permutation vs fresh matching vs none",
                        configs, run, summarize)
