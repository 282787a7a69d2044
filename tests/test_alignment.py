"""Matching, interpolation, barriers, neuron measures and sparsity."""

import numpy as np
import ot
import pytest
from conftest import random_pair
from hypothesis import given, settings
from hypothesis import strategies as st

import twolayer as tl
from twolayer.refine import refine


@pytest.fixture(scope="module")
def gd_pair():
    """Two independent GD solutions (k=4, d=16, m=24) from small init."""
    teacher = tl.Teacher.orthonormal(4, 16)
    runs = tl.train_replicas([tl.Student.init(24, 16, scale=1e-2, seed=s) for s in range(2)],
                             tl.Population(teacher), lr=0.3, steps=20_000, tol=1e-9)
    return runs[0].net, runs[1].net, teacher


def test_permute_keeps_the_function(rng):
    s, teacher = random_pair(rng, 9, 2, 4)
    perm = rng.permutation(9)
    X = rng.standard_normal((50, 4))
    np.testing.assert_allclose(tl.permute(s, perm)(X), s(X), rtol=1e-13)
    assert tl.population_loss(tl.permute(s, perm), teacher) == pytest.approx(
        tl.population_loss(s, teacher), rel=1e-13)


def test_interpolate_endpoints(rng):
    A, _ = random_pair(rng, 5, 2, 3)
    B, _ = random_pair(rng, 5, 2, 3)
    np.testing.assert_array_equal(tl.interpolate(A, B, 1.0).W, A.W)
    np.testing.assert_array_equal(tl.interpolate(A, B, 0.0).a, B.a)
    np.testing.assert_allclose(tl.interpolate(A, B, 0.25).W, 0.25 * A.W + 0.75 * B.W)


def test_barrier_of_a_network_with_itself_is_zero(gd_pair):
    A, _, teacher = gd_pair
    assert abs(tl.barrier(A, A, tl.Population(teacher)).value) <= 1e-12


@pytest.mark.parametrize("method", ["weights", "weights_cov", "activations", "refine"])
def test_barrier_modulo_permutation_of_a_permuted_copy_is_zero(gd_pair, method):
    A, _, teacher = gd_pair
    perm = np.random.default_rng(3).permutation(A.m)
    options = {"n": 10_000} if method == "activations" else {}
    res = tl.barrier_modulo_permutation(A, tl.permute(A, perm), tl.Population(teacher), method=method, **options)
    if method == "refine":
        # A is a minimum only to ~1e-7, so a swap can make the midpoint lower than A itself
        assert res.value <= 1e-10
    else:
        assert abs(res.value) <= 1e-10
        np.testing.assert_array_equal(tl.permute(tl.permute(A, perm), res.matching.perm).W, A.W)


@pytest.mark.parametrize("method", ["weights", "activations"])
def test_planted_permutation_with_noise_is_recovered(method):
    rng = np.random.default_rng(7)
    A = tl.Student(rng.standard_normal(1000), rng.standard_normal((1000, 20)))
    perm = rng.permutation(1000)
    noisy = A.with_params(A.a + 1e-3 * rng.standard_normal(1000),
                          A.W + 1e-3 * rng.standard_normal((1000, 20)))
    B = tl.permute(noisy, np.argsort(perm))  # B's neuron perm[i] is A's neuron i
    options = {"n": 20_000} if method == "activations" else {}
    found = tl.match(A, B, method, tl.Population(tl.Teacher.orthonormal(1, 20)), **options)
    np.testing.assert_array_equal(found.perm, perm)


def test_plain_barrier_much_larger_than_barrier_mod_p(gd_pair):
    A, B, teacher = gd_pair
    plain = tl.barrier(A, B, tl.Population(teacher)).value
    aligned = tl.barrier_modulo_permutation(A, B, tl.Population(teacher)).value
    assert plain > 10 * aligned and plain > 1e-2


def test_barrier_refinement_finds_the_true_maximum(gd_pair):
    A, B, teacher = gd_pair
    res = tl.barrier(A, B, tl.Population(teacher))
    fine = np.linspace(max(res.t - 0.02, 0), min(res.t + 0.02, 1), 2001)
    lA, lB = res.loss_A, res.loss_B
    dense = max(tl.population_loss(tl.interpolate(A, B, t), teacher) - (t * lA + (1 - t) * lB)
                for t in fine)
    assert res.value >= dense * (1 - 1e-6)
    assert res.value <= dense * (1 + 1e-6)


def test_barrier_kinds(gd_pair):
    A, B, teacher = gd_pair
    task = tl.Population(teacher)
    sup = tl.barrier(A, B, task, kind="sup")
    mid = tl.barrier(A, B, task, kind="midpoint")
    ends = tl.barrier(A, B, task, kind=tl.BarrierKind.ENDPOINTS_MEAN)
    assert sup.kind is tl.BarrierKind.SUP and mid.kind is tl.BarrierKind.MIDPOINT and mid.t == 0.5
    assert mid.value <= sup.value + 1e-15
    assert ends.value >= sup.value - abs(sup.loss_A - sup.loss_B)


def test_empirical_barrier_uses_the_data(gd_pair):
    A, B, teacher = gd_pair
    data = tl.Empirical.sample(teacher, 200_000, seed=1)
    emp = tl.barrier(A, B, data)
    pop = tl.barrier(A, B, tl.Population(teacher)).value
    assert abs(emp.value - pop) < 0.05 * pop
    # the curve is the empirical loss on exactly these data
    mid = tl.interpolate(A, B, 0.5)
    assert emp.curve[12] == pytest.approx(0.5 * np.mean((mid(data.X) - data.y) ** 2), rel=1e-10)


def test_activation_matching_uses_the_objective_data():
    # regression: activation matching inside barrier_modulo_permutation drew Gaussian inputs
    # and ignored the caller's data. On data confined to one half-space the correlations differ.
    rng = np.random.default_rng(5)
    A, B = tl.Student.init(12, 3, seed=1), tl.Student.init(12, 3, seed=2)
    X = np.abs(rng.standard_normal((400, 3))) * np.array([1.0, 0.2, 5.0])
    y = rng.standard_normal(400)
    on_data = tl.match(A, B, "activations", tl.Empirical(X, y))
    HA, HB = np.maximum(X @ A.W.T, 0), np.maximum(X @ B.W.T, 0)
    corr = np.array([[np.corrcoef(HA[:, i], HB[:, j])[0, 1] if HA[:, i].std() * HB[:, j].std() > 0 else 0.0
                      for j in range(12)] for i in range(12)])
    from scipy.optimize import linear_sum_assignment
    rows, cols = linear_sum_assignment(-corr)
    np.testing.assert_array_equal(on_data.perm, cols)
    gaussian = tl.match(A, B, "activations", tl.Population(tl.Teacher.orthonormal(1, 3)), n=400)
    assert not np.array_equal(gaussian.perm, on_data.perm)
    res = tl.barrier_modulo_permutation(A, B, tl.Empirical(X, y), method="activations")
    np.testing.assert_array_equal(res.matching.perm, cols)
    with pytest.raises(ValueError, match="'n' does not apply"):
        tl.match(A, B, "activations", tl.Empirical(X, y), n=100)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), m=st.integers(2, 12))
def test_refine_never_increases_the_midpoint_loss(seed, m):
    rng = np.random.default_rng(seed)
    A, teacher = random_pair(rng, m, 2, 3)
    B, _ = random_pair(rng, m, 2, 3)
    start = rng.permutation(m)
    perm, info = refine(A, B, teacher, start)
    before = tl.population_loss(tl.interpolate(A, tl.permute(B, start), 0.5), teacher)
    after = tl.population_loss(tl.interpolate(A, tl.permute(B, perm), 0.5), teacher)
    assert after <= before
    assert info["gain"] == pytest.approx(before - after, abs=1e-12)


def test_weights_assignment_w2_equals_pot(rng):
    A, _ = random_pair(rng, 40, 2, 5)
    B, _ = random_pair(rng, 40, 2, 5)
    X, a = tl.neuron_measure(A)
    Y, b = tl.neuron_measure(B)
    pot = np.sqrt(ot.emd2(a, b, ot.dist(X, Y)))
    assert tl.wasserstein(A, B) == pytest.approx(pot, rel=1e-10)


def test_ot_plan_marginals_and_unequal_widths(rng):
    A, teacher = random_pair(rng, 7, 2, 4)
    B, _ = random_pair(rng, 11, 2, 4)
    plan = tl.match(A, B, "ot").plan
    np.testing.assert_allclose(plan.sum(1), 1 / 7, atol=1e-15)
    np.testing.assert_allclose(plan.sum(0), 1 / 11, atol=1e-15)
    X = rng.standard_normal((30, 4))
    np.testing.assert_allclose(tl.ot_interpolate(A, B, plan, 1.0)(X), A(X), rtol=1e-12)
    np.testing.assert_allclose(tl.ot_interpolate(A, B, plan, 0.0)(X), B(X), rtol=1e-12)
    res = tl.barrier_modulo_permutation(A, B, tl.Population(teacher), method="ot")
    assert np.isfinite(res.value) and res.matching.plan is not None


@pytest.mark.parametrize("scaling", ["standard", "meanfield"])
def test_ot_interpolation_equals_permutation_interpolation_for_equal_widths(rng, scaling):
    A, teacher = random_pair(rng, 9, 2, 4, scaling=scaling)
    B, _ = random_pair(rng, 9, 2, 4, scaling=scaling)
    plan = tl.match(A, B, "ot").plan
    perm = plan.argmax(axis=1)
    np.testing.assert_allclose(plan[np.arange(9), perm], 1 / 9)  # Birkhoff: a permutation
    X = rng.standard_normal((40, 4))
    for t in (0.2, 0.5, 0.9):
        np.testing.assert_allclose(tl.ot_interpolate(A, B, plan, t)(X),
                                   tl.interpolate(A, tl.permute(B, perm), t)(X), rtol=1e-12)
    # the plan's cost is the transport cost T of its permutation, and no permutation does better
    from theory.wasserstein import transport_cost
    from twolayer.assignment import assignment
    from twolayer.transport import plan_cost
    best = assignment(plan_cost(A, B))
    assert tl.match(A, B, "ot").info["cost"] == pytest.approx(transport_cost(A, B, perm), rel=1e-12)
    assert transport_cost(A, B, perm) == pytest.approx(transport_cost(A, B, best), rel=1e-12)


def test_participation_dimension():
    rng = np.random.default_rng(0)
    line = np.outer(rng.standard_normal(500), rng.standard_normal(6))
    assert tl.participation_dimension(line) == pytest.approx(1.0)
    cloud = rng.standard_normal((200_000, 6))
    assert tl.participation_dimension(cloud) == pytest.approx(6.0, rel=0.01)
    wide = rng.standard_normal((30, 500))  # more features than points: the Gram path
    S = np.cov(wide.T, bias=True)
    assert tl.participation_dimension(wide) == pytest.approx(np.trace(S) ** 2 / np.sum(S * S), rel=1e-10)


def test_wasserstein_to_teacher_is_zero_at_a_condensed_minimum():
    teacher = tl.Teacher.orthonormal(3, 5)
    W = np.repeat(np.eye(3, 5), 2, axis=0) * np.array([0.3, 0.7, 1, 1, 0.5, 0.5])[:, None]
    a = np.array([1 / 0.6, 1 / 1.4, 0.5, 0.5, 1.0, 1.0])  # a_i |w_i| sums to b_j = 1 per ray
    s = tl.Student(a, W)
    assert tl.population_loss(s, teacher) < 1e-14
    assert tl.wasserstein(s, teacher, measure="output_mass") < 1e-7
    report = tl.sparsity(s, teacher)
    np.testing.assert_array_equal(report.per_direction, [2, 2, 2])
    assert report.active == 6 and report.dead == 0


def test_sparsity_effective_neurons(rng):
    s = tl.Student(np.ones(8), np.eye(8))
    assert tl.sparsity(s).effective_neurons == pytest.approx(8.0)
    one = tl.Student(np.array([1.0, 0, 0]), np.eye(3))
    rep = tl.sparsity(one)
    assert rep.effective_neurons == pytest.approx(1.0) and rep.active == 1 and rep.dead == 2


@pytest.mark.parametrize("call,field", [
    (lambda A, B, T: tl.barrier(A, tl.Student.init(4, 5), T), "same structure"),
    (lambda A, B, T: tl.match(A, B, "hungarian"), "method"),
    (lambda A, B, T: tl.barrier(A, B, T, kind="max"), "kind"),
    (lambda A, B, T: tl.barrier(A, B, T, ts=[0.2, 0.5]), "ts"),
    (lambda A, B, T: tl.barrier(A, B, T.teacher), "objective"),
    (lambda A, B, T: tl.permute(A, [0, 0, 1]), "permutation"),
    (lambda A, B, T: tl.match(A, B, "refine"), "Population"),
    (lambda A, B, T: tl.match(A, B, "weights", candidates=3), "'candidates' does not apply"),
    (lambda A, B, T: tl.match(A, B, "activations"), "objective"),
    (lambda A, B, T: tl.match(A, B, "weights_cov"), "objective"),
    (lambda A, B, T: tl.wasserstein(A, B, p=0.5), "p"),
    (lambda A, B, T: tl.wasserstein(A, tl.Teacher.orthonormal(1, 4)), "dimension"),
    (lambda A, B, T: tl.Student(np.ones(0), np.ones((0, 3))), "empty"),
    (lambda A, B, T: tl.match(A, B, "weights_cov", sigma=np.ones((2, 2))), "'sigma' does not apply"),
])
def test_bad_input(call, field):
    A, B = tl.Student.init(3, 3, seed=0), tl.Student.init(3, 3, seed=1)
    with pytest.raises(ValueError) as info:
        call(A, B, tl.Population(tl.Teacher.orthonormal(2, 3)))
    assert field in str(info.value)


@pytest.mark.parametrize("noise", [1e-3, 1.0])
def test_distance_assignment_equals_scipy_assignment(noise):
    from scipy.optimize import linear_sum_assignment

    from twolayer.assignment import distance_assignment
    rng = np.random.default_rng(1)
    P = rng.standard_normal((300, 6))
    Q = P[rng.permutation(300)] + noise * rng.standard_normal((300, 6))
    C = tl.reference.squared_distances(P, Q)
    rows, cols = linear_sum_assignment(C)
    perm = distance_assignment(P, Q)
    assert C[np.arange(300), perm].sum() == pytest.approx(C[rows, cols].sum(), rel=1e-12)


def test_refine_on_a_single_neuron_returns_the_identity():
    # regression: refine raised "argmin of an empty sequence" at m = 1
    teacher = tl.Teacher.orthonormal(1, 3)
    A, B = tl.Student.init(1, 3, seed=0), tl.Student.init(1, 3, seed=1)
    res = tl.match(A, B, "refine", tl.Population(teacher))
    assert res.perm.tolist() == [0] and res.info["swaps"] == 0


def test_barrier_refinement_survives_a_plateau():
    # regression: a maximum tied with a grid neighbour broke Brent's bracket (scipy ValueError)
    from twolayer.barriers import path_barrier
    res = path_barrier(lambda t: t, lambda t: min(1.0 - abs(t - 0.5), 0.9), kind="endpoints_mean")
    assert res.value == pytest.approx(0.9 - 0.5)
    assert 0.4 <= res.t <= 0.6


def test_teacher_neuron_measure_represents_the_teacher():
    # f* = E_mu[alpha sigma(v.x)] for mu = (1/k) sum_j delta_(k b_j, v_j), as for students
    teacher = tl.Teacher(np.eye(3, 4), np.array([0.5, 1.0, 2.0]))
    points, weights = tl.neuron_measure(teacher)
    X = np.random.default_rng(0).standard_normal((20, 4))
    np.testing.assert_allclose((np.maximum(X @ points[:, 1:].T, 0) * points[:, 0]) @ weights, teacher(X))
