"""theory/: closed forms against the engine, brute force, eigvalsh and simulation."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import twolayer as tl
from theory import fits
from theory.barrier import condensed_barrier, mismatch, path_loss
from theory.minima import INACTIVE, allocate, sample_minimum
from theory.stability import (
    critical_rate,
    hessian_spectrum,
    lambda_max,
    lambda_max_balanced,
    lambda_max_frozen,
    max_neurons_per_ray_frozen,
)
from theory.wasserstein import barrier_bound, transport_cost, wasserstein_rate_exponent, width_for_barrier
from theory.width import asymptotic_constant, predicted_curve, ray_probability
from twolayer.refine import refine

MODELS = [dict(), dict(split="dirichlet", alpha=0.5), dict(allocation="sparse", r=0.3),
          dict(balanced=False), dict(train_output=False), dict(scaling="meanfield")]


@pytest.mark.parametrize("model", MODELS)
def test_sampled_minima_have_zero_loss(model):
    teacher = tl.Teacher.orthonormal(3, 6, b=[1.0, 0.5, 2.0])
    for seed in range(10):
        mn = sample_minimum(teacher, 3 + 2 * seed, seed=seed, **model)
        assert tl.population_loss(mn.student, teacher) <= 1e-12
        assert np.all(mn.counts > 0)


def test_allocation_covers_every_ray_and_validates():
    rays = allocate(5, 5, seed=1)
    assert sorted(rays) == [0, 1, 2, 3, 4]
    assert np.all(allocate(50, 3, "sparse", r=0.9, seed=2) >= INACTIVE)
    with pytest.raises(ValueError, match="m must be >= k"):
        allocate(2, 3)
    with pytest.raises(ValueError, match="allocation"):
        allocate(4, 2, "dense")


@pytest.mark.parametrize("model", MODELS)
def test_closed_form_barrier_equals_engine_barrier(model):
    teacher = tl.Teacher.orthonormal(3, 7)
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(12):
        m = int(rng.integers(3, 40))
        A, B = (sample_minimum(teacher, m, seed=rng, **model) for _ in range(2))
        res = condensed_barrier(A, B, teacher)
        engine = tl.barrier(A.student, tl.permute(B.student, res.perm), tl.Population(teacher))
        # closed form: to rounding; cross-ray pairs: two independent numerical maximisations
        # (theory's own kernel and bounded search, the engine's Brent search: ~1e-7 relative each)
        tolerance = 1e-10 if res.closed_form else 1e-6
        assert abs(res.value - engine.value) <= tolerance * max(1e-3, engine.value)
        if res.closed_form:
            checked += 1
            assert engine.t == pytest.approx(0.5, abs=1e-3) or res.value < 1e-14
            ts = np.linspace(0, 1, 7)
            curve = [tl.population_loss(tl.interpolate(A.student, tl.permute(B.student, res.perm), t),
                                        teacher) for t in ts]
            np.testing.assert_allclose(curve, path_loss(res.D, ts), atol=1e-12)
    assert checked > 0


def test_frozen_outputs_have_no_barrier_without_cross_pairs():
    teacher = tl.Teacher.orthonormal(2, 4)
    for seed in range(10):
        A, B = (sample_minimum(teacher, 30, train_output=False, seed=2 * seed + i) for i in range(2))
        res = condensed_barrier(A, B, teacher)
        if res.closed_form:
            assert res.value == 0.0 and np.all(res.D == 0)


def test_ray_matching_is_the_best_ray_preserving_permutation():
    teacher = tl.Teacher.orthonormal(2, 4)
    rng = np.random.default_rng(1)
    for trial in range(30):
        m = int(rng.integers(2, 7))
        model = dict(split=["equal", "dirichlet"][trial % 2])
        A, B = (sample_minimum(teacher, m, seed=rng, **model) for _ in range(2))
        res = condensed_barrier(A, B, teacher)
        if not res.closed_form:
            continue
        best = min(path_loss(mismatch(A, B, np.array(p), 2), 0.5)
                   for p in itertools.permutations(range(m))
                   if not np.any((A.rays >= 0) & (B.rays[list(p)] >= 0) & (A.rays != B.rays[list(p)])))
        assert res.value <= best + 1e-15


def test_refine_beats_ray_matching_only_through_cross_ray_pairs():
    """Documented finding (docs/theory.md, sec. 2): pairing the excess neurons of two
    different rays lowers the barrier below the best ray-preserving permutation."""
    teacher = tl.Teacher.orthonormal(3, 7)
    rng = np.random.default_rng(0)
    improved = 0
    for _ in range(25):
        m = int(rng.integers(4, 25))
        A, B = (sample_minimum(teacher, m, seed=rng) for _ in range(2))
        res = condensed_barrier(A, B, teacher)
        Bp = tl.permute(B.student, res.perm)
        perm, info = refine(A.student, Bp, teacher, np.arange(m), candidates=m - 1)
        if info["gain"] > 1e-12:
            improved += 1
            rays_B = B.rays[res.perm][perm]
            assert np.any((A.rays >= 0) & (rays_B >= 0) & (A.rays != rays_B))
        assert info["midpoint_loss"] <= info["midpoint_loss_start"]
    assert improved > 0


@pytest.mark.parametrize("model", MODELS)
def test_hessian_spectrum_matches_eigvalsh(model):
    teacher = tl.Teacher.orthonormal(2, 4)
    mn = sample_minimum(teacher, 6, seed=3, **model)
    full = np.linalg.eigvalsh(tl.population_hessian(mn.student, teacher))
    reduced = hessian_spectrum(mn.student, mn.rays, teacher)
    assert lambda_max(mn.student, mn.rays, teacher) == pytest.approx(full[-1], rel=1e-8)
    np.testing.assert_allclose(reduced[-4:], full[-4:], rtol=1e-8, atol=1e-12)


def test_balanced_lambda_max_does_not_depend_on_sparsity_but_frozen_does():
    teacher = tl.Teacher.orthonormal(3, 5)
    lams = [lambda_max(mn.student, mn.rays, teacher) for mn in
            (sample_minimum(teacher, m, split=s, seed=m) for m in (3, 10, 40) for s in ("equal", "dirichlet"))]
    np.testing.assert_allclose(lams, lambda_max_balanced(teacher), rtol=1e-10)
    frozen = [lambda_max_frozen([n] * 3, teacher) for n in (1, 2, 4)]
    np.testing.assert_allclose(np.array(frozen) / frozen[0], [1, 2, 4], rtol=1e-12)
    eta = 0.9 * critical_rate(frozen[1])
    assert max_neurons_per_ray_frozen(eta, teacher) == 2


def _transport_bound_holds(seed, m, d, inputs, scaling):
    rng = np.random.default_rng(seed)
    teacher = tl.Teacher(rng.standard_normal((2, d)), rng.standard_normal(2), inputs)
    A = tl.Student(rng.standard_normal(m), rng.standard_normal((m, d)), scaling)
    B = tl.Student(rng.standard_normal(m), rng.standard_normal((m, d)), scaling)
    perm = rng.permutation(m)
    Bp = tl.permute(B, perm)
    T = transport_cost(A, B, perm, inputs)
    lA, lB = tl.population_loss(A, teacher), tl.population_loss(Bp, teacher)
    for t in (0.1, 0.3, 0.5, 0.8):
        L = t * lA + (1 - t) * lB
        e = t * (1 - t) * T
        gap = tl.population_loss(tl.interpolate(A, Bp, t), teacher) - L
        assert gap <= np.sqrt(2 * L) * e + 0.5 * e * e + 1e-12 * (1 + L)
    assert tl.barrier(A, Bp, tl.Population(teacher)).value <= barrier_bound(T, lA, lB) * (1 + 1e-9) + 1e-12


PAIRS = dict(seed=st.integers(0, 2**32 - 1), m=st.integers(1, 5), d=st.integers(1, 4),
             inputs=st.sampled_from(["gaussian", "sphere"]), scaling=st.sampled_from(["standard", "meanfield"]))


@settings(max_examples=400, deadline=None)  # 10^4 in the slow variant below
@given(**PAIRS)
def test_transport_bound_holds_along_the_path(seed, m, d, inputs, scaling):
    _transport_bound_holds(seed, m, d, inputs, scaling)


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None)
@given(**PAIRS)
def test_transport_bound_holds_along_the_path_thorough(seed, m, d, inputs, scaling):
    _transport_bound_holds(seed, m, d, inputs, scaling)


def test_wasserstein_rates_and_width():
    assert wasserstein_rate_exponent(2) == 0.5 and wasserstein_rate_exponent(8) == pytest.approx(1 / 8)
    m1 = width_for_barrier(1e-4, 0.05, d_eff=3)
    m2 = width_for_barrier(1e-6, 0.05, d_eff=3)
    assert m2 > m1 > 1
    # halving eps^(1/2) ten-fold multiplies the width by ~10^d_eff when the rate term dominates
    assert 10 ** 2 < m2 / m1 < 10 ** 3.5


def test_predicted_curve_peaks_above_k_and_decays_like_one_over_m():
    teacher = tl.Teacher.orthonormal(2, 5)
    widths = [2, 4, 8, 16, 64, 128, 256, 512]
    mean, sem = predicted_curve(teacher, widths, n_pairs=150, seed=0)[:2]
    assert mean[0] == 0.0  # m = k: the minimum is unique up to permutation
    peak = fits.extremum(widths[:5], mean[:5])
    assert 2 < peak < 16
    fit = fits.loglog_slope(np.repeat(widths[-4:], 1), mean[-4:])
    assert fit.ci[0] - 0.1 <= -1.0 <= fit.ci[1] + 0.1
    C = asymptotic_constant(2, ray_probability(2))
    assert mean[-1] == pytest.approx(C / 512, rel=4 * sem[-1] / mean[-1] + 0.05)


def test_fit_utilities_on_synthetic_data():
    rng = np.random.default_rng(0)
    x = np.repeat(np.logspace(1, 3, 8), 5)
    y = 3.0 * x**-0.5 * np.exp(0.05 * rng.standard_normal(x.size))
    fit = fits.loglog_slope(x, y, seed=1)
    assert fit.ci[0] < -0.5 < fit.ci[1] and fit.ci[1] - fit.ci[0] < 0.1
    xs = np.logspace(0, 2, 21)
    assert fits.extremum(xs, -np.log(xs / 7.0) ** 2) == pytest.approx(7.0, rel=0.05)
    eta = np.logspace(-3, 0, 31)
    step = np.where(eta < 0.05, 10.0, 2.0) + 0.01 * rng.standard_normal(31)
    assert fits.transition_point(eta, step) == pytest.approx(0.05, rel=0.15)
    assert fits.transition_sharpness(eta, step) > 0.8
    with pytest.raises(ValueError, match="> 0"):
        fits.loglog_slope([1, 2], [1, -1])


@pytest.mark.slow
def test_median_ci_resamples_clusters_and_covers_the_median():
    rng = np.random.default_rng(3)
    values = rng.lognormal(size=25)
    # ten copies of each value in one cluster: the same interval as one value per cluster
    assert fits.median_ci([np.full(10, v) for v in values], seed=2) == fits.median_ci(values, seed=2)
    # the 95% interval covers the true median (0 for a standard normal) in about 95% of samples
    covered = [lo <= 0.0 <= hi for lo, hi in (fits.median_ci(rng.standard_normal(40), n_boot=400, seed=i)[1]
                                             for i in range(200))]
    assert 0.88 <= np.mean(covered) <= 0.995
    with pytest.raises(ValueError, match="non-empty"):
        fits.median_ci([np.array([])])


def test_clopper_pearson_matches_the_binomial_tails():
    from scipy.stats import binom

    lo, hi = fits.clopper_pearson(17, 18)
    # the exact interval's ends are where the binomial tail probabilities reach 2.5%
    assert binom.sf(16, 18, lo) == pytest.approx(0.025, rel=1e-6)
    assert binom.cdf(17, 18, hi) == pytest.approx(0.025, rel=1e-6) or hi == 1.0
    assert fits.clopper_pearson(18, 18)[1] == 1.0 and fits.clopper_pearson(0, 5)[0] == 0.0
    assert fits.clopper_pearson(18, 18)[0] == pytest.approx(0.025 ** (1 / 18))
    with pytest.raises(ValueError, match="successes"):
        fits.clopper_pearson(3, 2)


def test_exact_enumeration_agrees_with_monte_carlo():
    from theory.width import count_vectors, exact_expected_barrier
    teacher = tl.Teacher.orthonormal(2, 5)
    assert sorted(count_vectors(4, 2)) == sorted([(1, 1, 2), (1, 2, 1), (2, 1, 1), (1, 3, 0), (3, 1, 0),
                                                  (2, 2, 0)])
    assert exact_expected_barrier(teacher, 2) == 0.0
    for m in (3, 4, 6):
        exact = exact_expected_barrier(teacher, m)
        mean, sem = predicted_curve(teacher, [m], n_pairs=600, seed=m)[:2]
        assert abs(exact - mean[0]) <= 4 * sem[0]


@pytest.mark.parametrize("balanced", [True, False])
def test_lambda_max_near_a_small_init_is_the_largest_neuron_block(balanced):
    from theory.stability import curvature_at_zero
    teacher = tl.Teacher.orthonormal(2, 4)
    student = tl.Student.init(6, 4, scale=1e-7, seed=0, balanced=balanced)
    norms = np.linalg.norm(student.W, axis=1)
    limit = curvature_at_zero(student.W / norms[:, None], student.a / norms, teacher).max()
    assert tl.sharpness(student, teacher) == pytest.approx(limit, rel=1e-5)


def test_frozen_output_minima_are_connected_unless_counts_force_cross_ray_pairs():
    """Section 2: with frozen outputs (a_i = 1) the mismatch D vanishes, so two condensed minima
    whose ray counts can be paired (directly or with inactive neurons) have barrier 0 mod P, for
    any split of the rays' mass; the engine's exact barrier of the theory's permutation agrees."""
    from theory.minima import minimum_from_rays
    teacher = tl.Teacher.orthonormal(3, 5, inputs="sphere")
    task = tl.Population(teacher)
    rays_A = np.array([0, 0, 1, 2, INACTIVE, 2])
    rays_B = np.array([2, 1, 1, 0, 0, INACTIVE])  # ray 1 has one neuron more: an inactive one absorbs it
    A = minimum_from_rays(teacher, rays_A, split="dirichlet", train_output=False, seed=1)
    B = minimum_from_rays(teacher, rays_B, split="dirichlet", train_output=False, seed=2)
    assert task.loss(A.student) < 1e-12 and task.loss(B.student) < 1e-12
    res = condensed_barrier(A, B, teacher)
    assert res.closed_form and np.allclose(res.D, 0.0) and res.value == 0.0
    assert abs(tl.barrier(A.student, tl.permute(B.student, res.perm), task).value) < 1e-12
    # trained outputs with the same rays and splits: D != 0 and a positive barrier
    At = minimum_from_rays(teacher, rays_A, split="dirichlet", seed=1)
    Bt = minimum_from_rays(teacher, rays_B, split="dirichlet", seed=2)
    assert condensed_barrier(At, Bt, teacher).value > 1e-6


def test_fitted_allocation_recovers_the_sampler_that_made_the_minima():
    """width.fitted_allocation inverts n_eff = k (n alpha + 1) / (alpha + 1), n = m (1 - r) / k:
    minima sampled with a known inactive probability r and Dirichlet(alpha) splits give back r and
    alpha (Monte Carlo over the sampler)."""
    from sims.experiments.width import fitted_allocation
    from sims.table import frame
    teacher = tl.Teacher.orthonormal(2, 4)
    rows = []
    for seed in range(40):
        mini = sample_minimum(teacher, 400, allocation="sparse", r=0.5, split="dirichlet", alpha=2.0, seed=seed)
        rep = tl.sparsity(mini.student, teacher)
        rows.append({"m": 400, "neff": rep.effective_neurons, "inactive": rep.dead / 400})
    r, alpha = fitted_allocation(frame(rows), teacher.k)
    assert abs(r - 0.5) < 0.03 and abs(alpha - 2.0) < 0.3
