"""Permutations of hidden neurons and linear paths between students.

permute(B, pi): neuron i of the result is neuron pi[i] of B (a_i and w_i move together), so
the function is unchanged. interpolate(A, B, t) = t theta_A + (1 - t) theta_B.
"""

from __future__ import annotations

import numpy as np

from ._validate import check_positive_float
from .model import Student


def check_perm(perm, m: int) -> np.ndarray:
    """``perm`` as an int array holding a permutation of range(m)."""
    p = np.asarray(perm)
    if p.shape != (m,) or not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"perm must be an integer array of shape ({m},); got {p.dtype} {p.shape}")
    if not np.array_equal(np.sort(p), np.arange(m)):
        raise ValueError("perm must be a permutation of range(m)")
    return p.astype(np.int64)


def check_same_shape(A: Student, B: Student) -> None:
    """A and B must be students of one width, dimension, scaling and output mode."""
    for name, s in (("A", A), ("B", B)):
        if not isinstance(s, Student):
            raise ValueError(f"{name} must be a twolayer.Student; got {type(s).__name__}")
    if (A.m, A.d) != (B.m, B.d):
        raise ValueError(f"A and B must have the same (m, d); got {(A.m, A.d)} and {(B.m, B.d)} "
                         "(use method='ot' for unequal widths)")
    if A.scaling != B.scaling or A.train_output != B.train_output:
        raise ValueError("A and B must share scaling and train_output")


def permute(student: Student, perm) -> Student:
    """The same network with hidden neurons reordered: neuron i <- neuron perm[i]."""
    p = check_perm(np.asarray(perm), student.m)
    return student.with_params(student.a[p], student.W[p])


def interpolate(A: Student, B: Student, t: float) -> Student:
    """theta(t) = t theta_A + (1 - t) theta_B (t = 1 gives A, t = 0 gives B)."""
    check_same_shape(A, B)
    t = check_positive_float("t", t, allow_zero=True)
    if t > 1:
        raise ValueError(f"t must lie in [0, 1]; got {t}")
    return A.with_params(t * A.a + (1 - t) * B.a, t * A.W + (1 - t) * B.W)
