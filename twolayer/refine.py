"""Refinement of a permutation by the exact midpoint population loss (two-layer students).

From a starting permutation (weights matching), swap pi(i) <-> pi(j) while
R(theta_A/2 + pi(theta_B)/2) falls: a local search on a quadratic assignment problem, never
worse than its start.
"""

from __future__ import annotations

import numpy as np

from .assignment import squared_distances
from .losses import population_loss
from .model import Student, Teacher, check_pair
from .permutation import check_compatible, check_perm, mix, permute
from .reference import arccos_kernel
from .validation import check_positive_int


def _features(s: Student) -> np.ndarray:
    return np.column_stack([s.a, s.W])


def _midpoint_parts(A: Student, B: Student, perm: np.ndarray):
    """Output weights alpha = c (a_i + a'_pi(i))/2 and neurons u_i = (w_i + w'_pi(i))/2."""
    return A.c * 0.5 * (A.a + B.a[perm]), 0.5 * (A.W + B.W[perm])


def refine(A: Student, B: Student, teacher: Teacher, perm: np.ndarray, max_sweeps: int = 20,
           candidates: int = 16) -> tuple[np.ndarray, dict]:
    """Lower R(theta_A/2 + pi(theta_B)/2) by swaps pi(i) <-> pi(j), accepted when they lower it.

    With alpha_p, u_p the midpoint network's output weights (c included) and neurons,
    R = 1/2 sum_{p,q} alpha_p alpha_q K(u_p, u_q) - sum_{p,t} alpha_p b_t K(u_p, v_t) + const,
    and a swap changes two neurons, so its effect costs O(m d) kernel evaluations. Candidate
    partners of i are the ``candidates`` neurons of B nearest to B's neuron pi(i).
    """
    check_pair(A, teacher)
    check_compatible(A, B)
    max_sweeps = check_positive_int("max_sweeps", max_sweeps, minimum=0)
    candidates = check_positive_int("candidates", candidates)
    start = check_perm(perm, A.m)
    perm = start.copy()
    scale = teacher.inputs.moment_scale(teacher.d)
    start_loss = population_loss(mix(A, permute(B, perm), 0.5), teacher)
    # accept a swap only above the rounding noise of its O(1) terms (R at f = 0 sets the scale)
    noise = 1e-12 * population_loss(A.with_params(np.zeros(A.m), A.W), teacher)
    alpha, U = _midpoint_parts(A, B, perm)
    # where[j] = position i holding B's neuron j
    where = np.empty(A.m, dtype=np.int64)
    where[perm] = np.arange(A.m)
    near = np.argsort(squared_distances(_features(B), _features(B)), axis=1)
    near = near[:, 1:candidates + 1]
    swaps = sweeps = 0
    for _ in range(max_sweeps):
        sweeps += 1
        improved = False
        for i in range(A.m):
            js = where[near[perm[i]]]
            js = js[js != i]
            if js.size == 0:  # m = 1: nothing to swap with
                continue
            delta, new_i, new_j = _swap_deltas(i, js, A, B, perm, alpha, U, teacher)
            best = int(np.argmin(delta))
            if delta[best] * scale < -noise:
                j = js[best]
                perm[i], perm[j] = perm[j], perm[i]
                where[perm[i]], where[perm[j]] = i, j
                (alpha[i], U[i]), (alpha[j], U[j]) = new_i[best], new_j[best]
                swaps += 1
                improved = True
        if not improved:
            break
    end_loss = population_loss(mix(A, permute(B, perm), 0.5), teacher)
    if end_loss > start_loss:  # rounding only: never return a worse permutation
        perm, end_loss = start, start_loss
    return perm, {"midpoint_loss_start": start_loss, "midpoint_loss": end_loss,
                  "gain": start_loss - end_loss, "swaps": swaps, "sweeps": sweeps}


def _swap_deltas(i, js, A, B, perm, alpha, U, teacher):
    """Change of the (Gaussian-input) midpoint loss for swapping pi(i) with each pi(j), j in js."""
    q = len(js)
    # new neurons at i (taking B's pi(j)) and at each j (taking B's pi(i))
    ai = A.c * 0.5 * (A.a[i] + B.a[perm[js]])
    ui = 0.5 * (A.W[i] + B.W[perm[js]])
    aj = A.c * 0.5 * (A.a[js] + B.a[perm[i]])
    uj = 0.5 * (A.W[js] + B.W[perm[i]])
    keep = np.ones(A.m, dtype=bool)
    delta = np.empty(q)
    new_i, new_j = [], []
    Ki_all = arccos_kernel(ui, U)  # (q, m)
    Kj_all = arccos_kernel(uj, U)
    Ki_t = arccos_kernel(ui, teacher.V) @ teacher.b
    Kj_t = arccos_kernel(uj, teacher.V) @ teacher.b
    old_i_t = arccos_kernel(U[[i]], teacher.V) @ teacher.b
    old_j_t = arccos_kernel(U[js], teacher.V) @ teacher.b
    Kold_i = arccos_kernel(U[[i]], U)[0]
    Kold_j = arccos_kernel(U[js], U)
    for r, j in enumerate(js):
        keep[:] = True
        keep[[i, j]] = False
        rest = alpha * keep
        new = (ai[r] * (Ki_all[r] @ rest) + aj[r] * (Kj_all[r] @ rest)
               + 0.5 * ai[r] ** 2 * (ui[r] @ ui[r]) / 2 + 0.5 * aj[r] ** 2 * (uj[r] @ uj[r]) / 2
               + ai[r] * aj[r] * arccos_kernel(ui[r:r + 1], uj[r:r + 1])[0, 0]
               - ai[r] * Ki_t[r] - aj[r] * Kj_t[r])
        old = (alpha[i] * (Kold_i @ rest) + alpha[j] * (Kold_j[r] @ rest)
               + 0.5 * alpha[i] ** 2 * (U[i] @ U[i]) / 2 + 0.5 * alpha[j] ** 2 * (U[j] @ U[j]) / 2
               + alpha[i] * alpha[j] * Kold_i[j]
               - alpha[i] * old_i_t[0] - alpha[j] * old_j_t[r])
        delta[r] = new - old
        new_i.append((ai[r], ui[r]))
        new_j.append((aj[r], uj[r]))
    return delta, new_i, new_j
