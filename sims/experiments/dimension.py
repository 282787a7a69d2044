"""dimension: participation-ratio dimension of each hidden layer (plain weights, weights in
the layer input's Sigma-metric, activations) against the barrier mod P across learning rates
(Ferbach et al. 2024), for MLPs with 2 hidden layers on real data."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import (
    OUTLIER_FACTOR,
    REAL_BARRIER_LINEAR,
    FigureDir,
    barrier_axis,
    cap_outliers,
    figure,
    outliers,
    plain_log_ticks,
    save,
)
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import stack
from .realdata import RealConfig, barrier_kwargs, data_label, dataset, mlp_fields, test_objective, train_pair

if TYPE_CHECKING:
    import pandas as pd

VIEWS = ("weights", "weights_cov", "activations")


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            rates, reps = np.geomspace(0.003, 0.3, 5), 1
        case Profile.PAPER | Profile.FULL:  # full: as paper
            rates, reps = np.geomspace(0.001, 1.0, 10), 3
        case _:
            unknown(profile)
    return [RealConfig(depth=2, lr=float(round(lr, 6)), replicate=r, **mlp_fields(profile))
            for lr in rates for r in range(reps)]


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
    barrier = tl.barrier_modulo_permutation(A, B, test_objective(data), **barrier_kwargs(data, cfg.bn_rows)).value
    return {"diverged": False, "barrier": barrier} | {f"dim_{v}": d for v, d in dims.items()}


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    """The pairs whose training did not diverge (the ones analysed and drawn)."""
    return table[table["diverged"] == 0]


def analyse(table: pd.DataFrame, data: str) -> dict:
    """Per view v of the dimension (``VIEWS``) and hidden layer l, over the pairs that did not
    diverge: Spearman's rank correlation rho between the layer's participation-ratio dimension and
    the barrier mod P (the Pearson correlation of their ranks, average ranks for ties:
    ``scipy.stats.spearmanr``) and the p-value of the test of rho = 0 (with at least 3 pairs);
    and the outlier barriers, B > ``common.OUTLIER_FACTOR`` * median(B) (sorted, distinct).
    ``data`` names the data set (``realdata.data_label``). Pure: no drawing, no files."""
    from scipy.stats import spearmanr

    ok = _finished(table)
    out: dict = {"data": data}
    if len(ok) >= 3:
        for v in VIEWS:
            for layer, dims in enumerate(stack(ok, f"dim_{v}").T, start=1):
                rho, p = spearmanr(dims, ok["barrier"].to_numpy())
                out[f"spearman_{v}_layer{layer}"] = float(rho)
                out[f"spearman_p_{v}_layer{layer}"] = float(p)
    barrier = np.asarray(ok["barrier"], dtype=float)
    out["outlier_barriers"] = sorted({float(b) for b in barrier[outliers(barrier)]})
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """One panel per view of the dimension, the layers as two colours, each labelled with its
    Spearman correlation to the barrier; outlier barriers drawn capped at the top."""
    ok = _finished(table)
    fig, axes = figure(len(VIEWS), width=3.6, height=3.9)
    for ax, v in zip(axes, VIEWS):
        for layer, dims in enumerate(stack(ok, f"dim_{v}").T, start=1):
            label = f"layer {layer}"
            if f"spearman_{v}_layer{layer}" in analysis:
                rho, p = analysis[f"spearman_{v}_layer{layer}"], analysis[f"spearman_p_{v}_layer{layer}"]
                label += f": Spearman {rho:.2f} (p = {p:.2g})"
            cap_outliers(ax, dims, ok["barrier"].to_numpy(), color=f"C{layer - 1}", label=label)
        ax.set(xscale="log", xlabel=f"participation-ratio dimension ({v})", ylabel="loss barrier mod P (test, nats)",
               title=f"{v} ({analysis['data']}, {len(ok)} pairs)")
        ax.title.set_fontsize(9)
        plain_log_ticks(ax.xaxis)
        barrier_axis(ax, ok["barrier"].to_numpy(), REAL_BARRIER_LINEAR)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2))  # below: no pair hidden
    if analysis["outlier_barriers"]:
        values = ", ".join(f"{b:.3g}" for b in analysis["outlier_barriers"])
        axes[0].text(0.02, 0.5, f"▲ run(s) with barrier {values}\n(> {OUTLIER_FACTOR:g} × median: collapsed), drawn "
                     "at the top", transform=axes[0].transAxes, fontsize=6)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    ok = _finished(table)
    columns = ok[["lr", "barrier"]].to_dict("list") | {f"dim_{v}_layer{layer}": dims.tolist() for v in VIEWS
                                                        for layer, dims in enumerate(stack(ok, f"dim_{v}").T, start=1)}
    return save(plot(analysis, table), "dimension", out, columns, analysis)


EXPERIMENT = Experiment("dimension", "participation-ratio dimension of each layer vs barrier mod P across "
                        "learning rates (real data)", configs, run, summarize, order=180)
