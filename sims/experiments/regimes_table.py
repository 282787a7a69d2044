"""The regime table of README and docs/paper_profile.md, written from the ``regimes`` figure's JSON
(``sims.claims`` puts it into those documents)."""

from __future__ import annotations

from .regimes_schemes import INSIDE_DEFAULT, RATES, Scheme, inside_rate


def interval_text(value, ci) -> str:
    """"v [lo, hi]"; "–" without a value; "v (no interval)" where the analysis gives none (a tail
    with fewer than two pairs at two widths, ``regimes_analysis``)."""
    if value is None:
        return "–"
    return f"{value:.2f} (no interval)" if ci is None else f"{value:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"


def _vanishes(cell: dict) -> str:
    """From the tail exponent's 95% interval over the tail widths: "decreases" (below 0), "grows"
    (above 0), "not resolved" (contains 0); a statement about these widths, not the limit."""
    if cell.get("tail_slope") is None:
        return "no converged tail"
    if cell.get("tail_slope_ci95") is None:
        return "no interval (fewer than two pairs at two widths)"
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
             f"[95% CI] | N_eff/m at m = 64 | exact zero at m = k (converged pairs) | peak and minimum over m > k "
             f"(of the medians per m; no interval) "
             f"| second rate, past the sparsity transition (lr_rel {INSIDE_DEFAULT:g}; small init "
             f"{inside_rate(Scheme.SMALL):g}) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
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
                              f"{interval_text(inside['tail_slope'], inside['tail_slope_ci95'])}")
        d_test = entry.get("d_dependence", {}).get(below, {})
        diff_key = next((k for k in d_test if k.startswith("slope_d") and not k.endswith("_ci95")), None)
        d_cell = (f"{diff_key[len('slope_'):].replace('_minus_', ' − ').replace('d', 'd = ')}: "
                  f"{interval_text(d_test[diff_key], d_test[diff_key + '_ci95'])}"
                  if diff_key and d_test[diff_key] is not None else "–")
        first = True
        for key, cell in entry.items():
            if not key.startswith("d=") or not key.endswith(below):
                continue
            d = key.split()[0][2:]
            pred = entry.get("prediction", {}).get(d, {})
            neff = {int(m): v for m, v in cell.get("neff_rel_by_m", {}).items()}.get(64)
            pred_cell = (f"{interval_text(pred['slope'], pred['slope_ci95'])} ({pred['label'].split(' (')[0]})"
                         if "slope" in pred else "–")
            diff = interval_text(cell.get("tail_minus_prediction_slope"), cell.get("tail_minus_prediction_slope_ci95"))
            lines.append(
                f"| {name} ({'/'.join(regimes)}; {entry['limit']['regime']}) | {d} | "
                f"{round(cell['converged_fraction'] * cell['runs'])}/{cell['runs']} | {_vanishes(cell)} | "
                f"{interval_text(cell.get('tail_slope'), cell.get('tail_slope_ci95'))} ({cell.get('tail_pairs', 0)}) | "
                f"{pred_cell} | {diff} | {d_cell if first else ''} | "
                f"{'–' if neff is None else f'{neff:.2f}'} | {cell.get('zero_at_m_eq_k', 'none converged')} | "
                f"peak {cell.get('peak_m', '–')}, minimum {cell.get('min_m_above_k', '–')} | "
                f"{lr_effect if inside and d == '10' else '–'} |")
            first = False
    return "\n".join(lines)
