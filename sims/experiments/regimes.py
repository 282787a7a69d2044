"""regimes: the width curve of the barrier, plain and modulo permutation, in each regime of the
initialisation phase diagram (Luo et al. 2021; ``twolayer.init``).

One run trains a pair of students of width m, drawn by one scheme (``Scheme``: small balanced
s = 1e-3, PyTorch's nn.Linear default, LeCun normal, mean-field), by population GD with the rate
eta = lr_rel * 2 / lambda_max(H(theta_0)) of each student's own initialisation (as ``lr``), to
loss ``tol`` or ``steps`` updates; it records the barrier mod P (weights matching), the plain
barrier, N_eff/m, and, for the stopping rule, the barrier mod P at the first of log-spaced
checkpoints where both losses are <= STOP_LOSS (with the step it was reached at).

Predictions beside the curves (independent of these runs): the condensed regime's
sampled-minima curve (``theory.width``), and the init-pair defect B_lazy(m) of ``theory.lazy``
(the barrier of two exact minima whose weights stay at their matched initialisations) for the
linear and critical schemes, whose heuristic slope is m^(-2/d) (LeCun, PyTorch) and
m^(-1-4/(d+1)) (mean-field, the Wasserstein rate of i.i.d. neurons in R^(d+1)).

This module holds the configs, the run and the predictions (kept in the store); the schemes and
rates are in ``regimes_schemes``, the analysis in ``regimes_analysis``, the figures in
``regimes_plot`` and the regime table of the documents in ``regimes_table``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from theory.lazy import lazy_curve
from twolayer.random import child
from twolayer.validation import check_enum, check_positive_float, check_positive_int

from ..common import BARRIER_ZERO, FigureDir, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from .regimes_analysis import TAIL_MIN_M, Prediction, analyse, curve_runs, lower_rate_tail, scheme_rows, schemes_in
from .regimes_plot import phase_columns, plot, plot_phase
from .regimes_schemes import PROTOCOL_TOL, RATES, SCHEMES, STOP_LOSS, K, Scheme, inside_rate
from .width import sampled_prediction, sampler_slope

if TYPE_CHECKING:
    import pandas as pd

#: log-spaced checkpoints per run for the stopping rule
CHECKPOINTS = 25
#: pairs of initial students per width for the init-pair prediction (Monte Carlo)
LAZY_PAIRS = 40
#: sampled condensed minima per GD tail pair for the small scheme's prediction exponent
SAMPLED_PER_PAIR = 10


@dataclass(frozen=True)
class RegimeConfig:
    """A pair of students of width m drawn by scheme ``init`` (small, pytorch, lecun, meanfield) for an
    orthonormal teacher of k rays in R^d, trained by population GD at lr_rel (units of
    2/lambda_max(H(theta_0))) for at most ``steps`` updates or to loss ``tol``."""

    init: Scheme = Scheme.PYTORCH
    k: int = K
    d: int = 10
    m: int = 16
    lr_rel: float = 0.5
    steps: int = 100_000
    tol: float = 1e-7
    replicate: int = 0

    def __post_init__(self):
        object.__setattr__(self, "init", check_enum("init", self.init, Scheme))
        for name in ("k", "d", "m", "steps"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("replicate", self.replicate, minimum=0)
        check_positive_float("lr_rel", self.lr_rel)
        check_positive_float("tol", self.tol)
        if self.k > self.d:
            raise ValueError(f"k must be <= d for an orthonormal teacher; got k={self.k}, d={self.d}")

    def teacher(self) -> tl.Teacher:
        return tl.Teacher.orthonormal(self.k, self.d)

    @property
    def scheme(self) -> tl.Init:
        return SCHEMES[self.init]


#: quick: one pair per point, every scheme and d at the lower rate, the inner rate at d = 10
QUICK_WIDTHS = (2, 4, 8, 16, 32)
QUICK_STEPS = 30_000
#: paper: pairs per width in each cell (docs/paper_profile.md, "regimes": the power this buys). The
#: tail pairs sit at the ends of m = 16 ... 64 (a pair costs ~10x more at 64); m = 128 takes ~120 s
#: a pair and often more than 1e5 steps, so it and m = 256 are left to the full profile
PAPER_PAIRS = {2: 3, 4: 3, 8: 3, 16: 24, 32: 2, 64: 14}
#: the inner rate: fewer pairs (in a first paper run most of them diverged or did not converge)
PAPER_PAIRS_INSIDE = {2: 3, 4: 3, 8: 3, 16: 10, 32: 2, 64: 6}
#: full: the paper's tail pairs times FULL_TAIL_SCALE, so that every cell's exponent interval would have a
#: half-width of about 0.25 and separate "no decay" from -1/2: the paper cells' largest
#: ``tail_pairs_for_half_width_0.25`` (LeCun normal, d = 10: 944) over its ~40 tail pairs (a power
#: calculation from the paper run's own scatter); m = 128 and 256 extend the curve
FULL_TAIL_SCALE = 24
FULL_PAIRS = {m: n * FULL_TAIL_SCALE if m >= TAIL_MIN_M else n for m, n in PAPER_PAIRS.items()} | {128: 2, 256: 1}
PAPER_STEPS = 100_000
FULL_STEPS = 300_000
#: paper: LeCun normal (the linear limit's second scheme, at PyTorch's point of the plane) at d = 10 only
PAPER_ONE_D = (Scheme.LECUN,)


def configs(profile: Profile) -> list[RegimeConfig]:
    # protocol_widths: the protocol sample, widths (d = 10, lower rate, replicate 0) also run to PROTOCOL_TOL
    match profile:
        case Profile.QUICK:
            steps, pairs, protocol_widths = QUICK_STEPS, {m: 1 for m in QUICK_WIDTHS}, (16,)
            inside_pairs, one_d_schemes = pairs, ()
        case Profile.PAPER:
            steps, pairs, protocol_widths = PAPER_STEPS, PAPER_PAIRS, (16, 64)
            inside_pairs, one_d_schemes = PAPER_PAIRS_INSIDE, PAPER_ONE_D
        case Profile.FULL:  # paper's cells with more pairs and steps, every d for every scheme
            steps, pairs, protocol_widths = FULL_STEPS, FULL_PAIRS, (16, 64)
            inside_pairs, one_d_schemes = pairs, ()
        case _:
            unknown(profile)
    out = []
    for s in Scheme:
        one_d = s in one_d_schemes
        for d in (10,) if one_d else (5, 10, 30):
            out += [RegimeConfig(s, d=d, m=m, lr_rel=RATES["below"], steps=steps, tol=STOP_LOSS, replicate=r)
                    for m, n in pairs.items() for r in range(n)]
        if not one_d:
            out += [RegimeConfig(s, d=10, m=m, lr_rel=inside_rate(s), steps=steps, tol=STOP_LOSS, replicate=r)
                    for m, n in inside_pairs.items() for r in range(n)]
        out += [RegimeConfig(s, d=10, m=m, lr_rel=RATES["below"], steps=steps, tol=PROTOCOL_TOL)
                for m in protocol_widths]
    out.sort(key=lambda c: -c.m * c.d ** 0.5)  # the longest runs first: no straggler at the sweep's end
    return out


def train_pair(cfg: RegimeConfig, seq: np.random.SeedSequence, checkpoints=None) -> tuple[list, list[float]]:
    """The config's two students (student i from child i of ``seq``), each trained by population GD
    at eta = lr_rel * 2 / lambda_max(H(theta_0)) of its own initialisation: (results, etas)."""
    teacher = cfg.teacher()
    objective = tl.Population(teacher)
    results, etas = [], []
    for i in range(2):
        start = tl.Student.init(cfg.m, cfg.d, init=cfg.scheme, seed=child(seq, i))
        eta = cfg.lr_rel * 2.0 / tl.sharpness(start, teacher)
        etas.append(eta)
        results.append(tl.train(start, objective, "gd", lr=eta, steps=cfg.steps, tol=cfg.tol, checkpoints=checkpoints))
    return results, etas


def run(cfg: RegimeConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    objective = tl.Population(teacher)
    marks = np.unique(np.geomspace(10, cfg.steps, CHECKPOINTS).astype(int))
    results, etas = train_pair(cfg, seq, marks)
    diverged = any(r.diverged or not np.isfinite(r.final_loss) for r in results)
    out = {"eta": np.array(etas), "loss": np.array([r.final_loss for r in results]),
           "steps_run": np.array([r.steps for r in results], dtype=float), "diverged": float(diverged),
           "converged": float(all(r.converged for r in results))}
    if diverged:
        return out | dict.fromkeys(("plain", "weights", "neff_rel", "weights_at_stop", "stop_step"), np.nan)
    A, B = results[0].net, results[1].net
    out |= {"plain": tl.barrier(A, B, objective).value,
            "weights": tl.barrier_modulo_permutation(A, B, objective, method="weights").value,
            "neff_rel": 0.5 * (tl.sparsity(A).effective_neurons + tl.sparsity(B).effective_neurons) / cfg.m}
    # the stopping rule: the first checkpoint where both students' losses are <= STOP_LOSS
    states = [dict(r.checkpoints) for r in results]
    out["weights_at_stop"] = out["stop_step"] = np.nan
    for step in marks if cfg.tol < STOP_LOSS else ():
        pair = [st.get(int(step), r.net) for st, r in zip(states, results)]
        if max(tl.population_loss(s, teacher) for s in pair) <= STOP_LOSS:
            out["weights_at_stop"] = tl.barrier_modulo_permutation(*pair, objective, method="weights").value
            out["stop_step"] = float(step)
            break
    return out


def predictions(store, scheme: Scheme, d: int, widths: np.ndarray) -> dict[str, np.ndarray]:
    """The regime's prediction over ``widths`` (>= k), computed once and kept in the store: its mean
    and standard error per width, and (init-pair defect only) the single pairs' values."""
    teacher = tl.Teacher.orthonormal(K, d)
    if scheme is Scheme.SMALL:
        curve = sampled_prediction(store, teacher, widths)
        return {"mean": curve["mean"], "sem": curve["sem"], "label": "sampled condensed minima (theory.width)"}

    def compute():
        c = lazy_curve(SCHEMES[scheme], d, widths, n_pairs=LAZY_PAIRS, seed=0)
        return {"mean": c.mean, "sem": c.sem, "values": c.values}

    params = {"scheme": scheme.value, "d": d, "widths": widths.tolist(), "n_pairs": LAZY_PAIRS, "seed": 0,
              "per_pair": True}
    got = store.cached("regimes: init-pair defect", params, compute)
    return got | {"label": "init-pair defect B_lazy (theory.lazy)"}


def prediction_slope(store, scheme: Scheme, d: int, pred: dict, widths: np.ndarray,
                     tail_m: np.ndarray) -> fits.SlopeFit | None:
    """The prediction's tail exponent by GD's estimator (``fits.loglog_slope`` on single pairs, tail
    m >= 8k, values > BARRIER_ZERO): the init-pair defect's LAZY_PAIRS pairs per tail width; the
    sampled minima on GD's tail design, SAMPLED_PER_PAIR sampled pairs per GD tail pair
    (``width.sampler_slope``; the sampler does not depend on d, so the d rows share its law).
    None where the tail has fewer than two widths."""
    if scheme is Scheme.SMALL:  # GD's tail design, ten sampled pairs per GD pair
        if np.unique(tail_m).size < 2:
            return None
        return sampler_slope(store, tl.Teacher.orthonormal(K, d), np.repeat(tail_m, SAMPLED_PER_PAIR))
    on_tail = widths >= TAIL_MIN_M
    m = np.repeat(widths[on_tail], LAZY_PAIRS)
    b = np.asarray(pred["values"])[on_tail].ravel()
    keep = b > BARRIER_ZERO
    if np.unique(m[keep]).size < 2:
        return None
    return fits.loglog_slope(m[keep], b[keep], seed=1)


def regime_predictions(table: pd.DataFrame, store) -> dict[tuple[Scheme, int], Prediction]:
    """Each panel's prediction (``predictions``) over its widths m >= k and its tail exponent
    (``prediction_slope``, on the panel's lower-rate tail design), keyed by (scheme, d): what
    ``regimes_analysis.analyse`` takes, computed once and kept in the store."""
    curves = curve_runs(table)
    out = {}
    for scheme in schemes_in(curves):
        sel = scheme_rows(curves, scheme)
        for d in (int(d) for d in np.unique(sel["d"])):
            panel = sel[sel["d"] == d]
            widths = np.unique(panel["m"]).astype(int)
            from_k = widths[widths >= K]
            if from_k.size:
                pred = predictions(store, scheme, d, from_k)
                slope = prediction_slope(store, scheme, d, pred, from_k, lower_rate_tail(panel)["m"].to_numpy())
                out[(scheme, d)] = Prediction(pred["label"], from_k, np.asarray(pred["mean"]),
                                              np.asarray(pred["sem"]), slope)
    return out


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    analysis = analyse(table, regime_predictions(table, store))
    columns = table[["init", "d", "m", "lr_rel", "tol", "replicate", "weights", "plain", "neff_rel",
                     "converged", "weights_at_stop", "stop_step"]].to_dict("list")
    save(plot(analysis, table), "regimes", out, columns, analysis)
    phase = phase_columns(analysis)
    save(plot_phase(analysis), "regimes_phase", out, phase,
         {"points": len(phase["m"]), "lr_rel": RATES["below"], "d": 10})
    return analysis


EXPERIMENT = Experiment("regimes", "barrier mod P and plain vs width m per initialisation scheme (small, PyTorch "
                        "default, LeCun, mean-field) on the Luo et al. phase diagram; predictions per regime",
                        configs, run, summarize, order=106,
                        more_figures=(("regimes_phase", "every scheme's runs on the Luo et al. phase diagram "
                                                        "(effective exponents per m), coloured by tail exponent "
                                                        "and by N_eff/m, d=10"),))
