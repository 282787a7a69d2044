"""The analyses of width, width_frozen, dimension and wasserstein on small synthetic tables whose
answers are known: each fitted number checked against a value computed here by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sims.table import frame
from theory import fits


def test_dimension_analysis_on_a_synthetic_table():
    """Spearman's rho from the textbook formula 1 - 6 sum d^2 / (n (n^2 - 1)) (no ties), its p-value
    from Student's t with n - 2 degrees of freedom, and the outlier barrier above 20 x the median;
    the diverged pair is left out."""
    from sims.experiments.dimension import analyse, plot

    barrier = [0.1, 0.2, 0.3, 0.4, 0.5, 60.0]  # median 0.35: 60 > 20 x 0.35 is the one outlier
    first = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # ranks as the barrier's: rho = 1
    second = [6.0, 5.0, 4.0, 3.0, 2.0, 1.0]  # reversed: rho = -1
    shuffled = [2.0, 1.0, 4.0, 3.0, 6.0, 5.0]  # rank differences +-1: rho = 1 - 6 * 6 / 210
    rows = [{"diverged": False, "lr": 0.01 * (i + 1), "barrier": b, "dim_weights": [f, s],
             "dim_weights_cov": [s, f], "dim_activations": [x, x]}
            for i, (b, f, s, x) in enumerate(zip(barrier, first, second, shuffled))]
    table = frame([*rows, {"diverged": True, "lr": 1.0}])
    got = analyse(table, "synthetic")

    rho = 1 - 6 * 6 / (6 * (6 ** 2 - 1))
    t = rho * np.sqrt((6 - 2) / (1 - rho ** 2))
    assert got["data"] == "synthetic"
    assert got["spearman_weights_layer1"] == pytest.approx(1.0)
    assert got["spearman_weights_layer2"] == pytest.approx(-1.0)
    assert got["spearman_weights_cov_layer1"] == pytest.approx(-1.0)
    assert got["spearman_p_weights_layer1"] == pytest.approx(0.0, abs=1e-12)
    assert got["spearman_activations_layer2"] == pytest.approx(rho)
    assert got["spearman_p_activations_layer2"] == pytest.approx(2 * stats.t.sf(t, 6 - 2))
    assert got["outlier_barriers"] == [60.0]
    fig = plot(got, table)
    labels = [text.get_text() for text in fig.axes[2].get_legend().get_texts()]
    assert labels == [f"layer {layer}: Spearman {rho:.2f} (p = {2 * stats.t.sf(t, 4):.2g})" for layer in (1, 2)]


def test_dimension_analysis_needs_three_pairs_for_a_correlation():
    from sims.experiments.dimension import analyse

    rows = [{"diverged": False, "lr": 0.1, "barrier": b, "dim_weights": [1.0, 2.0], "dim_weights_cov": [1.0, 2.0],
             "dim_activations": [1.0, 2.0]} for b in (0.1, 0.2)]
    assert analyse(frame(rows), "synthetic") == {"data": "synthetic", "outlier_barriers": []}


def _wasserstein_table(bound_scale: float) -> pd.DataFrame:
    """m = 4 ... 32, two pairs each: W2 power laws of known exponents (-0.25 exact, +0.5 exact, -0.5
    with log-noise +-0.3 that cancels at each m), d_eff = mean(3, 5) = 4, and bounds bound_scale x
    the barrier (one barrier exactly 0 with bound 1e-12)."""
    m = np.repeat([4.0, 8.0, 16.0, 32.0], 2)
    noise = np.exp(np.tile([0.3, -0.3], 4))
    barrier = np.array([0.0, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3])
    bound = bound_scale * barrier
    bound[0] = 1e-12
    return pd.DataFrame({"m": m, "replicate": np.tile([0, 1], 4), "w2_pair": 3 * m ** -0.25,
                         "w2_pair_neurons": m ** 0.5, "w2_teacher": 2 * m ** -0.5 * noise,
                         "dimension": np.tile([3.0, 5.0], 4), "barrier": barrier, "bound": bound,
                         "transport": np.ones(8)})


def test_wasserstein_analysis_on_a_synthetic_table():
    """Known slopes; d_eff = 4 <= 2p gives the rate m^-1/2, inside only the noisy W2's interval; the
    bound / barrier ratios are 10 on seven pairs and 1e-12 / 1e-14 = 100 on the zero barrier."""
    from sims.experiments.wasserstein import analyse, plot

    table = _wasserstein_table(10.0)
    got = analyse(table)
    assert got["participation_dimension"] == pytest.approx(4.0)
    assert got["predicted_w2_exponent"] == pytest.approx(-0.5)
    assert got["w2_pair_slope"] == pytest.approx(-0.25)
    assert got["w2_pair_slope_ci95"] == pytest.approx((-0.25, -0.25))
    assert got["w2_pair_neurons_slope"] == pytest.approx(0.5)
    assert got["w2_teacher_slope"] == pytest.approx(-0.5)
    low, high = got["w2_teacher_slope_ci95"]
    assert low < -0.5 < high
    assert got["theory_rate_inside_intervals"] == "1/3"
    assert got["bound_holds"] is True
    assert got["median_bound_over_barrier"] == pytest.approx(10.0)  # seven 10s and one 100
    texts = [text.get_text() for text in plot(got, table).axes[0].texts]
    assert any("lies outside 2 of the 3" in text for text in texts)


def test_wasserstein_analysis_sees_a_bound_below_the_barrier():
    from sims.experiments.wasserstein import analyse

    got = analyse(_wasserstein_table(0.5))
    assert got["bound_holds"] is False
    assert got["median_bound_over_barrier"] == pytest.approx(0.5)


def _clopper_pearson(successes: int, n: int) -> tuple[float, float]:
    """The exact binomial interval from its Beta quantiles (0 and 1 at the ends)."""
    low = stats.beta.ppf(0.025, successes, n - successes + 1) if successes else 0.0
    high = stats.beta.ppf(0.975, successes + 1, n - successes) if successes < n else 1.0
    return low, high


def _frozen_table() -> pd.DataFrame:
    """Frozen outputs, M = 2 at m / M = 0.5, 1, 2, 4 (two pairs each; one pair at m = M not at a
    global minimum) and M = 4 at m = M; trained outputs, M = 2 at m = 2, 4 (one pair each)."""
    rows = [(False, 2, 1, 0.5, 0.0), (False, 2, 1, 0.5, 0.0), (False, 2, 2, 0.0, 0.0), (False, 2, 2, 4.0, 1e-3),
            (False, 2, 4, 3.0, 0.0), (False, 2, 4, 3.0, 0.0), (False, 2, 8, 0.0, 0.0), (False, 2, 8, 2.0, 0.0),
            (False, 4, 4, 0.0, 0.0), (False, 4, 4, 1e-16, 0.0), (True, 2, 2, 1e-20, 0.0), (True, 2, 4, 0.1, 0.0)]
    return frame([{"k": k, "d": 16, "m": m, "train_output": trained, "replicate": 0, "weights": b,
                   "plain": 1.0, "loss_A": 1e-9, "loss_B": loss} for trained, k, m, b, loss in rows])


#: the sampled-minima theory handed to the analysis, per cell, over its widths m >= M
FROZEN_THEORY = {"M=2, frozen": {"mean": np.array([0.1, 0.2, 0.05]), "zero": np.array([0.5, 0.25, 0.3])},
                 "M=4, frozen": {"mean": np.array([0.3]), "zero": np.array([0.9])},
                 "M=2, trained": {"mean": np.array([0.4, 0.5]), "zero": np.array([0.0, 0.1])}}


def test_width_frozen_asks_the_theory_for_the_widths_it_covers():
    """One sampled-minima curve per cell, over the widths m >= M of the cell, in its mode."""
    from sims.experiments.width_frozen import sampled_theory

    asked = []

    class Store:
        def cached(self, name, params, compute):
            asked.append((params["k"], params["inputs"], params["widths"], params["train_output"]))
            return {"mean": np.zeros(len(params["widths"])), "zero": np.zeros(len(params["widths"]))}

    got = sampled_theory(_frozen_table(), Store())
    assert list(got) == ["M=2, frozen", "M=4, frozen", "M=2, trained"]
    assert asked == [(2, "Sphere", [2, 4, 8], False), (4, "Sphere", [4], False), (2, "Sphere", [2, 4], True)]


def test_width_frozen_analysis_on_a_synthetic_table():
    """Means, fractions and exact zeros per m / M computed by hand; the dip and the parabola's vertex
    through (log 1, 2), (log 2, 3), (log 4, 1): y = 2 + 2.5 u - 1.5 u^2 in u = log2(m / M), top at
    u = 5/6; zeros at m = M summed over M per mode."""
    from sims.experiments.width_frozen import analyse, plot

    table = _frozen_table()
    got = analyse(table, FROZEN_THEORY)
    frozen = got["M=2, frozen"]
    assert frozen["barrier_by_ratio"] == pytest.approx({0.5: 0.5, 1.0: 2.0, 2.0: 3.0, 4.0: 1.0})
    assert frozen["global_minimum_fraction_by_ratio"] == pytest.approx({0.5: 1.0, 1.0: 0.5, 2.0: 1.0, 4.0: 1.0})
    assert frozen["barrier_global_pairs_by_ratio"] == pytest.approx({0.5: 0.5, 1.0: 0.0, 2.0: 3.0, 4.0: 1.0})
    assert frozen["zero_fraction_by_ratio"] == pytest.approx({0.5: 0.0, 1.0: 0.5, 2.0: 0.0, 4.0: 0.5})
    assert frozen["theory_by_ratio"] == pytest.approx({1.0: 0.1, 2.0: 0.2, 4.0: 0.05})
    assert frozen["dip_ratio"] == 4.0
    assert frozen["peak_ratio"] == pytest.approx(2 ** (5 / 6))
    assert frozen["zeros_global_pairs_by_ratio"] == {0.5: "0/2", 1.0: "1/1", 2.0: "0/2", 4.0: "1/2"}
    assert frozen["zeros_global_ci95_by_ratio"][4.0] == pytest.approx(_clopper_pearson(1, 2))
    assert frozen["zeros_global_ci95_by_ratio"][1.0] == pytest.approx(_clopper_pearson(1, 1))
    assert frozen["theory_zero_fraction_by_ratio"] == pytest.approx({1.0: 0.5, 2.0: 0.25, 4.0: 0.3})
    assert frozen["theory_zero_ci95_by_ratio"][2.0] == pytest.approx(_clopper_pearson(25, 100))
    assert got["M=4, frozen"]["peak_ratio"] == 1.0 and got["M=4, frozen"]["zeros_global_pairs_by_ratio"] == {1.0: "2/2"}
    assert got["M=2, trained"]["zero_fraction_by_ratio"] == pytest.approx({1.0: 1.0, 2.0: 0.0})
    summed = got["frozen: zero barrier at m = M, all M"]
    assert summed == {"pairs": "3/4", "ci95": pytest.approx(_clopper_pearson(3, 4))}
    assert got["trained: zero barrier at m = M, all M"]["pairs"] == "1/1"
    zero_rates = plot(got, table).axes[3].lines[0]  # GD's rate of exact zeros, M = 2, frozen
    np.testing.assert_allclose(zero_rates.get_xdata(), [0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(zero_rates.get_ydata(), [0.0, 1.0, 0.0, 0.5])


#: the width table's tail: B = m^-1.3 times a level e^(+-0.1) per d and e^(+-0.05) per replicate
TAIL_SLOPE, D_LEVEL, REPLICATE_LEVEL = -1.3, {10: 0.1, 30: -0.1}, (0.05, -0.05)
#: the mean of the tail's four level factors at each m
TAIL_MEAN_FACTOR = np.mean(np.exp([0.15, 0.05, -0.05, -0.15]))


def _width_table() -> pd.DataFrame:
    """k = 2: d = 10, 30, m = 2 ... 64, two pairs each; B = 0 or 1e-3 at m = k, the tail's mean at
    m = 16 (v) at m = 4 and 2 v at m = 8, the tail power law at m >= 16; inactive fraction r = 0.25 and
    effective neurons k (n alpha + 1) / (alpha + 1) with alpha = 2, n = m (1 - r) / k; one pair not
    converged; the two pairs at d = 10, m = 16 checked against the protocol (B_stop / B_protocol = 1.02).
    k = 4: d = 10, m = 4, 8, two pairs each (no tail)."""
    v = 16.0 ** TAIL_SLOPE * TAIL_MEAN_FACTOR
    rows = []
    for d in (10, 30):
        for m in (2, 4, 8, 16, 32, 64):
            for rep in (0, 1):
                weights = {2: (0.0, 1e-3)[rep], 4: v, 8: 2 * v}.get(m, m ** TAIL_SLOPE
                                                                   * np.exp(D_LEVEL[d] + REPLICATE_LEVEL[rep]))
                n = m * 0.75 / 2
                rows.append({"k": 2, "d": d, "m": m, "replicate": rep, "weights": weights,
                             "neff": 2 * (2 * n + 1) / 3, "inactive": 0.25,
                             "converged": not (d == 30 and m == 64 and rep == 1),
                             "weights_protocol": weights / 1.02 if (d, m) == (10, 16) else np.nan})
    rows += [{"k": 4, "d": 10, "m": m, "replicate": rep, "weights": b, "neff": 3.0, "inactive": 0.1,
              "converged": True, "weights_protocol": np.nan}
             for m, pair in ((4, (0.0, 0.01)), (8, (0.02, 0.02))) for rep, b in enumerate(pair)]
    common = {"plain": 0.1, "refine": 1e-4, "loss_A": 1e-8, "loss_B": 2e-8, "steps_run": 100.0, "steps_protocol": 400.0}
    return frame([common | row for row in rows])


def _sampler_fit(slope: float) -> fits.SlopeFit:
    return fits.SlopeFit(slope, np.nan, (slope - 0.1, slope + 0.1), 12, np.full(100, slope))


#: the theory handed to the width analysis (as ``width.sampled_theory`` returns it)
WIDTH_THEORY = {
    2: {"curve": {"mean": np.array([0.0, 0.1, 0.3, 0.1, 0.05, 0.02]), "sem": np.zeros(6),
                  "numerical": np.array([0.0, 0.0, 0.5, 0.0, 0.0, 0.0]), "exact": np.array([0.0, 0.1])},
        "fitted_curve": {"mean": np.array([0.0, 0.2, 0.2, 0.1, 0.04, 0.01]), "sem": np.zeros(6)},
        "slopes": {"theory": _sampler_fit(-1.0), "fitted_theory": _sampler_fit(-1.2)}},
    4: {"curve": {"mean": np.array([0.0, 0.2]), "sem": np.zeros(2), "numerical": np.zeros(2),
                  "exact": np.array([0.0])}}}


def test_width_asks_the_theory_for_its_widths_and_gd_s_fitted_sampler():
    """Per k, the sampled-minima curve over m >= k; with a tail, the curve of the sampler fitted to GD
    (r = 0.25, alpha = 2 by construction) and both samplers' slopes on the tail's widths and counts."""
    from sims.experiments.width import sampled_theory

    asked = []

    class Store:
        def cached(self, name, params, compute):
            asked.append((name, params))
            if name.endswith("tail slope"):
                return {"slope": np.array(-1.0), "ci": np.array([-1.1, -0.9]), "n": np.array(12),
                        "boot": np.full(10, -1.0)}
            return {"mean": np.zeros(len(params["widths"]))}

    got = sampled_theory(_width_table(), Store())
    assert set(got) == {2, 4} and set(got[2]) == {"curve", "fitted_curve", "slopes"} and set(got[4]) == {"curve"}
    (curve, k2), (fitted, k2_fitted), (slope, k2_slope), (fitted_slope, k2_fitted_slope), (_, k4) = asked
    assert curve == "width: sampled minima" and (k2["k"], k2["d"], k2["widths"]) == (2, 10, [2, 4, 8, 16, 32, 64])
    assert fitted == "sampled minima" and k2_fitted["widths"] == k2["widths"]
    assert (k2_fitted["allocation"], k2_fitted["split"]) == ("sparse", "dirichlet")
    assert k2_fitted["r"] == pytest.approx(0.25) and k2_fitted["alpha"] == pytest.approx(2.0)
    assert slope == fitted_slope == "sampled minima: tail slope"
    assert (k2_slope["widths"], k2_slope["pairs"]) == ([16, 32, 64], [4, 4, 4]) and "alpha" not in k2_slope
    assert k2_fitted_slope["alpha"] == pytest.approx(2.0)
    assert (k4["k"], k4["widths"]) == (4, [4, 8])


def test_width_analysis_on_a_synthetic_table():
    """GD's means per m, the tail's slope (-1.3 at every d and pooled), each d's level e^(+-0.1), the
    fitted sampler (0.25, 2), the slope differences to the samplers, the zeros at m = k, the peaks
    (parabolas symmetric in log m about m = 8) and dips, and the stopping rule at the smallest k only."""
    from sims.experiments.width import analyse, plot

    table = _width_table()
    got = analyse(table, WIDTH_THEORY)
    k2 = got["k=2"]
    v = 16.0 ** TAIL_SLOPE * TAIL_MEAN_FACTOR
    assert k2["gd_by_m"] == pytest.approx({2: 5e-4, 4: v, 8: 2 * v, 16: v, 32: 32.0 ** TAIL_SLOPE * TAIL_MEAN_FACTOR,
                                           64: 64.0 ** TAIL_SLOPE * TAIL_MEAN_FACTOR})
    assert k2["theory_by_m"] == pytest.approx({2: 0.0, 4: 0.1, 8: 0.3, 16: 0.1, 32: 0.05, 64: 0.02})
    assert k2["theory_numerical_fraction_by_m"][8] == 0.5
    assert k2["fitted_theory_by_m"][4] == pytest.approx(0.2)
    assert (k2["fitted_r"], k2["fitted_alpha"]) == (pytest.approx(0.25), pytest.approx(2.0))
    assert k2["gd_slope"] == pytest.approx(TAIL_SLOPE) and k2["tail_points"] == 12
    assert k2["gd_slope_ci95"][0] < TAIL_SLOPE < k2["gd_slope_ci95"][1]
    assert k2["gd_slope_by_d"] == {10: pytest.approx(TAIL_SLOPE), 30: pytest.approx(TAIL_SLOPE)}
    assert k2["level_factor_by_d"] == {10: pytest.approx(np.exp(0.1)), 30: pytest.approx(np.exp(-0.1))}
    assert k2["theory_slope"] == -1.0 and k2["fitted_theory_slope_ci95"] == pytest.approx((-1.3, -1.1))
    assert k2["gd_minus_theory_slope"] == pytest.approx(TAIL_SLOPE + 1.0)
    assert k2["gd_minus_fitted_theory_slope"] == pytest.approx(TAIL_SLOPE + 1.2)
    assert k2["converged_fraction"] == pytest.approx(23 / 24)
    assert k2["zero_at_m_eq_k"] == "2/4" and k2["zero_at_m_eq_k_ci95"] == pytest.approx(_clopper_pearson(2, 4))
    # relative to the endpoint loss (mean 1.5e-8): 0 and 1e-3 / 1.5e-8 at each d
    assert k2["zero_relative_at_m_eq_k"] == "2/4"
    assert k2["barrier_over_loss_at_m_eq_k_max"] == pytest.approx(1e-3 / 1.5e-8)
    assert k2["gd_peak_m"] == pytest.approx(8.0) and k2["gd_dip_m"] == 2.0
    assert k2["theory_peak_m"] == pytest.approx(8.0) and k2["theory_dip_m"] == 2.0
    assert k2["stopping_rule"]["pairs"] == 2 and k2["stopping_rule"]["ratio_median"] == pytest.approx(1.02)
    k4 = got["k=4"]
    assert "gd_slope" not in k4 and "fitted_r" not in k4 and "stopping_rule" not in k4
    assert k4["gd_by_m"] == pytest.approx({4: 0.005, 8: 0.02}) and k4["zero_at_m_eq_k"] == "1/2"
    assert k4["gd_peak_m"] == 8.0 and k4["theory_peak_m"] == 8.0
    fig = plot(got, table, WIDTH_THEORY)
    tail_labels = [text.get_text() for text in fig.axes[2].get_legend().get_texts()]
    ci = k2["gd_slope_ci95"]
    assert f"fit of log B: slope {TAIL_SLOPE:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]" in tail_labels
