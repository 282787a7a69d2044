"""The learning-rate transition: sharpness at the initialisation, the predicted window, the
edge-of-stability bound on converged runs of an in-test sweep, and the transition fit."""

import numpy as np
import pytest

import twolayer as tl
from sims.common import apply_overrides
from sims.experiments.lr import CONVERGED_LOSS, LrConfig, Variant, configs, run
from sims.profile import Profile
from theory.fits import first_crossing, fit_transition
from theory.stability import flattest_minimum_sharpness, lazy_sharpness, lr_window


def _fd_hessian(student, teacher, h=1e-6):
    theta = student.theta
    H = np.empty((theta.size, theta.size))
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        H[:, j] = (tl.population_gradient(student.with_theta(theta + e), teacher)
                   - tl.population_gradient(student.with_theta(theta - e), teacher)) / (2 * h)
    return 0.5 * (H + H.T)


@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("variant", list(Variant))
def test_hessian_at_a_large_unbalanced_init_matches_finite_differences(scale, variant):
    teacher = tl.Teacher.orthonormal(2, 5)
    student = LrConfig(k=2, d=5, m=7, init_scale=scale, variant=variant).init(np.random.SeedSequence(3))
    H = tl.population_hessian(student, teacher)
    fd = _fd_hessian(student, teacher)
    assert np.linalg.norm(H - fd) <= 1e-6 * np.linalg.norm(H)
    assert tl.sharpness(student, teacher) == pytest.approx(np.linalg.eigvalsh(fd)[-1], rel=1e-6)


def test_sharpness_by_lanczos_equals_the_full_spectrum():
    teacher = tl.Teacher.orthonormal(2, 10)
    student = tl.Student.init(40, 10, scale=1.0, seed=1)  # 440 parameters: the Lanczos path
    assert student.theta.size > 400
    full = np.linalg.eigvalsh(tl.population_hessian(student, teacher))[-1]
    assert tl.sharpness(student, teacher) == pytest.approx(full, rel=1e-9)


def test_lazy_sharpness_is_the_top_eigenvalue_of_the_monte_carlo_gauss_newton_matrix():
    teacher = tl.Teacher.orthonormal(2, 4)
    student = tl.Student.init(6, 4, scale=1.0, seed=2)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400_000, 4))
    pre = X @ student.W.T
    dW = ((pre > 0) * student.a)[:, :, None] * X[:, None, :]  # df/dw_i = a_i 1[w_i.x > 0] x
    J = np.concatenate([np.maximum(pre, 0.0), dW.reshape(len(X), -1)], axis=1)  # df/da_i = relu(w_i.x)
    G = J.T @ J / len(X)
    assert lazy_sharpness(student, teacher) == pytest.approx(np.linalg.eigvalsh(G)[-1], rel=0.01)


def test_flattest_frozen_minimum_is_the_even_split():
    teacher = tl.Teacher.orthonormal(2, 4)
    m = 6
    W = np.repeat(teacher.V, m // 2, axis=0) / (m // 2)  # each ray's weights sum to e_j: zero loss
    student = tl.Student(np.ones(m), W, train_output=False)
    assert tl.population_loss(student, teacher) < 1e-14
    assert flattest_minimum_sharpness(student, teacher) == pytest.approx(tl.sharpness(student, teacher), rel=1e-9)


def test_window_predicts_no_transition_at_small_init_and_one_from_ordinary_init():
    teacher = tl.Teacher.orthonormal(2, 10)
    small = lr_window(tl.Student.init(64, 10, scale=1e-2, seed=0), teacher)
    ordinary = lr_window(tl.Student.init(64, 10, scale=1.0, seed=0), teacher)
    wide = lr_window(tl.Student.init(64, 10, scale=4.0, seed=0), teacher)
    assert not small.exists and small.end < 1.0
    assert ordinary.exists and ordinary.start < ordinary.catapult < ordinary.end
    assert wide.start == pytest.approx(1.0, abs=0.02)  # lazy limit: the init's Hessian is Gauss-Newton


def _sweep(cfgs):
    return [(c, run(c, np.random.SeedSequence(7, spawn_key=(i,)))) for i, c in enumerate(cfgs)]


def test_converged_runs_satisfy_the_edge_of_stability_bound():
    cfgs = [LrConfig(m=12, d=6, init_scale=s, variant=v, lr_rel=x, steps=6000, replicate=0)
            for v in Variant for s in (0.3, 1.0) for x in (0.5, 1.0, 1.6, 2.0)]
    ratios, above_one = [], 0
    for c, r in _sweep(cfgs):
        for i in range(2):
            if r["loss"][i] <= CONVERGED_LOSS:
                ratios.append(r["eta"][i] * r["lam_final"][i] / 2)
                above_one += c.lr_rel > 1
    assert len(ratios) >= 20 and above_one >= 5  # the bound is tested where it bites
    assert max(ratios) <= 1.0 + 1e-3


@pytest.mark.slow
def test_sweep_finds_the_transition_inside_the_predicted_window():
    rates = 2.0 ** (np.arange(-3, 5) / 3)  # 0.5 .. 2.5
    runs = _sweep([LrConfig(m=32, lr_rel=float(x), steps=8000, replicate=r) for r in range(4) for x in rates])
    curves = np.full((8, rates.size), np.nan)
    for c, r in runs:
        curves[2 * c.replicate:2 * c.replicate + 2, list(rates).index(c.lr_rel)] = r["neff_rel"]
    fit = fit_transition(rates, curves)
    assert fit is not None and fit.crossed >= 6
    window = lr_window(LrConfig(m=32).init(np.random.SeedSequence(0)), tl.Teacher.orthonormal(2, 10))
    assert window.start <= fit.location_ci[0] and fit.location_ci[1] <= window.catapult


def test_fit_transition_recovers_a_known_drop():
    x = 2.0 ** (np.arange(-6, 7) / 4)
    rng = np.random.default_rng(1)
    curves = [0.5 - 0.4 / (1 + np.exp(-(np.log2(x) - np.log2(1.6) + 0.05 * rng.standard_normal()) * 8))
              for _ in range(10)]
    fit = fit_transition(x, curves)
    assert abs(np.log2(fit.location / 1.6)) < 1 / 8 and fit.crossed == 10  # within half a grid step
    assert fit.location_ci[0] <= fit.location <= fit.location_ci[1] < 1.6 * 2 ** (1 / 8)
    assert 0.3 < fit.width_octaves < 0.8  # logistic of slope 8 per octave: 10%..90% over 0.55 octaves
    flat = [np.full(x.size, 0.5) for _ in range(4)]
    assert fit_transition(x, flat) is None
    assert np.isnan(first_crossing(x, np.r_[0.5, np.nan, np.full(x.size - 2, 0.1)], 0.25))


def _seeds(cfgs) -> dict:
    seeds = {}
    for c in cfgs:
        seeds.setdefault((c.variant, c.m, c.init_scale, c.balanced, c.lr_rel), set()).add(c.replicate)
    return seeds


def test_profiles_cover_the_issue_ranges():
    quick, paper, full = configs(Profile.QUICK), configs(Profile.PAPER), configs(Profile.FULL)
    assert {c.variant for c in full} == set(Variant)  # the full phase diagram of issue 9
    assert {16, 32, 64, 128, 256} <= {c.m for c in full}
    assert min(c.init_scale for c in full) <= 1e-3 and max(c.init_scale for c in full) >= 2
    assert {c.balanced for c in full} == {False, True}
    assert min(len(s) for s in _seeds(full).values()) >= 8
    # the paper profile (sized for the hour): the quick profile's scales and more, 3 seeds a phase
    # cell, 6 on the cuts; the quick profile spans the scales from 1e-3 to 1
    assert {c.variant for c in paper} == set(Variant) and {16, 32, 64, 128} <= {c.m for c in paper}
    assert {c.init_scale for c in quick} < {c.init_scale for c in paper}
    assert min(c.init_scale for c in quick) == 1e-3 and max(c.init_scale for c in quick) == 1.0
    cut = {k: s for k, s in _seeds(paper).items() if k[2] == 1.0 and not k[3]}
    assert min(len(s) for s in _seeds(paper).values()) >= 3 and min(len(s) for s in cut.values()) >= 6
    assert len(quick) < len(paper) < len(full)


@pytest.mark.parametrize("key,value,message", [
    ("variant", "sgd", "--set variant: expected one of gd, frozen, meanfield, online"),
    ("lr_rel", "0", "lr_rel must be"),
    ("init_scale", "-1", "init_scale must be"),
    ("balanced", "maybe", "expected true or false"),
    ("trace", "-2", "trace must be"),
])
def test_bad_config_values_name_the_field(key, value, message):
    with pytest.raises(ValueError, match=message):
        apply_overrides([LrConfig()], {key: value})


def test_balanced_frozen_is_an_error():
    with pytest.raises(ValueError, match="balanced must be false for variant frozen"):
        LrConfig(variant=Variant.FROZEN, balanced=True)


def test_sharpness_restricted_to_neurons_is_the_sub_block():
    teacher = tl.Teacher.orthonormal(2, 4)
    for train_output in (True, False):
        student = tl.Student.init(5, 4, scale=1.0, seed=4, train_output=train_output)
        H = tl.population_hessian(student, teacher)
        pick = np.array([0, 2, 3])
        rows = np.concatenate([pick, 5 + (pick[:, None] * 4 + np.arange(4)).ravel()]) if train_output \
            else (pick[:, None] * 4 + np.arange(4)).ravel()
        sub = np.linalg.eigvalsh(H[np.ix_(rows, rows)])[-1]
        assert tl.sharpness(student, teacher, neurons=pick) == pytest.approx(sub, rel=1e-12)
    with pytest.raises(ValueError, match="neurons"):
        tl.sharpness(student, teacher, neurons=np.zeros(5, dtype=bool))


def test_flattest_trained_minimum_is_c_lambda_b_for_both_scalings():
    teacher = tl.Teacher.orthonormal(2, 4)
    cases = (("standard", [0, 0, 1, 1], [0.3, 0.7, 0.4, 0.6]),
             ("meanfield", [0, 0, 1, 1, 1, 1], [0.3, 0.7, 0.2, 0.5, 0.3, 0.0]))
    for scaling, rays, masses in cases:  # each ray's output masses sum to b_j = 1
        rays, masses = np.array(rays), np.array(masses)
        c = 1.0 if scaling == "standard" else 1.0 / rays.size
        r = np.sqrt(masses / c)  # balanced: a_i = |w_i| = r_i and c a_i r_i = mass_i
        student = tl.Student(r, r[:, None] * teacher.V[rays], scaling)
        assert tl.population_loss(student, teacher) < 1e-14
        assert flattest_minimum_sharpness(student, teacher) == pytest.approx(tl.sharpness(student, teacher), rel=1e-9)
