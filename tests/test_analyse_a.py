"""The analyses of width, width_frozen, dimension and wasserstein on small synthetic tables whose
answers are known: each fitted number checked against a value computed here by hand."""

import numpy as np
import pytest
from scipy import stats

from sims.table import Table


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
    table = Table.from_rows([*rows, {"diverged": True, "lr": 1.0}])
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
    assert analyse(Table.from_rows(rows), "synthetic") == {"data": "synthetic", "outlier_barriers": []}


def _wasserstein_table(bound_scale: float) -> Table:
    """m = 4 ... 32, two pairs each: W2 power laws of known exponents (-0.25 exact, +0.5 exact, -0.5
    with log-noise +-0.3 that cancels at each m), d_eff = mean(3, 5) = 4, and bounds bound_scale x
    the barrier (one barrier exactly 0 with bound 1e-12)."""
    m = np.repeat([4.0, 8.0, 16.0, 32.0], 2)
    noise = np.exp(np.tile([0.3, -0.3], 4))
    barrier = np.array([0.0, 1e-3, 2e-3, 3e-3, 4e-3, 5e-3, 6e-3, 7e-3])
    bound = bound_scale * barrier
    bound[0] = 1e-12
    return Table({"m": m, "replicate": np.tile([0, 1], 4), "w2_pair": 3 * m ** -0.25, "w2_pair_neurons": m ** 0.5,
                  "w2_teacher": 2 * m ** -0.5 * noise, "dimension": np.tile([3.0, 5.0], 4), "barrier": barrier,
                  "bound": bound, "transport": np.ones(8)})


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
