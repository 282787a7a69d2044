"""width_frozen: the width experiment in the setting of Zhan et al.'s group's earlier work: inputs
uniform on the sphere and students whose output layer is frozen at a_i = 1, for several teacher
widths M (M orthonormal rays in R^d, b_j = 1), beside the same students with trained outputs.

Two students per run, trained by population GD from a small initialisation; the barrier modulo
permutation (weights matching) and each student's final loss, versus m / M. The theory drawn is
the exact barrier between sampled condensed minima of the same setting (section 2 of
docs/theory.md: with frozen outputs the mismatch D vanishes, so two global minima are linearly
connected modulo permutation unless their ray counts force cross-ray pairs). A GD solution that
is not a global minimum (final loss above ``GLOBAL_LOSS``) is counted apart: with frozen outputs
at m = M, GD can settle with two neurons on one ray and a ray uncovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from twolayer.random import child

from ..common import BARRIER_ZERO, FigureDir, GDConfig, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import by_key, group_stats
from .width import THEORY_PAIRS, sampled_prediction

if TYPE_CHECKING:
    import pandas as pd

#: a final population loss at most this is a global minimum (GD stops at tol = 1e-9)
GLOBAL_LOSS = 1e-6
#: values below this are drawn on the bottom of the log axis
FLOOR = 1e-7


@dataclass(frozen=True)
class SphereConfig(GDConfig):
    """``GDConfig`` with sphere inputs; ``train_output`` False freezes a_i = 1 (k is M)."""

    train_output: bool = False

    def teacher(self) -> tl.Teacher:
        return tl.Teacher.orthonormal(self.k, self.d, inputs="sphere")

    def students(self, seq, count: int, checkpoints=None) -> list[tl.TrainResult]:
        objective = tl.Population(self.teacher())
        return [tl.train(tl.Student.init(self.m, self.d, self.init_scale, child(seq, i), balanced=True,
                                         train_output=self.train_output), objective, "gd", lr=self.lr,
                         steps=self.steps, tol=self.tol, checkpoints=checkpoints)
                for i in range(count)]


#: m / M on the grid; the paper profile steps by a quarter from 1 to 3, so that odd and even multiples
#: of M and the widths between them are apart (only ratios with an integer m = M ratio are run)
PAPER_RATIOS = (0.5, 1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 2.75, 3, 4, 6, 8)
#: the paper profile's largest m / M for M >= 8: ratios 6 and 8 there (m = 48, 64, 96, 128) took 45 % of
#: the sweep's compute (1 547 of 3 458 s in a stored paper sweep) and back no claim; full runs them
PAPER_MAX_RATIO_LARGE_M = 4


def configs(profile: Profile) -> list[SphereConfig]:
    match profile:
        case Profile.QUICK:
            teachers, reps, ratios, max_ratio_large_M = (2, 4), 2, (0.5, 1, 1.5, 2, 3, 4), None
        case Profile.PAPER:
            teachers, reps, ratios, max_ratio_large_M = (2, 4, 8, 16), 20, PAPER_RATIOS, PAPER_MAX_RATIO_LARGE_M
        case Profile.FULL:  # paper's grid with every ratio for every M
            teachers, reps, ratios, max_ratio_large_M = (2, 4, 8, 16), 20, PAPER_RATIOS, None
        case _:
            unknown(profile)

    def on_grid(M: int, ratio: float) -> bool:
        capped = max_ratio_large_M is not None and M >= 8 and ratio > max_ratio_large_M
        return float(M * ratio).is_integer() and not capped

    return [SphereConfig(k=M, d=16, m=int(M * ratio), train_output=trained, replicate=r)
            for trained in (False, True) for M in teachers for ratio in ratios
            if on_grid(M, ratio) for r in range(reps)]


def run(cfg: SphereConfig, seq) -> dict:
    objective = tl.Population(cfg.teacher())
    runs = cfg.students(seq, 2)
    A, B = runs[0].net, runs[1].net
    return {"loss_A": runs[0].final_loss, "loss_B": runs[1].final_loss,
            "diverged": runs[0].diverged or runs[1].diverged,
            "weights": tl.barrier_modulo_permutation(A, B, objective, method="weights").value,
            "plain": tl.barrier(A, B, objective).value}


def exact_zeros(global_pairs: pd.DataFrame, M: int, theory_zero: dict[float, float]) -> dict:
    """Among pairs whose students both reach a global minimum, per m / M: how many are connected exactly
    (barrier mod P at most BARRIER_ZERO), as "zeros/pairs" with a Clopper-Pearson 95% interval, beside
    the fraction the sampled-minima theory predicts (two sampled minima with equal neuron counts on
    every ray; THEORY_PAIRS pairs, its own interval from the same binomial). With frozen outputs,
    neurons on one ray interpolate exactly, so equal counts give an exact zero; the prediction decides
    whether GD's counts are as random as the sampler's or more even (more zeros)."""
    out: dict = {"zeros_global_pairs_by_ratio": {}, "zeros_global_ci95_by_ratio": {},
                 "theory_zero_fraction_by_ratio": {}, "theory_zero_ci95_by_ratio": {}}
    for m in np.unique(global_pairs["m"]) if len(global_pairs) else []:
        ratio = float(m / M)
        values = global_pairs["weights"].to_numpy()[(global_pairs["m"] == m).to_numpy()]
        zeros = int(np.sum(values <= BARRIER_ZERO))
        out["zeros_global_pairs_by_ratio"][ratio] = f"{zeros}/{values.size}"
        out["zeros_global_ci95_by_ratio"][ratio] = fits.clopper_pearson(zeros, values.size)
        if ratio in theory_zero:
            hits = int(round(theory_zero[ratio] * THEORY_PAIRS))
            out["theory_zero_fraction_by_ratio"][ratio] = float(theory_zero[ratio])
            out["theory_zero_ci95_by_ratio"][ratio] = fits.clopper_pearson(hits, THEORY_PAIRS)
    return out


def _cells(table: pd.DataFrame) -> list[tuple[bool, int, pd.DataFrame]]:
    """(trained outputs?, M, its runs) per mode and teacher width, in that order, each with the
    columns ``ratio`` = m / M and ``global_pair`` (both students' final loss <= GLOBAL_LOSS)."""
    table = table.assign(global_pair=np.maximum(table["loss_A"], table["loss_B"]) <= GLOBAL_LOSS)
    return [(bool(trained), M, sel.assign(ratio=sel["m"] / M))
            for trained, part in table.groupby("train_output") for M, sel in part.groupby("k")]


def _theory_widths(sel: pd.DataFrame, M: int) -> np.ndarray:
    """The widths of a cell that the sampled-minima theory covers: m >= M (a neuron per ray)."""
    widths = np.unique(sel["m"]).astype(int)
    return widths[widths >= M]


def _mode(trained: bool) -> str:
    """The word for outputs trained or frozen in the JSON's keys."""
    return "trained" if trained else "frozen"


def _cell_name(trained: bool, M: int) -> str:
    """The JSON key of a cell (mode, M)."""
    return f"M={M}, {_mode(trained)}"


def sampled_theory(table: pd.DataFrame, store) -> dict[str, dict[str, np.ndarray]]:
    """Per cell (``_cell_name``): the barrier between sampled global minima of its setting over its
    ``_theory_widths`` (``width.sampled_prediction``: mean, sem, numerical and zero fractions),
    computed once and kept in the store."""
    return {_cell_name(trained, M): sampled_prediction(
        store, tl.Teacher.orthonormal(M, int(sel["d"].iloc[0]), inputs="sphere"), _theory_widths(sel, M),
        train_output=trained) for trained, M, sel in _cells(table)}


def analyse(table: pd.DataFrame, theory: dict[str, dict[str, np.ndarray]]) -> dict:
    """Per cell (mode, M), per ratio m / M: the mean barrier mod P B over all pairs and over the
    pairs both at a global minimum, the fraction of pairs both at a global minimum, the fraction
    with B <= BARRIER_ZERO, ``exact_zeros``, and the sampled-minima theory's mean (``theory``, from
    ``sampled_theory``); over m >= M, the ratio of the lowest mean B (the dip) and of the highest
    (``theory.fits.extremum``: the vertex of the parabola in log m through the top and its
    neighbours). Per mode, the pairs with B <= BARRIER_ZERO at m = M summed over M, with a
    Clopper-Pearson 95% interval. Pure: no drawing, no files."""
    out: dict = {}
    zeros: dict[bool, list[tuple[int, int]]] = {False: [], True: []}  # per mode and M: (zero pairs, pairs) at m = M
    for trained, M, sel in _cells(table):
        g = group_stats(sel, "ratio", "weights")
        x, mean = g.index.to_numpy(), g["value"].to_numpy()
        over = x >= 1
        predicted = theory[_cell_name(trained, M)]
        theory_ratios = list(map(float, _theory_widths(sel, M) / M))
        at_M = sel["weights"].to_numpy()[(sel["m"] == M).to_numpy()]
        zeros[trained].append((int(np.sum(at_M <= BARRIER_ZERO)), at_M.size))
        out[_cell_name(trained, M)] = {
            "barrier_by_ratio": by_key(g["value"]),
            "global_minimum_fraction_by_ratio": by_key(group_stats(sel, "ratio", "global_pair")["value"]),
            "barrier_global_pairs_by_ratio": by_key(group_stats(sel[sel["global_pair"]], "ratio", "weights")["value"]),
            "theory_by_ratio": dict(zip(theory_ratios, map(float, predicted["mean"]))),
            "dip_ratio": float(x[over][np.argmin(mean[over])]),
            "peak_ratio": fits.extremum(x[over], mean[over], "max"),
            "zero_fraction_by_ratio": by_key(group_stats(sel, "ratio", "weights", keep=None,
                                                         stat=lambda v: float(np.mean(v <= BARRIER_ZERO)))["value"]),
            **exact_zeros(sel[sel["global_pair"]], M, dict(zip(theory_ratios, predicted["zero"]))),
        }
    for trained, counts in zeros.items():
        if counts:
            zero, n = (int(v) for v in np.sum(counts, axis=0))
            out[f"{_mode(trained)}: zero barrier at m = M, all M"] = {"pairs": f"{zero}/{n}",
                                                                     "ci95": fits.clopper_pearson(zero, n)}
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """Barriers mod P against m / M (frozen, trained) with the theory; the fraction of pairs at a
    global minimum; the rate of exact zeros among global pairs (frozen) with the theory's."""
    # barriers: frozen, trained; then global minima reached; then exact zeros among global pairs (frozen)
    fig, grid = figure(2, width=5.0, height=4.2, nrows=2)
    axes = grid.ravel()
    markers = {2: "o", 4: "s", 8: "^", 16: "D"}
    colors = {M: f"C{i}" for i, M in enumerate(np.unique(table["k"]))}
    for trained, M, sel in _cells(table):
        mode = "trained outputs" if trained else "frozen outputs"
        ax, ls = axes[int(trained)], "--" if trained else "-"
        g = group_stats(sel, "ratio", "weights")
        ax.errorbar(g.index.to_numpy(), np.maximum(g["value"].to_numpy(), FLOOR), g["sem"].to_numpy(),
                    marker=markers.get(M, "x"), ls=ls, capsize=2,
                    color=colors[M], label=f"GD, M={M}")
        ok = analysis[_cell_name(trained, M)]["global_minimum_fraction_by_ratio"]
        axes[2].plot(list(ok), list(ok.values()), marker=markers.get(M, "x"), ls=ls, color=colors[M],
                     label=f"M={M}, {mode}")
        th = analysis[_cell_name(trained, M)]["theory_by_ratio"]
        ax.plot(list(th), np.maximum(list(th.values()), FLOOR), marker=markers.get(M, "x"), ls=":",
                color=colors[M], mfc="w", lw=1)
    for M in np.unique(table["k"]):
        entry = analysis.get(_cell_name(False, M), {})
        got = entry.get("zeros_global_pairs_by_ratio", {})
        if got:
            x = np.array(list(got))
            rate = np.array([int(v.split("/")[0]) / int(v.split("/")[1]) for v in got.values()])
            ci = np.array([entry["zeros_global_ci95_by_ratio"][r] for r in got]).T
            axes[3].errorbar(x, rate, yerr=[rate - ci[0], ci[1] - rate], marker=markers.get(M, "x"), capsize=2,
                             color=colors[M], label=f"GD, M={M}")
            th = entry["theory_zero_fraction_by_ratio"]
            axes[3].plot(list(th), list(th.values()), ls=":", marker=markers.get(M, "x"), mfc="w", color=colors[M])
    axes[3].plot([], [], "k:", marker="o", mfc="w", label="theory: sampled global minima")
    axes[3].set(xscale="log", xlabel="student width / teacher width (m / M)", ylim=(-0.05, 1.45),  # legend room
                ylabel="fraction of global pairs with barrier exactly 0",
                title="Frozen outputs: exact connections (95% CP)")
    axes[3].set_yticks(np.linspace(0, 1, 6))
    axes[3].legend(fontsize=7, loc="upper center", ncol=3)
    for ax, mode in zip(axes[:2], ("frozen outputs (a_i = 1)", "trained outputs")):
        ax.plot([], [], "k:", marker="o", mfc="w", label="theory: sampled global minima")
        ax.set(xscale="log", yscale="log", xlabel="student width / teacher width (m / M)",
               ylabel="loss barrier mod P (population, sup over t)", ylim=(FLOOR / 2, 10.0),  # legend room
               title=f"Sphere inputs, {mode}")
        ax.text(0.98, 0.02, f"values < {FLOOR:g} drawn at the bottom", transform=ax.transAxes, fontsize=7,
                ha="right")
        ax.legend(fontsize=7, loc="upper right", ncol=2)
    axes[2].set(xscale="log", xlabel="student width / teacher width (m / M)", ylim=(-0.05, 1.05),
                ylabel="fraction of pairs both at a global minimum", title=f"GD reaches R <= {GLOBAL_LOSS:g}")
    for ax in axes:
        fixed_log_ticks(ax.xaxis, (0.5, 1, 2, 4, 8, 16))
    axes[2].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    fig.tight_layout()
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, sampled_theory(table, store))
    columns = table[["k", "d", "m", "train_output", "replicate", "weights", "plain", "loss_A",
                     "loss_B"]].to_dict("list")
    return save(plot(analysis, table), "width_frozen", out, columns, analysis)


EXPERIMENT = Experiment("width_frozen", "sphere inputs, frozen vs trained outputs: barrier mod P vs m/M for several "
                        "teacher widths M", configs, run, summarize, order=20)
