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
