"""real_width: two-layer ReLU networks on real data (MNIST-1D by default): loss and error
barriers, plain and modulo permutation (weights matching), versus the hidden width; log-log fit
of the tail."""

from __future__ import annotations

import numpy as np

import twolayer as tl
from theory import fits

from ..common import MEANING_COLOURS, FigureDir, figure, save
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


#: the two paths, their legend labels and colours (no alignment grey, as in every figure)
PATHS = {"plain": ("no alignment", MEANING_COLOURS["plain"]), "modp": ("weight matching", "C0")}


def summarize(table: Table, out: FigureDir, store) -> dict:
    """Loss and error barriers, mean over pairs with standard errors, per width; the tail exponent
    of the loss barrier after weight matching (widths at or above the median), drawn with its
    interval; the endpoints' test error stated in the title."""
    fig, (ax, ax2) = figure(2)
    widths = table.unique("width")
    tail = table.rows((table["width"] >= np.median(widths)) & (table["modp_loss"] > 0))
    test_error = table.group("width", "test_error")
    fitted = {"data": data_label(table), "test_error_by_width": test_error.as_dict(), "method": "weights",
              "pairs_by_width": dict(zip(map(int, widths), map(int, (np.sum(table["width"] == w) for w in widths))))}
    for path, (label, colour) in PATHS.items():
        for kind, axis in (("loss", ax), ("error", ax2)):
            g = table.group("width", f"{path}_{kind}")
            axis.errorbar(g.x, g.value, yerr=g.sem, marker="o", ms=4, capsize=2, color=colour,
                          label=f"{label} (mean ± s.e. over pairs)")
    if tail.unique("width").size >= 2:
        fit = fits.loglog_slope(tail["width"], tail["modp_loss"], seed=0)
        fitted |= {"modp_loss_tail_slope": fit.slope, "modp_loss_tail_slope_ci95": fit.ci}
        x = np.array([tail["width"].min(), tail["width"].max()], dtype=float)
        ax.plot(x, np.exp(fit.intercept) * x ** fit.slope, "--", color="C0", lw=1,
                label=f"tail fit: slope {fit.slope:.2f} [{fit.ci[0]:.2f}, {fit.ci[1]:.2f}]")
    lo, hi = np.nanmin(test_error.value), np.nanmax(test_error.value)
    ax.set(xscale="log", yscale="log", xlabel="hidden width (neurons)",
           ylabel="loss barrier (test cross-entropy, nats)",
           title=f"One-hidden-layer MLPs on {fitted['data']}\n(endpoint test error {lo:.2f} to {hi:.2f} over widths)")
    ax2.set(xscale="log", xlabel="hidden width (neurons)", ylabel="error barrier (test, fraction)",
            title="Error barrier")
    for axis in (ax, ax2):
        axis.title.set_fontsize(10)
        axis.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, "real_width", out, table.csv(("width", "replicate", *KEYS)), fitted)


EXPERIMENT = Experiment("real_width", "two-layer nets on real data (MNIST-1D): barriers plain and mod P vs width",
                        configs, run, summarize, order=110)
