"""real_width: two-layer ReLU networks on real data (MNIST-1D by default): loss and error
barriers, plain and modulo permutation (weights matching), versus the hidden width; log-log fit
of the tail."""

from __future__ import annotations

import numpy as np

import twolayer as tl
from theory import fits

from ..common import FigureDir, figure, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import Table
from .realdata import RealConfig, barrier_kwargs, data_label, dataset, test_objective, train_pair


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            widths, reps = (8, 16, 32, 64, 128, 256), 2
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, reps = (8, 16, 32, 64, 128, 256, 512, 1024), 5
        case _:
            unknown(profile)
    return [RealConfig(width=w, replicate=r) for w in widths for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    test = test_objective(data)
    options = barrier_kwargs(data)
    plain = tl.barrier(A, B, test, **options)
    modp = tl.barrier_modulo_permutation(A, B, test, method="weights", **options)
    return {"plain_loss": plain.value, "plain_error": plain.error.value, "modp_loss": modp.value,
            "modp_error": modp.error.value, "test_error": test.error(A)}


KEYS = ("plain_loss", "plain_error", "modp_loss", "modp_error", "test_error")


def summarize(table: Table, out: FigureDir, store) -> dict:
    fig, (ax, ax2) = figure(2)
    for k, axis in (("plain_loss", ax), ("modp_loss", ax), ("plain_error", ax2), ("modp_error", ax2)):
        g = table.group("width", k)
        axis.plot(g.x, g.value, marker="o", label=k.replace("_", " "))
    widths = table.unique("width")
    tail = table.rows((table["width"] >= np.median(widths)) & (table["modp_loss"] > 0))
    fitted = {"data": data_label(table), "test_error_by_width": table.group("width", "test_error").as_dict()}
    if tail.unique("width").size >= 2:
        fit = fits.loglog_slope(tail["width"], tail["modp_loss"], seed=0)
        fitted |= {"modp_loss_tail_slope": fit.slope, "modp_loss_tail_slope_ci95": fit.ci}
    ax.set(xscale="log", yscale="log", xlabel="hidden width (neurons)", ylabel="loss barrier (test cross-entropy)",
           title=f"Two-layer nets on {fitted['data']}")
    ax2.set(xscale="log", xlabel="hidden width (neurons)", ylabel="error barrier (test, fraction)",
            title="Error barrier")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return save(fig, "real_width", out, table.csv(("width", "replicate", *KEYS)), fitted)


EXPERIMENT = Experiment("real_width", "two-layer nets on real data (MNIST-1D): barriers plain and mod P vs width",
                        configs, run, summarize, order=110)
