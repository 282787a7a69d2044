"""lr_dynamics: what happens at the learning-rate transition, along training.

For one width (m = 64; 32 in the quick profile; s = 1, unbalanced, population GD) and rates below, at, inside and above
the transition (``lr`` experiment), the first student of each run is traced: the population
loss at every step, and at log-spaced checkpoints the sharpness lambda_max(H(theta_t)) (exact
Hessian) and the sparsity N_eff/m. Sharpness is drawn as eta lambda_max / 2, so that 1 is the
edge of stability (GD is linearly unstable above it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..common import FigureDir, figure, save
from ..experiment import Experiment
from ..table import long
from .lr import RATE_LABEL, Variant, dynamics_configs, run

if TYPE_CHECKING:
    import pandas as pd

#: a diverged run is clipped at this multiple of the largest value of the runs that did not diverge
CLIP = 10.0


def by_rate(table: pd.DataFrame) -> list[dict]:
    """The runs as {column: value}, by increasing rate ``lr_rel`` (ties in table order)."""
    return table.sort_values("lr_rel", kind="stable").to_dict("records")


def analyse(table: pd.DataFrame) -> dict:
    """The rate's unit, and per run (key "lr_rel=..."): whether it diverged; the traced student's
    population loss R(θ_t) at the start, at its peak over the trace (and the step of that peak) and
    at the end; its sharpness in units of the stability limit, η λ_max(H(θ_t)) / 2, at the first
    and the last checkpoint; its sparsity N_eff / m at the first and the last checkpoint.
    Pure: no drawing, no files."""
    out: dict = {"rate_unit": RATE_LABEL}
    for r in by_rate(table):
        eta, loss = float(r["eta"][0]), np.asarray(r["trace_loss"])
        out[f"lr_rel={r['lr_rel']:g}"] = {
            "diverged": bool(r["diverged"][0]), "loss_initial": float(loss[0]), "loss_peak": float(np.max(loss)),
            "loss_peak_step": int(r["trace_loss_step"][int(np.argmax(loss))]), "loss_final": float(loss[-1]),
            "sharpness_x_eta_over_2_initial": float(eta * r["trace_sharpness"][0] / 2),
            "sharpness_x_eta_over_2_final": float(eta * r["trace_sharpness"][-1] / 2),
            "neff_rel_initial": float(r["trace_neff_rel"][0]), "neff_rel_final": float(r["trace_neff_rel"][-1])}
    return out


def plot(analysis: dict, table: pd.DataFrame):
    """Per run, by increasing rate: the loss along training, the sharpness η λ_max / 2 and N_eff / m
    at the checkpoints; a diverged run clipped at ``CLIP`` times the largest value of the others.
    Every curve is a run's trace, from ``table``: no number of ``analysis`` is drawn."""
    fig, (ax_loss, ax_sharp, ax_neff) = figure(3, width=5.0, height=4.0)
    runs = by_rate(table)
    settled = [r for r in runs if not r["diverged"][0]]
    # a diverged run is drawn up to CLIP times the highest value of the others, then marked, so
    # that its blow-up does not squash every other curve
    loss_top = CLIP * max((np.max(r["trace_loss"]) for r in settled), default=np.inf)
    sharp_top = CLIP * max((np.max(r["eta"][0] * r["trace_sharpness"] / 2) for r in settled), default=np.inf)
    for r in runs:
        eta = float(r["eta"][0])
        label = f"η_rel = {r['lr_rel']:g}" + ("  (diverged: clipped, ▲)" if r["diverged"][0] else "")
        steps, loss = np.maximum(r["trace_loss_step"], 0.5), np.asarray(r["trace_loss"])
        line, = ax_loss.plot(steps, np.minimum(loss, loss_top), lw=1, label=label)
        sharp = eta * np.asarray(r["trace_sharpness"]) / 2
        ax_sharp.plot(r["trace_step"], np.minimum(sharp, sharp_top), marker="o", ms=3, color=line.get_color(),
                      label=label)
        for ax, x, y, top in ((ax_loss, steps, loss, loss_top), (ax_sharp, r["trace_step"], sharp, sharp_top)):
            over = y > top
            if over.any():
                ax.plot(np.asarray(x)[over][:1], [top], "^", color=line.get_color(), ms=8)
        ax_neff.plot(r["trace_step"], r["trace_neff_rel"], marker="o", ms=3, color=line.get_color(), label=label)
    ax_loss.set(xscale="log", yscale="log", xlabel="GD step (step 0 drawn at 0.5)", ylabel="population loss R(θ_t)",
                title="loss along training")
    ax_sharp.axhline(1.0, color="k", ls="--", lw=0.8, label="edge of stability, η λ_max / 2 = 1")
    ax_sharp.set(xscale="log", yscale="log", xlabel="GD step", ylabel="η λ_max(H(θ_t)) / 2",
                 title="sharpness in units of the stability limit")
    ax_neff.set(xscale="log", xlabel="GD step", ylabel="N_eff / m", title="sparsity along training", ylim=(0, None))
    first = runs[0]
    fig.suptitle(f"{Variant(first['variant']).value}, m={first['m']}, s={first['init_scale']:g}, "
                 f"{'balanced' if first['balanced'] else 'unbalanced'} init; η in units of 2/λ_max(H(θ₀))")
    for ax in (ax_loss, ax_sharp, ax_neff):
        ax.legend(fontsize=7)
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table)
    columns = long(table, ("lr_rel",), ("trace_sharpness", "trace_neff_rel", "trace_step"))
    return save(plot(analysis, table), "lr_dynamics", out, columns, analysis)


EXPERIMENT = Experiment("lr_dynamics", "loss, sharpness and sparsity along training below, at, inside and above "
                        "the learning-rate transition", dynamics_configs, run, summarize, order=40)
