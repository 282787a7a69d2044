"""real_depth: MLPs with 1-4 hidden layers on real data (MNIST-1D by default): loss and error
barriers with no alignment and with each of the three matching methods."""

from __future__ import annotations

import numpy as np

import twolayer as tl

from ..common import METHOD_COLOURS, REAL_BARRIER_LINEAR, FigureDir, figure, log_axis_with_zeros, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import Table
from .realdata import RealConfig, barrier_kwargs, data_label, dataset, test_objective, train_pair

#: the matching methods compared (the learned ones are compared in ``matching``)
METHODS = ("weights", "weights_cov", "activations")


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            reps = 2
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps = 5
        case _:
            unknown(profile)
    return [RealConfig(depth=L, replicate=r) for L in (1, 2, 3, 4) for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    on_train = tl.Classification(data.X_train[:2000], data.y_train[:2000])  # what matching sees
    test = test_objective(data)
    options = barrier_kwargs(data)
    res = tl.barrier(A, B, test, **options)
    out = {"plain_loss": res.value, "plain_error": res.error.value, "test_error": test.error(A)}
    for method in METHODS:
        res = tl.barrier(A, tl.permute(B, tl.match(A, B, method, on_train).perms), test, **options)
        out[f"{method}_loss"], out[f"{method}_error"] = res.value, res.error.value
    return out


def summarize(table: Table, out: FigureDir, store) -> dict:
    fig, (ax, ax2) = figure(2)
    names = ("plain", *METHODS)
    keys = [f"{n}_{kind}" for n in names for kind in ("loss", "error")]
    fitted = {"data": data_label(table)}
    for n in names:
        for kind, axis in (("loss", ax), ("error", ax2)):
            g = table.group("depth", f"{n}_{kind}")
            axis.errorbar(g.x, g.value, yerr=g.sem, marker="o", capsize=2, color=METHOD_COLOURS[n],
                          label=f"{n} (mean ± s.e.)" if n != "plain" else "no alignment (mean ± s.e.)")
            fitted[f"{n}_{kind}_by_depth"] = g.as_dict()
    test_error = table.group("depth", "test_error")
    fitted["test_error_by_depth"] = test_error.as_dict()
    ax.set(xlabel="hidden layers", ylabel="loss barrier (test cross-entropy, nats)",
           title=f"MLPs (width {int(table['width'][0])}) on {fitted['data']}: barrier vs depth\n"
                 f"(endpoint test error {np.nanmin(test_error.value):.2f} to {np.nanmax(test_error.value):.2f})")
    ax.title.set_fontsize(10)
    log_axis_with_zeros(ax, REAL_BARRIER_LINEAR)
    ax2.set(xlabel="hidden layers", ylabel="error barrier (test, fraction)", title="Error barrier vs depth")
    for axis in (ax, ax2):
        axis.set_xticks(table.unique("depth"))  # whole layers only
    ax.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.tight_layout()  # room for the two-line axis label
    return save(fig, "real_depth", out, table.csv(("depth", "replicate", *keys)), fitted)


EXPERIMENT = Experiment("real_depth", "MLPs with 1-4 hidden layers: barriers with weights, weights_cov and "
                        "activation matching", configs, run, summarize, version=2, order=120)
