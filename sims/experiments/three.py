"""three: strong LMC evidence (Sharma et al. 2024): B and C each aligned to a reference A.

For three independently trained students, the barrier between B and C after aligning each
to A (weights matching), against aligning C to B directly and against no alignment, versus
the width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits

from ..common import BARRIER_FLOOR, BARRIER_ZERO, MEANING_COLOURS, FigureDir, GDConfig, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import by_key, group_stats

if TYPE_CHECKING:
    import pandas as pd


def configs(profile: Profile) -> list[GDConfig]:
    match profile:
        case Profile.QUICK:
            widths, reps = (4, 8, 16, 32, 64), 2
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, reps = (4, 8, 16, 32, 64, 128, 256), 6
        case _:
            unknown(profile)
    return [GDConfig(m=m, replicate=r) for m in widths for r in range(reps)]


def run(cfg: GDConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    A, B, C = (r.net for r in cfg.students(seq, 3))
    B_to_A = tl.permute(B, tl.match(A, B).perm)
    C_to_A = tl.permute(C, tl.match(A, C).perm)
    return {"via_reference": tl.barrier(B_to_A, C_to_A, tl.Population(teacher)).value,
            "direct": tl.barrier_modulo_permutation(B, C, tl.Population(teacher)).value,
            "plain": tl.barrier(B, C, tl.Population(teacher)).value}


#: the three barriers compared, their colours' meanings (``common.MEANING_COLOURS``) and labels
BARRIERS = ("via_reference", "direct", "plain")
#: the barriers whose tail exponent in m is fitted (not the plain one)
FITTED = ("via_reference", "direct")
MEANINGS = {"via_reference": "final_perm", "direct": "fresh_perm", "plain": "plain"}
LABELS = {"via_reference": "B, C each aligned to A", "direct": "C aligned to B directly", "plain": "no alignment"}


def analyse(table: pd.DataFrame) -> dict:
    """The fitted numbers of the figure. Pure: no drawing, no files.

    * ``{via_reference, direct}_slope`` (with ``_ci95``): the tail exponent b of B(m) ~ m^b, the
      log-log least-squares slope over the pairs with B > BARRIER_ZERO (``fits.loglog_slope``,
      pair bootstrap), when they span two widths or more;
    * ``median_via_reference_over_direct_by_m``: per width the median over pairs of
      r = B_via / max(B_direct, BARRIER_ZERO);
    * ``median_ratio_m_ge_16`` (with ``_ci95``, ``fits.median_ci``) and ``pairs_m_ge_16``: the
      median of r over the pairs with m >= 16, pooled.
    """
    fitted: dict = {}
    for k in FITTED:
        pos = table[table[k] > BARRIER_ZERO]
        if pos["m"].nunique() >= 2:
            fit = fits.loglog_slope(pos["m"], pos[k], seed=0)
            fitted[f"{k}_slope"], fitted[f"{k}_slope_ci95"] = fit.slope, fit.ci
    ratio = table.assign(ratio=table["via_reference"] / np.maximum(table["direct"], BARRIER_ZERO))
    fitted["median_via_reference_over_direct_by_m"] = by_key(group_stats(ratio, "m", "ratio", stat=np.median)["value"])
    large = ratio[ratio["m"] >= 16]  # pooled over the widths where the barriers are >> 0
    if len(large):
        fitted["median_ratio_m_ge_16"], fitted["median_ratio_m_ge_16_ci95"] = fits.median_ci(large["ratio"].to_numpy())
        fitted["pairs_m_ge_16"] = len(large)
    return fitted


def plot(analysis: dict, table: pd.DataFrame):
    """The mean of each barrier over pairs against m, with a band of +-1 standard error (drawn from
    ``table``: the figure shows none of ``analysis``'s numbers)."""
    fig, (ax,) = figure(1, width=6)
    for k in BARRIERS:
        g = group_stats(table, "m", k)
        x, mean, sem = g.index.to_numpy(), g["value"].to_numpy(), g["sem"].to_numpy()
        colour = MEANING_COLOURS[MEANINGS[k]]
        ax.plot(x, np.maximum(mean, BARRIER_FLOOR), marker="o", color=colour, label=LABELS[k] + " (±1 s.e.)")
        ax.fill_between(x, np.maximum(mean - sem, BARRIER_FLOOR), np.maximum(mean + sem, BARRIER_FLOOR),
                        color=colour, alpha=0.15, lw=0)
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylabel="loss barrier between B and C",
           title="Alignment through a third network")
    fixed_log_ticks(ax.xaxis, x.astype(int))  # the widths run, as numbers
    ax.legend(fontsize=7)
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    return save(plot(analysis, table), "three", out, table[["m", "replicate", *BARRIERS]].to_dict("list"), analysis)


EXPERIMENT = Experiment("three", "strong LMC: B and C aligned to a reference A vs directly vs none, vs width",
                        configs, run, summarize, order=70)
