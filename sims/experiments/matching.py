"""matching: the alignment methods compared on the same trained pairs, versus width, with and
without REPAIR, against the certified optimum where the width allows it.

weights, weights_cov (identity second moment for Gaussian inputs: equal to weights here),
activations (on 10^4 inputs), refine (up to REFINE_MAX_WIDTH), sinkhorn and ste (learned
matchings, default options) and the OT plan; the barrier each one leaves, plain and with the
exact REPAIR of students (``twolayer.repair``; not for the OT plan), and its wall time (measured
warm: each method is first called on a tiny pair, so that numba's compilation is not counted).
For m <= CERTIFY_MAX_WIDTH the certified optimum (``twolayer.certify``: the exact minimum over
all m! permutations), plain and repaired, and each method's gap to it; those widths get
CERTIFIED_REPLICATES pairs.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl

from ..common import BARRIER_FLOOR, METHOD_COLOURS, FigureDir, GDConfig, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import by_key, group_stats

if TYPE_CHECKING:
    import pandas as pd

METHODS = ("weights", "weights_cov", "activations", "refine", "sinkhorn", "ste", "ot")
#: methods whose permutation path REPAIR applies to (not the OT plan)
REPAIRED = tuple(m for m in METHODS if m != "ot")
REFINE_MAX_WIDTH = 128
CERTIFY_MAX_WIDTH = 9
CERTIFIED_REPLICATES = 8
#: a method "finds the optimum" when its barrier is within this of the certified one (relative):
#: the accuracy of a barrier's maximum over t (``twolayer.barriers``)
OPTIMAL_TOLERANCE = 1e-6


def configs(profile: Profile) -> list[GDConfig]:
    match profile:
        case Profile.QUICK:
            widths, reps, certified_reps = (6, 16, 32, 64), 2, 2
        case Profile.PAPER | Profile.FULL:  # full: as paper
            widths, reps, certified_reps = (6, 8, 9, 16, 32, 64, 128, 256), 6, CERTIFIED_REPLICATES
        case _:
            unknown(profile)
    return [GDConfig(m=m, replicate=r) for m in widths
            for r in range(certified_reps if m <= CERTIFY_MAX_WIDTH else reps)]


def _warm_up(teacher: tl.Teacher) -> None:
    """Call every method once on a tiny pair, so that the timed calls exclude numba's compilation."""
    small = [tl.Student.init(4, teacher.d, 1.0, seed=s) for s in (0, 1)]
    for method in METHODS:
        tl.barrier_modulo_permutation(*small, tl.Population(teacher), method=method)
    tl.certified_barrier(*small, tl.Population(teacher))


def run(cfg: GDConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    task = tl.Population(teacher)
    A, B = (r.net for r in cfg.students(seq, 2))
    _warm_up(teacher)
    out = {}
    for method in METHODS:
        if method == "refine" and cfg.m > REFINE_MAX_WIDTH:
            out[method] = out[f"{method}_seconds"] = out[f"{method}_repair"] = np.nan
            continue
        t0 = time.perf_counter()
        res = tl.barrier_modulo_permutation(A, B, task, method=method)
        out[f"{method}_seconds"] = time.perf_counter() - t0
        out[method] = res.value
        if method in REPAIRED:
            out[f"{method}_repair"] = tl.barrier(A, tl.permute(B, res.matching.perms), task, repair="repair").value
    for suffix, repair in (("", "none"), ("_repair", "repair")):
        if cfg.m <= CERTIFY_MAX_WIDTH:
            t0 = time.perf_counter()
            out[f"certified{suffix}"] = tl.certified_barrier(A, B, task, repair=repair).value
            out[f"certified{suffix}_seconds"] = time.perf_counter() - t0
        else:
            out[f"certified{suffix}"] = out[f"certified{suffix}_seconds"] = np.nan
    return out


def _gaps(table: pd.DataFrame, certified_widths) -> dict:
    """Per method, plain and repaired, at each certified width: the gap barrier - certified over
    the pairs (mean, min, max) and the fraction of pairs at the optimum."""
    out = {}
    for method in REPAIRED + ("ot",):
        for suffix in ("", "_repair"):
            column = f"{method}{suffix}"
            if column not in table or (method == "ot" and suffix):
                continue
            by_m = {}
            for m in certified_widths:
                rows = table[table["m"] == m]
                found, best = np.asarray(rows[column], float), np.asarray(rows[f"certified{suffix}"], float)
                ok = np.isfinite(found) & np.isfinite(best)
                gap = found[ok] - best[ok]
                at_optimum = gap <= OPTIMAL_TOLERANCE * np.maximum(np.abs(best[ok]), BARRIER_FLOOR)
                by_m[int(m)] = {"pairs": int(ok.sum()), "mean_gap": float(gap.mean()), "min_gap": float(gap.min()),
                                "max_gap": float(gap.max()), "at_optimum": int(at_optimum.sum())}
            out[column] = by_m
    return out


def analyse(table: pd.DataFrame) -> dict:
    """The fitted numbers of the figure. Pure: no drawing, no files.

    ``identical_on_every_pair`` (``_identical_to_earlier``); per method, over the pairs of each
    width m, the mean and standard error of the mean of its barrier mod P (and, for ``REPAIRED``, of
    the repaired barrier) and its mean wall time; the same for the certified optimum, plain and
    repaired (NaN at widths above CERTIFY_MAX_WIDTH); and ``gap_to_certified`` (``_gaps``): per
    method and certified width, the gap B_method - B_certified over the pairs and the pairs at the
    optimum.
    """
    fitted: dict = {"identical_on_every_pair": _identical_to_earlier(table)}
    for method in METHODS:
        fitted[method] = _mean_and_sem(table, method, "barrier") | _mean(table, f"{method}_seconds", "seconds")
        if method in REPAIRED:
            fitted[method] |= _mean_and_sem(table, f"{method}_repair", "repaired_barrier")
    for suffix in ("", "_repair"):
        fitted[f"certified{suffix}"] = (_mean_and_sem(table, f"certified{suffix}", "barrier")
                                        | _mean(table, f"certified{suffix}_seconds", "seconds"))
    certified_widths = [m for m in np.unique(table["m"]) if m <= CERTIFY_MAX_WIDTH]
    fitted["gap_to_certified"] = _gaps(table, certified_widths)
    return fitted


def plot(analysis: dict, table: pd.DataFrame):
    """Left: each method's mean barrier per width (error bars: +-1 s.e.; dashed: REPAIR) and the
    certified optimum; middle: each method's mean wall time; right: the gaps to the certified optimum
    at the largest certified width (``_draw_gaps``)."""
    fig, (ax, ax2, ax3) = figure(3, height=5.0)
    same = analysis["identical_on_every_pair"]
    for method in METHODS:
        entry = analysis[method]
        label = method if method not in same else f"{method} (= {same[method]} on every pair: drawn under it)"
        x, mean = _curve(entry["mean_barrier_by_m"])
        ax.errorbar(x, np.maximum(mean, BARRIER_FLOOR), yerr=list(entry["sem_barrier_by_m"].values()), marker="o",
                    ms=3, color=METHOD_COLOURS[method], label=label, capsize=2)
        ax2.plot(*_curve(entry["mean_seconds_by_m"]), marker="o", ms=3, color=METHOD_COLOURS[method], label=method)
        if method in REPAIRED:
            x, mean = _curve(entry["mean_repaired_barrier_by_m"])
            ax.plot(x, np.maximum(mean, BARRIER_FLOOR), ls="--", color=METHOD_COLOURS[method], lw=1)
    for suffix, style, label in (("", "-", "certified optimum"), ("_repair", "--", "certified, REPAIR")):
        x, mean = _curve(analysis[f"certified{suffix}"]["mean_barrier_by_m"], finite=True)
        ax.plot(x, np.maximum(mean, BARRIER_FLOOR), ls=style, marker="*", ms=9, color="k", label=label)
    ax2.plot(*_curve(analysis["certified"]["mean_seconds_by_m"], finite=True), marker="*", ms=9, color="k",
             label="certified")
    _draw_gaps(ax3, analysis["gap_to_certified"])
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
           ylabel="barrier mod P (population loss)",
           title="Barrier left by each method (dashed: REPAIR)")
    ax2.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
            ylabel="wall time of match + barrier (s)", title="Cost of each method")
    for axis in (ax.xaxis, ax2.xaxis):  # the widths run, as numbers (a short log range crowds minor labels)
        fixed_log_ticks(axis, sorted(int(m) for m in analysis["weights"]["mean_seconds_by_m"]))
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ax2.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    keys = ("m", "replicate", *(k for method in METHODS for k in (method, f"{method}_seconds")),
            *(f"{method}_repair" for method in REPAIRED), "certified", "certified_repair", "certified_seconds",
            "certified_repair_seconds")
    return save(plot(analysis, table), "matching", out, table[list(keys)].to_dict("list"), analysis)


def _identical_to_earlier(table: pd.DataFrame) -> dict[str, str]:
    """{method: the first earlier method whose barrier equals it on every pair} (a curve the figure
    draws exactly under another, which its legend says)."""
    same = {}
    for i, method in enumerate(METHODS):
        for earlier in METHODS[:i]:
            if np.array_equal(np.asarray(table[method], float), np.asarray(table[earlier], float), equal_nan=True):
                same[method] = earlier
                break
    return same


def _mean(table: pd.DataFrame, column: str, name: str) -> dict:
    """{"mean_NAME_by_m": the column's mean over the pairs of each width m (finite values only)}."""
    return {f"mean_{name}_by_m": by_key(group_stats(table, "m", column)["value"])}


def _mean_and_sem(table: pd.DataFrame, column: str, name: str) -> dict:
    """``_mean`` and "sem_NAME_by_m": the standard error of that mean, s / sqrt(n) (NaN for n = 1)."""
    g = group_stats(table, "m", column)
    return {f"mean_{name}_by_m": by_key(g["value"]), f"sem_{name}_by_m": by_key(g["sem"])}


def _curve(by_m: dict, finite: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A {width: value} dict as the arrays (widths, values); with ``finite``, its finite values only."""
    x, y = np.array(list(by_m)), np.array(list(by_m.values()), dtype=float)
    keep = np.isfinite(y) if finite else np.ones(y.size, dtype=bool)
    return x[keep], y[keep]


def _draw_gaps(ax, gaps: dict) -> None:
    """Mean gap to the certified optimum per method at the largest certified width (bars), with
    the min-to-max range over the pairs (lines), plain (filled) and REPAIR (hatched)."""
    m = max(gaps["weights"])
    columns = list(gaps)
    for i, column in enumerate(columns):
        g = gaps[column][m]
        repaired = column.endswith("_repair")
        ax.bar(i, g["mean_gap"], width=0.8, color=METHOD_COLOURS[column.removesuffix("_repair")],
               hatch="//" if repaired else None, alpha=0.6 if repaired else 1.0, edgecolor="k", lw=0.3)
        ax.errorbar(i, g["mean_gap"], yerr=[[g["mean_gap"] - g["min_gap"]], [g["max_gap"] - g["mean_gap"]]],
                    color="k", lw=0.6, capsize=2)
        ax.text(i, g["max_gap"] * 1.3 + 1e-7, f"{g['at_optimum']}/{g['pairs']}", ha="center", fontsize=6)
    ax.set_xticks(range(len(columns)), [c.replace("_repair", " +REPAIR") for c in columns], rotation=90, fontsize=7)
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_ylim(0, 10 * max(g["max_gap"] for column in columns for g in [gaps[column][m]]))
    ax.set(ylabel="barrier - optimum (population loss)",
           title=f"Gap to the certified optimum, m = {m}\n(mean over pairs; lines: min to max;\n"
                 "numbers: pairs at the optimum)")


EXPERIMENT = Experiment("matching", "every alignment method with and without REPAIR vs the certified optimum: "
                        "barrier and wall time vs m", configs, run, summarize, version=2, order=90)
