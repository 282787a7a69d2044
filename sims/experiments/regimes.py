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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

import twolayer as tl
from theory import fits
from theory.lazy import lazy_curve
from twolayer.random import child
from twolayer.validation import check_enum, check_positive_float, check_positive_int

from ..common import BARRIER_ZERO, FigureDir, figure, fixed_log_ticks, save
from ..experiment import Experiment
from ..profile import Profile, unknown
from ..table import Table
from .width import sampled_prediction, sampler_slope


class Scheme(str, enum.Enum):
    """The initialisation schemes compared (config field ``init``); ``SCHEMES`` gives each one's Init."""

    SMALL = "small"
    PYTORCH = "pytorch"
    LECUN = "lecun"
    MEANFIELD = "meanfield"


#: the one place a config's scheme becomes an Init
SCHEMES: dict[Scheme, tl.Init] = {Scheme.SMALL: tl.SmallScale(1e-3, True), Scheme.PYTORCH: tl.PyTorchDefault(),
                                  Scheme.LECUN: tl.LeCunNormal(), Scheme.MEANFIELD: tl.MeanField(1.0)}
#: lr_rel below the sparsity transition, and inside it: inside the window [lazy-unstable, catapult]
#: ~ [1.05, 2.1] that theory.stability.lr_window predicts for O(1) inits (figures/paper/lr.json); for
#: the small init lr's s = 0.01 transition sits at 0.68 and GD diverges from 1.0, so 0.8
RATES = {"below": 0.5, "inside": {Scheme.SMALL: 0.8}}
INSIDE_DEFAULT = 1.26
#: the stopping rule examined: the state at the first checkpoint where both losses are <= this
STOP_LOSS = 1e-7
#: log-spaced checkpoints per run for the stopping rule
CHECKPOINTS = 25
#: pairs of initial students per width for the init-pair prediction (Monte Carlo)
LAZY_PAIRS = 40
#: sampled condensed minima per GD tail pair for the small scheme's prediction exponent
SAMPLED_PER_PAIR = 10
K = 2


def inside_rate(scheme: Scheme) -> float:
    return RATES["inside"].get(scheme, INSIDE_DEFAULT)


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


#: the protocol of the other width experiments (loss 1e-9), kept for a sample of pairs that tests the
#: stopping rule; every other run stops at STOP_LOSS (``stopping_rule`` in the JSON: the ratio of the two barriers
#: on that sample; not yet validated: a few pairs, all below 1)
PROTOCOL_TOL = 1e-9
#: quick: one pair per point, every scheme and d at the lower rate, the inner rate at d = 10
QUICK_WIDTHS = (2, 4, 8, 16, 32)
QUICK_STEPS = 30_000
#: paper: pairs per width in each cell (docs/paper_profile.md, "regimes": the power this buys). The
#: tail pairs sit at the ends of m = 16 ... 64 (a pair costs ~10x more at 64); m = 128 takes ~120 s
#: a pair and often more than 1e5 steps, so it and m = 256 are left to the full profile
PAPER_PAIRS = {2: 3, 4: 3, 8: 3, 16: 24, 32: 2, 64: 14}
#: the inner rate: fewer pairs (in a first paper run most of them diverged or did not converge)
PAPER_PAIRS_INSIDE = {2: 3, 4: 3, 8: 3, 16: 10, 32: 2, 64: 6}
FULL_PAIRS = PAPER_PAIRS | {128: 2, 256: 1}
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
    on_tail = widths >= 8 * K
    m = np.repeat(widths[on_tail], LAZY_PAIRS)
    b = np.asarray(pred["values"])[on_tail].ravel()
    keep = b > BARRIER_ZERO
    if np.unique(m[keep]).size < 2:
        return None
    return fits.loglog_slope(m[keep], b[keep], seed=1)


def _cell_summary(cell: Table, k: int, predicted: fits.SlopeFit | None) -> dict:
    """A cell's numbers from its converged pairs (diverged and step-capped pairs counted, not used);
    with ``predicted`` (the prediction's tail fit by the same estimator), GD's tail exponent minus
    the prediction's, with the 95% interval of the difference of independent bootstraps."""
    ok = cell.rows(np.isfinite(cell["weights"]) & (cell["converged"] > 0))
    entry = {"runs": int(len(cell)), "diverged": int(np.nansum(cell["diverged"])),
             "converged_fraction": float(np.mean(cell["converged"]))}
    if not len(ok):
        return entry
    g = ok.group("m", "weights", stat=np.median)
    entry["median_by_m"] = dict(zip(map(int, g.x), map(float, g.value)))
    entry["plain_median_by_m"] = dict(zip(map(int, g.x), map(float, ok.group("m", "plain", stat=np.median).value)))
    entry["neff_rel_by_m"] = dict(zip(map(int, g.x), map(float, ok.group("m", "neff_rel", stat=np.median).value)))
    at_k = ok["weights"][ok["m"] == k]
    if at_k.size:
        zero = int(np.sum(at_k <= BARRIER_ZERO))
        entry |= {"zero_at_m_eq_k": f"{zero}/{at_k.size}", "zero_at_m_eq_k_ci95": fits.clopper_pearson(zero, at_k.size)}
    above = g.x > k
    if above.any():
        entry["min_m_above_k"] = int(g.x[above][np.argmin(g.value[above])])
        entry["peak_m"] = int(g.x[np.argmax(g.value)])
    tail = ok.rows((ok["m"] >= 8 * k) & (ok["weights"] > BARRIER_ZERO))
    if tail.unique("m").size >= 2:
        fit = fits.loglog_slope(tail["m"], tail["weights"], seed=0)
        entry |= {"tail_slope": fit.slope, "tail_slope_ci95": fit.ci, "tail_pairs": fit.n,
                  "tail_widths": [int(w) for w in tail.unique("m")]}
        if predicted is not None:
            diff, diff_ci = fits.slope_difference(fit, predicted)
            entry |= {"tail_minus_prediction_slope": diff, "tail_minus_prediction_slope_ci95": list(diff_ci)}
        resid = np.log(tail["weights"]) - fit.intercept - fit.slope * np.log(tail["m"])
        entry["tail_log_sd"] = float(np.std(resid, ddof=2)) if resid.size > 2 else None
    return entry


def _slope_difference(a: Table, b: Table, n_boot: int = 2000) -> tuple[float | None, list | None]:
    """The tail slope of a minus that of b, with a 95% percentile bootstrap over each one's pairs
    (a formal test of a d-independent exponent: the interval contains 0)."""
    def slope(t: Table, idx) -> float:
        x, y = np.log(t["m"][idx]), np.log(t["weights"][idx])
        return np.polyfit(x, y, 1)[0] if np.unique(x).size >= 2 else np.nan

    if a.unique("m").size < 2 or b.unique("m").size < 2:
        return None, None
    rng = np.random.default_rng(0)
    boot = [slope(a, rng.integers(0, len(a), len(a))) - slope(b, rng.integers(0, len(b), len(b)))
            for _ in range(n_boot)]
    point = slope(a, np.arange(len(a))) - slope(b, np.arange(len(b)))
    return float(point), [float(q) for q in np.nanpercentile(boot, [2.5, 97.5])]


def _stopping(table: Table) -> dict:
    """The stopping rule against the protocol: in the runs trained to PROTOCOL_TOL, barrier mod P at
    the first checkpoint with loss <= STOP_LOSS over the final one, and the fraction of steps it took."""
    ok = table.rows(np.isfinite(table["weights_at_stop"]) & (table["weights"] > BARRIER_ZERO)
                    & (table["converged"] > 0) & (table["tol"] <= PROTOCOL_TOL))
    if not len(ok):
        return {"pairs": 0}
    ratio = ok["weights_at_stop"] / ok["weights"]
    steps = ok["stop_step"] / np.max(np.stack(ok["steps_run"]), axis=1)
    return {"stop_loss": STOP_LOSS, "pairs": int(len(ok)), "ratio_median": float(np.median(ratio)),
            "ratio_q05_q95": [float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))],
            "within_10pc": float(np.mean(np.abs(ratio - 1) <= 0.1)),
            "step_fraction_median": float(np.median(steps))}


def summarize(table: Table, out: FigureDir, store) -> dict:
    everything = table
    table = table.rows(table["tol"] > PROTOCOL_TOL)  # the curves: the runs under the stopping rule
    schemes = [Scheme(s) for s in dict.fromkeys(table["init"])]
    schemes = [s for s in Scheme if s in schemes]
    ds = [int(d) for d in table.unique("d")]
    fitted: dict = {"rate_unit": "eta / (2 / lambda_max(H(theta_0)))", "tail": "m >= 8k, barrier mod P > 1e-14",
                    "schemes": {}}
    fig, axes = figure(len(ds), nrows=len(schemes), width=4.6, height=4.2)
    axes = np.atleast_2d(axes)
    for row, scheme in enumerate(schemes):
        init = SCHEMES[scheme]
        sel = table.rows(np.array([Scheme(s) is scheme for s in table["init"]]))
        entry = {"limit": {"gamma": init.exponents().gamma, "gamma_prime": init.exponents().gamma_prime,
                           "regime": init.regime().value},
                 "effective_regime_by_m": {int(m): init.regime(int(m)).value for m in sel.unique("m") if m >= 2},
                 "effective_gamma_by_m": {int(m): init.exponents(int(m)).gamma for m in sel.unique("m") if m >= 2}}
        for col, d in enumerate(ds):
            ax = axes[row, col]
            part = sel.rows(sel["d"] == d)
            widths = part.unique("m").astype(int)
            if not len(part):  # a scheme run at fewer d (LeCun in the paper profile)
                ax.axis("off")
                ax.text(0.5, 0.5, f"{scheme.value}: not run at d={d} in this profile", ha="center", va="center",
                        transform=ax.transAxes, fontsize=9)
                continue
            tw = widths[widths >= K]
            if tw.size:
                pred = predictions(store, scheme, d, tw)
                mean, sem = np.asarray(pred["mean"]), np.asarray(pred["sem"])
                ax.plot(tw, np.maximum(mean, 1e-8), "k-", lw=1.3, label=f"prediction: {pred['label']} (band: ±1 s.e.)")
                ax.fill_between(tw, np.maximum(mean - sem, 1e-8), np.maximum(mean + sem, 1e-8), color="k", alpha=0.15,
                                lw=0)
                entry.setdefault("prediction", {})[str(d)] = {
                    "label": pred["label"], "by_m": dict(zip(map(int, tw), map(float, pred["mean"]))),
                    "sem_by_m": dict(zip(map(int, tw), map(float, pred["sem"])))}
                below = part.rows((part["lr_rel"] == RATES["below"]) & (part["m"] >= 8 * K)
                                  & (part["weights"] > BARRIER_ZERO) & (part["converged"] > 0))
                predicted = prediction_slope(store, scheme, d, pred, tw, below["m"])
                if predicted is not None:
                    entry["prediction"][str(d)] |= {"slope": predicted.slope, "slope_ci95": list(predicted.ci),
                                                    "slope_pairs": predicted.n}
            else:
                predicted = None
            for (rate,), cell in part.split(("lr_rel",)).items():
                key = f"d={d} lr_rel={rate:g}"
                summary = _cell_summary(cell, K, predicted)
                entry[key] = summary
                style = "-" if rate == RATES["below"] else "--"
                if "median_by_m" in summary:
                    x = np.array(list(summary["median_by_m"]), dtype=float)
                    y = np.array(list(summary["median_by_m"].values()))
                    line, = ax.plot(x, np.maximum(y, 1e-8), "o" + style, ms=4,
                                    label=f"GD mod P, lr_rel={rate:g} (median; dots: pairs)")
                    ok = cell.rows(np.isfinite(cell["weights"]) & (cell["converged"] > 0))
                    ax.plot(ok["m"], np.maximum(ok["weights"], 1e-8), ".", color=line.get_color(), alpha=0.3, ms=3)
                    yp = np.array(list(summary["plain_median_by_m"].values()))
                    ax.plot(x, np.maximum(yp, 1e-8), ":", color=line.get_color(),
                            label=f"GD plain, lr_rel={rate:g} (median)")
            ax.set(xscale="log", yscale="log", ylim=(1e-8, None))
            if widths.size:
                fixed_log_ticks(ax.xaxis, widths)
            at = sorted({init.regime(int(m)).value for m in widths if m >= 2}) or ["-"]
            ax.set(xlabel="student width m (neurons)", ylabel="loss barrier (population)",
                   title=f"{scheme.value}: {'/'.join(at)} at these m ({init.regime().value} limit), d={d}")
            ax.title.set_fontsize(9)
            ax.text(0.02, 0.03, "values < 1e-8 drawn at 1e-8", transform=ax.transAxes, fontsize=7)
            if d == (10 if 10 in ds else ds[0]):  # the column with both rates
                ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
        if len(ds) >= 2:
            d_test = {}
            for (rate,), cell in sel.split(("lr_rel",)).items():
                tail = cell.rows((cell["m"] >= 8 * K) & (cell["weights"] > BARRIER_ZERO) & (cell["converged"] > 0))
                if tail.unique("d").size >= 2 and tail.unique("m").size >= 2:
                    lv = fits.level_offsets(tail["m"], tail["weights"], tail["d"], seed=0)
                    lo, hi = int(tail["d"].min()), int(tail["d"].max())
                    diff = _slope_difference(tail.rows(tail["d"] == lo), tail.rows(tail["d"] == hi))
                    d_test[f"lr_rel={rate:g}"] = {"level_factor_by_d": lv.factor, "level_factor_ci95_by_d": lv.ci,
                                                  f"slope_d{lo}_minus_d{hi}": diff[0],
                                                  f"slope_d{lo}_minus_d{hi}_ci95": diff[1]}
            entry["d_dependence"] = d_test
        fitted["schemes"][scheme.value] = entry
    fitted["stopping_rule"] = _stopping(everything)
    fig.tight_layout()
    columns = everything.csv(("init", "d", "m", "lr_rel", "tol", "replicate", "weights", "plain", "neff_rel",
                              "converged", "weights_at_stop", "stop_step"))
    save(fig, "regimes", out, columns, fitted)
    _phase_figure(fitted, out)
    return fitted


#: the phase figure's gamma axis ends here (SmallScale(1e-3) reaches it at m = 1e6 ** (1 / GAMMA_MAX))
GAMMA_MAX = 8.0
#: vertical offsets for drawing only (schemes at the same point of the plane)
DRAWN_SHIFT = {"lecun": -0.15}
SMALL_FIRST_SHOWN = int(np.ceil(1e6 ** (1 / GAMMA_MAX)))


def _phase_figure(fitted: dict, out: FigureDir) -> None:
    """The Luo et al. plane: each scheme at its effective location per width (a path toward its
    limit), coloured by the tail exponent (left) and by N_eff/m (right); boundaries drawn."""
    import matplotlib as mpl

    fig, axes = figure(2, width=5.6, height=4.6)
    slope_norm = mpl.colors.Normalize(-2.0, 0.5)
    neff_norm = mpl.colors.Normalize(0.0, 0.6)
    rows = {"scheme": [], "m": [], "gamma_eff": [], "gamma_prime_eff": [], "neff_rel": [], "tail_slope": []}
    markers = {"small": "s", "pytorch": "o", "lecun": "^", "meanfield": "D"}
    for ax, what in zip(axes, ("tail_slope", "neff_rel")):
        ax.plot([1, 1], [-1.5, 0], "k-", lw=1.2)
        ax.plot([1, GAMMA_MAX], [0, GAMMA_MAX - 1], "k-", lw=1.2, label="critical boundary (Luo et al.)")
        ax.text(0.3, 1.2, "linear", fontsize=10)
        ax.text(3.5, 0.3, "condensed", fontsize=10)
        ax.text(GAMMA_MAX - 0.1, -1.4, f"small, m < {SMALL_FIRST_SHOWN}: γ > {GAMMA_MAX} (off the axis)",
                fontsize=7, ha="right")
        for name, entry in fitted["schemes"].items():
            init = SCHEMES[Scheme(name)]
            cell = entry.get(f"d=10 lr_rel={RATES['below']:g}", {})
            ms = np.array(sorted(int(m) for m in entry["effective_gamma_by_m"]), dtype=int)
            neff = {int(m): v for m, v in cell.get("neff_rel_by_m", {}).items()}  # keys int, or str from JSON
            pts = np.array([[init.exponents(int(m)).gamma, init.exponents(int(m)).gamma_prime] for m in ms])
            shift = DRAWN_SHIFT.get(name, 0.0)  # LeCun sits on PyTorch's limit point: drawn lower
            pts[:, 1] += shift
            lim = entry["limit"]
            ax.plot(pts[:, 0], pts[:, 1], "-", color="0.6", lw=0.8)
            ax.plot([pts[-1, 0], lim["gamma"]], [pts[-1, 1], lim["gamma_prime"]], ":", color="0.6", lw=0.8)
            ax.plot(lim["gamma"], lim["gamma_prime"] + shift, markers[name], mfc="none", mec="k", ms=9)
            for m, (x, y) in zip(ms, pts):
                if what == "tail_slope":
                    v = cell.get("tail_slope", np.nan)
                    color = mpl.cm.coolwarm(slope_norm(v)) if np.isfinite(v) else "0.8"
                else:
                    v = neff.get(int(m), np.nan)
                    color = mpl.cm.viridis(neff_norm(v)) if np.isfinite(v) else "0.8"
                ax.plot(x, y, markers[name], color=color, mec="k", ms=6)
                if what == "tail_slope":
                    rows["scheme"].append(name)
                    rows["m"].append(int(m))
                    rows["gamma_eff"].append(x)
                    rows["gamma_prime_eff"].append(y)
                    rows["neff_rel"].append(neff.get(int(m), np.nan))
                    rows["tail_slope"].append(cell.get("tail_slope", np.nan))
            label = name + (f" (drawn {-shift:g} lower)" if shift else "")
            if what == "tail_slope" and cell.get("tail_slope") is not None:
                lo, hi = cell["tail_slope_ci95"]
                label += f": {cell['tail_slope']:.2f} [{lo:.2f}, {hi:.2f}]"
            ax.annotate(label, (pts[-1, 0], pts[-1, 1]), textcoords="offset points",
                        xytext=(4, -13) if shift or name == "small" else (4, 5), fontsize=7)
        ax.set(xlabel="γ = -log(β₁β₂/α) / log m  (effective at each m; open: m → ∞)",
               ylabel="γ' = -log(β₁/β₂) / log m", xlim=(-0.3, GAMMA_MAX), ylim=(-1.5, 1.5))
        sm = mpl.cm.ScalarMappable(norm=slope_norm if what == "tail_slope" else neff_norm,
                                   cmap="coolwarm" if what == "tail_slope" else "viridis")
        fig.colorbar(sm, ax=ax, label="tail exponent of barrier mod P (d=10)" if what == "tail_slope"
                     else "N_eff / m (median, d=10)")
        ax.set_title("phase diagram: " + ("tail exponent [95% CI], d=10" if what == "tail_slope"
                                          else "N_eff / m per m"))
    axes[0].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    save(fig, "regimes_phase", out, rows, {"points": len(rows["m"]), "lr_rel": RATES["below"], "d": 10})


EXPERIMENT = Experiment("regimes", "barrier mod P and plain vs width m per initialisation scheme (small, PyTorch "
                        "default, LeCun, mean-field) on the Luo et al. phase diagram; predictions per regime",
                        configs, run, summarize, order=190,
                        more_figures=(("regimes_phase", "every scheme's runs on the Luo et al. phase diagram "
                                                        "(effective exponents per m), coloured by tail exponent "
                                                        "and by N_eff/m, d=10"),))


def _interval(value, ci) -> str:
    return "–" if value is None else f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _vanishes(cell: dict) -> str:
    """From the tail exponent's 95% interval over the tail widths: "decreases" (below 0), "grows"
    (above 0), "not resolved" (contains 0); a statement about these widths, not the limit."""
    if cell.get("tail_slope") is None:
        return "no converged tail"
    lo, hi = cell["tail_slope_ci95"]
    return "decreases" if hi < 0 else "grows" if lo > 0 else "not resolved (interval contains 0)"


def regime_table(fitted: dict) -> str:
    """The regime table of README and docs/paper_profile.md (markdown), every number from ``fitted``
    (the figure's JSON): one row per scheme and d at the lower rate. The prediction's exponent is
    fitted by GD's estimator to single predicted pairs; "GD − prediction" is the difference of the
    two with the 95% interval of independent bootstraps (0 inside: the prediction is not excluded);
    "d = lo − d = hi" is the formal test of a d-independent exponent (on the scheme's first row)."""
    lines = ["| scheme (regime at m = 16 … 64; limit) | d | pairs converged / run | barrier mod P over m = 16 … 64 "
             "| tail exponent [95% CI] "
             "(pairs) | prediction's exponent [95% CI] | GD − prediction [95% CI] | exponent d = lo − d = hi "
             "[95% CI] | N_eff/m at m = 64 | minimum over m > k | lr inside the window |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    below = f"lr_rel={RATES['below']:g}"
    for name, entry in fitted["schemes"].items():
        scheme = Scheme(name)
        regimes = sorted({v for m, v in entry["effective_regime_by_m"].items() if 16 <= int(m) <= 64})
        inside = entry.get(f"d=10 lr_rel={inside_rate(scheme):g}", {})
        if inside:
            n_conv = round(inside["converged_fraction"] * inside["runs"])
            lr_effect = f"{inside['diverged']}/{inside['runs']} diverged, {n_conv} converged"
            if inside.get("tail_slope") is not None:
                lr_effect += (f"; converged pairs only, m = {', '.join(map(str, inside['tail_widths']))}: exponent "
                              f"{_interval(inside['tail_slope'], inside['tail_slope_ci95'])}")
        d_test = entry.get("d_dependence", {}).get(below, {})
        diff_key = next((k for k in d_test if k.startswith("slope_d") and not k.endswith("_ci95")), None)
        d_cell = (f"{diff_key[len('slope_'):].replace('_minus_', ' − ').replace('d', 'd = ')}: "
                  f"{_interval(d_test[diff_key], d_test[diff_key + '_ci95'])}"
                  if diff_key and d_test[diff_key] is not None else "–")
        first = True
        for key, cell in entry.items():
            if not key.startswith("d=") or not key.endswith(below):
                continue
            d = key.split()[0][2:]
            pred = entry.get("prediction", {}).get(d, {})
            neff = {int(m): v for m, v in cell.get("neff_rel_by_m", {}).items()}.get(64)
            pred_cell = (f"{_interval(pred['slope'], pred['slope_ci95'])} ({pred['label'].split(' (')[0]})"
                         if "slope" in pred else "–")
            diff = _interval(cell.get("tail_minus_prediction_slope"), cell.get("tail_minus_prediction_slope_ci95"))
            lines.append(
                f"| {name} ({'/'.join(regimes)}; {entry['limit']['regime']}) | {d} | "
                f"{round(cell['converged_fraction'] * cell['runs'])}/{cell['runs']} | {_vanishes(cell)} | "
                f"{_interval(cell.get('tail_slope'), cell.get('tail_slope_ci95'))} ({cell.get('tail_pairs', 0)}) | "
                f"{pred_cell} | {diff} | {d_cell if first else ''} | "
                f"{'–' if neff is None else f'{neff:.2f}'} | {cell.get('min_m_above_k', '–')} | "
                f"{lr_effect if inside and d == '10' else '–'} |")
            first = False
    return "\n".join(lines)
