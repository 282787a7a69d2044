"""width: LMC barrier, plain and modulo permutation, versus the student width m.

Two students trained by population GD from a small balanced initialisation; barriers between
them with no permutation, with weights matching and with ``refine``; the theory curve is the
exact barrier between pairs of sampled condensed minima (theory.width), with its 1/m asymptote.
GD stops at loss STOP_TOL; a sample of pairs continues to the earlier protocol's PROTOCOL_TOL, and
``stopping_rule`` checks on them that the rule leaves the barrier and its tail exponent unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

import twolayer as tl
from theory import fits
from theory.width import (
    ASYMPTOTIC_EXPONENT,
    asymptotic_constant,
    exact_expected_barrier,
    predicted_curve,
    ray_probability,
    sampled_slope,
)
from twolayer.validation import check_positive_float

from ..common import BARRIER_ZERO, FigureDir, GDConfig, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import group_stats

if TYPE_CHECKING:
    import pandas as pd

#: refine (a local search over swaps) is run up to this width
REFINE_MAX_WIDTH = 64
#: the exact expectation (enumeration of ray counts) is drawn up to this width
EXACT_MAX_WIDTH = 6
#: the lowest value drawn on this figure's log axis (barriers are exactly 0 at m = k and ~1e-16
#: at m = 1; smaller values are drawn on it, as the figure says)
FLOOR = 1e-6
#: pairs of sampled minima per width for the theory curve
THEORY_PAIRS = 100
#: GD's step budget: enough for every run to reach tol = 1e-9 (measured at k = 2, m = 128: 24 000
#: to 82 000 steps for d = 10 to 100). The earlier budget of 20 000 stopped every m = 128 run
#: short of tol (final loss up to 3.5e-8), more so the larger d.
STEPS = 200_000
#: the stopping rule: GD stops when a student's population loss is <= STOP_TOL. The earlier protocol
#: trained to PROTOCOL_TOL; in a first sample (9 pairs, m = 16, 64, d = 10, 100) the barrier mod P at
#: STOP_TOL was within 4 % of the one at PROTOCOL_TOL and took 16-30 % of the steps. The rule is checked
#: against the protocol in every sweep: PROTOCOL_PAIRS pairs per (d, m in PROTOCOL_WIDTHS) continue from
#: their state at STOP_TOL to PROTOCOL_TOL (GD is deterministic, so this is the protocol's run) and the
#: JSON's ``stopping_rule`` compares the two barriers pair by pair.
#: Widths m <= k train to PROTOCOL_TOL (they are cheap): the claim there is an exact zero (below
#: BARRIER_ZERO, rounding), a property of the minimum; at STOP_TOL 2 of 60 pairs at m = k = 2 gave
#: 3e-14 and 3e-13 (their endpoint losses ~1e-7).
STOP_TOL = 1e-7
PROTOCOL_TOL = 1e-9
#: zero at m = k to the training tolerance: a barrier below this fraction of the pair's mean endpoint
#: loss L. Near an isolated minimum the loss along the path is quadratic up to O(L^(3/2)) terms, so a
#: zero barrier at the minimum leaves B = O(L^(3/2)), i.e. B / L = O(L^(1/2)) (~3e-5 at L = 1e-9) at a
#: finite loss, while a positive barrier at the minimum stays fixed as L -> 0 (B / L grows without
#: bound). The rounding test (B <= BARRIER_ZERO) is stricter than that at L = 1e-9.
ZERO_RELATIVE = 1e-3
PROTOCOL_WIDTHS = (8, 16, 64)
PROTOCOL_PAIRS = 10


@dataclass(frozen=True)
class WidthConfig(GDConfig):
    """A ``GDConfig`` pair, and ``protocol_tol``: if set, both students continue from their state at
    ``tol`` to this lower loss (within the same step budget) and the barrier mod P is measured again."""

    protocol_tol: float | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.protocol_tol is not None:
            check_positive_float("protocol_tol", self.protocol_tol)
            if self.tol is None or self.protocol_tol >= self.tol:
                raise ValueError(f"protocol_tol must be < tol (a run continues past tol to it); got "
                                 f"protocol_tol={self.protocol_tol}, tol={self.tol}")


#: the paper profile's pairs per (d, m) at k = 2, chosen for the tail exponent's 95% interval to be
#: at most +-0.15 for each d (docs/paper_profile.md): the scatter of log B about the tail line is
#: sigma ~ 1.45, so the slope's variance sigma^2 / sum (ln m - mean)^2 needs ~1000 pairs per d; they
#: sit mostly at the two ends of m = 16 ... 64, in the ratio 3 : 1 that minimises the compute for
#: that variance (a pair costs ~11x more at m = 64 than at m = 16).
#: Every integer m from 1 to 12 has 20 pairs, so that the peak's bootstrap location is not clipped to
#: the grid points around it (with m = 6, 8, 12 only, any prediction in [6, 12] passed).
PAPER_PAIRS = {**{m: 20 for m in range(1, 13)}, 16: 720, 24: 10, 32: 20, 48: 10, 64: 240, 128: 6}


def configs(profile: Profile) -> list[WidthConfig]:
    match profile:
        case Profile.QUICK:
            grid = [(2, d, m, r) for d in (10, 30) for m in (1, 2, 3, 4, 6, 8, 12, 16, 32) for r in range(2)]
            checked = {(2, 10, 16, 0)}
        case Profile.PAPER | Profile.FULL:  # full: as paper
            grid = [(2, d, m, r) for d in (10, 30, 100) for m, n in PAPER_PAIRS.items() for r in range(n)]
            grid += [(4, 10, m, r) for m in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64) for r in range(10)]
            grid.sort(key=lambda c: -c[2] * c[1] ** 0.5)  # the longest runs first: no straggler at the sweep's end
            checked = {(2, d, m, r) for d in (10, 30, 100) for m in PROTOCOL_WIDTHS for r in range(PROTOCOL_PAIRS)}
        case _:
            unknown(profile)
    return [WidthConfig(k=k, d=d, m=m, steps=STEPS, tol=PROTOCOL_TOL if m <= k else STOP_TOL, replicate=r,
                        protocol_tol=PROTOCOL_TOL if (k, d, m, r) in checked else None) for k, d, m, r in grid]


def run(cfg: WidthConfig, seq: np.random.SeedSequence) -> dict:
    teacher = cfg.teacher()
    objective = tl.Population(teacher)
    runs = cfg.students(seq, 2)
    A, B = runs[0].net, runs[1].net
    out = {
        "loss_A": runs[0].final_loss, "loss_B": runs[1].final_loss,
        "diverged": runs[0].diverged or runs[1].diverged,
        "plain": tl.barrier(A, B, objective).value,
        "weights": tl.barrier_modulo_permutation(A, B, objective, method="weights").value,
        "neff": 0.5 * (tl.sparsity(A).effective_neurons + tl.sparsity(B).effective_neurons),
        "inactive": 0.5 * sum(tl.sparsity(s, teacher).dead for s in (A, B)) / cfg.m,
        "converged": runs[0].converged and runs[1].converged,
        "steps_run": float(max(r.steps for r in runs)),
    }
    out["refine"] = (tl.barrier_modulo_permutation(A, B, objective, method="refine").value
                     if cfg.m <= REFINE_MAX_WIDTH else np.nan)
    out |= {"weights_protocol": np.nan, "steps_protocol": np.nan}
    if cfg.protocol_tol is not None and out["converged"] and all(r.steps < cfg.steps for r in runs):
        longer = [tl.train(r.net, objective, "gd", lr=cfg.lr, steps=cfg.steps - r.steps, tol=cfg.protocol_tol)
                  for r in runs]
        if all(r.converged for r in longer):
            out["weights_protocol"] = tl.barrier_modulo_permutation(longer[0].net, longer[1].net, objective,
                                                                    method="weights").value
            out["steps_protocol"] = float(max(r.steps + s.steps for r, s in zip(runs, longer)))
    return out


def stopping_rule(table: pd.DataFrame) -> dict:
    """The stopping rule against the protocol, pair by pair, on the pairs that continued to the
    protocol's loss: the ratio rho = B_stop / B_protocol of their barriers mod P (median, 5 % and 95 %
    quantiles, the fraction within 10 % of 1), the fraction of the protocol's steps the rule took, and,
    over the tail (m >= 8k), the slope of log rho on log m with its 95 % bootstrap interval: since
    log B_stop = log B_protocol + log rho, it is the change the rule makes to the tail exponent on the
    same pairs (per d, and pooled)."""
    ok = table[np.isfinite(table["weights_protocol"]) & (table["weights_protocol"] > BARRIER_ZERO)
               & (table["weights"] > BARRIER_ZERO)]
    if not len(ok):
        return {"pairs": 0}
    ratio = (ok["weights"] / ok["weights_protocol"]).to_numpy()
    m, d = ok["m"].to_numpy(), ok["d"].to_numpy()
    out = {"stop_tol": STOP_TOL, "protocol_tol": PROTOCOL_TOL, "pairs": int(len(ok)),
           "ratio_median": float(np.median(ratio)),
           "ratio_q05_q95": [float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))],
           "within_10pc": float(np.mean(np.abs(ratio - 1) <= 0.1)),
           "step_fraction_median": float(np.median(ok["steps_run"] / ok["steps_protocol"]))}
    tail = (ok["m"] >= 8 * ok["k"]).to_numpy()
    if np.unique(m[tail]).size >= 2:
        fit = fits.loglog_slope(m[tail], ratio[tail], seed=0)
        out |= {"exponent_shift": fit.slope, "exponent_shift_ci95": fit.ci, "exponent_shift_pairs": fit.n,
                "exponent_shift_by_d": {}}
        for dim in np.unique(d[tail]):
            on = tail & (d == dim)
            if np.unique(m[on]).size >= 2:
                fit_d = fits.loglog_slope(m[on], ratio[on], seed=0)
                out["exponent_shift_by_d"][int(dim)] = {"shift": fit_d.slope, "ci95": fit_d.ci, "pairs": fit_d.n}
    return out


def _d_independence(tail: pd.DataFrame) -> dict:
    """Per d: the tail slope with its interval; across d: each d's level about the pooled line
    (a factor, 1 = the pooled level) with its interval (``theory.fits.level_offsets``)."""
    out = {"gd_slope_by_d": {}, "gd_slope_ci95_by_d": {}}
    for d, part in tail.groupby("d"):
        if part["m"].nunique() >= 2:
            fit = fits.loglog_slope(part["m"], part["weights"], seed=0)
            out["gd_slope_by_d"][int(d)], out["gd_slope_ci95_by_d"][int(d)] = fit.slope, fit.ci
    if tail["d"].nunique() >= 2:
        levels = fits.level_offsets(tail["m"], tail["weights"], tail["d"], seed=0)
        out |= {"level_factor_by_d": levels.factor, "level_factor_ci95_by_d": levels.ci,
                "level_factor_simultaneous_ci95_by_d": levels.ci_simultaneous, "level_equal_p": levels.p_equal}
    return out


def fitted_allocation(tail: pd.DataFrame, k: int) -> tuple[float, float]:
    """(r, alpha) of the sampler fitted to GD's solutions in the tail: r = the inactive fraction,
    alpha = the Dirichlet split whose participation ratio is GD's. With n = m (1 - r) / k neurons on
    each of k rays of equal mass and Dirichlet(alpha) splits, E sum_i p_i^2 = (alpha + 1) / (n alpha + 1),
    so n_eff = k (n alpha + 1) / (alpha + 1), i.e. alpha = (n_eff / k - 1) / (n - n_eff / k); medians
    over the tail's runs."""
    r = float(np.median(tail["inactive"]))
    n = tail["m"].to_numpy() * (1 - r) / k
    per = tail["neff"].to_numpy() / k
    alpha = np.divide(per - 1, n - per, out=np.full(n.shape, np.nan), where=n > per)
    return r, float(np.nanmedian(alpha[alpha > 0]))


def _dip(widths: np.ndarray, curve: np.ndarray) -> float:
    """The width of the lowest point before the peak (widths >= k)."""
    return float(widths[np.argmin(curve[: max(1, int(np.argmax(curve)))])])


def _theory(store, teacher: tl.Teacher, widths: np.ndarray) -> dict[str, np.ndarray]:
    """The sampled-minima curve over ``widths`` and the exact expectation up to EXACT_MAX_WIDTH,
    computed once per (k, d, widths) and kept in the store."""
    small = widths[widths <= EXACT_MAX_WIDTH]

    def compute():
        curve = predicted_curve(teacher, widths, n_pairs=THEORY_PAIRS, seed=0)
        exact = [exact_expected_barrier(teacher, int(w)) for w in small]
        return {"mean": curve.mean, "sem": curve.sem, "numerical": curve.numerical, "exact": np.array(exact)}

    params = {"k": teacher.k, "d": teacher.d, "widths": widths.tolist(), "n_pairs": THEORY_PAIRS, "seed": 0}
    return store.cached("width: sampled minima", params, compute)


def sampled_prediction(store, teacher: tl.Teacher, widths: np.ndarray, **model) -> dict[str, np.ndarray]:
    """(mean, sem, numerical fraction, zero fraction) of the barrier between sampled minima of the given model
    (``theory.width.predicted_curve``'s keywords), computed once and kept in the store."""
    def compute():
        curve = predicted_curve(teacher, widths, n_pairs=THEORY_PAIRS, seed=0, zero_floor=BARRIER_ZERO, **model)
        return {"mean": curve.mean, "sem": curve.sem, "numerical": curve.numerical, "zero": curve.zero}

    params = {"k": teacher.k, "d": teacher.d, "inputs": type(teacher.inputs).__name__, "widths": widths.tolist(),
              "n_pairs": THEORY_PAIRS, "seed": 0, "zero_floor": BARRIER_ZERO, **model}
    return store.cached("sampled minima", params, compute)


def sampler_slope(store, teacher: tl.Teacher, widths: np.ndarray, **model) -> fits.SlopeFit:
    """``theory.width.sampled_slope`` over the given pair widths, computed once and kept in the store."""
    widths = np.sort(np.asarray(widths, dtype=int))

    def compute():
        fit = sampled_slope(teacher, widths, BARRIER_ZERO, seed=0, **model)
        return {"slope": np.array(fit.slope), "ci": np.array(fit.ci), "n": np.array(fit.n), "boot": fit.boot}

    at, counts = np.unique(widths, return_counts=True)
    params = {"k": teacher.k, "d": teacher.d, "widths": at.tolist(), "pairs": counts.tolist(),
              "floor": BARRIER_ZERO, "seed": 0, **model}
    got = store.cached("sampled minima: tail slope", params, compute)
    return fits.SlopeFit(float(got["slope"]), np.nan, tuple(map(float, got["ci"])), int(got["n"]), got["boot"])


#: the colour of GD's tail pooled over d (the per-d curves take C0, C1, C2 in every panel)
POOLED = "C4"
#: slopes drawn beside GD's fitted tail: the prediction each one stands for
COMPETING_SLOPES = ((-0.5, "Zhan et al. O(m^-1/2), a bound", ":"),
                    (ASYMPTOTIC_EXPONENT["equal"], "equal-split sampled minima, asymptote", "--"))


def _draw_tail(ax, tail: pd.DataFrame, slope: float, ci: tuple[float, float], k: int) -> None:
    """The tail's pairs (one point each), their geometric mean per m with a 95% bootstrap interval,
    the fitted power law (``slope``) with the band its interval ``ci`` spans (pivoting at the pairs'
    mean log m, through which the least-squares line passes), and the competing slopes through the
    same point."""
    m, b = np.asarray(tail["m"], float), np.asarray(tail["weights"], float)
    for i, d in enumerate(np.unique(tail["d"])):
        on = (tail["d"] == d).to_numpy()
        jitter = np.exp(0.04 * (np.log10(d) - 1.5))
        ax.plot(m[on] * jitter, b[on], MARKERS.get(int(d), "x"), ms=2.5, alpha=0.3, color=f"C{i}",
                label=f"GD pairs, d={int(d)}")
    widths = np.unique(m)
    rng = np.random.default_rng(0)
    geo, lo, hi = [], [], []
    for w in widths:
        logs = np.log(b[m == w])
        boot = rng.choice(logs, size=(2000, logs.size)).mean(1)
        geo.append(np.exp(logs.mean()))
        lo.append(np.exp(np.percentile(boot, 2.5)))
        hi.append(np.exp(np.percentile(boot, 97.5)))
    geo, lo, hi = map(np.array, (geo, lo, hi))
    ax.errorbar(widths, geo, yerr=[geo - lo, hi - geo], fmt="o", color=POOLED, mec="k", capsize=3, zorder=5,
                label="GD, d pooled: geometric mean per m, 95% CI")
    pivot_x, pivot_y = np.mean(np.log(m)), np.mean(np.log(b))
    x = np.geomspace(widths.min(), widths.max(), 50)
    line = lambda slope: np.exp(pivot_y + slope * (np.log(x) - pivot_x))  # noqa: E731
    ax.fill_between(x, line(ci[0]), line(ci[1]), color=POOLED, alpha=0.2, lw=0,
                    label="slope's 95% CI (pivot: the pairs' mean log m)")
    ax.plot(x, line(slope), color=POOLED, lw=1.5, label=f"fit of log B: slope {slope:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]")
    for competing, name, style in COMPETING_SLOPES:
        ax.plot(x, line(competing), color="0.45", ls=style, lw=1.2, label=f"{name}: slope {competing:g}")
    ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
           ylabel="loss barrier mod P (population, sup over t)",
           title=f"Tail, k={k}: fitted power law vs competing slopes")
    fixed_log_ticks(ax.xaxis, widths)
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.16))  # below: the pairs reach the floor


def _tail(sel: pd.DataFrame, k: int) -> pd.DataFrame:
    """GD's large-m tail at teacher width k: the pairs at m >= 8 k with a barrier mod P above
    BARRIER_ZERO (one point each in the tail's fits)."""
    return sel[(sel["m"] >= 8 * k) & (sel["weights"] > BARRIER_ZERO)]


def _theory_widths(sel: pd.DataFrame, k: int) -> np.ndarray:
    """The widths of the runs at teacher width k that the theory covers: m >= k (a neuron per ray)."""
    widths = np.unique(sel["m"])
    return widths[widths >= k]


def _fitted_model(tail: pd.DataFrame, k: int) -> dict:
    """The sampler of ``fitted_allocation``: ``theory.width.predicted_curve``'s keywords."""
    r, alpha = fitted_allocation(tail, k)
    return {"allocation": "sparse", "r": r, "split": "dirichlet", "alpha": alpha}


def sampled_theory(table: pd.DataFrame, store) -> dict[int, dict]:
    """Per teacher width k, the theory the analysis holds GD against, each kept in the store
    (teacher: k orthonormal rays in the runs' smallest d): ``curve``, the sampled-minima curve and
    the exact expectation over ``_theory_widths`` (``_theory``); with a tail (``_tail``),
    ``fitted_curve``, the sampled-minima curve of GD's fitted allocation (``_fitted_model``); with a
    tail of two widths or more, ``slopes``: each sampler's (``theory``, ``fitted_theory``) tail slope
    on GD's tail design (``sampler_slope``)."""
    out: dict[int, dict] = {}
    for k, sel in table.groupby("k"):
        teacher = tl.Teacher.orthonormal(k, int(sel["d"].min()))
        widths, tail = _theory_widths(sel, k), _tail(sel, k)
        entry: dict = {"curve": _theory(store, teacher, widths)}
        if len(tail):
            model = _fitted_model(tail, k)
            entry["fitted_curve"] = sampled_prediction(store, teacher, widths, **model)
            if tail["m"].nunique() >= 2:
                entry["slopes"] = {name: sampler_slope(store, teacher, tail["m"], **sampler)
                                   for name, sampler in (("theory", {}), ("fitted_theory", model))}
        out[int(k)] = entry
    return out


def _by_width(widths: np.ndarray, values) -> dict[int, float]:
    """{m: value} with plain Python numbers, for JSON."""
    return dict(zip(map(int, widths), map(float, values)))


def analyse(table: pd.DataFrame, theory: dict[int, dict]) -> dict:
    """Per teacher width k (entries "k=K"), with B the barrier mod P by weights matching and the
    theory of ``sampled_theory`` (``theory[k]``):

    * the theory: its asymptote C / m (C = ``asymptotic_constant``, exponent
      ``ASYMPTOTIC_EXPONENT["equal"]``), its mean and numerical-path fraction per m >= k; GD's mean B
      per m >= k;
    * the tail (``_tail``: m >= 8 k, B > BARRIER_ZERO): GD's fitted allocation (r, alpha)
      (``fitted_allocation``) and its sampler's mean per m; the slope of log B on log m
      (``theory.fits.loglog_slope``, a point per pair) with its 95% bootstrap interval, per d and
      each d's level about the pooled line (``_d_independence``), each sampler's slope and GD's
      minus it (``theory.fits.slope_difference``);
    * the fraction of converged pairs; the pairs with B <= BARRIER_ZERO at m = k, with a
      Clopper-Pearson 95% interval; the peak of GD's mean B over m >= k with its bootstrap
      interval (``theory.fits.bootstrap_extremum``), its dip (``_dip``), the theory's peak and dip;
    * at the smallest k, the ``stopping_rule``.

    Pure: no drawing, no files."""
    smallest_k = table["k"].min()
    out: dict = {}
    for k, sel in table.groupby("k"):
        widths, tail = _theory_widths(sel, k), _tail(sel, k)
        curve = theory[int(k)]["curve"]
        C = asymptotic_constant(k, ray_probability(k))
        gd_mean = group_stats(sel[sel["m"] >= k], "m", "weights")["value"].to_numpy()
        entry: dict = {"theory_exponent": ASYMPTOTIC_EXPONENT["equal"], "theory_constant": C,
                       "theory_numerical_fraction_by_m": _by_width(widths, curve["numerical"]),
                       "theory_by_m": _by_width(widths, curve["mean"]), "gd_by_m": _by_width(widths, gd_mean)}
        if len(tail):
            r_fit, alpha_fit = fitted_allocation(tail, k)
            entry |= {"fitted_r": r_fit, "fitted_alpha": alpha_fit,
                      "fitted_theory_by_m": _by_width(widths, theory[int(k)]["fitted_curve"]["mean"])}
        if tail["m"].nunique() >= 2:
            fit = fits.loglog_slope(tail["m"], tail["weights"], seed=0)
            entry |= {"gd_slope": fit.slope, "gd_slope_ci95": fit.ci, "tail_points": fit.n}
            entry |= _d_independence(tail)
            # each sampler's slope by GD's estimator on GD's design: one sampled pair per GD tail pair
            for name, sampled in theory[int(k)]["slopes"].items():
                diff, diff_ci = fits.slope_difference(fit, sampled)
                entry |= {f"{name}_slope": sampled.slope, f"{name}_slope_ci95": sampled.ci,
                          f"gd_minus_{name}_slope": diff, f"gd_minus_{name}_slope_ci95": diff_ci}
        entry["converged_fraction"] = float(np.mean(sel["converged"].to_numpy()))
        m, weights = sel["m"].to_numpy(), sel["weights"].to_numpy()
        peak, peak_ci = fits.bootstrap_extremum(widths, [weights[m == w] for w in widths], "max", seed=0)
        at_k = weights[m == k]
        if at_k.size:  # the dip: pairs whose barrier mod P is exactly zero at m = k
            zero = int(np.sum(at_k <= BARRIER_ZERO))
            pairs = sel[sel["m"] == k]
            relative = (pairs["weights"] / (0.5 * (pairs["loss_A"] + pairs["loss_B"]))).to_numpy()
            small = int(np.sum(relative <= ZERO_RELATIVE))
            entry |= {"zero_at_m_eq_k": f"{zero}/{at_k.size}",
                      "zero_at_m_eq_k_ci95": fits.clopper_pearson(zero, at_k.size),
                      "zero_relative_at_m_eq_k": f"{small}/{at_k.size}",
                      "zero_relative_at_m_eq_k_ci95": fits.clopper_pearson(small, at_k.size),
                      "barrier_over_loss_at_m_eq_k_max": float(np.max(relative))}
        entry |= {"gd_peak_m": peak, "gd_peak_m_ci95": peak_ci, "gd_dip_m": _dip(widths, gd_mean),
                  "theory_peak_m": fits.extremum(widths, curve["mean"], "max"),
                  "theory_dip_m": _dip(widths, curve["mean"])}
        if k == smallest_k:
            entry["stopping_rule"] = stopping_rule(sel)
        out[f"k={k}"] = entry
    return out


#: the marker of each input dimension d
MARKERS = {10: "o", 30: "s", 100: "^"}


def plot(analysis: dict, table: pd.DataFrame, theory: dict[int, dict]):
    """One panel per teacher width k: GD's mean barrier mod P per d (band: +-1 s.e.) and with no
    permutation, the theory (``theory``: sampled minima with their s.e., the exact expectation,
    the asymptote, the fitted allocation's curve); the tail of the smallest k with its fitted power
    law (``_draw_tail``); the effective neurons per d."""
    n_k, smallest_k = table["k"].nunique(), table["k"].min()
    # one barrier panel per teacher width k, the tail of the first k with its fitted power law, condensation
    fig, axes = figure(n_k + 2)
    ax2, tail_ax = axes[-1], axes[-2]
    for ax, (k, sel) in zip(axes, table.groupby("k")):
        entry, curve = analysis[f"k={k}"], theory[int(k)]["curve"]
        for d, part in sel.groupby("d"):
            gd, neff = group_stats(part, "m", "weights"), group_stats(part, "m", "neff")
            x, mean, sem = gd.index.to_numpy(), gd["value"].to_numpy(), gd["sem"].to_numpy()
            line, = ax.plot(x, np.maximum(mean, FLOOR), marker=MARKERS.get(d, "x"), ls="-", lw=1,
                            label=f"GD, weights matching, k={k}, d={d} (band: ±1 s.e.)")
            ax.fill_between(x, np.maximum(mean - sem, FLOOR), np.maximum(mean + sem, FLOOR),
                            color=line.get_color(), alpha=0.15, lw=0)
            ax2.plot(neff.index.to_numpy(), neff["value"].to_numpy(), marker=MARKERS.get(d, "x"), label=f"k={k}, d={d}")
        plain = group_stats(sel, "m", "plain")
        ax.plot(plain.index.to_numpy(), np.maximum(plain["value"].to_numpy(), FLOOR), color="0.6", ls=":",
                label=f"GD, no permutation, k={k}")
        tw = _theory_widths(sel, k)
        numerical = curve["numerical"] > 0
        ax.errorbar(tw, np.maximum(curve["mean"], FLOOR), yerr=curve["sem"], color="k", lw=1.5, capsize=2,
                    label=f"theory: sampled minima, k={k}")
        if numerical.any():
            ax.plot(tw[numerical], np.maximum(curve["mean"][numerical], FLOOR), "o", color="k", mfc="w", ms=5,
                    label="theory + numerical path (cross-ray pairs)")
        small = tw[tw <= EXACT_MAX_WIDTH]
        ax.plot(small, np.maximum(curve["exact"], FLOOR), "kD", ms=4, mfc="none", label="theory: exact enumeration")
        C = entry["theory_constant"]
        ax.plot(tw, C / tw, "k--", lw=1, label=f"theory asymptote {C:.3f}/m")
        if "fitted_curve" in theory[int(k)]:
            fitted_curve = theory[int(k)]["fitted_curve"]
            ax.errorbar(tw, np.maximum(fitted_curve["mean"], FLOOR), yerr=fitted_curve["sem"], color="0.35", lw=1.2,
                        capsize=2, label=f"theory, GD's allocation fitted: r={entry['fitted_r']:.2f}, "
                        f"Dirichlet({entry['fitted_alpha']:.2f})")
        if "gd_slope" in entry and k == smallest_k:
            _draw_tail(tail_ax, _tail(sel, k), entry["gd_slope"], entry["gd_slope_ci95"], k)
        ax.set(xscale="log", yscale="log", xlabel="student width m (neurons)", ylim=(FLOOR, 1.0),
               ylabel="loss barrier (population, sup over t)", title=f"Barrier mod P vs width, k={k}")
        zeros = f"\nexact 0 at m = k in {entry['zero_at_m_eq_k']} pairs" if "zero_at_m_eq_k" in entry else ""
        ax.text(0.98, 0.03, f"values < {FLOOR:g} drawn\non the bottom axis{zeros}",
                transform=ax.transAxes, fontsize=8, va="bottom", ha="right")
        # one column: the tail panel's legend is below its panel too
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax2.set(xscale="log", yscale="log", xlabel="student width m (neurons)",
            ylabel="effective neurons (participation ratio)", title="Condensation of GD solutions")
    ax2.legend(fontsize=8)
    return fig


def summarize(table: pd.DataFrame, out: FigureDir, store) -> dict:
    theory = sampled_theory(table, store)
    analysis = analyse(table, theory)
    columns = table[["k", "d", "m", "replicate", "plain", "weights", "refine", "neff", "inactive", "loss_A",
                     "loss_B", "weights_protocol"]].to_dict("list")
    return save(plot(analysis, table, theory), "width", out, columns, analysis)


EXPERIMENT = Experiment("width", "barrier plain and mod P vs student width m; theory curve and 1/m asymptote",
                        configs, run, summarize, version=4, order=10)
