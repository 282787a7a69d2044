"""The figures of ``regimes``, drawn from its analysis (``regimes_analysis.analyse``) and the table of
runs (the single pairs): the width curves per scheme and d (``plot``) and the Luo et al. phase
diagram (``plot_phase``, with its points as CSV columns: ``phase_columns``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..common import figure, fixed_log_ticks
from .regimes_analysis import converged_pairs, curve_runs, scheme_rows
from .regimes_schemes import RATES, SCHEMES, Scheme
from .regimes_table import interval_text

if TYPE_CHECKING:
    import pandas as pd

#: values below this are drawn at it on the log axes of the width curves
DRAWN_FLOOR = 1e-8
#: the phase figure's gamma axis ends here (SmallScale(1e-3) reaches it at m = 1e6 ** (1 / GAMMA_MAX))
GAMMA_MAX = 8.0
#: vertical offsets for drawing only (schemes at the same point of the plane)
DRAWN_SHIFT = {"lecun": -0.15}
SMALL_FIRST_SHOWN = int(np.ceil(1e6 ** (1 / GAMMA_MAX)))
MARKERS = {"small": "s", "pytorch": "o", "lecun": "^", "meanfield": "D"}


def plot(analysis: dict, table: pd.DataFrame):
    """One row per scheme, one column per d: the prediction (line, band +-1 s.e.), GD's median
    barrier mod P per width at each rate (line; dots: the converged pairs) and its plain barrier
    (dotted)."""
    curves = curve_runs(table)
    schemes = [Scheme(name) for name in analysis["schemes"]]
    ds = [int(d) for d in np.unique(curves["d"])]
    fig, axes = figure(len(ds), nrows=len(schemes), width=4.6, height=4.2)
    axes = np.atleast_2d(axes)
    for row, scheme in enumerate(schemes):
        init = SCHEMES[scheme]
        entry = analysis["schemes"][scheme.value]
        sel = scheme_rows(curves, scheme)
        for col, d in enumerate(ds):
            ax = axes[row, col]
            panel = sel[sel["d"] == d]
            widths = np.unique(panel["m"]).astype(int)
            if not len(panel):  # a scheme run at fewer d (LeCun in the paper profile)
                ax.axis("off")
                ax.text(0.5, 0.5, f"{scheme.value}: not run at d={d} in this profile", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9)
                continue
            pred = entry.get("prediction", {}).get(str(d))
            if pred is not None:
                from_k = np.array(list(pred["by_m"]))
                mean, sem = np.array(list(pred["by_m"].values())), np.array(list(pred["sem_by_m"].values()))
                ax.plot(from_k, np.maximum(mean, DRAWN_FLOOR), "k-", lw=1.3,
                        label=f"prediction: {pred['label']} (band: ±1 s.e.)")
                ax.fill_between(from_k, np.maximum(mean - sem, DRAWN_FLOOR), np.maximum(mean + sem, DRAWN_FLOOR),
                                color="k", alpha=0.15, lw=0)
            for (rate,), cell in panel.groupby(["lr_rel"]):
                summary = entry[f"d={d} lr_rel={rate:g}"]
                if "median_by_m" in summary:
                    _draw_cell(ax, summary, converged_pairs(cell), rate)
            ax.set(xscale="log", yscale="log", ylim=(DRAWN_FLOOR, None))
            if widths.size:
                fixed_log_ticks(ax.xaxis, widths)
            at = sorted({init.regime(int(m)).value for m in widths if m >= 2}) or ["-"]
            ax.set(xlabel="student width m (neurons)", ylabel="loss barrier (population)",
                   title=f"{scheme.value}: {'/'.join(at)} at these m ({init.regime().value} limit), d={d}")
            ax.title.set_fontsize(9)
            ax.text(0.02, 0.03, "values < 1e-8 drawn at 1e-8", transform=ax.transAxes, fontsize=7)
            if d == (10 if 10 in ds else ds[0]):  # the column with both rates
                ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    fig.tight_layout()
    return fig


def _draw_cell(ax, summary: dict, pairs: pd.DataFrame, rate: float) -> None:
    """One rate's medians per width (solid at the lower rate, dashed inside the window), its pairs
    (dots) and its plain barrier's medians (dotted), in one colour."""
    style = "-" if rate == RATES["below"] else "--"
    x = np.array(list(summary["median_by_m"]), dtype=float)
    y = np.array(list(summary["median_by_m"].values()))
    line, = ax.plot(x, np.maximum(y, DRAWN_FLOOR), "o" + style, ms=4,
                    label=f"GD mod P, lr_rel={rate:g} (median, 95% CI; dots: pairs)")
    ci = {int(m): v for m, v in summary.get("median_ci95_by_m", {}).items()}  # keys int, or str from JSON
    with_ci = [i for i, m in enumerate(x) if int(m) in ci]
    if with_ci:
        lo, hi = np.array([ci[int(x[i])] for i in with_ci]).T
        mid = np.maximum(y[with_ci], DRAWN_FLOOR)
        ax.errorbar(x[with_ci], mid, yerr=[mid - np.maximum(lo, DRAWN_FLOOR), np.maximum(hi, DRAWN_FLOOR) - mid],
                    fmt="none", ecolor=line.get_color(), capsize=2, lw=1)
    ax.plot(pairs["m"].to_numpy(), np.maximum(pairs["weights"].to_numpy(), DRAWN_FLOOR), ".", color=line.get_color(),
            alpha=0.3, ms=3)
    if summary.get("tail_intercept") is not None:  # the fitted tail line over the tail widths
        m = np.array(summary["tail_widths"], dtype=float)
        ax.plot(m, np.exp(summary["tail_intercept"]) * m ** summary["tail_slope"], "-.", color=line.get_color(),
                lw=1, label=f"tail fit, lr_rel={rate:g} (log-log least squares on the pairs)")
        ax.text(0.98, 0.10 + 0.07 * (rate != RATES["below"]), "tail exponent "
                + interval_text(summary["tail_slope"], summary.get("tail_slope_ci95")),
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=line.get_color())
    yp = np.array(list(summary["plain_median_by_m"].values()))
    ax.plot(x, np.maximum(yp, DRAWN_FLOOR), ":", color=line.get_color(), label=f"GD plain, lr_rel={rate:g} (median)")


def _phase_cell(entry: dict) -> dict:
    """A scheme's cell at d = 10 and the lower rate: the one the phase diagram shows."""
    return entry.get(f"d=10 lr_rel={RATES['below']:g}", {})


def _neff_by_m(cell: dict) -> dict[int, float]:
    return {int(m): v for m, v in cell.get("neff_rel_by_m", {}).items()}  # keys int, or str from JSON


def _phase_path(name: str, entry: dict) -> tuple[np.ndarray, np.ndarray]:
    """A scheme's widths and its effective exponents (gamma, gamma') at each, gamma' shifted by
    DRAWN_SHIFT (LeCun sits on PyTorch's limit point: drawn lower)."""
    init = SCHEMES[Scheme(name)]
    ms = np.array(sorted(int(m) for m in entry["effective_gamma_by_m"]), dtype=int)
    pts = np.array([[init.exponents(int(m)).gamma, init.exponents(int(m)).gamma_prime] for m in ms])
    pts[:, 1] += DRAWN_SHIFT.get(name, 0.0)
    return ms, pts


def phase_columns(analysis: dict) -> dict[str, list]:
    """The phase diagram's points as CSV columns: per scheme and width, the effective exponents
    (``gamma_prime_eff`` the scheme's own; ``gamma_prime_drawn`` where it is drawn, ``_phase_path``),
    N_eff/m, and the tail exponent of the scheme's d = 10 lower-rate cell (one fit over its tail
    widths, repeated on each of its rows)."""
    rows: dict[str, list] = {"scheme": [], "m": [], "gamma_eff": [], "gamma_prime_eff": [], "gamma_prime_drawn": [],
                             "neff_rel": [], "scheme_tail_slope_d10": []}
    for name, entry in analysis["schemes"].items():
        cell = _phase_cell(entry)
        neff = _neff_by_m(cell)
        for m, (x, y) in zip(*_phase_path(name, entry)):
            rows["scheme"].append(name)
            rows["m"].append(int(m))
            rows["gamma_eff"].append(x)
            rows["gamma_prime_eff"].append(y - DRAWN_SHIFT.get(name, 0.0))
            rows["gamma_prime_drawn"].append(y)
            rows["neff_rel"].append(neff.get(int(m), np.nan))
            rows["scheme_tail_slope_d10"].append(cell.get("tail_slope", np.nan))
    return rows


def plot_phase(analysis: dict):
    """The Luo et al. plane: each scheme at its effective location per width (a path toward its
    limit), coloured by the tail exponent (left) and by N_eff/m (right); boundaries drawn."""
    import matplotlib as mpl

    fig, axes = figure(2, width=5.6, height=4.6)
    slope_norm = mpl.colors.Normalize(-2.0, 0.5)
    neff_norm = mpl.colors.Normalize(0.0, 0.6)
    for ax, what in zip(axes, ("tail_slope", "neff_rel")):
        ax.plot([1, 1], [-1.5, 0], "k-", lw=1.2)
        ax.plot([1, GAMMA_MAX], [0, GAMMA_MAX - 1], "k-", lw=1.2, label="critical boundary (Luo et al.)")
        ax.text(0.3, 1.2, "linear", fontsize=10)
        ax.text(3.5, 0.3, "condensed", fontsize=10)
        ax.text(GAMMA_MAX - 0.1, -1.4, f"small, m < {SMALL_FIRST_SHOWN}: γ > {GAMMA_MAX} (off the axis)",
                fontsize=7, ha="right")
        for name, entry in analysis["schemes"].items():
            cell = _phase_cell(entry)
            neff = _neff_by_m(cell)
            ms, pts = _phase_path(name, entry)
            shift = DRAWN_SHIFT.get(name, 0.0)
            lim = entry["limit"]
            ax.plot(pts[:, 0], pts[:, 1], "-", color="0.6", lw=0.8)
            ax.plot([pts[-1, 0], lim["gamma"]], [pts[-1, 1], lim["gamma_prime"]], ":", color="0.6", lw=0.8)
            ax.plot(lim["gamma"], lim["gamma_prime"] + shift, MARKERS[name], mfc="none", mec="k", ms=9)
            for m, (x, y) in zip(ms, pts):
                if what == "tail_slope":
                    v = cell.get("tail_slope", np.nan)
                    color = mpl.cm.coolwarm(slope_norm(v)) if np.isfinite(v) else "0.8"
                else:
                    v = neff.get(int(m), np.nan)
                    color = mpl.cm.viridis(neff_norm(v)) if np.isfinite(v) else "0.8"
                ax.plot(x, y, MARKERS[name], color=color, mec="k", ms=6)
            label = name + (f" (drawn {-shift:g} lower)" if shift else "")
            if what == "tail_slope" and cell.get("tail_slope") is not None:
                label += ": " + interval_text(cell["tail_slope"], cell.get("tail_slope_ci95"))
            ax.annotate(label, (pts[-1, 0], pts[-1, 1]), textcoords="offset points",
                        xytext=(4, -13) if shift or name == "small" else (4, 5), fontsize=7)
        ax.set(xlabel="γ = -log(β₁β₂/α) / log m  (effective at each m; open: m → ∞)",
               ylabel="γ' = -log(β₁/β₂) / log m", xlim=(-0.3, GAMMA_MAX), ylim=(-1.5, 1.5))
        sm = mpl.cm.ScalarMappable(norm=slope_norm if what == "tail_slope" else neff_norm,
                                   cmap="coolwarm" if what == "tail_slope" else "viridis")
        fig.colorbar(sm, ax=ax, label="tail exponent of barrier mod P (d=10, one fit per scheme)"
                     if what == "tail_slope" else "N_eff / m (median, d=10)")
        ax.set_title("phase diagram: " + ("tail exponent [95% CI], d=10" if what == "tail_slope"
                                          else "N_eff / m per m"))
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig
