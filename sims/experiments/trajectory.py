"""trajectory: simultaneous weak LMC along training (Sharma et al. 2024).

Two students trained by population GD from small balanced inits with checkpoints; at every
checkpoint the barrier between the two partially trained networks with no permutation, with
the permutation found on the *final* networks (weights matching), and with a fresh matching
of that checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from twolayer.validation import check_positive_int

from ..common import (
    BARRIER_FLOOR,
    BARRIER_ZERO,
    MEANING_COLOURS,
    FigureDir,
    GDConfig,
    figure,
    fixed_log_ticks,
    plot_mean_curves,
    save,
)
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import long, stack

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TrajectoryConfig(GDConfig):
    k: int = 4
    d: int = 16
    m: int = 32
    lr: float = 0.3
    steps: int = 6000
    tol: float | None = None
    init_scale: float = 1e-2
    checkpoints: int = 14

    def __post_init__(self):
        super().__post_init__()
        check_positive_int("checkpoints", self.checkpoints)


#: pairs per width in the paper profile: enough for each width's own ratio interval (the ratio changes
#: with m, so widths are reported apart, not pooled)
PAPER_PAIRS_PER_WIDTH = 24


def configs(profile: Profile) -> list[TrajectoryConfig]:
    match profile:
        case Profile.QUICK:
            return [TrajectoryConfig(replicate=r) for r in range(3)]
        case Profile.PAPER | Profile.FULL:  # full: as paper
            return [TrajectoryConfig(m=m, replicate=r) for m in (16, 32, 128) for r in range(PAPER_PAIRS_PER_WIDTH)]
        case _:
            unknown(profile)


def checkpoint_steps(cfg: TrajectoryConfig) -> np.ndarray:
    return np.unique(np.r_[0, np.geomspace(10, cfg.steps, cfg.checkpoints - 1).astype(int)])


def run(cfg: TrajectoryConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    steps = checkpoint_steps(cfg)
    A, B = cfg.students(seq, 2, checkpoints=steps)
    final_perm = tl.match(A.net, B.net).perm
    out = {name: np.empty(steps.size) for name in ("plain", "final_perm", "fresh_perm", "loss")}
    for j, ((_, a), (_, b)) in enumerate(zip(A.checkpoints, B.checkpoints)):
        out["plain"][j] = tl.barrier(a, b, tl.Population(teacher)).value
        out["final_perm"][j] = tl.barrier(a, tl.permute(b, final_perm), tl.Population(teacher)).value
        out["fresh_perm"][j] = tl.barrier_modulo_permutation(a, b, tl.Population(teacher)).value
        out["loss"][j] = 0.5 * (tl.population_loss(a, teacher) + tl.population_loss(b, teacher))
    return out | {"steps": steps.astype(float)}


def ratio_by_width(table: pd.DataFrame) -> dict:
    """The barrier with the final permutation over the barrier with fresh matching, at every
    checkpoint: its median with a pair-clustered bootstrap interval, per width m (the ratio moves with
    m, so widths are not pooled), and the trend in m: the log-log slope of each pair's median ratio on
    m with its bootstrap interval (an interval above 0: simultaneous connectivity weakens with width)."""
    out: dict = {"median_final_over_fresh_by_m": {}, "median_final_over_fresh_ci95_by_m": {}, "pairs_by_m": {}}
    widths, medians = [], []
    for m, part in table.groupby("m"):
        ratio = stack(part, "final_perm") / np.maximum(stack(part, "fresh_perm"), BARRIER_ZERO)
        point, ci = fits.median_ci(ratio)
        out["median_final_over_fresh_by_m"][int(m)], out["median_final_over_fresh_ci95_by_m"][int(m)] = point, ci
        out["pairs_by_m"][int(m)] = len(ratio)
        widths += [m] * len(ratio)
        medians += [float(np.median(r)) for r in ratio]
    if np.unique(widths).size >= 2:
        trend = fits.loglog_slope(widths, medians, seed=0)
        out |= {"ratio_trend_slope": trend.slope, "ratio_trend_slope_ci95": trend.ci}
    return out


#: the per-checkpoint curves drawn, with their labels
CURVES = {"plain": "no permutation", "final_perm": "permutation of the final networks",
          "fresh_perm": "matching at each checkpoint", "loss": "mean loss of the two networks"}


def analyse(table: pd.DataFrame) -> dict:
    """The fitted numbers of the figure. Pure: no drawing, no files.

    For each curve c of ``CURVES`` (plain, final_perm, fresh_perm barriers and the loss), its mean
    over pairs at checkpoint j, c̄_j = (1/n) sum_i c_ij: ``{c}_max_over_training`` = max_j c̄_j and
    ``{c}_final`` = c̄ at the last checkpoint; then the ratios per width and their trend in m
    (``ratio_by_width``).
    """
    fitted: dict = {}
    for k in CURVES:
        y = stack(table, k).mean(axis=0)
        fitted[f"{k}_max_over_training"] = float(y.max())
        fitted[f"{k}_final"] = float(y[-1])
    return fitted | ratio_by_width(table)


def plot(analysis: dict, table: pd.DataFrame):
    """Left: the mean curves along training (pooled over widths; band: +-1 s.e.); right: the ratio
    by width and its trend (``_draw_ratio_by_width``)."""
    fig, (ax, ax_ratio) = figure(2, width=5.6)
    steps = table["steps"].iloc[0]
    plot_mean_curves(ax, np.maximum(steps, 1), table, tuple(CURVES), CURVES, floor=BARRIER_FLOOR)
    widths = sorted({int(m) for m in table["m"]})
    ax.set(xscale="log", yscale="log", xlabel="training step (GD updates; 0 drawn at 1)",
           ylabel="barrier, or loss (population)",
           title=f"Along training, m = {', '.join(map(str, widths))} pooled (band: ±1 s.e.)")
    ax.title.set_fontsize(10)
    ax.legend(fontsize=7)
    _draw_ratio_by_width(ax_ratio, analysis)
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    return save(plot(analysis, table), "trajectory", out, long(table, ("replicate", "m"), ("steps", *CURVES)),
                analysis)


def _draw_ratio_by_width(ax, fitted: dict) -> None:
    """The median ratio final permutation / fresh matching per width with its 95% interval (pairs
    resampled), the line of the fitted trend in m with its slope interval, and the ratio 1."""
    by_m = fitted["median_final_over_fresh_by_m"]
    ms = np.array(sorted(by_m), dtype=float)
    med = np.array([by_m[int(m)] for m in ms])
    ci = np.array([fitted["median_final_over_fresh_ci95_by_m"][int(m)] for m in ms])
    ax.errorbar(ms, med, yerr=[med - ci[:, 0], ci[:, 1] - med], fmt="o", capsize=3,
                color=MEANING_COLOURS["final_perm"], label="median over pairs and checkpoints, 95% CI")
    ax.axhline(1.0, color=MEANING_COLOURS["fresh_perm"], lw=1, ls="--",
               label="1: the final permutation as good as fresh matching")
    if "ratio_trend_slope" in fitted:
        lo, hi = fitted["ratio_trend_slope_ci95"]
        slope = fitted["ratio_trend_slope"]
        pivot = np.exp(np.mean(np.log(ms)))
        level = np.exp(np.mean(np.log(med)))
        ax.plot(ms, level * (ms / pivot) ** slope, color="0.3", lw=1,
                label=f"trend in m: slope {slope:.2f} [{lo:.2f}, {hi:.2f}]")
    ax.set(xscale="log", xlabel="student width m (neurons)",
           ylabel="barrier with final permutation / with fresh matching", title="By width: the ratio and its trend")
    fixed_log_ticks(ax.xaxis, ms.astype(int))
    ax.legend(fontsize=7)


EXPERIMENT = Experiment("trajectory", "simultaneous weak LMC: the final networks' permutation applied to "
                        "every checkpoint vs fresh matching vs none", configs, run, summarize, order=60)
