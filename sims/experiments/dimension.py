"""dimension: participation-ratio dimension of each hidden layer (plain weights, weights in
the layer input's Sigma-metric, activations) against the barrier mod P across learning rates
(Ferbach et al. 2024), for MLPs with 2 hidden layers on real data."""

from __future__ import annotations

import numpy as np

import twolayer as tl

from ..common import REAL_BARRIER_LINEAR, FigureDir, barrier_axis, cap_outliers, figure, plain_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import Table
from .realdata import RealConfig, barrier_kwargs, data_label, dataset, test_objective, train_pair

VIEWS = ("weights", "weights_cov", "activations")


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            rates, reps = np.geomspace(0.003, 0.3, 5), 1
        case Profile.PAPER | Profile.FULL:  # full: as paper
            rates, reps = np.geomspace(0.001, 1.0, 10), 3
        case _:
            unknown(profile)
    return [RealConfig(depth=2, lr=float(round(lr, 6)), replicate=r) for lr in rates for r in range(reps)]


def layer_dimensions(net, X) -> dict[str, np.ndarray]:
    """PR dimension of each hidden layer's neurons: rows of W_l, rows of W_l Sigma^(1/2), and
    the neurons' activation vectors over X."""
    inputs = [X, *net.layer_outputs(X)]
    out = {v: [] for v in VIEWS}
    for layer in range(len(net.weights) - 1):
        W = net.weights[layer]
        S = inputs[layer].T @ inputs[layer] / X.shape[0]
        vals, vecs = np.linalg.eigh(S)
        root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
        out["weights"].append(tl.participation_dimension(W))
        out["weights_cov"].append(tl.participation_dimension(W @ root))
        out["activations"].append(tl.participation_dimension(inputs[layer + 1].T))
    return {v: np.array(d) for v, d in out.items()}


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    runs = train_pair(cfg, data, seq)
    if any(r.diverged for r in runs):
        return {"diverged": True}
    A, B = (r.net for r in runs)
    dims = layer_dimensions(A, data.X_train[:1000])
    barrier = tl.barrier_modulo_permutation(A, B, test_objective(data), **barrier_kwargs(data)).value
    return {"diverged": False, "barrier": barrier} | {f"dim_{v}": d for v, d in dims.items()}


def summarize(table: Table, out: FigureDir, store) -> dict:
    """One panel per view of the dimension (weights, weights_cov, activations), the layers as two
    colours, each with its Spearman rank correlation to the barrier (average ranks for ties:
    ``scipy.stats.spearmanr``) and the test of no correlation's p-value."""
    from scipy.stats import spearmanr

    fig, axes = figure(len(VIEWS), width=3.6, height=3.4)
    ok = table.rows(table["diverged"] == 0)
    columns = ok.csv(("lr", "barrier"))
    fitted = {"data": data_label(table)}
    layers = ok["dim_weights"][0].size
    high = np.zeros(len(ok), dtype=bool)
    for ax, v in zip(axes, VIEWS):
        dims_by_layer = ok.stack(f"dim_{v}")
        for layer in range(layers):
            dims = dims_by_layer[:, layer]
            columns[f"dim_{v}_layer{layer + 1}"] = dims.tolist()
            label = f"layer {layer + 1}"
            if len(ok) >= 3:
                rho, p = spearmanr(dims, ok["barrier"])
                fitted[f"spearman_{v}_layer{layer + 1}"] = float(rho)
                fitted[f"spearman_p_{v}_layer{layer + 1}"] = float(p)
                label += f": Spearman {rho:.2f} (p = {p:.2g})"
            high |= cap_outliers(ax, dims, ok["barrier"], color=f"C{layer}", label=label)
        ax.set(xscale="log", xlabel=f"participation-ratio dimension ({v})", ylabel="loss barrier mod P (test, nats)",
               title=f"{v} ({fitted['data']}, {len(ok)} pairs)")
        ax.title.set_fontsize(9)
        plain_log_ticks(ax.xaxis)
        barrier_axis(ax, ok["barrier"], REAL_BARRIER_LINEAR)
        ax.legend(fontsize=6, loc="center")
    outliers = sorted({float(b) for b, h in zip(ok["barrier"], high) if h})
    fitted["outlier_barriers"] = outliers
    if outliers:
        values = ", ".join(f"{b:.3g}" for b in outliers)
        axes[0].text(0.02, 0.5, f"▲ run(s) with barrier {values}\n(> 20 × median: collapsed), drawn at the top",
                     transform=axes[0].transAxes, fontsize=6)
    fig.tight_layout()
    return save(fig, "dimension", out, columns, fitted)


EXPERIMENT = Experiment("dimension", "participation-ratio dimension of each layer vs barrier mod P across "
                        "learning rates (real data)", configs, run, summarize, order=180)
