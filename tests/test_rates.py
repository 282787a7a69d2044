"""Rate fits on real simulation output, checked against theory's predictions.

A small in-test sweep of the ``width`` experiment through the sweep runner, on both cores (GD
solutions from small balanced inits, k = 2, d = 10, tail runs to convergence): the slope of
the barrier modulo permutation over m = 16 ... 64 must agree with the slope of the sampled-minima
theory with GD's allocation (inactive fraction and Dirichlet split measured on the same runs, not
fitted to their barriers: ``width.fitted_allocation``), measured by the same estimator on the same
design (the 95% interval of the difference contains 0),
and the predicted peak location must lie in the bootstrap 95% interval of the measured one.
The paper profile measures that slope at +-0.09 (docs/paper_profile.md); this sweep is a
smaller check of the same prediction.
"""

import numpy as np
import pytest

import twolayer as tl
from sims.common import BARRIER_ZERO
from sims.experiments.width import STEPS, STOP_TOL, WidthConfig, fitted_allocation
from sims.registry import get
from sims.runner import sweep
from sims.store import Store
from sims.table import from_results
from theory import fits
from theory.width import predicted_curve, sampled_slope

TAIL = ((16, 32, 64), 6)
PEAK = ((2, 3, 4, 6, 8, 12, 16, 24), 6)


@pytest.fixture(scope="module")
def barriers(tmp_path_factory) -> dict:
    """(m, replicate) -> GD barrier mod P (weights matching) of the width experiment's runs for
    the tail and the peak widths: one sweep over both cores, exactly the runs of the sweep runner."""
    configs = list(dict.fromkeys(WidthConfig(k=2, d=10, m=m, steps=STEPS if m in TAIL[0] else 20_000, tol=STOP_TOL,
                                             replicate=r)
                                 for widths, reps in (TAIL, PEAK) for m in widths for r in range(reps)))
    store = Store(tmp_path_factory.mktemp("rates"))
    try:
        summary, results = sweep(get("width"), configs, store, seed=0, jobs=2, progress=False)
    finally:
        store.close()
    assert summary.failed == 0
    tail = from_results([(c, r) for c, r in results if c.m in TAIL[0]])
    return {(c.m, c.replicate): float(r["weights"]) for c, r in results} | {"tail_table": tail}


def _barriers(barriers, widths, replicates):
    return {m: [barriers[(m, r)] for r in range(replicates)] for m in widths}


@pytest.fixture(scope="module")
def tail(barriers):
    return _barriers(barriers, *TAIL)


def test_large_width_slope_matches_the_sampler_with_gds_allocation(barriers, tail):
    """Like with like: the sampler's slope by GD's estimator (log of single barriers, least squares over
    pairs) on GD's design (the same widths in the same proportions, ten sampled pairs per GD pair), and
    the interval of the difference of the two slopes must contain 0."""
    m = np.repeat(list(tail), [len(v) for v in tail.values()])
    b = np.concatenate(list(tail.values()))
    fit = fits.loglog_slope(m, b, seed=0)
    r, alpha = fitted_allocation(barriers["tail_table"], k=2)
    assert 0.3 < r < 0.7 and alpha > 0  # GD leaves about half its neurons inactive
    sampler = sampled_slope(tl.Teacher.orthonormal(2, 10), np.repeat(m, 10), BARRIER_ZERO, seed=0,
                            allocation="sparse", r=r, split="dirichlet", alpha=alpha)
    difference, ci = fits.slope_difference(fit, sampler)
    assert ci[0] <= 0 <= ci[1], (fit, sampler, difference, ci)
    assert fit.slope < 0 and sampler.slope < 0


def test_peak_location_matches_theory(barriers):
    widths = PEAK[0]
    measured = _barriers(barriers, *PEAK)
    peak, ci = fits.bootstrap_extremum(widths, [measured[m] for m in widths], seed=0)
    mean_t = predicted_curve(tl.Teacher.orthonormal(2, 10), widths, n_pairs=200, seed=0).mean
    theory_peak = fits.extremum(widths, mean_t)
    assert ci[0] <= theory_peak <= ci[1], (peak, ci, theory_peak)
    assert measured[2] == pytest.approx([0.0] * 6, abs=1e-10)  # m = k: unique minimum up to P


def test_level_offsets_find_a_shifted_group_and_clear_equal_ones():
    rng = np.random.default_rng(0)
    m = np.repeat([16, 32, 64, 128], 30).astype(float)
    groups = np.tile(np.repeat([10, 30, 100], 10), 4)
    level = np.where(groups == 100, 3.0, 1.0)  # d = 100 three times higher, the others equal
    y = 0.15 * level / m * np.exp(0.8 * rng.standard_normal(m.size))
    res = fits.level_offsets(m, y, groups, seed=1)
    ratio = res.factor[100] / res.factor[10]
    assert 2.0 < ratio < 4.5 and res.ci[100][0] > res.ci[10][1]  # the shift is found
    lo30, hi30 = res.ci[30]
    lo10, hi10 = res.ci[10]
    assert lo30 < hi10 and lo10 < hi30  # equal levels: overlapping intervals
    assert -1.3 < res.slope < -0.7
    assert res.p_equal < 1e-3  # the one-way F-test sees the shifted group
    for g in (10, 30, 100):  # simultaneous intervals contain the marginal ones
        assert res.ci_simultaneous[g][0] <= res.ci[g][0] and res.ci[g][1] <= res.ci_simultaneous[g][1]


def test_level_offsets_f_test_is_calibrated_under_equal_levels():
    """Under equal levels the F-test's p-value is uniform: about 5% of 400 null data sets fall below 0.05."""
    rng = np.random.default_rng(3)
    m = np.repeat([16, 32, 64, 128], 30).astype(float)
    groups = np.tile(np.repeat([10, 30, 100], 10), 4)
    p = [fits.level_offsets(m, 0.15 / m * np.exp(0.8 * rng.standard_normal(m.size)), groups, n_boot=10,
                            seed=i).p_equal for i in range(400)]
    rejected = int(np.sum(np.array(p) < 0.05))
    lo, hi = fits.clopper_pearson(rejected, 400)
    assert lo <= 0.05 <= hi, rejected


def test_slope_difference_covers_the_true_difference():
    """Independent power laws with exponents -1 and -1.5, 200 times: the difference interval holds the
    true 0.5 about 95% of the time (Clopper-Pearson interval of the coverage holds 0.95), and excludes 0
    almost always."""
    rng = np.random.default_rng(4)
    m = np.repeat([16, 32, 64, 128], 50).astype(float)
    covered = excludes_zero = 0
    for i in range(200):
        a = fits.loglog_slope(m, m**-1.0 * np.exp(0.5 * rng.standard_normal(m.size)), n_boot=400, seed=2 * i)
        b = fits.loglog_slope(m, m**-1.5 * np.exp(0.5 * rng.standard_normal(m.size)), n_boot=400, seed=2 * i + 1)
        diff, (lo, hi) = fits.slope_difference(a, b)
        assert diff == pytest.approx(a.slope - b.slope)
        covered += lo <= 0.5 <= hi
        excludes_zero += lo > 0
    lo, hi = fits.clopper_pearson(covered, 200)
    assert lo <= 0.95 <= hi, covered
    assert excludes_zero >= 190


def test_slope_difference_pairs_fits_with_unequal_numbers_of_resamples():
    """Regression: two widths with one pair at one of them leave some resamples with a single x,
    which loglog_slope drops; the difference then pairs the first min(len) of each (it raised)."""
    rng = np.random.default_rng(5)
    a = fits.loglog_slope([16.0, 64.0, 64.0], np.exp(rng.standard_normal(3)), n_boot=500, seed=0)
    b = fits.loglog_slope(np.repeat([16.0, 64.0], 40), np.exp(rng.standard_normal(80)), n_boot=500, seed=1)
    assert a.boot.size < b.boot.size == 500
    diff, (lo, hi) = fits.slope_difference(a, b)
    assert lo <= diff <= hi and np.isfinite([lo, hi]).all()


def test_loglog_slope_drops_resamples_at_one_width_although_rounding_leaves_a_variance():
    """Regression: twenty copies of log 64 have a mean that differs from log 64 in the last bit, so
    their centred values are not 0 and a variance test (var > 0) kept such resamples, each giving
    a slope of rounding noise over rounding noise (|slope| ~ 1e15)."""
    x = np.array([16.0] + [64.0] * 19)
    bx = np.full((1, 20), np.log(64.0))
    assert ((bx - bx.mean(1, keepdims=True)) ** 2).sum() > 0  # the premise: rounding noise
    y = np.exp(np.random.default_rng(0).standard_normal(20))
    fit = fits.loglog_slope(x, y, n_boot=2000, seed=0)
    one_width = (1 - 1 / 20) ** 20  # chance that a resample misses the single m = 16 point
    assert abs(fit.boot.size - 2000 * (1 - one_width)) < 5 * np.sqrt(2000 * one_width)
    assert np.abs(fit.boot).max() < 100
