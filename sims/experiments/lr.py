"""lr: the learning-rate sparsity transition as a phase diagram over rate x initialisation scale.

Every run trains two students (independent initialisations theta_0) with the same relative
rate

    eta_rel = eta / (2 / lambda_max(H(theta_0))),

the learning rate in units of the linear-stability limit at the student's own
initialisation (exact population Hessian, ``twolayer.sharpness``), so that runs of different
widths, scales and scalings can be overlaid. It records for each student: the three
sharpnesses of the predicted window (``theory.stability.lr_window``), divergence, the final
loss and sharpness, and three sparsity measures of the output mass c_i = c |a_i| |w_i|:

* ``neff_rel``: participation ratio (sum c_i)^2 / sum c_i^2 divided by m (the figure's measure),
* ``active``: neurons with c_i >= ACTIVE_FRACTION * max_l c_l,
* ``per_direction``: active neurons within COS_ALIGNED of a teacher direction, mean over the k
  directions; ``aligned_mass``: the share of the output mass on such neurons;

and, for the pair, the barrier modulo permutation (weights matching) and the plain barrier.

Variants (``Variant``): population GD with trained outputs (standard scaling), frozen outputs
(a_i = 1), mean-field scaling (c = 1/m), and online SGD (fresh Gaussian samples each step).
Profiles: a phase grid (rate x scale, balanced and unbalanced) at one width, width cuts at
s = 1, and the other variants at s = 1; the paper profile has a finer rate grid and more seeds, the
full profile every variant on the phase grid, m up to 256 and 8 seeds a cell.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from theory.stability import lr_window
from twolayer.random import child, named_child
from twolayer.validation import check_positive_float, check_positive_int

from ..common import FigureDir, figure, fixed_log_ticks, save
from ..experiment import Experiment, config_dict
from ..profile import Profile, unknown
from ..table import long, pivot

if TYPE_CHECKING:
    import pandas as pd


class Variant(str, enum.Enum):
    """How the students are trained (one type for the mode, read in one place: ``_train``)."""

    GD = "gd"  # population GD, trained outputs, standard scaling
    FROZEN = "frozen"  # population GD, output layer frozen at a_i = 1
    MEANFIELD = "meanfield"  # population GD, c = 1/m
    ONLINE = "online"  # online SGD: a fresh batch of Gaussian inputs every step


#: neurons with output mass at least this fraction of the largest count as active
ACTIVE_FRACTION = 1e-2
#: a neuron within this cosine of a teacher direction is aligned with it
COS_ALIGNED = 0.99
#: a run whose final population loss is at most this has converged to a minimum
CONVERGED_LOSS = 1e-6
#: neurons with |w_i| below this fraction of the largest sit on the kink of the loss at w_i = 0
KINK_NORM = 1e-3
#: runs per config: two students, for the barrier between them
PAIR = 2
RATE_LABEL = "learning rate η / (2/λ_max(H(θ₀)))"


@dataclass(frozen=True)
class LrConfig:
    """One cell of the phase diagram and one replicate: orthonormal teacher (k rays in R^d),
    width m, initialisation scale ``init_scale`` (``balanced``: |a_i| = |w_i|; trained outputs
    only), training ``variant``, relative rate ``lr_rel`` (units of 2/lambda_max(H(theta_0))),
    at most ``steps`` updates, stopping at loss ``tol``; ``batch`` inputs per online-SGD step;
    ``trace`` > 0 records sharpness and sparsity of the first student at that many log-spaced
    steps (and its loss at every step)."""

    k: int = 2
    d: int = 10
    m: int = 32
    init_scale: float = 1.0
    balanced: bool = False
    variant: Variant = Variant.GD
    lr_rel: float = 1.0
    steps: int = 20_000
    tol: float = 1e-10
    batch: int = 32
    trace: int = 0
    replicate: int = 0

    def __post_init__(self):
        for name in ("k", "d", "m", "steps", "batch"):
            check_positive_int(name, getattr(self, name))
        for name in ("replicate", "trace"):
            check_positive_int(name, getattr(self, name), minimum=0)
        for name in ("init_scale", "lr_rel", "tol"):
            check_positive_float(name, getattr(self, name))
        try:
            object.__setattr__(self, "variant", Variant(self.variant))
        except ValueError:
            allowed = ", ".join(v.value for v in Variant)
            raise ValueError(f"variant must be one of {allowed}; got {self.variant!r}") from None
        if not isinstance(self.balanced, bool):
            raise ValueError(f"balanced must be true or false; got {self.balanced!r}")
        if self.balanced and self.variant is Variant.FROZEN:
            raise ValueError("balanced must be false for variant frozen (its output weights are fixed at 1)")
        if self.k > self.d:
            raise ValueError(f"k must be <= d for an orthonormal teacher; got k={self.k}, d={self.d}")

    def teacher(self) -> tl.Teacher:
        return tl.Teacher.orthonormal(self.k, self.d)

    def init_streams(self, seq: np.random.SeedSequence) -> list[np.random.SeedSequence]:
        """The pair's initialisation streams: common to every rate (and step budget) of a cell and
        replicate, so that each replicate's sparsity-versus-rate curve starts from the same two
        initialisations (common random numbers); only the root seed of ``seq`` enters. The
        streams are named as the runner names a run's (``runner.run_seed``), by the experiment
        "lr-init" and the cell's config with the rate and budget fields at fixed values."""
        shared = dataclasses.replace(self, lr_rel=1.0, steps=1, tol=1.0, batch=1, trace=0)
        base = named_child(int(seq.entropy), {"experiment": "lr-init", "config": config_dict(shared)})
        return [child(base, i) for i in range(PAIR)]

    def init(self, seq: np.random.SeedSequence) -> tl.Student:
        frozen = self.variant is Variant.FROZEN
        scaling = "meanfield" if self.variant is Variant.MEANFIELD else "standard"
        return tl.Student.init(self.m, self.d, self.init_scale, seq, balanced=self.balanced,
                               scaling=scaling, train_output=not frozen)


def rate_grid(profile: Profile) -> np.ndarray:
    """eta_rel on a geometric grid from 1/4 to 4: an octave apart (quick), a quarter (paper, full)."""
    match profile:
        case Profile.QUICK:
            per_octave = 1
        case Profile.PAPER | Profile.FULL:
            per_octave = 4
        case _:
            unknown(profile)
    return np.round(2.0 ** (np.arange(-2 * per_octave, 2 * per_octave + 1) / per_octave), 6)


def configs(profile: Profile) -> list[LrConfig]:
    rates = rate_grid(profile)
    scales = (1e-3, 1e-2, 0.1, 0.3, 1.0, 2.0)
    match profile:
        case Profile.QUICK:  # one seed per cell, three scales on the phase grid, half the steps (a first look
            # in minutes: along training N_eff/m still moves until ~1e4 steps at some rates, lr_dynamics'
            # figure, and the barriers are those of less converged pairs)
            phase_m, widths, phase_reps, reps, phase_variants, cut_variants = 32, (16, 64), 1, 1, \
                (Variant.GD,), (Variant.GD,)
            scales, steps = (1e-3, 0.1, 1.0), LrConfig.steps // 2
        case Profile.PAPER:  # sized for the hour (docs/paper_profile.md: the power this gives)
            phase_m, widths, phase_reps, reps, phase_variants, cut_variants = 32, (16, 32, 64, 128), 3, 6, \
                (Variant.GD,), (Variant.GD,)
            steps = LrConfig.steps
        case Profile.FULL:  # every variant on the phase grid, m up to 256, 8 seeds a cell (hours on two cores)
            phase_m, widths, phase_reps, reps, phase_variants, cut_variants = 64, (16, 32, 64, 128, 256), 8, 8, \
                tuple(Variant), (Variant.GD, Variant.ONLINE)
            scales, steps = scales + (4.0,), LrConfig.steps
        case _:
            unknown(profile)
    out = []
    for v in phase_variants:  # the phase diagram: rate x scale at one width
        for bal in ((False,) if v is Variant.FROZEN else (False, True)):
            out += [LrConfig(m=phase_m, init_scale=s, balanced=bal, variant=v, lr_rel=float(x), replicate=r,
                             steps=steps) for s in scales for x in rates for r in range(phase_reps)]
    for v in cut_variants:  # width cuts at s = 1
        out += [LrConfig(m=m, variant=v, lr_rel=float(x), replicate=r, steps=steps) for m in widths for x in rates
                for r in range(reps)]
    out += [LrConfig(m=phase_m, variant=v, lr_rel=float(x), replicate=r, steps=steps)  # the other variants at s = 1
            for v in Variant if v is not Variant.GD for x in rates for r in range(reps)]
    return list(dict.fromkeys(out))


def dynamics_configs(profile: Profile) -> list[LrConfig]:
    """Rates below, at, inside and above the transition for one width, traced along training."""
    match profile:
        case Profile.QUICK:  # the transition and the first descent (the catapult is over by ~1e3 steps),
            # at the phase grid's width (half the cost of m = 64)
            m, trace, steps = 32, 40, 20_000
        case Profile.PAPER | Profile.FULL:  # full: as paper
            m, trace, steps = 64, 80, 100_000
        case _:
            unknown(profile)
    return [LrConfig(m=m, lr_rel=x, steps=steps, trace=trace)
            for x in (0.5, 1.26, 1.59, 2.0, 2.52)]


def _train(cfg: LrConfig, student: tl.Student, teacher: tl.Teacher, eta: float, seq, trace: bool):
    kw = {"lr": eta, "steps": cfg.steps}
    if trace:
        kw["record_every"] = 1
        kw["checkpoints"] = np.unique(np.geomspace(1, cfg.steps, cfg.trace).astype(int))
    if cfg.variant is Variant.ONLINE:
        return tl.train(student, tl.Population(teacher), "online", batch=cfg.batch, seed=seq, **kw)
    return tl.train(student, tl.Population(teacher), "gd", tol=cfg.tol, **kw)


def sparsity_measures(student: tl.Student, teacher: tl.Teacher) -> dict[str, float]:
    """The three sparsity measures of the module docstring for one student."""
    rep = tl.sparsity(student, teacher, threshold=ACTIVE_FRACTION, cos_threshold=COS_ALIGNED)
    total = rep.mass.sum()
    aligned = rep.mass[rep.alignment >= COS_ALIGNED].sum() / total if total > 0 else np.nan
    return {"neff_rel": rep.effective_neurons / student.m, "active": float(rep.active),
            "per_direction": float(rep.per_direction.mean()), "aligned_mass": float(aligned)}


def smooth_sharpness(student: tl.Student, teacher: tl.Teacher) -> float:
    """lambda_max of the Hessian over the neurons away from the kink at w_i = 0.

    R varies like |w_i| near w_i = 0 (not differentiably), and the exact Hessian of a neuron
    that GD has shrunk onto that kink has curvature ~ |a_i| / |w_i|, which describes no smooth
    direction and bounds no GD step. Such neurons (|w_i| < KINK_NORM max_l |w_l|) carry no
    output (c |a_i| |w_i| ~ 0) and are left out; the result is the sharpness of the rest,
    the quantity the edge-of-stability bound eta lambda_max / 2 <= 1 is about (the Hessian is
    restricted to the other neurons' parameters, ``twolayer.sharpness(..., neurons=...)``).
    """
    norms = np.linalg.norm(student.W, axis=1)
    return tl.sharpness(student, teacher, neurons=norms >= KINK_NORM * norms.max())


STUDENT_KEYS = ("lam_init", "lam_lazy", "lam_flat", "eta", "diverged", "loss", "lam_final",
                "neff_rel", "active", "per_direction", "aligned_mass")


def run(cfg: LrConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    per: dict[str, list] = {k: [] for k in STUDENT_KEYS}
    finals = []
    trace = {}
    for i, init_seq in enumerate(cfg.init_streams(seq)):
        start = cfg.init(init_seq)
        window = lr_window(start, teacher)
        eta = cfg.lr_rel * 2.0 / window.lambda_init
        res = _train(cfg, start, teacher, eta, child(seq, i), trace=cfg.trace > 0 and i == 0)
        diverged = bool(res.diverged or not np.isfinite(res.final_loss))
        values = {"lam_init": window.lambda_init, "lam_lazy": window.lambda_lazy, "lam_flat": window.lambda_flat,
                  "eta": eta, "diverged": float(diverged)}
        if diverged:
            values |= dict.fromkeys(("loss", "lam_final", "neff_rel", "active", "per_direction", "aligned_mass"),
                                    np.nan)
        else:
            values |= {"loss": res.final_loss, "lam_final": smooth_sharpness(res.net, teacher)}
            values |= sparsity_measures(res.net, teacher)
            finals.append(res.net)
        for k in STUDENT_KEYS:
            per[k].append(values[k])
        if cfg.trace > 0 and i == 0:
            trace = {"trace_loss_step": res.loss_steps, "trace_loss": res.losses,
                     "trace_step": np.array([s for s, _ in res.checkpoints], dtype=float),
                     "trace_sharpness": np.array([smooth_sharpness(st, teacher) for _, st in res.checkpoints]),
                     "trace_neff_rel": np.array([sparsity_measures(st, teacher)["neff_rel"]
                                                 for _, st in res.checkpoints])}
    out = {k: np.array(v, dtype=float) for k, v in per.items()} | trace
    if len(finals) == PAIR:
        out["barrier_modp"] = tl.barrier_modulo_permutation(*finals, tl.Population(teacher), method="weights").value
        out["barrier_plain"] = tl.barrier(*finals, tl.Population(teacher)).value
    else:
        out["barrier_modp"] = out["barrier_plain"] = np.nan
    return out


def cell_label(cell: tuple) -> str:
    variant, m, s, bal = cell
    return f"{Variant(variant).value} m={m} s={s:g} {'balanced' if bal else 'unbalanced'}"


def _cells(table: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """The runs of each (variant, m, s, balanced) cell."""
    return {(Variant(v).value, int(m), float(s), bool(b)): cell
            for (v, m, s, b), cell in table.groupby(["variant", "m", "init_scale", "balanced"])}


def _curves(cell: pd.DataFrame, rates, key: str) -> np.ndarray:
    """(rows, rates) array of a quantity against the rate: one row per replicate and student for a
    per-student quantity, one per replicate for a per-pair one (the barriers); NaN where a run
    diverged or is missing."""
    return pivot(cell, "replicate", "lr_rel", key, rates)


def _median(values) -> float | None:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else None


def _ratio(above, below) -> float | None:
    if above is None or below is None or below <= 0:
        return None
    return above / below


def analyse_cell(runs, rates: np.ndarray) -> dict:
    """The fitted numbers of one cell: theory window, divergence, transition and what changes across it."""
    curves = _curves(runs, rates, "neff_rel")
    window = _window_medians(runs, rates)
    diverging = rates[np.nanmean(_curves(runs, rates, "diverged"), axis=0) > 0.5]
    entry = {"seeds": int(curves.shape[0]),
             "theory_start": window["start"], "theory_catapult": window["catapult"], "theory_end": window["end"],
             "theory_transition": bool(window["start"] < window["end"]),
             "diverges_from": float(diverging.min()) if diverging.size else None,
             "neff_rel_smallest_rate": _median(curves[:, 0])}
    fit = fits.fit_transition(rates, curves)
    if fit is None:
        return entry | {"transition": None}
    sides = {}
    for key in ("neff_rel", "active", "per_direction", "aligned_mass", "barrier_modp", "barrier_plain"):
        Y = _curves(runs, rates, key)
        sides[f"{key}_below"] = _median(Y[:, rates < fit.location])
        sides[f"{key}_above"] = _median(Y[:, rates >= fit.location])
    for key in ("barrier_modp", "barrier_plain"):
        sides[f"{key}_ratio"] = _ratio(sides[f"{key}_above"], sides[f"{key}_below"])
    upper = fit.location_ci[1] if np.isfinite(fit.location_ci[1]) else None  # None: unbounded on this grid
    return entry | {"transition": {"location": fit.location, "location_ci95": [fit.location_ci[0], upper],
                                   "width_octaves": fit.width_octaves, "width_ci95": list(fit.width_ci),
                                   "curves_crossed": f"{fit.crossed}/{fit.curves}"} | sides}


def _columns(table: pd.DataFrame) -> dict[str, list]:
    """One CSV row per student: the cell fields, the per-student measures and the pair's barriers."""
    fields = ("variant", "m", "init_scale", "balanced", "lr_rel", "replicate")
    columns = long(table, fields, STUDENT_KEYS, index="student")
    columns["variant"] = [Variant(v).value for v in columns["variant"]]
    for k in ("barrier_modp", "barrier_plain"):
        columns[k] = np.repeat(table[k].to_numpy(), PAIR).tolist()
    return columns


def _rate_axis(ax) -> None:
    """Log x axis for eta_rel with plain tick labels at the octaves."""
    ax.set_xscale("log")
    fixed_log_ticks(ax.xaxis, [0.25, 0.5, 1.0, 2.0, 4.0])


def _column_medians(Y: np.ndarray) -> np.ndarray:
    """Median of each column over its finite entries (NaN for a column without any)."""
    return np.array([np.median(col[np.isfinite(col)]) if np.isfinite(col).any() else np.nan for col in Y.T])


def _log_edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges halfway (geometrically) between the points of a geometric grid."""
    mid = np.sqrt(centres[:-1] * centres[1:])
    return np.concatenate([[centres[0] ** 2 / mid[0]], mid, [centres[-1] ** 2 / mid[-1]]])


def _heatmap(ax, fig, runs_by_scale: dict[float, pd.DataFrame], rates: np.ndarray, title: str):
    """Median N_eff/m over (rate, scale); cells where most runs diverged grey with a cross."""
    from matplotlib import patheffects

    scales = np.array(sorted(runs_by_scale))
    Z = np.array([_column_medians(_curves(runs_by_scale[s], rates, "neff_rel")) for s in scales])
    diverged = np.array([np.nanmean(_curves(runs_by_scale[s], rates, "diverged"), axis=0) > 0.5 for s in scales])
    ex, ey = _log_edges(rates), _log_edges(scales)
    mesh = ax.pcolormesh(ex, ey, np.where(diverged, np.nan, Z), cmap="viridis", vmin=0, vmax=0.8)
    ax.set_facecolor("0.85")
    for i, j in zip(*np.nonzero(diverged)):
        ax.text(rates[j], scales[i], "×", ha="center", va="center", fontsize=7, color="0.35")
    windows = [_window_medians(runs_by_scale[s], rates) for s in scales]
    for name, style, label in (("start", "w--", "theory: lazy solution unstable"),
                               ("catapult", "w:", "theory: catapult edge (uv model)"),
                               ("end", "r-.", "theory: no stable zero-loss minimum")):
        xs = np.array([w[name] for w in windows])
        ax.plot(np.where((xs >= ex[0]) & (xs <= ex[-1]), xs, np.nan), scales, style, lw=1.8, label=label,
                path_effects=[patheffects.withStroke(linewidth=3.2, foreground="k" if style[0] == "w" else "w")])
    ax.set(yscale="log", xlim=(ex[0], ex[-1]), ylim=(ey[0], ey[-1]), xlabel=RATE_LABEL,
           ylabel="initialisation scale s", title=title)
    _rate_axis(ax)
    fig.colorbar(mesh, ax=ax, label="N_eff / m  (× : most runs diverged)")


def _window_medians(runs, rates) -> dict[str, float]:
    """The predicted window (``LrWindow``) from the median sharpnesses of a cell's initialisations."""
    li, lz, lf = (_median(_curves(runs, rates, k)) for k in ("lam_init", "lam_lazy", "lam_flat"))
    return {"start": li / lz, "catapult": 2 * li / lz, "end": li / lf}


def _cut(ax, runs, rates, key: str, label: str, color=None):
    """Median over seeds of a per-student (or per-pair) quantity against the rate, with the IQR as a band."""
    Y = _curves(runs, rates, key)
    ok = np.isfinite(Y).sum(axis=0) > Y.shape[0] / 2  # drawn where most runs did not diverge
    if not ok.any():
        return None
    med, q1, q3 = (np.full(rates.size, np.nan) for _ in range(3))
    med[ok] = np.nanmedian(Y[:, ok], axis=0)
    q1[ok], q3[ok] = (np.nanpercentile(Y[:, ok], q, axis=0) for q in (25, 75))
    line, = ax.plot(rates, med, marker="o", ms=3, label=label, color=color)
    ax.fill_between(rates, q1, q3, color=line.get_color(), alpha=0.2, lw=0)
    return line


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    rates = np.unique(table["lr_rel"])
    cells = _cells(table)
    fitted: dict = {"sparsity_shown": "neff_rel = participation ratio of the output masses c_i = c abs(a_i) norm(w_i), "
                                      "divided by m",
                    "rate_unit": "eta / (2 / lambda_max(H(theta_0))), exact population Hessian at each student's init",
                    "grid_octaves": float(np.log2(rates[1] / rates[0])),
                    "active_fraction": ACTIVE_FRACTION, "cos_aligned": COS_ALIGNED}
    order = sorted(cells, key=lambda c: (list(Variant).index(Variant(c[0])), c[1], c[2], c[3]))
    for cell in order:
        fitted[cell_label(cell)] = analyse_cell(cells[cell], rates)
    found = [cell_label(c) for c in order if fitted[cell_label(c)]["transition"] is not None]
    fitted["cells_with_transition"] = found
    fitted["cells_without_transition"] = [cell_label(c) for c in order if cell_label(c) not in found]

    _phase_figure(cells, rates, out, table)
    fig, axes = figure(2, nrows=2, width=5.4, height=4.3)
    phase_m = _phase_cell(cells)[1]
    cut = sorted((m, runs) for (v, m, s, bal), runs in cells.items() if v == "gd" and s == 1.0 and not bal)
    ax = axes[0, 0]
    for m, runs in cut:
        _cut(ax, runs, rates, "neff_rel", f"m={m}")
    if cut:
        windows = [_window_medians(runs, rates) for _, runs in cut]
        ax.axvspan(min(w["start"] for w in windows), max(w["catapult"] for w in windows), color="0.5", alpha=0.15,
                   label="theory: lazy-unstable to catapult edge")
    ax.set(xlabel=RATE_LABEL, ylabel="N_eff / m (median, IQR band)",
           title="gd, s=1, unbalanced: sparsity by width", ylim=(0, None))
    _rate_axis(ax)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for m, runs in cut:
        line = _cut(ax, runs, rates, "barrier_modp", f"m={m}")
        if line is not None:
            _cut(ax, runs, rates, "barrier_plain", "_", color=line.get_color()).set_linestyle(":")
    ax.set(yscale="log", xlabel=RATE_LABEL, ylabel="loss barrier (solid: mod P, dotted: plain)",
           title="gd, s=1, unbalanced: barriers")
    _rate_axis(ax)
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    for v in Variant:
        if (v.value, phase_m, 1.0, False) in cells:
            _cut(ax, cells[(v.value, phase_m, 1.0, False)], rates, "neff_rel", v.value)
    ax.axvline(1.0, color="k", lw=0.8, ls="--", label="η = 2/λ_max(H(θ₀))")
    ax.set(xlabel=RATE_LABEL, ylabel="N_eff / m (median, IQR band)",
           title=f"variants, m={phase_m}, s=1, unbalanced", ylim=(0, None))
    _rate_axis(ax)
    ax.legend(fontsize=7)
    _locations(axes[1, 1], fitted, cells)
    fig.tight_layout()
    return save(fig, "lr", out, _columns(table), fitted)


def _phase_cell(cells: dict) -> tuple[str, int]:
    """(variant, m) of the phase diagram: the one with the most initialisation scales (gd first)."""
    scales_of = defaultdict(set)
    for v, m, s, _ in cells:
        scales_of[(v, m)].add(s)
    return max(scales_of, key=lambda vm: (len(scales_of[vm]), vm[0] == "gd"))


def _phase_figure(cells: dict, rates: np.ndarray, out: FigureDir, table: pd.DataFrame) -> None:
    """``lr_phase``: N_eff/m over (learning rate, initialisation scale), unbalanced and balanced,
    with the predicted window drawn on each heat map."""
    phase_v, phase_m = _phase_cell(cells)
    fig, axes = figure(2, width=5.4, height=4.6)
    for ax, bal in zip(axes, (False, True)):
        by_scale = {s: runs for (v, m, s, b), runs in cells.items() if (v, m, b) == (phase_v, phase_m, bal)}
        if by_scale:
            _heatmap(ax, fig, by_scale, rates, f"{phase_v}, m={phase_m}, {'balanced' if bal else 'unbalanced'} init")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=3, fontsize=9, frameon=False,
               title="predicted window, median over seeds at each s (theory.stability.lr_window)")
    fig.tight_layout(rect=(0, 0, 1, 0.86))
    save(fig, "lr_phase", out, _columns(table), {"variant": phase_v, "m": int(phase_m),
                                                 "scales": sorted(float(s) for (v, m, s, _) in cells
                                                                  if (v, m) == (phase_v, phase_m))})


def _locations(ax, fitted: dict, cells):
    """Transition location (95% interval) against width, beside the predicted window."""
    TOP = 4.4  # noqa: N806  (the panel's upper limit, where open intervals end)
    for v, marker in (("gd", "o"), ("online", "s")):
        entries = [(m, fitted[cell_label((cv, m, s, bal))]) for (cv, m, s, bal) in sorted(cells)
                   if cv == v and s == 1.0 and not bal]
        found = [(m, e["transition"]) for m, e in entries if e["transition"] is not None]
        if found:
            ms = np.array([m for m, _ in found], dtype=float) * (1.06 if v == "online" else 1.0)
            loc = np.array([t["location"] for _, t in found])
            lo = np.array([t["location_ci95"][0] for _, t in found])
            unbounded = np.array([t["location_ci95"][1] is None for _, t in found])
            hi = np.array([TOP if t["location_ci95"][1] is None else min(t["location_ci95"][1], TOP) for _, t in found])
            bars = ax.errorbar(ms, loc, yerr=[loc - lo, hi - loc], marker=marker, capsize=3, ls="none",
                               label=f"{v}: measured, 95% CI")
            if unbounded.any():  # an interval open above: an arrow at the top edge, not a cap
                ax.plot(ms[unbounded], np.full(unbounded.sum(), TOP), "^", color=bars[0].get_color(), ms=7,
                        label=f"{v}: 95% CI unbounded above")
        if v == "gd" and entries:
            ms = np.array([m for m, _ in entries], dtype=float)
            ax.plot(ms, [e["theory_start"] for _, e in entries], "k--", label="theory: lazy solution unstable")
            ax.plot(ms, [e["theory_catapult"] for _, e in entries], "k:", label="theory: catapult edge (uv model)")
            div = [np.nan if e["diverges_from"] is None else e["diverges_from"] for _, e in entries]
            ax.plot(ms, div, "rx", ms=8, label="gd: most runs diverge from")
    widths = sorted({m for (_, m, _, _) in cells})
    ax.set(xscale="log", xlabel="width m", ylabel="η / (2/λ_max(H(θ₀)))", title="transition location, s=1",
           ylim=(0.5, 4.5))
    fixed_log_ticks(ax.xaxis, widths)
    ax.legend(fontsize=7)


EXPERIMENT = Experiment("lr", "sparsity transition: phase diagram of N_eff/m over learning rate (units of "
                        "2/lambda_max at init) x init scale; width cuts, variants, barriers, predicted window",
                        configs, run, summarize, order=30,
                        more_figures=(("lr_phase", "N_eff/m over (learning rate, initialisation scale) at one width, "
                                                   "unbalanced and balanced, with the predicted window"),))
