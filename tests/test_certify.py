"""The certified optimum (twolayer.certify): the enumeration kernel against a Python loop, the
certified minimum against a brute-force search with ``barrier``, every method at or above it."""

import itertools

import numpy as np
import pytest

import twolayer as tl
from twolayer._kernels.enumeration import grid_maxima
from twolayer.certify import MAX_ENUMERATION_WIDTH, certified_barrier, path_terms, unrank


def test_enumeration_kernel_equals_a_python_loop_in_lexicographic_order():
    rng = np.random.default_rng(0)
    m, G = 4, 3
    U, Q, base = rng.standard_normal((G, m, m)), rng.standard_normal((G, m * m, m * m)), rng.standard_normal(G)
    expected = []
    for perm in itertools.permutations(range(m)):
        vals = [sum(U[g, i, perm[i]] for i in range(m))
                + sum(Q[g, i * m + perm[i], j * m + perm[j]] for i in range(m) for j in range(i + 1, m)) - base[g]
                for g in range(G)]
        expected.append(max(vals))
    np.testing.assert_allclose(grid_maxima(U, Q, base), expected, rtol=1e-13)
    assert [tuple(unrank(r, m)) for r in range(24)] == list(itertools.permutations(range(m)))


def test_path_terms_give_the_population_loss_of_the_path():
    rng = np.random.default_rng(1)
    teacher = tl.Teacher.random(2, 4, seed=2, inputs="sphere")
    A, B = tl.Student.init(5, 4, seed=3), tl.Student.init(5, 4, seed=4)
    ts = np.array([0.0, 0.3, 1.0])
    perm = rng.permutation(5)
    for repair in (False, True):
        U, Q, const = path_terms(A, B, teacher, ts, repair)
        for g, t in enumerate(ts):
            value = U[g][np.arange(5), perm].sum() + const + sum(
                Q[g, i * 5 + perm[i], j * 5 + perm[j]] for i in range(5) for j in range(i + 1, 5))
            net = tl.interpolate(A, tl.permute(B, perm), t, "repair" if repair else "none", tl.Population(teacher))
            assert value == pytest.approx(tl.population_loss(net, teacher), rel=1e-12)


@pytest.mark.parametrize("kind, repair", [("midpoint", "none"), ("sup", "none"), ("sup", "repair")])
def test_certified_barrier_equals_brute_force_and_bounds_every_method(kind, repair):
    teacher = tl.Teacher.orthonormal(2, 4)
    task = tl.Population(teacher)
    A, B = (tl.train(tl.Student.init(5, 4, 0.5, seed=s), task, steps=1500, lr=0.05).net for s in (1, 2))
    cert = certified_barrier(A, B, task, kind, repair=repair)
    brute = [tl.barrier(A, tl.permute(B, np.array(p)), task, kind=kind, repair=repair).value
             for p in itertools.permutations(range(5))]
    assert cert.value == pytest.approx(min(brute), rel=1e-9, abs=1e-15) and cert.permutations == 120
    again = tl.barrier(A, tl.permute(B, cert.perm), task, kind=kind, repair=repair).value
    assert again == pytest.approx(cert.value, rel=1e-9)
    for method in ("weights", "activations", "refine", "sinkhorn", "ste"):
        found = tl.barrier_modulo_permutation(A, B, task, method, kind=kind, repair=repair).value
        assert found >= cert.value - 1e-15


def test_certified_barrier_refuses_what_it_cannot_certify():
    teacher = tl.Teacher.orthonormal(2, 3)
    wide = tl.Student.init(MAX_ENUMERATION_WIDTH + 1, 3, seed=0)
    with pytest.raises(ValueError, match=f"A.m must be <= {MAX_ENUMERATION_WIDTH}"):
        certified_barrier(wide, wide, tl.Population(teacher))
    s = tl.Student.init(4, 3, seed=0)
    with pytest.raises(ValueError, match="objective must be a Population objective"):
        certified_barrier(s, s, tl.Empirical.sample(teacher, 20))
    with pytest.raises(ValueError, match="kind must be one of"):
        certified_barrier(s, s, tl.Population(teacher), "max")
