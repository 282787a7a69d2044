"""Numba kernels against their NumPy references (relative error <= 1e-10)."""

import numpy as np
import pytest
from conftest import random_pair

import twolayer as tl
from twolayer._kernels.acos import acos, asin_series_coefficients


def _rel(x, ref):
    return np.max(np.abs(np.asarray(x) - ref)) / max(np.max(np.abs(ref)), 1e-300)


def test_acos_matches_numpy():
    from numba import njit

    @njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = acos(x[i])
        return out

    x = np.concatenate([np.linspace(-1, 1, 20001), 1 - np.logspace(-17, 0, 500),
                        -1 + np.logspace(-17, 0, 500), [0.5, -0.5, 0.5 + 1e-16]])
    x = np.clip(x, -1, 1)
    assert np.max(np.abs(apply(x) - np.arccos(x))) <= 8 * np.finfo(float).eps


def test_asin_series_coefficients():
    # p(t) = (asin z - z) / z^3 at z^2 = t: compare with numpy where cancellation is mild
    p = asin_series_coefficients()
    z = np.linspace(0.1, 0.5, 50)
    t = z * z
    series = z + z**3 * np.polyval(p[::-1], t)
    assert np.max(np.abs(series - np.arcsin(z))) < 1e-15


@pytest.mark.parametrize("m", [1, 5, 63, 64, 65, 200])
@pytest.mark.parametrize("inputs", ["gaussian", "sphere"])
def test_population_kernels_match_reference(m, inputs, rng):
    student, teacher = random_pair(rng, m, 4, 7, inputs)
    W = student.W.copy()
    W[0] = 0.0  # a dead neuron on the kernel's special path
    student = student.with_params(student.a, W)
    ref = tl.population_loss_and_grad(student, teacher, backend="numpy")
    got = tl.population_loss_and_grad(student, teacher)
    for x, r in zip(got, ref):
        assert _rel(x, r) <= 1e-10


def test_serial_and_parallel_population_kernels_agree(rng):
    from twolayer._kernels import population as pop
    student, teacher = random_pair(rng, 150, 3, 6)
    # writable a, W and read-only teacher arrays, as the package passes them (one numba specialisation)
    args = (np.array(student.a), np.array(student.W), teacher.V, teacher.b, 1.0, 1.0)
    loss, ga, gW = pop.population_loss_and_grad(*args)
    ga2, gW2 = np.zeros(150), np.zeros((150, 6))
    loss2 = pop.population_terms_serial(*args, True, ga2, gW2)
    assert _rel(loss2, loss) <= 1e-12 and _rel(ga2, ga) <= 1e-12 and _rel(gW2, gW) <= 1e-12


@pytest.mark.parametrize("n", [1, 100, 256, 257, 3000])
@pytest.mark.parametrize("scaling", ["standard", "meanfield"])
def test_empirical_kernel_matches_reference(n, scaling, rng):
    student, teacher = random_pair(rng, 33, 3, 5, scaling=scaling)
    X = rng.standard_normal((n, 5))
    y = teacher(X) + 0.1 * rng.standard_normal(n)
    ref = tl.empirical_loss_and_grad(student, X, y, backend="numpy")
    got = tl.empirical_loss_and_grad(student, X, y)
    for x, r in zip(got, ref):
        assert _rel(x, r) <= 1e-10
    assert _rel(tl.empirical_loss(student, X, y), ref[0]) <= 1e-10


def test_empirical_loss_converges_to_population_loss(rng):
    student, teacher = random_pair(rng, 10, 3, 4)
    X = rng.standard_normal((400_000, 4))
    emp = tl.empirical_loss(student, X, teacher(X))
    assert abs(emp - tl.population_loss(student, teacher)) < 0.01 * emp


@pytest.mark.parametrize("m", [128, 129, 300])
def test_symmetric_loss_kernel_matches_reference(m, rng):
    from twolayer._kernels import population as pop
    student, teacher = random_pair(rng, m, 3, 6)
    W = student.W.copy()
    W[5] = 0.0
    ref = tl.reference.population_terms(student.a, W, teacher.V, teacher.b, 0.3, 0.5, False)[0]
    assert _rel(pop.population_loss(np.array(student.a), W, teacher.V, teacher.b, 0.3, 0.5), ref) <= 1e-10


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 300, 21), (260, 129, 5)])
def test_distance_kernel_matches_reference(shape, rng):
    from twolayer.assignment import squared_distances
    m, n, d = shape
    P, Q = rng.standard_normal((m, d)), rng.standard_normal((n, d))
    ref = tl.reference.squared_distances(P, Q)
    assert _rel(squared_distances(P, Q), ref) <= 1e-10


@pytest.mark.parametrize("batch", [1, 32])
def test_minibatch_kernel_matches_reference(batch, rng):
    from twolayer._kernels.empirical import minibatch_terms
    student, teacher = random_pair(rng, 17, 3, 5, scaling="meanfield")
    X = rng.standard_normal((batch, 5))
    y = teacher(X)
    ref = tl.reference.empirical_terms(X, y, student.a, student.W, student.c)
    ga, gWT = np.empty(17), np.empty((5, 17))
    loss = minibatch_terms(X, y, np.array(student.a), np.ascontiguousarray(student.W.T), student.c, ga, gWT)
    assert _rel(loss, ref[0]) <= 1e-10 and _rel(ga, ref[1]) <= 1e-10 and _rel(gWT.T, ref[2]) <= 1e-10


def test_the_blas_numba_calls_is_held_to_one_thread_inside_the_kernels():
    # regression: with scipy imported lazily, the thread limit was set up before numba loaded the
    # BLAS it calls (scipy's), which then ran multi-threaded under numba's threads (16 ms instead
    # of 1.1 ms for the population loss at m = 1000). A fresh interpreter: nothing imported yet.
    import subprocess
    import sys
    code = """
import numpy as np
from threadpoolctl import threadpool_info
import twolayer as tl
from twolayer._blas import single_threaded_blas
with single_threaded_blas():
    pass
T = tl.Teacher.orthonormal(2, 3)
tl.population_loss(tl.Student.init(200, 3), T)  # runs a kernel that calls BLAS
with single_threaded_blas():
    blas = [i for i in threadpool_info() if i["user_api"] == "blas"]
print(any("scipy" in i["filepath"] and "numpy" not in i["filepath"] for i in blas),
      all(i["num_threads"] == 1 for i in blas))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True"]
