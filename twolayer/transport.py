"""Optimal-transport alignment of two students, whose widths may differ.

The plan P between the uniform measures on the two networks' neurons for the cost
C_ij = (|alpha_i| + |alpha'_j|) |w_i - w'_j|, alpha_i = m c a_i the mass-normalised output
weight: sum_ij P_ij C_ij bounds the interpolation error along the plan (theory.wasserstein)
and equals the transport cost T of a permutation when the widths agree.
"""

from __future__ import annotations

import numpy as np

from .assignment import squared_distances
from .model import Student
from .validation import check_array


def plan_cost(A: Student, B: Student) -> np.ndarray:
    """C_ij = (|m_A c_A a_i| + |m_B c_B a'_j|) |w_i - w'_j|."""
    alpha, beta = np.abs(A.m * A.c * A.a), np.abs(B.m * B.c * B.a)
    return (alpha[:, None] + beta[None, :]) * np.sqrt(squared_distances(A.W, B.W))


def transport_plan(A: Student, B: Student) -> tuple[np.ndarray, dict]:
    """The optimal plan P between the uniform measures on A's and B's neurons for the cost
    ``plan_cost`` (POT's exact network simplex), and {"cost": sum_ij P_ij C_ij}."""
    if A.d != B.d:
        raise ValueError(f"A.d ({A.d}) must equal B.d ({B.d})")
    import ot  # POT imports every array backend it finds (PyTorch: seconds): only when needed

    C = plan_cost(A, B)
    plan = ot.emd(np.full(A.m, 1.0 / A.m), np.full(B.m, 1.0 / B.m), C)
    return plan, {"cost": float((plan * C).sum())}


def ot_interpolate(A: Student, B: Student, plan: np.ndarray, t: float) -> Student:
    """The network on the plan's atoms: for each P_ij > 0 one neuron with
    output weight P_ij (t m_A c_A a_i + (1 - t) m_B c_B a'_j) and input weights
    t w_i + (1 - t) w'_j (standard scaling). Equals A at t = 1 and B at t = 0 as functions."""
    plan = check_array("plan", plan, 2, (A.m, B.m))
    i, j = np.nonzero(plan > 0)
    mass = plan[i, j]
    a = mass * (t * A.m * A.c * A.a[i] + (1 - t) * B.m * B.c * B.a[j])
    W = t * A.W[i] + (1 - t) * B.W[j]
    return Student(a, W, "standard", A.train_output or B.train_output)
