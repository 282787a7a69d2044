"""real_depth: MLPs with 1-4 hidden layers on real data (MNIST-1D by default): loss and error
barriers with no alignment and with each of the three matching methods."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import METHOD_COLOURS, REAL_BARRIER_LINEAR, FigureDir, figure, log_axis_with_zeros, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from .realdata import (
    KINDS,
    RealConfig,
    barrier_kwargs,
    data_label,
    dataset,
    errorbar_means,
    means_by,
    mlp_fields,
    test_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd

#: the matching methods compared (the learned ones are compared in ``matching``)
METHODS = ("weights", "weights_cov", "activations")
#: the paths compared: no alignment, then each matching method
NAMES = ("plain", *METHODS)
#: the per-run barrier columns, path by path
BARRIERS = tuple(f"{n}_{kind}" for n in NAMES for kind in KINDS)


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            reps = 1
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps = 5
        case _:
            unknown(profile)
    return [RealConfig(depth=L, replicate=r, **mlp_fields(profile)) for L in (1, 2, 3, 4) for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    on_train = tl.Classification(data.X_train[:2000], data.y_train[:2000])  # what matching sees
    test = test_objective(data)
    options = barrier_kwargs(data, cfg.bn_rows)
    res = tl.barrier(A, B, test, **options)
    out = {"plain_loss": res.value, "plain_error": res.error.value, "test_error": test.error(A)}
    for method in METHODS:
        res = tl.barrier(A, tl.permute(B, tl.match(A, B, method, on_train).perms), test, **options)
        out[f"{method}_loss"], out[f"{method}_error"] = res.value, res.error.value
    return out


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); per path and kind of barrier, its
    mean over the pairs at each depth L, mean_L = (1 / n_L) sum_pairs barrier
    ("{path}_{kind}_by_depth"); the endpoints' mean test error per depth. Pure: no drawing, no files."""
    return {"data": data} | means_by(table, "depth", (*BARRIERS, "test_error"), "{}_by_depth")


def plot(analysis: dict, table: pd.DataFrame):
    """Loss and error barriers against depth, mean +- standard error per path; the range of the
    endpoints' test error in the title."""
    fig, (ax, ax2) = figure(2)
    for n in NAMES:
        for kind, axis in (("loss", ax), ("error", ax2)):
            errorbar_means(axis, analysis[f"{n}_{kind}_by_depth"], table, "depth", f"{n}_{kind}", marker="o",
                           capsize=2, color=METHOD_COLOURS[n],
                           label=f"{n} (mean ± s.e.)" if n != "plain" else "no alignment (mean ± s.e.)")
    test_error = list(analysis["test_error_by_depth"].values())
    ax.set(xlabel="hidden layers", ylabel="loss barrier (test cross-entropy, nats)",
           title=f"MLPs (width {int(table['width'].iloc[0])}) on {analysis['data']}: barrier vs depth\n"
                 f"(endpoint test error {np.nanmin(test_error):.2f} to {np.nanmax(test_error):.2f})")
    ax.title.set_fontsize(10)
    log_axis_with_zeros(ax, REAL_BARRIER_LINEAR)
    ax2.set(xlabel="hidden layers", ylabel="error barrier (test, fraction)", title="Error barrier vs depth")
    for axis in (ax, ax2):
        axis.set_xticks(np.unique(table["depth"]))  # whole layers only
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()  # room for the two-line axis label
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    return save(plot(analysis, table), "real_depth", out, table[["depth", "replicate", *BARRIERS]].to_dict("list"),
                analysis)


EXPERIMENT = Experiment("real_depth", "MLPs with 1-4 hidden layers: barriers with weights, weights_cov and "
                        "activation matching", configs, run, summarize, version=2, order=120)
