"""wasserstein: Wasserstein distances between neuron measures versus width, the intrinsic
dimension of the neurons, and the rigorous transport bound against the measured barrier.

W2 between the two GD networks' output-mass measures on the sphere (and between their measures
(1/m) sum delta_(m c a_i, w_i), whose scale grows like m^(1/2) under the standard scaling); W2
from each network's output-mass measure to the teacher's; the participation-ratio dimension of the
neurons; and theory.wasserstein's bound on the barrier (transport cost of the weights-matching
permutation) beside the exact barrier.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from theory.wasserstein import barrier_bound, transport_cost, wasserstein_rate_exponent

from ..common import BARRIER_FLOOR, BARRIER_ZERO, FigureDir, GDConfig, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats

if TYPE_CHECKING:
    import pandas as pd


def configs(profile: Profile) -> list[GDConfig]:
    match profile:
        case Profile.QUICK:
            reps, widths = 2, (4, 8, 16, 32, 64)
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps, widths = 6, (4, 8, 16, 32, 64, 128, 256)
        case _:
            unknown(profile)
    return [GDConfig(m=m, replicate=r) for m in widths for r in range(reps)]


def run(cfg: GDConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    A, B = (r.net for r in cfg.students(seq, 2))
    perm = tl.match(A, B).perm
    lA, lB = tl.population_loss(A, teacher), tl.population_loss(B, teacher)
    T = transport_cost(A, B, perm, teacher.inputs)
    points, _ = tl.neuron_measure(A)
    return {"w2_pair": tl.wasserstein(A, B, measure="output_mass"), "w2_pair_neurons": tl.wasserstein(A, B),
            "w2_teacher": tl.wasserstein(A, teacher, measure="output_mass"),
            "dimension": tl.participation_dimension(points),
            "barrier": tl.barrier(A, tl.permute(B, perm), tl.Population(teacher)).value,
            "bound": barrier_bound(T, lA, lB), "transport": T}


#: the W2 distances fitted against m, with their labels in the figure
DISTANCES = {"w2_pair": "W2 between the networks (output mass)",
             "w2_pair_neurons": "W2 between the networks (m c a, w)",
             "w2_teacher": "W2 to the teacher (output mass)"}


def analyse(table: pd.DataFrame) -> dict:
    """The neurons' intrinsic dimension d_eff (the participation ratio, mean over runs) and the
    i.i.d. rate it predicts, E W2(mu_m, mu) ~ m^-beta with beta = ``wasserstein_rate_exponent``(d_eff, 2)
    (1/2 for d_eff <= 4, else 1/d_eff); per W2 distance of ``DISTANCES``, the least-squares slope of
    log W2 on log m with its 95% bootstrap interval (``theory.fits.loglog_slope``, every run a point)
    and how many of these intervals hold -beta; whether the transport bound holds on every pair
    (B <= bound + BARRIER_ZERO) and the median over pairs of bound / max(B, BARRIER_ZERO).
    Pure: no drawing, no files."""
    d_eff = float(np.mean(table["dimension"].to_numpy()))
    beta = wasserstein_rate_exponent(d_eff, 2)
    out: dict = {"participation_dimension": d_eff, "predicted_w2_exponent": -beta}
    inside = []
    for key in DISTANCES:
        fit = fits.loglog_slope(table["m"], table[key], seed=0)
        out[f"{key}_slope"] = fit.slope
        out[f"{key}_slope_ci95"] = fit.ci
        inside.append(fit.ci[0] <= -beta <= fit.ci[1])
    out["theory_rate_inside_intervals"] = f"{sum(inside)}/{len(inside)}"
    out["bound_holds"] = bool(np.all((table["barrier"] <= table["bound"] + BARRIER_ZERO).to_numpy()))
    out["median_bound_over_barrier"] = float(np.median(table["bound"] / np.maximum(table["barrier"], BARRIER_ZERO)))
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """Left: each W2 distance's mean per m (bars: s.e.) with its fitted slope, and the i.i.d. rate;
    right: the exact barrier and the transport bound, means per m."""
    fig, (ax, ax2) = figure(2)
    d_eff, beta = analysis["participation_dimension"], -analysis["predicted_w2_exponent"]
    for key, label in DISTANCES.items():
        g = group_stats(table, "m", key)
        slope, ci = analysis[f"{key}_slope"], analysis[f"{key}_slope_ci95"]
        ax.errorbar(g.index.to_numpy(), g["value"].to_numpy(), yerr=g["sem"].to_numpy(), marker="o", ms=3, capsize=2,
                    label=f"{label}: slope {slope:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]")
    widths = np.unique(table["m"]).astype(float)
    ax.plot(widths, widths ** -beta * np.mean(table["w2_pair"].to_numpy()) * widths[0] ** beta, "k--",
            label=f"theory rate m^-{beta:.2g} (d_eff = {d_eff:.2g})")
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylabel="Wasserstein-2 distance",
           title="Neuron measures of GD solutions (bars: s.e. over pairs)")
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(0, 0.45))  # between the two groups of curves
    inside, total = map(int, analysis["theory_rate_inside_intervals"].split("/"))
    if inside < total:  # say in the figure where theory and measurement disagree
        ax.text(0.02, 0.62, f"disagreement: the i.i.d. rate m^-{beta:.2g} lies outside {total - inside} "
                f"of the {total}\nslope intervals (95%): GD's neurons are not i.i.d. draws of one measure",
                transform=ax.transAxes, va="center", fontsize=7)
    for key, label, style in (("barrier", "exact barrier mod P", "o-"), ("bound", "transport bound", "s--")):
        g = group_stats(table, "m", key)
        ax2.plot(g.index.to_numpy(), np.maximum(g["value"].to_numpy(), BARRIER_FLOOR), style, label=label)
    ax2.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylabel="loss barrier (population)",
            title="Rigorous transport bound vs barrier")
    ax2.text(0.02, 0.02, f"bound >= barrier on {'every' if analysis['bound_holds'] else 'not every'} pair; median "
             f"bound / barrier {analysis['median_bound_over_barrier']:.3g}", transform=ax2.transAxes, fontsize=7)
    ax2.legend(fontsize=7)
    for axis in (ax.xaxis, ax2.xaxis):  # the widths run, as numbers (a short log range crowds minor labels)
        fixed_log_ticks(axis, widths.astype(int))
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    columns = table[["m", "replicate", *DISTANCES, "dimension", "barrier", "bound", "transport"]].to_dict("list")
    return save(plot(analysis, table), "wasserstein", out, columns, analysis)


EXPERIMENT = Experiment("wasserstein", "W2 between neuron measures and to the teacher vs m; dimension; "
                        "transport bound vs barrier", configs, run, summarize, order=50)
