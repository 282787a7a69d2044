"""real_width: two-layer ReLU networks on real data (MNIST-1D by default): loss and error
barriers, plain and modulo permutation (weights matching), versus the hidden width; log-log fit
of the tail."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits

from ..common import MEANING_COLOURS, FigureDir, figure, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import by_key, group_stats
from .realdata import RealConfig, barrier_kwargs, data_label, dataset, mlp_fields, test_objective, train_pair

if TYPE_CHECKING:
    import pandas as pd


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            widths, reps = (8, 16, 32, 64, 128, 256), 2
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, reps = (8, 16, 32, 64, 128, 256, 512, 1024), 5
        case _:
            unknown(profile)
    return [RealConfig(width=w, replicate=r, **mlp_fields(profile)) for w in widths for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    A, B = (r.net for r in train_pair(cfg, data, seq))
    test = test_objective(data)
    options = barrier_kwargs(data, cfg.bn_rows)
    plain = tl.barrier(A, B, test, **options)
    modp = tl.barrier_modulo_permutation(A, B, test, method="weights", **options)
    return {"plain_loss": plain.value, "plain_error": plain.error.value, "modp_loss": modp.value,
            "modp_error": modp.error.value, "test_error": test.error(A)}


KEYS = ("plain_loss", "plain_error", "modp_loss", "modp_error", "test_error")


#: the two paths, their legend labels and colours (no alignment grey, as in every figure)
PATHS = {"plain": ("no alignment", MEANING_COLOURS["plain"]), "modp": ("weight matching", "C0")}


def tail_fit(table: pd.DataFrame) -> tuple[pd.DataFrame, fits.SlopeFit | None]:
    """The tail: the pairs at widths at or above the median width with a positive loss barrier
    after weight matching; and the log-log fit of that barrier against the width over it
    (``theory.fits.loglog_slope``, seed 0), None when the tail spans fewer than two widths."""
    tail = table[(table["width"] >= np.median(np.unique(table["width"]))) & (table["modp_loss"] > 0)]
    if tail["width"].nunique() < 2:
        return tail, None
    return tail, fits.loglog_slope(tail["width"], tail["modp_loss"], seed=0)


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``), the endpoints' mean test error and
    the number of pairs per width, and the tail exponent of the loss barrier after weight
    matching: the least-squares slope b of log barrier = a + b log width over the tail's pairs
    (``tail_fit``) with its 95 % percentile bootstrap interval. Pure: no drawing, no files."""
    out = {"data": data, "test_error_by_width": by_key(group_stats(table, "width", "test_error")["value"]),
           "method": "weights",
           "pairs_by_width": {int(w): int(n) for w, n in table.groupby("width").size().items()}}
    _, fit = tail_fit(table)
    if fit is not None:
        out |= {"modp_loss_tail_slope": fit.slope, "modp_loss_tail_slope_ci95": fit.ci}
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """Loss and error barriers, mean over pairs with standard errors, per width; the tail's fitted
    line over its widths (the line's intercept, not in ``analysis``, from ``tail_fit``), labelled
    with the slope and its interval; the endpoints' test error stated in the title."""
    fig, (ax, ax2) = figure(2)
    loss_means = []
    for path, (label, colour) in PATHS.items():
        for kind, axis in (("loss", ax), ("error", ax2)):
            g = group_stats(table, "width", f"{path}_{kind}")
            axis.errorbar(g.index.to_numpy(), g["value"].to_numpy(), yerr=g["sem"].to_numpy(), marker="o", ms=4,
                          capsize=2, color=colour,
                          label=f"{label} (mean ± s.e. over pairs)")
            if kind == "loss":
                loss_means.extend(g["value"].to_numpy())
    if "modp_loss_tail_slope" in analysis:
        tail, fit = tail_fit(table)
        slope, (lo, hi) = analysis["modp_loss_tail_slope"], analysis["modp_loss_tail_slope_ci95"]
        x = np.array([tail["width"].min(), tail["width"].max()], dtype=float)
        ax.plot(x, np.exp(fit.intercept) * x ** slope, "--", color="C0", lw=1,
                label=f"tail fit: slope {slope:.2f} [{lo:.2f}, {hi:.2f}]")
    test_error = list(analysis["test_error_by_width"].values())
    ax.set(xscale="log", yscale="log", xlabel="hidden width (neurons)",
           ylabel="loss barrier (test cross-entropy, nats)",
           title=f"One-hidden-layer MLPs on {analysis['data']}\n(endpoint test error {np.nanmin(test_error):.2f} "
                 f"to {np.nanmax(test_error):.2f} over widths)")
    ax2.set(xscale="log", xlabel="hidden width (neurons)", ylabel="error barrier (test, fraction)",
            title="Error barrier")
    positive = [v for v in loss_means if v > 0]
    if positive:  # a bar whose mean - s.e. is at or near 0 runs off the log axis instead of stretching it
        ax.set_ylim(bottom=min(positive) / 3)
    for axis in (ax, ax2):
        axis.title.set_fontsize(10)
        axis.legend(fontsize=7)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    return save(plot(analysis, table), "real_width", out, table[["width", "replicate", *KEYS]].to_dict("list"),
                analysis)


EXPERIMENT = Experiment("real_width", "two-layer nets on real data (MNIST-1D): barriers plain and mod P vs width",
                        configs, run, summarize, order=110)
