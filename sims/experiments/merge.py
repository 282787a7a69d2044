"""merge: MergeMany against width and the number of networks merged, with the ensemble baseline.

Groups of students as in ``width`` (k = 2, d = 10, population GD from a small balanced
initialisation, the same step budget): eight students per run, and groups of their first N = 2,
4, 8 (nested, so that the comparison across N is paired: the N = 2 group is part of the N = 4
one). Per group, ``twolayer.merge_many`` (Git Re-Basin's MergeMany) and ``merge_scores``: the
population loss of the merged student, the mean of the members' losses and the loss of their
ensemble (the mean of the N outputs, exactly one student of width N m). The members stop at
GD's tolerance (loss 1e-9), and the ensemble lies below their mean by convexity; the merged
student at N = 2 is the midpoint of the aligned path. REPAIR is not applied: ``merge_many`` has
no ``repair=`` option (the exact REPAIR of ``twolayer.repair`` is defined for two endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from twolayer.validation import check_positive_int

from ..common import BARRIER_ZERO, FigureDir, GDConfig, figure, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from .width import STEPS

if TYPE_CHECKING:
    import pandas as pd

#: networks per group: the first N of each run's students
GROUP_SIZES = (2, 4, 8)
WIDTHS = (4, 8, 16, 32, 64)
#: the three losses scored per group, with their line styles and legend labels
SCORES = {"merged": ("-", "o", "merged (MergeMany)"), "ensemble": ("--", "s", "ensemble (mean output)"),
          "members": (":", "^", "members (mean loss)")}


@dataclass(frozen=True)
class MergeConfig(GDConfig):
    """``GDConfig`` with ``networks``: students trained per run, merged in groups of their first
    N for each N of GROUP_SIZES up to ``networks``."""

    steps: int = STEPS
    networks: int = max(GROUP_SIZES)

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("networks", self.networks, minimum=2)


#: groups (runs) per width: quick, and the paper profile. A group costs ~27 s of one core (measured:
#: 8 students of width 64 trained to tol take ~22 s, the smaller widths ~5 s together); the merged
#: and ensemble losses differ by six decades, so a few groups separate them, and 12 keep the paper
#: profile within 3 minutes on two cores
GROUPS = {Profile.QUICK: 2, Profile.PAPER: 12, Profile.FULL: 12}  # full is the paper profile here


def configs(profile: Profile) -> list[MergeConfig]:
    match profile:
        case Profile.QUICK:  # up to m = 32: the groups at m = 64 cost twice all the others
            groups, widths = GROUPS[profile], WIDTHS[:-1]
        case Profile.PAPER | Profile.FULL:
            groups, widths = GROUPS[profile], WIDTHS
        case _:
            unknown(profile)
    out = [MergeConfig(m=m, replicate=r) for m in widths for r in range(groups)]
    return sorted(out, key=lambda c: -c.m)  # the longest runs first: no straggler at the sweep's end


def sizes(cfg: MergeConfig) -> list[int]:
    """The group sizes a run scores: GROUP_SIZES up to its ``networks``."""
    return [n for n in GROUP_SIZES if n <= cfg.networks]


def run(cfg: MergeConfig, seq: np.random.SeedSequence) -> dict:
    task = tl.Population(cfg.teacher())
    runs = cfg.students(seq, cfg.networks)
    nets = [r.net for r in runs]
    out = {"converged": all(r.converged for r in runs)}
    for n in sizes(cfg):
        res = tl.merge_many(nets[:n], task, seed=0)
        for name, (loss, _) in res.scores.items():
            out[f"{name}_{n}"] = loss
        out[f"sweeps_{n}"] = res.sweeps
    return out


def _interval(values) -> dict:
    """Median over groups with its 95% bootstrap interval (each group one unit)."""
    median, ci = fits.median_ci([[v] for v in values], seed=0)
    return {"median": median, "ci95": ci, "groups": len(values)}


def _tail_slope(table: pd.DataFrame, column: str, k: int) -> dict:
    """Log-log slope of ``column`` in m over m >= 8 k (positive values), with its bootstrap interval."""
    tail = table[(table["m"] >= 8 * k) & (table[column].astype(float) > BARRIER_ZERO)]
    if tail["m"].nunique() < 2:
        return {}
    fit = fits.loglog_slope(tail["m"], tail[column], seed=0)
    return {"tail_slope": fit.slope, "tail_slope_ci95": fit.ci, "tail_points": fit.n,
            "tail_widths": [int(m) for m in np.unique(tail["m"])]}


def analyse(table: pd.DataFrame, k: int = 2) -> dict:
    """Per N and m: median and 95% interval of each score over the groups, of merged / ensemble,
    and whether the intervals of merged and ensemble are apart; per N: the merged loss's tail
    slope in m."""
    out: dict = {"converged_fraction": float(np.mean(table["converged"].to_numpy()))}
    for n in GROUP_SIZES:
        if f"merged_{n}" not in table:
            continue
        by_m = {}
        for m, rows in table.groupby("m"):
            cell = {name: _interval(np.asarray(rows[f"{name}_{n}"], float)) for name in SCORES}
            ratio = np.asarray(rows[f"merged_{n}"], float) / np.asarray(rows[f"ensemble_{n}"], float)
            cell["merged_over_ensemble"] = _interval(ratio)
            cell["merged_above_ensemble_ci"] = bool(cell["merged"]["ci95"][0] > cell["ensemble"]["ci95"][1])
            cell["mean_sweeps"] = float(np.mean(rows[f"sweeps_{n}"].to_numpy()))
            by_m[int(m)] = cell
        out[f"N={n}"] = {"by_m": by_m, "merged_tail": _tail_slope(table, f"merged_{n}", k)}
    return out


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    from matplotlib.lines import Line2D

    k = 2
    fitted = analyse(table, k)
    fig, (ax, ax2) = figure(2, width=5.6, height=4.4)
    widths = np.array(sorted(int(m) for m in np.unique(table["m"])))
    shown = [n for n in GROUP_SIZES if f"N={n}" in fitted]
    colours = []
    for i, n in enumerate(shown):
        cells = fitted[f"N={n}"]["by_m"]
        shift = 1.0 + 0.04 * (i - 1)  # side by side, so that the intervals do not hide each other
        for name, (ls, marker, _) in SCORES.items():
            med, lo, hi = _band(cells, widths, name)
            ax.errorbar(widths * shift, med, yerr=[med - lo, hi - med], color=f"C{i}", ls=ls, marker=marker,
                        ms=4, capsize=2, lw=1.2)
        med, lo, hi = _band(cells, widths, "merged_over_ensemble")
        ax2.errorbar(widths * shift, med, yerr=[med - lo, hi - med], color=f"C{i}", marker="o", ms=4, capsize=2,
                     label=f"N = {n}")
        tail = fitted[f"N={n}"]["merged_tail"]
        colours.append(Line2D([], [], color=f"C{i}", label=f"N = {n}" + (
            f"; merged tail slope {tail['tail_slope']:.2f} [{tail['tail_slope_ci95'][0]:.2f}, "
            f"{tail['tail_slope_ci95'][1]:.2f}]" if tail else "")))
    styles = [Line2D([], [], color="k", ls=ls, marker=marker, ms=4, label=label)
              for ls, marker, label in SCORES.values()]
    groups = int(min(c["merged"]["groups"] for n in shown for c in fitted[f"N={n}"]["by_m"].values()))
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
           ylabel="population loss (median over groups)",
           title=f"N students merged (k={k}, d=10; {groups} groups per point)")
    first = ax.legend(handles=colours, fontsize=6.5, loc="upper right", title="merged tail: m >= 16",
                      title_fontsize=6.5)
    ax.add_artist(first)
    ax.legend(handles=styles, fontsize=6.5, loc="center right")
    ax.text(0.03, 0.25, "members: GD stops at loss 1e-9;\nensemble: the mean of their outputs", transform=ax.transAxes,
            fontsize=6.5)
    ax2.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylabel="merged / ensemble loss",
            title="Merged against the ensemble (median over groups)")
    for axis in (ax, ax2):
        axis.set_xticks(widths, [str(m) for m in widths])
        axis.minorticks_off()
    ax.set_ylim(top=1.0)
    ax2.legend(fontsize=7, title="bars: 95% bootstrap intervals", title_fontsize=7)
    fig.tight_layout()
    keys = ("m", "replicate", "converged",
            *(f"{name}_{n}" for n in shown for name in (*SCORES, "sweeps")))
    return save(fig, "merge", out, table[list(keys)].to_dict("list"), fitted)


def _band(cells: dict, widths, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median, lower and upper 95% bound of ``name`` at each width."""
    return tuple(np.array([f(cells[m][name]) for m in widths]) for f in
                 (lambda c: c["median"], lambda c: c["ci95"][0], lambda c: c["ci95"][1]))


EXPERIMENT = Experiment("merge", "MergeMany of N = 2, 4, 8 students vs width: merged loss against the members' mean "
                        "and their ensemble", configs, run, summarize, order=105)
