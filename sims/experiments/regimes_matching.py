"""regimes_matching: does the matching method matter outside small initialisations?

Pairs trained exactly as in ``regimes`` (``regimes.train_pair``: each scheme's initialisation,
population GD at the lower rate, d = 10, loss ``regimes.STOP_LOSS`` or the step budget), each pair
aligned by every method of ``METHODS``: weight matching, activation matching (on 10^4 inputs drawn
from the input law) and ``refine`` (exact local search over pair swaps from weight matching, on the
population barrier). Per scheme and width the analysis gives each method's median barrier mod P
and, per pair, the ratio of each method's barrier to weight matching's: a method matters in a
regime where its ratios stay away from 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import BARRIER_FLOOR, BARRIER_ZERO, METHOD_COLOURS, FigureDir, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats
from .regimes import PAPER_STEPS, QUICK_STEPS, RegimeConfig, train_pair
from .regimes_schemes import RATES, Scheme

if TYPE_CHECKING:
    import pandas as pd

#: the alignment methods compared (their colours: ``common.METHOD_COLOURS``)
METHODS = ("weights", "activations", "refine")
#: a method "matches weight matching" on a pair when its barrier is within this factor of it
SAME_FACTOR = 1.1


def configs(profile: Profile) -> list[RegimeConfig]:
    match profile:
        case Profile.QUICK:
            widths, pairs, steps = (8, 32), 1, QUICK_STEPS
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, pairs, steps = (8, 16, 64), 3, PAPER_STEPS
        case _:
            unknown(profile)
    return [RegimeConfig(s, d=10, m=m, lr_rel=RATES["below"], steps=steps, replicate=r)
            for s in Scheme for m in widths for r in range(pairs)]


def run(cfg: RegimeConfig, seq: np.random.SeedSequence) -> dict:
    results, _ = train_pair(cfg, seq)
    converged = all(r.converged for r in results) and not any(r.diverged for r in results)
    out = {"converged": float(converged)}
    if not converged:
        return out | dict.fromkeys(METHODS, np.nan)
    A, B = results[0].net, results[1].net
    objective = tl.Population(cfg.teacher())
    for method in METHODS:
        out[method] = tl.barrier_modulo_permutation(A, B, objective, method=method).value
    return out


def analyse(table: pd.DataFrame) -> dict:
    """Per scheme: each method's median barrier mod P per width over converged pairs, and per
    method the ratios to weight matching's barrier (pairs where that is above BARRIER_ZERO): their
    median, range, and the count within SAME_FACTOR of 1. Pure: no drawing, no files."""
    out: dict = {"same_factor": SAME_FACTOR, "schemes": {}}
    ok = table[table["converged"] > 0]
    for (scheme,), part in ok.groupby(["init"]):
        entry: dict = {"pairs": int(len(part)), "runs": int(np.sum(np.asarray(table["init"]) == scheme))}
        for method in METHODS:
            g = group_stats(part, "m", method, stat=np.median)["value"]
            entry[f"{method}_median_by_m"] = dict(zip(map(int, g.index), map(float, g)))
        base = np.asarray(part["weights"], float)
        usable = base > BARRIER_ZERO
        for method in METHODS[1:]:
            ratio = np.asarray(part[method], float)[usable] / base[usable]
            if ratio.size:
                entry[f"{method}_over_weights"] = {
                    "median": float(np.median(ratio)), "range": [float(ratio.min()), float(ratio.max())],
                    "within_factor": f"{int(np.sum(np.abs(np.log(ratio)) <= np.log(SAME_FACTOR)))}/{ratio.size}"}
        out["schemes"][Scheme(scheme).value] = entry
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """One panel per scheme: each method's pairs (points) and median (line) against m."""
    schemes = list(analysis["schemes"])
    fig, axes = figure(max(len(schemes), 1), width=3.6, height=3.2)
    ok = table[table["converged"] > 0]
    for ax, scheme in zip(np.atleast_1d(axes), schemes):
        part = ok[np.array([Scheme(s).value == scheme for s in ok["init"]], dtype=bool)]
        entry = analysis["schemes"][scheme]
        for method in METHODS:
            med = entry[f"{method}_median_by_m"]
            ax.plot(list(med), np.maximum(list(med.values()), BARRIER_FLOOR), "-o", ms=3, color=METHOD_COLOURS[method],
                    label=method)
            ax.plot(part["m"].to_numpy(), np.maximum(np.asarray(part[method], float), BARRIER_FLOOR), ".",
                    color=METHOD_COLOURS[method], alpha=0.4, ms=3)
        ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
               ylabel="barrier mod P (population loss)", title=f"{scheme} init, d=10, lr_rel={RATES['below']:g}")
        fixed_log_ticks(ax.xaxis, np.unique(part["m"]))
        ax.title.set_fontsize(9)
        ax.legend(fontsize=7, title=f"points: pairs; values < {BARRIER_FLOOR:g} drawn at it", title_fontsize=6)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    columns = table[["init", "d", "m", "lr_rel", "replicate", "converged", *METHODS]].to_dict("list")
    return save(plot(analysis, table), "regimes_matching", out, columns, analysis)


EXPERIMENT = Experiment("regimes_matching", "barrier mod P by weight matching, activation matching and refine "
                        "per initialisation scheme (d=10): does the matching method matter outside small init",
                        configs, run, summarize, order=107)
