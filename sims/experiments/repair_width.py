"""repair_width: what REPAIR does to the student barrier modulo permutation across width.

The pairs of ``width`` (k = 2, d = 10, population GD from a small balanced initialisation, the
same step budget), aligned by weights matching; the barrier along the plain aligned path and
along the exactly repaired one (``twolayer.repair``: each neuron's norm, hence its mean and
spread under the input law, reset to the interpolation of the endpoints'). Does the double
descent (zero at m = k, a peak, a decay) survive REPAIR, and at what tail rate (m >= 8k)?
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits

from ..common import BARRIER_ZERO, FigureDir, GDConfig, figure, fixed_log_ticks, plain_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import by_key, group_stats
from .width import STEPS

if TYPE_CHECKING:
    import pandas as pd

WIDTHS = (1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128)
#: the lowest value drawn on the log axis (exact zeros at m = k are drawn on it)
FLOOR = 1e-7
#: the teacher's rays k, as in ``configs``
K = 2


def configs(profile: Profile) -> list[GDConfig]:
    match profile:
        case Profile.QUICK:  # up to m = 64: a pair at m = 128 costs as much as all the others
            reps, widths = 2, WIDTHS[:-1]
        case Profile.PAPER | Profile.FULL:  # full: as paper
            reps, widths = 24, WIDTHS
        case _:
            unknown(profile)
    return [GDConfig(k=2, d=10, m=m, steps=STEPS, replicate=r) for m in widths for r in range(reps)]


def run(cfg: GDConfig, seq: np.random.SeedSequence) -> dict:
    task = tl.Population(cfg.teacher())
    runs = cfg.students(seq, 2)
    A, B = runs[0].net, runs[1].net
    aligned = tl.permute(B, tl.match(A, B).perm)
    return {"weights": tl.barrier(A, aligned, task).value,
            "weights_repair": tl.barrier(A, aligned, task, repair="repair").value,
            "converged": runs[0].converged and runs[1].converged}


def _fit(table: pd.DataFrame, column: str, k: int) -> dict:
    """Tail slope (m >= 8k, positive barriers) with its bootstrap interval; peak location with its
    interval; zero barriers at m = k."""
    tail = table[(table["m"] >= 8 * k) & (table[column] > BARRIER_ZERO)]
    out = {}
    if tail["m"].nunique() >= 2:
        fit = fits.loglog_slope(tail["m"], tail[column], seed=0)
        out |= {"tail_slope": fit.slope, "tail_slope_ci95": fit.ci, "tail_points": fit.n}
    widths, m, values = np.unique(table["m"]), table["m"].to_numpy(), table[column].to_numpy()
    per_width = [values[m == w] for w in widths]
    peak, peak_ci = fits.bootstrap_extremum(widths, per_width, "max", seed=0)
    at_k = values[m == k]
    zero = int(np.sum(at_k <= BARRIER_ZERO))
    return out | {"peak_m": peak, "peak_m_ci95": peak_ci, "zero_at_m_eq_k": f"{zero}/{at_k.size}",
                  "zero_at_m_eq_k_ci95": fits.clopper_pearson(zero, at_k.size)}


def _ratio_by_m(table: pd.DataFrame) -> dict:
    """Median over pairs of repaired / plain barrier per width (pairs with a plain barrier > 0),
    with a 95% bootstrap interval of the median."""
    out = {}
    for m, rows in table.groupby("m"):
        plain, repaired = np.asarray(rows["weights"], float), np.asarray(rows["weights_repair"], float)
        ok = plain > BARRIER_ZERO
        if ok.sum() >= 2:
            median, ci = fits.median_ci([[r] for r in repaired[ok] / plain[ok]], seed=0)
            out[int(m)] = {"median": median, "ci95": ci, "pairs": int(ok.sum())}
    return out


#: the barriers compared: column, colour, label
BARRIERS = (("weights", "C0", "weights matching"), ("weights_repair", "C3", "weights matching + REPAIR (exact)"))


def analyse(table: pd.DataFrame, k: int = K) -> dict:
    """The fitted numbers of the figure. Pure: no drawing, no files.

    ``converged_fraction`` (runs where both students converged); for each barrier B (plain and
    repaired) the mean and standard error over pairs per width (``mean_by_m``, ``sem_by_m``) and
    ``_fit``: the tail exponent b of B ~ m^b (m >= 8k), the peak width with its interval and the
    rate of exact zeros at m = k; ``repair_over_plain_by_m``: the median of B_repair / B per width
    (``_ratio_by_m``).
    """
    fitted: dict = {"converged_fraction": float(np.mean(table["converged"].to_numpy()))}
    for column, _, _ in BARRIERS:
        g = group_stats(table, "m", column)
        fitted[column] = {"mean_by_m": by_key(g["value"]), "sem_by_m": by_key(g["sem"]),
                          **_fit(table, column, k)}
    fitted["repair_over_plain_by_m"] = _ratio_by_m(table)
    return fitted


def plot(analysis: dict, table: pd.DataFrame, k: int = K):
    """Left: each barrier's mean per width (error bars: +-1 s.e.) with its tail fit's line, drawn
    from the first tail width's mean; right: the median repaired / plain ratio per width with its
    95% interval."""
    fig, (ax, ax2) = figure(2)
    for column, colour, label in BARRIERS:
        entry = analysis[column]
        x = np.array(list(entry["mean_by_m"]))
        mean, sem = np.array(list(entry["mean_by_m"].values())), np.array(list(entry["sem_by_m"].values()))
        ax.errorbar(x, np.maximum(mean, FLOOR), yerr=sem, marker="o", ms=4, capsize=2, color=colour, label=label)
        if "tail_slope" in entry:
            tail = x >= 8 * k
            ref = mean[tail][0] * (x[tail] / x[tail][0]) ** entry["tail_slope"]
            ax.plot(x[tail], ref, ls=":", color=colour,
                    label=f"tail slope {entry['tail_slope']:.2f} [{entry['tail_slope_ci95'][0]:.2f}, "
                          f"{entry['tail_slope_ci95'][1]:.2f}]")
    ratio = analysis["repair_over_plain_by_m"]
    ms = np.array(sorted(ratio))
    med = np.array([ratio[m]["median"] for m in ms])
    lo = np.array([ratio[m]["ci95"][0] for m in ms])
    hi = np.array([ratio[m]["ci95"][1] for m in ms])
    ax2.errorbar(ms, med, yerr=[med - lo, hi - med], marker="o", capsize=2, color="C3")
    ax2.axhline(1.0, color="0.5", lw=0.8)
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylim=(FLOOR, None),
           ylabel="loss barrier mod P (population, sup over t)",
           title=f"REPAIR and the double descent (k={k}, d=10)")
    ax.text(0.98, 0.03, f"values < {FLOOR:g} (exact 0) drawn on the bottom axis", transform=ax.transAxes,
            fontsize=7, ha="right")
    ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1, 0.06))  # above the note on the bottom axis
    ax2.set(xscale="log", xlabel="student width m (neurons)", ylabel="repaired / plain barrier (median)",
            title="REPAIR's effect per pair (95% bootstrap interval)")
    fixed_log_ticks(ax2.xaxis, ms.astype(int))  # the widths run, as numbers
    plain_log_ticks(ax.xaxis)  # 1, 2, 5, 10, ...: no crowded minor labels on a short range
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    columns = table[["m", "replicate", "weights", "weights_repair", "converged"]].to_dict("list")
    return save(plot(analysis, table), "repair_width", out, columns, analysis)


EXPERIMENT = Experiment("repair_width", "student barrier mod P with and without exact REPAIR vs width "
                        "(double descent, tail rate)", configs, run, summarize, order=100)
