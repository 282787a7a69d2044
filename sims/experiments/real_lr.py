"""real_lr: sparsity (effective hidden units) and barrier mod P versus the learning rate on
real data, for one-hidden-layer networks trained by SGD with momentum."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits

from ..common import REAL_BARRIER_LINEAR, FigureDir, figure, log_axis_with_zeros, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats
from .realdata import (
    RealConfig,
    barrier_kwargs,
    data_label,
    dataset,
    effective_units,
    mlp_fields,
    test_objective,
    train_pair,
)

if TYPE_CHECKING:
    import pandas as pd


def configs(profile: Profile) -> list[RealConfig]:
    match profile:
        case Profile.QUICK:
            rates, reps = np.geomspace(0.003, 1.0, 9), 1
        case Profile.PAPER | Profile.FULL:  # full: as paper
            rates, reps = np.geomspace(0.001, 3.0, 17), 4
        case _:
            unknown(profile)
    return [RealConfig(lr=float(round(lr, 6)), replicate=r, **mlp_fields(profile)) for lr in rates for r in range(reps)]


def run(cfg: RealConfig, seq) -> dict:
    data = dataset(cfg.data, cfg.n_train)
    runs = train_pair(cfg, data, seq)
    if any(r.diverged for r in runs):
        return {"diverged": True, "units": np.nan, "barrier": np.nan}
    A, B = (r.net for r in runs)
    barrier = tl.barrier_modulo_permutation(A, B, test_objective(data), **barrier_kwargs(data, cfg.bn_rows)).value
    return {"diverged": False, "units": 0.5 * (effective_units(A) + effective_units(B)), "barrier": barrier}


def means_by_rate(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The learning rates (sorted) and at each the means over its pairs that did not diverge of the
    effective hidden units and of the barrier mod P (NaN where every pair diverged)."""
    units, barrier = group_stats(table, "lr", "units"), group_stats(table, "lr", "barrier")
    return units.index.to_numpy(), units["value"].to_numpy(), barrier["value"].to_numpy()


def analyse(table: pd.DataFrame, data: str) -> dict:
    """The data set's name ``data`` (``realdata.data_label``); the range over learning rates of the
    mean effective hidden units; with three rates or more where some pair did not diverge, the
    sparsity transition of that curve: the geometric midpoint of its steepest step in log rate
    (``theory.fits.transition_point``) and the fraction of its total variation that step carries
    (``theory.fits.transition_sharpness``). Pure: no drawing, no files."""
    rates, units, _ = means_by_rate(table)
    ok = np.isfinite(units)
    out = {"data": data, "units_range": [float(np.nanmin(units)), float(np.nanmax(units))]}
    if ok.sum() >= 3:
        out |= {"transition_lr": fits.transition_point(rates[ok], units[ok]),
                "transition_sharpness": fits.transition_sharpness(rates[ok], units[ok])}
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """The mean effective hidden units and the mean barrier mod P against the learning rate, at
    the rates where some pair did not diverge."""
    fig, (ax, ax2) = figure(2)
    rates, units, barrier = means_by_rate(table)
    ok = np.isfinite(units)
    ax.plot(rates[ok], units[ok], marker="o")
    ax2.plot(rates[ok], barrier[ok], marker="o")
    ax.set(xscale="log", xlabel="learning rate", ylabel="effective hidden units (participation ratio)",
           title=f"Sparsity vs learning rate ({analysis['data']})")
    ax2.set(xscale="log", xlabel="learning rate", ylabel="loss barrier mod P (test)",
            title="Barrier mod P vs learning rate")
    log_axis_with_zeros(ax2, REAL_BARRIER_LINEAR)
    fig.tight_layout()  # room for the two-line axis label
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, data_label(table))
    return save(plot(analysis, table), "real_lr", out, table[["lr", "diverged", "units", "barrier"]].to_dict("list"),
                analysis)


EXPERIMENT = Experiment("real_lr", "real data: effective hidden units and barrier mod P vs learning rate",
                        configs, run, summarize, order=130)
