"""The analyses of regimes, repair_width, matching, trajectory and three, each on a small synthetic
table whose answers are computed here by hand (exact power laws, medians and means of few values)."""

import numpy as np
import pandas as pd
import pytest

from sims.table import frame


def _table(columns: dict) -> pd.DataFrame:
    return frame([dict(zip(columns, row)) for row in zip(*columns.values())])


def test_three_analysis_on_a_synthetic_table():
    """Exact power laws with factors 2 and 1/2 at each width (zero mean in log): the fitted exponents
    are the laws'; the ratio via A / direct uses BARRIER_ZERO for a zero direct barrier."""
    from sims.experiments.three import analyse

    m = np.array([4, 4, 4, 16, 16, 32, 32], dtype=float)
    factor = np.array([2, 0.5, 1, 2, 0.5, 2, 0.5])
    direct = m ** -1.5
    direct[2] = 0.0  # left out of the direct fit; its ratio is via / BARRIER_ZERO
    via = factor * m ** -1.0
    got = analyse(_table({"m": m.astype(int), "via_reference": via, "direct": direct, "plain": np.full(7, 0.1)}))
    assert got["via_reference_slope"] == pytest.approx(-1.0)
    assert got["direct_slope"] == pytest.approx(-1.5)
    assert got["direct_slope_ci95"] == pytest.approx((-1.5, -1.5))
    assert "plain_slope" not in got
    # ratios: factor * sqrt(m), and 0.25 / 1e-14 for the zero direct barrier
    assert got["median_via_reference_over_direct_by_m"] == {4: pytest.approx(4.0), 16: pytest.approx(5.0),
                                                            32: pytest.approx(1.25 * np.sqrt(32))}
    assert got["median_ratio_m_ge_16"] == pytest.approx((8.0 + 0.5 * np.sqrt(32)) / 2)
    assert got["pairs_m_ge_16"] == 4


def test_trajectory_analysis_on_a_synthetic_table():
    """The mean curves' maxima and final values, and the per-width ratio medians, by hand."""
    from sims.experiments.trajectory import analyse

    fresh = np.array([1e-3, 2e-3, 4e-3])
    rows = [{"m": 16, "replicate": 0, "plain": np.array([1.0, 3.0, 2.0]), "loss": np.array([1.0, 0.1, 0.01]),
             "fresh_perm": fresh, "final_perm": 2 * fresh, "steps": np.array([0.0, 10.0, 100.0])},
            {"m": 16, "replicate": 1, "plain": np.array([3.0, 5.0, 0.0]), "loss": np.array([3.0, 0.3, 0.03]),
             "fresh_perm": fresh, "final_perm": 2 * fresh, "steps": np.array([0.0, 10.0, 100.0])},
            {"m": 32, "replicate": 0, "plain": np.array([0.0, 1.0, 1.0]), "loss": np.array([2.0, 0.2, 0.02]),
             "fresh_perm": fresh, "final_perm": 3 * fresh, "steps": np.array([0.0, 10.0, 100.0])}]
    got = analyse(frame(rows))
    # plain's mean curve: [4/3, 3, 1]
    assert got["plain_max_over_training"] == pytest.approx(3.0)
    assert got["plain_final"] == pytest.approx(1.0)
    assert got["loss_max_over_training"] == pytest.approx(2.0)
    assert got["loss_final"] == pytest.approx(0.02)
    assert got["final_perm_final"] == pytest.approx((2 + 2 + 3) / 3 * 4e-3)
    assert got["fresh_perm_max_over_training"] == pytest.approx(4e-3)
    assert got["median_final_over_fresh_by_m"] == {16: pytest.approx(2.0), 32: pytest.approx(3.0)}
    assert got["pairs_by_m"] == {16: 2, 32: 1}
    assert got["ratio_trend_slope"] == pytest.approx(np.log(1.5) / np.log(2))


def test_repair_width_analysis_on_a_synthetic_table():
    """A peak at m = 4 between equal neighbours (log-symmetric: the vertex is 4), an exact m^-2 tail,
    one exact zero at m = k = 2, and repaired / plain ratios whose medians are known."""
    from sims.experiments.repair_width import analyse

    m = np.array([2, 2, 4, 4, 8, 8, 16, 16, 32, 32])
    tail = np.array([2.0, 0.5]) * 1e-4
    weights = np.r_[0.0, 2e-3, 4e-3, 4e-3, 1e-3, 1e-3, tail, tail / 4]
    ratio = np.r_[0.5, 0.5, 0.5, 0.7, 0.5, 0.5, 0.2, 0.4, 0.5, 0.5]
    repaired = weights * ratio
    table = _table({"m": m, "replicate": np.arange(10) % 2, "weights": weights, "weights_repair": repaired,
                    "converged": np.r_[np.ones(9), 0.0]})
    got = analyse(table)
    assert got["converged_fraction"] == pytest.approx(0.9)
    plain = got["weights"]
    assert plain["mean_by_m"] == pytest.approx({2: 1e-3, 4: 4e-3, 8: 1e-3, 16: 1.25e-4, 32: 1.25e-4 / 4})
    # two values a, b: s.e. = sd / sqrt(2) = |a - b| / 2
    assert plain["sem_by_m"] == pytest.approx({2: 1e-3, 4: 0.0, 8: 0.0, 16: 0.75e-4, 32: 0.75e-4 / 4})
    assert plain["tail_slope"] == pytest.approx(-2.0)
    assert plain["tail_points"] == 4
    assert plain["peak_m"] == pytest.approx(4.0)
    assert plain["zero_at_m_eq_k"] == "1/2"
    tail_rows = m >= 16
    assert got["weights_repair"]["tail_slope"] == pytest.approx(
        np.polyfit(np.log(m[tail_rows]), np.log(repaired[tail_rows]), 1)[0])
    by_m = got["repair_over_plain_by_m"]
    assert 2 not in by_m  # one pair with a plain barrier > 0: no ratio
    assert {w: v["median"] for w, v in by_m.items()} == pytest.approx({4: 0.6, 8: 0.5, 16: 0.3, 32: 0.5})
    assert by_m[8]["ci95"] == pytest.approx((0.5, 0.5))
    assert by_m[16]["pairs"] == 2


def test_matching_analysis_on_a_synthetic_table():
    """Means, standard errors and gaps to the certified optimum of a table whose answers are known."""
    from sims.experiments.matching import METHODS, REPAIRED, analyse

    m = np.array([6, 6, 16, 16])
    certified = np.array([1e-3, 2e-3, np.nan, np.nan])
    barriers = {method: np.array([1e-3, 3e-3, 1e-2, 3e-2]) * (1 + i) for i, method in enumerate(METHODS)}
    barriers["weights"] = np.array([1e-3, 3e-3, 1e-2, 3e-2])
    barriers["weights_cov"] = barriers["weights"].copy()  # identical: named as such
    barriers["refine"] = np.r_[certified[:2] * (1 + 1e-7), 5e-3, 7e-3]  # at the optimum within the tolerance
    columns = {"m": m, "replicate": np.array([0, 1, 0, 1])} | barriers
    columns |= {f"{method}_seconds": np.array([1.0, 3.0, 2.0, 6.0]) for method in METHODS}
    columns |= {f"{method}_repair": barriers[method] / 2 for method in REPAIRED}
    columns |= {"certified": certified, "certified_repair": certified / 2,
                "certified_seconds": np.array([10.0, 20.0, np.nan, np.nan]),
                "certified_repair_seconds": np.array([30.0, 50.0, np.nan, np.nan])}
    got = analyse(_table(columns))
    assert got["identical_on_every_pair"] == {"weights_cov": "weights"}
    weights = got["weights"]
    assert weights["mean_barrier_by_m"] == pytest.approx({6: 2e-3, 16: 2e-2})
    assert weights["sem_barrier_by_m"] == pytest.approx({6: 1e-3, 16: 1e-2})
    assert weights["mean_seconds_by_m"] == pytest.approx({6: 2.0, 16: 4.0})
    assert weights["mean_repaired_barrier_by_m"] == pytest.approx({6: 1e-3, 16: 1e-2})
    assert "mean_repaired_barrier_by_m" not in got["ot"]
    assert got["certified"]["mean_barrier_by_m"][6] == pytest.approx(1.5e-3)
    assert np.isnan(got["certified"]["mean_barrier_by_m"][16])
    assert got["certified_repair"]["mean_seconds_by_m"][6] == pytest.approx(40.0)
    gaps = got["gap_to_certified"]
    assert set(gaps) == {*REPAIRED, *(f"{method}_repair" for method in REPAIRED), "ot"}
    assert gaps["weights"] == {6: {"pairs": 2, "mean_gap": pytest.approx(5e-4), "min_gap": pytest.approx(0.0),
                                   "max_gap": pytest.approx(1e-3), "at_optimum": 1}}
    assert gaps["weights_repair"][6]["mean_gap"] == pytest.approx(2.5e-4)
    assert gaps["refine"][6]["at_optimum"] == 2
    assert gaps["ot"][6]["at_optimum"] == 0  # ot = 7 x weights: above the optimum on both pairs


def _regime_rows(d: int, tail_slope: float) -> list[dict]:
    """PyTorch-default pairs at the lower rate: an exact zero at m = k = 2, a peak at m = 4, an exact
    m^tail_slope tail over m = 16, 32 (factors 2 and 1/2 per width), one pair not converged and one
    diverged (counted, not used)."""
    weights = {2: [0.0, 1e-3], 4: [4e-3, 6e-3], 16: [2e-4, 0.5e-4],
               32: [2e-4 * 2.0 ** tail_slope, 0.5e-4 * 2.0 ** tail_slope]}
    base = {"init": "pytorch", "d": d, "lr_rel": 0.5, "tol": 1e-7, "diverged": 0.0, "converged": 1.0,
            "weights_at_stop": np.nan, "stop_step": np.nan, "steps_run": np.array([100.0, 100.0])}
    rows = [base | {"m": m, "weights": w, "plain": 10 * w, "neff_rel": 0.5 / m}
            for m, ws in weights.items() for w in ws]
    rows.append(base | {"m": 16, "weights": 5.0, "plain": 5.0, "neff_rel": 1.0, "converged": 0.0})
    rows.append(base | {"m": 16, "weights": np.nan, "plain": np.nan, "neff_rel": np.nan, "converged": 0.0,
                        "diverged": 1.0})
    return rows


def test_regimes_analysis_on_a_synthetic_table():
    """Medians, zeros at m = k, peak and minimum, the tail exponent and its difference to a given
    prediction's, the exponent's d-dependence and the stopping rule, against values by hand; the
    protocol sample (tol = PROTOCOL_TOL) is left out of the curves."""
    from sims.experiments.regimes_analysis import Prediction, analyse
    from sims.experiments.regimes_plot import phase_columns
    from sims.experiments.regimes_schemes import PROTOCOL_TOL, Scheme
    from theory import fits

    rows = _regime_rows(10, -2.0) + _regime_rows(30, -1.0)
    inside = {"init": "pytorch", "d": 10, "m": 16, "lr_rel": 1.26, "tol": 1e-7, "diverged": 1.0, "converged": 0.0,
              "weights": np.nan, "plain": np.nan, "neff_rel": np.nan, "weights_at_stop": np.nan, "stop_step": np.nan,
              "steps_run": np.array([50.0, 60.0])}
    rows += [inside, inside]
    protocol = {"init": "pytorch", "d": 10, "m": 16, "lr_rel": 0.5, "tol": PROTOCOL_TOL, "diverged": 0.0,
                "converged": 1.0, "plain": 1.0, "neff_rel": 1.0}
    rows += [protocol | {"weights": 1e-3, "weights_at_stop": 1.05e-3, "stop_step": 250.0,
                         "steps_run": np.array([1000.0, 800.0])},
             protocol | {"weights": 2e-3, "weights_at_stop": 1.6e-3, "stop_step": 1000.0,
                         "steps_run": np.array([2000.0, 2000.0])}]
    table = frame(rows)
    widths = np.array([2, 4, 16, 32])
    m_pred = np.repeat([16.0, 32.0], 20)
    slope_fit = fits.loglog_slope(m_pred, m_pred ** -0.5, seed=1)  # exact: every bootstrap slope is -0.5
    prediction = Prediction("a prediction", widths, 1e-3 / widths, 1e-4 / widths, slope_fit)
    got = analyse(table, {(Scheme.PYTORCH, 10): prediction})

    assert list(got["schemes"]) == ["pytorch"]
    entry = got["schemes"]["pytorch"]
    assert entry["prediction"] == {"10": {"label": "a prediction",
                                          "by_m": pytest.approx({2: 5e-4, 4: 2.5e-4, 16: 6.25e-5, 32: 3.125e-5}),
                                          "sem_by_m": pytest.approx({2: 5e-5, 4: 2.5e-5, 16: 6.25e-6, 32: 3.125e-6}),
                                          "slope": pytest.approx(-0.5), "slope_ci95": pytest.approx([-0.5, -0.5]),
                                          "slope_pairs": 40}}
    assert set(entry["effective_regime_by_m"]) == {2, 4, 16, 32}
    cell = entry["d=10 lr_rel=0.5"]
    assert (cell["runs"], cell["diverged"], cell["converged_fraction"]) == (10, 1, pytest.approx(0.8))
    assert cell["median_by_m"] == pytest.approx({2: 5e-4, 4: 5e-3, 16: 1.25e-4, 32: 3.125e-5})
    assert cell["plain_median_by_m"] == pytest.approx({2: 5e-3, 4: 5e-2, 16: 1.25e-3, 32: 3.125e-4})
    assert cell["neff_rel_by_m"] == pytest.approx({2: 0.25, 4: 0.125, 16: 1 / 32, 32: 1 / 64})
    assert cell["zero_at_m_eq_k"] == "1/2"
    assert (cell["peak_m"], cell["min_m_above_k"]) == (4, 32)
    assert cell["tail_slope"] == pytest.approx(-2.0)
    assert (cell["tail_pairs"], cell["tail_widths"]) == (4, [16, 32])
    # the line passes through each width's geometric mean: 1e-4 at m = 16
    assert np.exp(cell["tail_intercept"]) * 16.0 ** -2 == pytest.approx(1e-4)
    # two pairs a width: the bootstrap median ranges between them
    assert cell["median_ci95_by_m"][16] == pytest.approx([0.5e-4, 2e-4])
    assert cell["median_ci95_by_m"][2] == pytest.approx([0.0, 1e-3])
    # residuals +-log 2 around the line, four pairs, two fitted parameters
    assert cell["tail_log_sd"] == pytest.approx(np.sqrt(4 * np.log(2) ** 2 / 2))
    assert cell["tail_minus_prediction_slope"] == pytest.approx(-1.5)
    assert cell["tail_minus_prediction_slope_ci95"] == pytest.approx([c + 0.5 for c in cell["tail_slope_ci95"]])
    # what the fit leaves out per tail width: at m = 16 one pair unconverged and one diverged of four
    assert cell["tail_converged_by_m"] == {16: "2/4", 32: "2/2"}
    assert cell["tail_zeros_by_m"] == {16: "0/2", 32: "0/2"}
    half = 0.5 * (cell["tail_slope_ci95"][1] - cell["tail_slope_ci95"][0])
    assert cell["tail_pairs_for_half_width_0.25"] == int(np.ceil(4 * (half / 0.25) ** 2))
    assert entry["d=30 lr_rel=0.5"]["tail_slope"] == pytest.approx(-1.0)
    assert "tail_minus_prediction_slope" not in entry["d=30 lr_rel=0.5"]  # no prediction at d = 30
    inner = entry["d=10 lr_rel=1.26"]
    assert inner == {"runs": 2, "diverged": 2, "converged_fraction": 0.0}
    d_test = entry["d_dependence"]
    assert list(d_test) == ["lr_rel=0.5"]  # the inner rate has no tail at two d
    assert d_test["lr_rel=0.5"]["slope_d10_minus_d30"] == pytest.approx(-1.0)

    stop = got["stopping_rule"]  # ratios 1.05 and 0.8; step fractions 0.25 and 0.5
    assert stop["pairs"] == 2
    assert stop["ratio_median"] == pytest.approx(0.925)
    assert stop["ratio_q05_q95"] == pytest.approx([0.8 + 0.05 * 0.25, 0.8 + 0.95 * 0.25])
    assert stop["within_10pc"] == pytest.approx(0.5)
    assert stop["step_fraction_median"] == pytest.approx(0.375)

    phase = phase_columns(got)  # the d = 10 lower-rate cell's numbers at each width
    assert phase["m"] == [2, 4, 16, 32]
    assert phase["neff_rel"] == pytest.approx([0.25, 0.125, 1 / 32, 1 / 64])
    assert phase["scheme_tail_slope_d10"] == pytest.approx([-2.0] * 4)
    assert phase["gamma_prime_eff"] == phase["gamma_prime_drawn"]  # PyTorch's default is drawn where it is


def test_regimes_tail_with_one_pair_per_width_has_no_interval():
    """Regression: with one pair at each tail width every bootstrap resample that keeps two widths
    has the same slope, so the percentile "interval" was that point ([4.09, 4.09] in a quick run);
    it is reported as absent, and the table says so."""
    from sims.experiments.regimes_analysis import analyse
    from sims.experiments.regimes_table import interval_text

    second = {(16, 0.5e-4), (32, 0.5e-4 / 4)}  # the second converged pair at each tail width
    rows = [row for row in _regime_rows(10, -2.0) if (row["m"], row["weights"]) not in second]
    cell = analyse(frame(rows), {})["schemes"]["pytorch"]["d=10 lr_rel=0.5"]
    assert cell["tail_widths"] == [16, 32] and cell["tail_pairs"] == 2
    assert cell["tail_slope"] == pytest.approx(-2.0)
    assert cell["tail_slope_ci95"] is None and "tail_pairs_for_half_width_0.25" not in cell
    assert interval_text(cell["tail_slope"], cell["tail_slope_ci95"]) == "-2.00 (no interval)"


@pytest.mark.parametrize("name", ["three", "wasserstein", "repair_width"])
def test_width_axes_label_the_widths_run_and_no_minor_ticks(name):
    # a short log range (m = 4 ... 64) used to label minor ticks too, "3x10^1 4x10^1" overlapping
    import importlib

    import matplotlib.pyplot as plt

    module = importlib.import_module(f"sims.experiments.{name}")
    widths = [2, 4, 8, 16, 32, 64]  # from m = k = 2, as repair_width's analysis needs
    rng = np.random.default_rng(0)
    rows = [{"k": 2, "d": 10, "m": m, "replicate": r, "via_reference": 1e-3 * (1 + r), "direct": 1e-3, "plain": 0.1,
             "weights": 1e-3 / m * (1 + r), "weights_repair": 5e-4 / m, "converged": True, "barrier": 1e-3 / m,
             "bound": 1e-2, "transport": 0.1, "dimension": 1.0, "w2_pair": 0.01 * (1 + rng.random()),
             "w2_pair_neurons": 1.0 + rng.random(), "w2_teacher": 0.01 * (1 + rng.random()), "loss_A": 1e-9,
             "loss_B": 1e-9}
            for m in widths for r in range(3)]
    table = frame(rows)
    fig = module.plot(module.analyse(table), table)
    fig.canvas.draw()
    labelled = 0
    for ax in fig.axes:
        if ax.get_xscale() == "log" and ax.get_xlabel().startswith("student width"):
            assert not any(t.get_text() for t in ax.get_xticklabels(minor=True))
            labelled += {t.get_text() for t in ax.get_xticklabels()} >= {str(m) for m in widths[1:]}
    plt.close(fig)
    assert labelled  # the panel over the widths run labels each of them as a number
