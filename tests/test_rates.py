"""Rate fits on real simulation output, checked against theory's predictions.

A small in-test sweep of the ``width`` experiment (GD solutions from small balanced inits,
k = 2, d = 10): the large-m slope of the barrier modulo permutation must contain the
predicted exponent -1 (theory.width) in its bootstrap 95% interval, and the predicted peak
location must lie in the bootstrap 95% interval of the measured one.
"""

import numpy as np
import pytest

import twolayer as tl
from sims.common import GDConfig
from sims.experiments.width import run
from sims.runner import run_seed
from theory import fits
from theory.width import ASYMPTOTIC_EXPONENT, predicted_curve


def _barriers(widths, replicates):
    out = {}
    for m in widths:
        out[m] = [run(cfg, run_seed("width", cfg, 0))["weights"]
                  for cfg in (GDConfig(k=2, d=10, m=m, replicate=r) for r in range(replicates))]
    return out


@pytest.fixture(scope="module")
def tail():
    return _barriers((16, 32, 64, 128), 4)


def test_large_width_slope_matches_theory(tail):
    m = np.repeat(list(tail), [len(v) for v in tail.values()])
    b = np.concatenate(list(tail.values()))
    fit = fits.loglog_slope(m, b, seed=0)
    assert fit.ci[0] <= ASYMPTOTIC_EXPONENT["equal"] <= fit.ci[1], fit
    assert fit.slope < 0


def test_peak_location_matches_theory():
    widths = (2, 3, 4, 6, 8, 12, 16, 24)
    measured = _barriers(widths, 6)
    peak, ci = fits.bootstrap_extremum(widths, [measured[m] for m in widths], seed=0)
    mean_t, _, _ = predicted_curve(tl.Teacher.orthonormal(2, 10), widths, n_pairs=200, seed=0)
    theory_peak = fits.extremum(widths, mean_t)
    assert ci[0] <= theory_peak <= ci[1], (peak, ci, theory_peak)
    assert measured[2] == pytest.approx([0.0] * 6, abs=1e-10)  # m = k: unique minimum up to P
