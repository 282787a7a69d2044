"""mnist_depth: MLPs with 1-4 hidden layers on MNIST (or the digits): loss and error barriers
with no alignment and with each of the three matching methods."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twolayer.mlp import mlp_barrier
from twolayer.mlp_matching import METHODS, match_mlp, permute_mlp

from .common import figure, log_axis_with_zeros, save
from .realdata import RealConfig, dataset, train_pair
from .runner import Experiment


def configs(profile: str) -> list[RealConfig]:
    reps = 2 if profile == "quick" else 5
    return [RealConfig(depth=L, replicate=r) for L in (1, 2, 3, 4) for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(data, cfg.sizes(data), seq, cfg.lr, cfg.steps, cfg.batch))
    X_match = data.X_train[:2000]
    out = {}
    loss, err = mlp_barrier(A, B, data.X_test, data.y_test)
    out["plain_loss"], out["plain_error"] = loss.value, err.value
    for method in METHODS:
        Bp = permute_mlp(B, match_mlp(A, B, method, X=X_match))
        loss, err = mlp_barrier(A, Bp, data.X_test, data.y_test)
        out[f"{method}_loss"], out[f"{method}_error"] = loss.value, err.value
    return out


def summarize(results, out: Path) -> dict:
    fig, (ax, ax2) = figure(2)
    names = ("plain", *METHODS)
    columns = {"depth": [c.depth for c, _ in results], "replicate": [c.replicate for c, _ in results]}
    for n in names:
        for kind in ("loss", "error"):
            columns[f"{n}_{kind}"] = [float(r[f"{n}_{kind}"]) for _, r in results]
    depth = np.array(columns["depth"])
    depths = np.unique(depth)
    fitted = {}
    for n in names:
        for kind, axis in (("loss", ax), ("error", ax2)):
            y = np.array(columns[f"{n}_{kind}"])
            mean = [float(y[depth == L].mean()) for L in depths]
            axis.plot(depths, mean, marker="o", label=n)
            fitted[f"{n}_{kind}_by_depth"] = dict(zip(map(int, depths), mean))
    ax.set(xlabel="hidden layers", ylabel="loss barrier (test cross-entropy)", title="Barrier vs depth")
    log_axis_with_zeros(ax, 1e-3)
    ax2.set(xlabel="hidden layers", ylabel="error barrier (test, fraction)", title="Error barrier vs depth")
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()  # room for the two-line axis label
    return save(fig, "mnist_depth", out, columns, fitted)


EXPERIMENT = Experiment("mnist_depth", "MLPs with 1-4 hidden layers: barriers with weights, weights_cov and "
                        "activation matching", configs, run, summarize)
