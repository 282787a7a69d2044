"""The analysis of ``regimes``: every number of its figure's JSON, from the table of runs and the
regimes' predictions (computed from theory by ``regimes.summarize`` and passed in). Pure: no drawing,
no store, no files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from theory import fits

from ..common import BARRIER_ZERO
from ..table import group_stats, stack
from .regimes_schemes import PROTOCOL_TOL, RATES, SCHEMES, STOP_LOSS, K, Scheme

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Prediction:
    """A regime's prediction on one panel (a scheme at one d): its label, the panel's widths m >= k,
    the predicted barrier's mean and standard error there, and its tail exponent fitted by GD's
    estimator (``regimes.prediction_slope``; None where the tail has fewer than two widths)."""

    label: str
    widths: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    slope: fits.SlopeFit | None


def curve_runs(table: pd.DataFrame) -> pd.DataFrame:
    """The runs the width curves are drawn from: those under the stopping rule (tol > PROTOCOL_TOL),
    not the protocol sample."""
    return table[table["tol"] > PROTOCOL_TOL]


def schemes_in(table: pd.DataFrame) -> list[Scheme]:
    """The schemes run in ``table``, in ``Scheme``'s order."""
    run = {Scheme(s) for s in table["init"]}
    return [s for s in Scheme if s in run]


def scheme_rows(table: pd.DataFrame, scheme: Scheme) -> pd.DataFrame:
    return table[np.array([Scheme(s) is scheme for s in table["init"]], dtype=bool)]


def converged_pairs(cell: pd.DataFrame) -> pd.DataFrame:
    """The pairs that converged with a finite barrier mod P: the ones a cell's numbers come from."""
    return cell[np.isfinite(cell["weights"]) & (cell["converged"] > 0)]


#: the tail's smallest width: 8 k
TAIL_MIN_M = 8 * K
#: the half-width of a tail exponent's 95% interval that decides between "no decay" (0) and Zhan et
#: al.'s -1/2, which lie 0.5 apart: the pairs a cell would need for it are reported beside its fit
DECISIVE_HALF_WIDTH = 0.25


def tail_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """The converged pairs on the tail: m >= TAIL_MIN_M and barrier mod P > BARRIER_ZERO (the fitted ones)."""
    return rows[(rows["m"] >= TAIL_MIN_M) & (rows["weights"] > BARRIER_ZERO) & (rows["converged"] > 0)]


def lower_rate_tail(panel: pd.DataFrame) -> pd.DataFrame:
    """A panel's tail pairs at the lower rate: GD's tail design, on which the prediction's exponent
    is fitted."""
    return tail_pairs(panel[panel["lr_rel"] == RATES["below"]])


def analyse(table: pd.DataFrame, predictions: dict[tuple[Scheme, int], Prediction]) -> dict:
    """The numbers of the regimes figure, from the runs under the stopping rule (``curve_runs``) and
    each panel's ``Prediction`` (keyed by (scheme, d)). Pure: no drawing, no store, no files.

    Per scheme: its limit exponents (gamma, gamma') and regime, and the effective ones at each width
    (``twolayer.Init.exponents(m)``); per d, the prediction's mean and s.e. per width and its fitted
    tail exponent; per (d, rate) cell, ``_cell_summary``: medians over converged pairs per width, the
    zeros at m = k, the minimum and peak widths, the tail exponent b of B ~ m^b (m >= 8k) and
    b_GD - b_prediction; with two d or more, ``_d_dependence``. Then ``stopping_rule``
    (``_stopping``: the protocol sample).
    """
    curves = curve_runs(table)
    ds = [int(d) for d in np.unique(curves["d"])]
    fitted: dict = {"rate_unit": "eta / (2 / lambda_max(H(theta_0)))", "tail": "m >= 8k, barrier mod P > 1e-14",
                    "schemes": {}}
    for scheme in schemes_in(curves):
        init = SCHEMES[scheme]
        sel = scheme_rows(curves, scheme)
        entry = {"limit": {"gamma": init.exponents().gamma, "gamma_prime": init.exponents().gamma_prime,
                           "regime": init.regime().value},
                 "effective_regime_by_m": {int(m): init.regime(int(m)).value for m in np.unique(sel["m"]) if m >= 2},
                 "effective_gamma_by_m": {int(m): init.exponents(int(m)).gamma for m in np.unique(sel["m"]) if m >= 2}}
        for d in ds:
            panel = sel[sel["d"] == d]
            if not len(panel):  # a scheme run at fewer d (LeCun in the paper profile)
                continue
            pred = predictions.get((scheme, d))
            if pred is not None:
                entry.setdefault("prediction", {})[str(d)] = {
                    "label": pred.label, "by_m": dict(zip(map(int, pred.widths), map(float, pred.mean))),
                    "sem_by_m": dict(zip(map(int, pred.widths), map(float, pred.sem)))}
                if pred.slope is not None:
                    entry["prediction"][str(d)] |= {"slope": pred.slope.slope, "slope_ci95": list(pred.slope.ci),
                                                    "slope_pairs": pred.slope.n}
            for (rate,), cell in panel.groupby(["lr_rel"]):
                entry[f"d={d} lr_rel={rate:g}"] = _cell_summary(cell, None if pred is None else pred.slope)
        if len(ds) >= 2:
            entry["d_dependence"] = _d_dependence(sel)
        fitted["schemes"][scheme.value] = entry
    fitted["stopping_rule"] = _stopping(table)
    return fitted


def _d_dependence(sel: pd.DataFrame) -> dict:
    """Per rate, over the scheme's tail pairs at every d: the level of each d's tail as a factor of
    the pooled line (``fits.level_offsets``) and the tail exponent at the lowest d minus that at
    the highest (``_slope_difference``); rates whose tail spans fewer than two d or two m left out."""
    d_test = {}
    for (rate,), cell in sel.groupby(["lr_rel"]):
        tail = tail_pairs(cell)
        if tail["d"].nunique() >= 2 and tail["m"].nunique() >= 2:
            lv = fits.level_offsets(tail["m"], tail["weights"], tail["d"], seed=0)
            lo, hi = int(tail["d"].min()), int(tail["d"].max())
            diff = _slope_difference(tail[tail["d"] == lo], tail[tail["d"] == hi])
            d_test[f"lr_rel={rate:g}"] = {"level_factor_by_d": lv.factor, "level_factor_ci95_by_d": lv.ci,
                                          f"slope_d{lo}_minus_d{hi}": diff[0],
                                          f"slope_d{lo}_minus_d{hi}_ci95": diff[1]}
    return d_test


def _cell_summary(cell: pd.DataFrame, predicted: fits.SlopeFit | None) -> dict:
    """A cell's numbers from its converged pairs (diverged and step-capped pairs counted, not used);
    with ``predicted`` (the prediction's tail fit by the same estimator), GD's tail exponent minus
    the prediction's, with the 95% interval of the difference of independent bootstraps."""
    ok = converged_pairs(cell)
    entry = {"runs": int(len(cell)), "diverged": int(np.nansum(cell["diverged"].to_numpy())),
             "converged_fraction": float(np.mean(cell["converged"].to_numpy()))}
    if not len(ok):
        return entry
    medians = {c: group_stats(ok, "m", c, stat=np.median)["value"] for c in ("weights", "plain", "neff_rel")}
    x, median = medians["weights"].index.to_numpy(), medians["weights"].to_numpy()
    entry["median_by_m"] = dict(zip(map(int, x), map(float, median)))
    entry["plain_median_by_m"] = dict(zip(map(int, x), map(float, medians["plain"])))
    entry["neff_rel_by_m"] = dict(zip(map(int, x), map(float, medians["neff_rel"])))
    # the median's 95% bootstrap interval per width, where two or more pairs allow one (pairs resampled)
    values = {int(m): part["weights"].to_numpy() for m, part in ok.groupby("m")}
    entry["median_ci95_by_m"] = {m: list(fits.median_ci([v[i:i + 1] for i in range(v.size)], seed=0)[1])
                                 for m, v in values.items() if v.size >= 2}
    at_k = ok["weights"].to_numpy()[(ok["m"] == K).to_numpy()]
    if at_k.size:
        zero = int(np.sum(at_k <= BARRIER_ZERO))
        entry |= {"zero_at_m_eq_k": f"{zero}/{at_k.size}", "zero_at_m_eq_k_ci95": fits.clopper_pearson(zero, at_k.size)}
    above = x > K
    if above.any():
        entry["min_m_above_k"] = int(x[above][np.argmin(median[above])])
        entry["peak_m"] = int(x[np.argmax(median)])
    tail = tail_pairs(ok)
    entry |= _tail_selection(cell, ok)
    if tail["m"].nunique() >= 2:
        fit = fits.loglog_slope(tail["m"], tail["weights"], seed=0)
        # a bootstrap interval needs replicates: with fewer than two pairs at two widths every resample
        # that keeps two widths has the same slope, and the "interval" is that point
        has_interval = int((tail.groupby("m").size() >= 2).sum()) >= 2
        entry |= {"tail_slope": fit.slope, "tail_slope_ci95": fit.ci if has_interval else None, "tail_pairs": fit.n,
                  "tail_intercept": fit.intercept, "tail_widths": [int(w) for w in np.unique(tail["m"])]}
        if has_interval:  # the slope's variance falls as 1/pairs on the same design
            half = 0.5 * (fit.ci[1] - fit.ci[0])
            needed = int(np.ceil(fit.n * (half / DECISIVE_HALF_WIDTH) ** 2))
            entry[f"tail_pairs_for_half_width_{DECISIVE_HALF_WIDTH:g}"] = needed
        if predicted is not None:
            diff, diff_ci = fits.slope_difference(fit, predicted)
            entry |= {"tail_minus_prediction_slope": diff,
                      "tail_minus_prediction_slope_ci95": list(diff_ci) if has_interval else None}
        resid = np.log(tail["weights"].to_numpy()) - fit.intercept - fit.slope * np.log(tail["m"].to_numpy())
        entry["tail_log_sd"] = float(np.std(resid, ddof=2)) if resid.size > 2 else None
    return entry


def _tail_selection(cell: pd.DataFrame, ok: pd.DataFrame) -> dict:
    """What the tail fit leaves out, per tail width: pairs converged of those run, and among the
    converged the exact zeros (barrier mod P <= BARRIER_ZERO), whose logarithm the fit cannot take.
    Either may depend on m, and the fit on the rest is conditional on them."""
    widths = sorted(int(m) for m in np.unique(cell["m"]) if TAIL_MIN_M <= m)
    return {"tail_converged_by_m": {m: f"{int((ok['m'] == m).sum())}/{int((cell['m'] == m).sum())}" for m in widths},
            "tail_zeros_by_m": {m: f"{int(((ok['m'] == m) & (ok['weights'] <= BARRIER_ZERO)).sum())}/"
                                   f"{int((ok['m'] == m).sum())}" for m in widths}}


def _slope_difference(a: pd.DataFrame, b: pd.DataFrame, n_boot: int = 2000) -> tuple[float | None, list | None]:
    """The tail slope of a minus that of b, with a 95% percentile bootstrap over each one's pairs
    (a formal test of a d-independent exponent: the interval contains 0)."""
    def slopes(t: pd.DataFrame, idx: np.ndarray) -> np.ndarray:
        """The least-squares slope of log weights on log m for each row of indices ``idx``
        (NaN where the row's m take one value: there the centred x are rounding noise, not 0)."""
        x, y = np.log(t["m"].to_numpy()[idx]), np.log(t["weights"].to_numpy()[idx])
        xc = x - x.mean(-1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = (xc * (y - y.mean(-1, keepdims=True))).sum(-1) / (xc**2).sum(-1)
        return np.where(np.ptp(x, axis=-1) > 0, slope, np.nan)

    if a["m"].nunique() < 2 or b["m"].nunique() < 2:
        return None, None
    rng = np.random.default_rng(0)
    draws = [(rng.integers(0, len(a), len(a)), rng.integers(0, len(b), len(b))) for _ in range(n_boot)]
    boot = slopes(a, np.array([i for i, _ in draws])) - slopes(b, np.array([j for _, j in draws]))
    point = slopes(a, np.arange(len(a))) - slopes(b, np.arange(len(b)))
    return float(point), [float(q) for q in np.nanpercentile(boot, [2.5, 97.5])]


def _stopping(table: pd.DataFrame) -> dict:
    """The stopping rule against the protocol: in the runs trained to PROTOCOL_TOL, barrier mod P at
    the first checkpoint with loss <= STOP_LOSS over the final one, and the fraction of steps it took."""
    ok = table[np.isfinite(table["weights_at_stop"]) & (table["weights"] > BARRIER_ZERO)
               & (table["converged"] > 0) & (table["tol"] <= PROTOCOL_TOL)]
    if not len(ok):
        return {"pairs": 0}
    ratio = (ok["weights_at_stop"] / ok["weights"]).to_numpy()
    steps = ok["stop_step"].to_numpy() / np.max(stack(ok, "steps_run"), axis=1)
    return {"stop_loss": STOP_LOSS, "pairs": int(len(ok)), "ratio_median": float(np.median(ratio)),
            "ratio_q05_q95": [float(np.quantile(ratio, 0.05)), float(np.quantile(ratio, 0.95))],
            "within_10pc": float(np.mean(np.abs(ratio - 1) <= 0.1)),
            "step_fraction_median": float(np.median(steps))}
