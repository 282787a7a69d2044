"""Closed forms against Monte Carlo and finite differences."""

import numpy as np
import pytest
from conftest import random_pair

import twolayer as tl


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
@pytest.mark.parametrize("scaling", ["standard", "meanfield"])
def test_population_loss_matches_monte_carlo(inputs, scaling):
    rng = np.random.default_rng(hash((inputs, scaling)) % 2**32)
    student, teacher = random_pair(rng, m=7, k=3, d=5, inputs=inputs, scaling=scaling)
    X = tl.input_law(inputs).sample(10**6, 5, rng)
    sq = 0.5 * (student(X) - teacher(X)) ** 2
    mc, se = sq.mean(), sq.std() / np.sqrt(sq.size)
    exact = tl.population_loss(student, teacher)
    assert abs(exact - mc) < 4 * se, (exact, mc, se)


def test_kernel_matches_monte_carlo_at_special_angles():
    # cos phi = 1, -1 and 0 exactly, and a zero-norm neuron
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10**6, 3))
    W = np.array([[1.0, 0, 0], [2.0, 0, 0], [-1.0, 0, 0], [0, 1.5, 0], [0, 0, 0]])
    K = tl.reference.arccos_kernel(W, W)
    H = np.maximum(X @ W.T, 0)
    mc = H.T @ H / X.shape[0]
    se = np.sqrt(((H[:, :, None] * H[:, None, :]) ** 2).mean(0) / X.shape[0]) + 1e-12
    assert np.all(np.abs(K - mc) < 4 * se + 1e-12)
    assert np.all(np.isfinite(K))


def _central_difference(fun, x, h):
    g = np.empty_like(x)
    for j in range(x.size):
        e = np.zeros_like(x)
        e[j] = h
        g[j] = (fun(x + e) - fun(x - e)) / (2 * h)
    return g


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
@pytest.mark.parametrize("scaling", ["standard", "meanfield"])
@pytest.mark.parametrize("train_output", [True, False])
def test_gradient_matches_finite_differences(inputs, scaling, train_output, rng):
    student, teacher = random_pair(rng, 6, 3, 4, inputs, scaling, train_output)
    theta = student.theta
    fd = _central_difference(lambda t: tl.population_loss(student.with_theta(t), teacher),
                             theta, 1e-5)
    g = tl.population_gradient(student, teacher)
    assert np.linalg.norm(g - fd) <= 1e-6 * np.linalg.norm(g)


@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
@pytest.mark.parametrize("train_output", [True, False])
def test_hessian_matches_finite_differences_of_gradient(inputs, train_output, rng):
    student, teacher = random_pair(rng, 5, 3, 4, inputs, "standard", train_output)
    theta = student.theta
    H = tl.population_hessian(student, teacher)
    h = 1e-6
    fd = np.empty_like(H)
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        fd[:, j] = (tl.population_gradient(student.with_theta(theta + e), teacher)
                    - tl.population_gradient(student.with_theta(theta - e), teacher)) / (2 * h)
    assert np.allclose(H, H.T, atol=1e-12)
    assert np.linalg.norm(H - fd) <= 1e-6 * np.linalg.norm(H)


def test_zero_norm_neuron_is_dead_not_nan(rng):
    student, teacher = random_pair(rng, 4, 2, 3)
    W = student.W.copy()
    W[1] = 0.0
    dead = student.with_params(student.a, W)
    loss, ga, gW = tl.population_loss_and_grad(dead, teacher)
    assert np.isfinite(loss) and np.all(np.isfinite(gW)) and np.all(np.isfinite(ga))
    assert np.all(gW[1] == 0) and ga[1] == 0
    # the dead neuron contributes nothing: same loss as the network without it
    keep = [0, 2, 3]
    smaller = tl.Student(student.a[keep], W[keep])
    assert np.isclose(loss, tl.population_loss(smaller, teacher), rtol=1e-13)
    assert np.all(np.isfinite(tl.population_hessian(dead, teacher)))


def test_parallel_neurons_have_exact_self_terms():
    # w_j = 2 w_i (cos = 1) and w_l = -w_i (cos = -1): K from the closed form must equal
    # |w||v|/2 and 0, and the loss must equal that of the merged network
    teacher = tl.Teacher.orthonormal(2, 3)
    W = np.array([[1.0, 0.5, 0.0], [2.0, 1.0, 0.0], [-1.0, -0.5, 0.0]])
    s = tl.Student(np.array([0.3, 0.2, 0.7]), W)
    merged = tl.Student(np.array([0.7, 0.7]), W[[0, 2]])
    assert np.isclose(tl.population_loss(s, teacher), tl.population_loss(merged, teacher),
                      rtol=1e-12)
