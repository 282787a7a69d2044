"""Neuron matching: the permutation (or transport plan) that aligns B with A.

Every permutation method returns pi with ``permute(B, pi)`` aligned to A:

weights      min_pi sum_i |(a_i, w_i) - (a'_pi(i), w'_pi(i))|^2   (linear assignment, exact)
weights_cov  the same with |w - w'|_Sigma^2, Sigma = E[x x^T] the input second moment
activations  max_pi sum_i corr(sigma(w_i.x), sigma(w'_pi(i).x)) over n inputs
refine       from ``weights``, swap pairs pi(i) <-> pi(j) while the exact midpoint population
             loss R(theta_A/2 + pi(theta_B)/2) falls (a local search on a quadratic
             assignment problem; never worse than its start)
ot           the optimal transport plan P between the uniform measures on the two networks'
             neurons (widths may differ) for the cost C_ij = (|alpha_i| + |alpha'_j|) |w_i - w'_j|,
             alpha_i = m c a_i the mass-normalised output weight: sum_ij P_ij C_ij bounds the
             interpolation error along the plan (theory.wasserstein) and equals the transport
             cost T of a permutation when the widths agree; interpolate with ``ot_interpolate``
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ._blas import single_threaded_blas
from ._kernels import distances as _distances
from ._resources import check_memory
from ._validate import check_array, check_choice, check_positive_int
from .data.synthetic import sample_inputs
from .losses import population_loss
from .model import SeedLike, Student, Teacher, check_pair
from .paths import check_perm, check_same_shape, interpolate, permute
from .reference import arccos_kernel

METHODS = ("weights", "weights_cov", "activations", "refine", "ot")


@dataclass
class Matching:
    """A matching of B onto A: ``perm`` (permutation methods) or ``plan`` (``ot``).

    ``info`` holds method-specific numbers (the assignment cost; for ``refine`` the midpoint
    loss before and after and the number of accepted swaps).
    """

    method: str
    perm: np.ndarray | None = None
    plan: np.ndarray | None = None
    info: dict = field(default_factory=dict)

    def __array__(self, dtype=None, copy=None):
        if self.perm is None:
            raise ValueError("an 'ot' matching has a plan, not a permutation")
        return self.perm if dtype is None else self.perm.astype(dtype)


def squared_distances(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """C_ij = |p_i - q_j|^2 = |p_i|^2 + |q_j|^2 - 2 p_i.q_j (numba kernel, blocked BLAS)."""
    with single_threaded_blas():
        return _distances.squared_distances(np.ascontiguousarray(P, dtype=np.float64),
                                            np.ascontiguousarray(Q, dtype=np.float64))


def distance_assignment(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """pi minimising sum_i |p_i - q_pi(i)|^2, exactly.

    If the rows' nearest neighbours j*(i) = argmin_j C_ij are all distinct, pi = j* attains
    the lower bound sum_i min_j C_ij of every assignment and is optimal (near-permuted
    networks: no m x m matrix is stored). Otherwise scipy's assignment on the full C.
    """
    P = np.ascontiguousarray(P, dtype=np.float64)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    with single_threaded_blas():
        near = _distances.nearest(P, Q)
    if np.unique(near).size == P.shape[0] == Q.shape[0]:
        return near
    return assignment(squared_distances(P, Q))


def assignment(cost: np.ndarray) -> np.ndarray:
    """pi minimising sum_i cost[i, pi(i)] (scipy's exact linear assignment)."""
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(cost.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def neuron_features(s: Student, sigma_sqrt: np.ndarray | None = None) -> np.ndarray:
    """Rows (a_i, w_i), with w_i replaced by Sigma^(1/2) w_i when ``sigma_sqrt`` is given."""
    W = s.W if sigma_sqrt is None else s.W @ sigma_sqrt
    return np.column_stack([s.a, W])


def _sqrt_psd(S: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(S)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def match(A: Student, B: Student, method: str = "weights", teacher: Teacher | None = None,
          X: np.ndarray | None = None, sigma: np.ndarray | None = None, n: int = 10_000,
          seed: SeedLike = 0, max_sweeps: int = 20, candidates: int = 16) -> Matching:
    """Align B with A by ``method`` (see the module docstring).

    Inputs for ``activations`` (and Sigma for ``weights_cov``) come from ``X`` if given,
    else Sigma is the exact second moment of the teacher's input law (I_d, or I_d/d on the
    sphere) and activations use n inputs drawn from it with ``seed``. ``refine`` needs the
    teacher and tries, for each neuron, the ``candidates`` nearest neurons of B.
    """
    check_choice("method", method, METHODS)
    if isinstance(A, Student) and isinstance(B, Student):  # other inputs are refused below
        check_memory(f"match at m={A.m} (a {A.m} x {B.m} cost matrix and the assignment's work arrays)",
                     3 * 8 * A.m * B.m)
    if method == "ot":
        return _match_ot(A, B)
    check_same_shape(A, B)
    if method in ("weights", "weights_cov"):
        R = None if method == "weights" else _sqrt_psd(_second_moment(A.d, teacher, X, sigma))
        FA, FB = neuron_features(A, R), neuron_features(B, R)
        perm = distance_assignment(FA, FB)
        cost = float(((FA - FB[perm]) ** 2).sum())
        return Matching(method, perm=perm, info={"cost": cost})
    if method == "refine":
        if teacher is None:
            raise ValueError("method='refine' needs the teacher (it lowers the population loss)")
        return refine(A, B, teacher, match(A, B, "weights").perm, max_sweeps, candidates)
    corr = activation_correlation(A, B, _inputs(A.d, teacher, X, n, seed))
    perm = assignment(-corr)
    return Matching(method, perm=perm, info={"correlation": float(corr[np.arange(A.m), perm].mean())})


def _second_moment(d, teacher, X, sigma):
    if sigma is not None:
        return check_array("sigma", sigma, 2, (d, d))
    if X is not None:
        X = check_array("X", X, 2, (None, d))
        return X.T @ X / X.shape[0]
    if teacher is None:
        raise ValueError("method='weights_cov' needs sigma, X or a teacher (for its input law)")
    return np.eye(d) * (1.0 if teacher.inputs == "gaussian" else 1.0 / d)


def _inputs(d, teacher, X, n, seed):
    if X is not None:
        return check_array("X", X, 2, (None, d))
    law = "gaussian" if teacher is None else teacher.inputs
    return sample_inputs(law, check_positive_int("n", n), d, seed)


def activation_correlation(A: Student, B: Student, X: np.ndarray) -> np.ndarray:
    """Pearson correlation of hidden activations sigma(w_i.x) of A and sigma(w'_j.x) of B
    over the rows of X (a constant activation correlates 0 with everything)."""
    HA = np.maximum(X @ A.W.T, 0.0)
    HB = np.maximum(X @ B.W.T, 0.0)
    HA -= HA.mean(0)
    HB -= HB.mean(0)
    sa, sb = np.linalg.norm(HA, axis=0), np.linalg.norm(HB, axis=0)
    sa[sa == 0] = np.inf
    sb[sb == 0] = np.inf
    return (HA.T @ HB) / np.outer(sa, sb)


def _midpoint_parts(A: Student, B: Student, perm: np.ndarray):
    """Output weights alpha = c (a_i + a'_pi(i))/2 and neurons u_i = (w_i + w'_pi(i))/2."""
    return A.c * 0.5 * (A.a + B.a[perm]), 0.5 * (A.W + B.W[perm])


def refine(A: Student, B: Student, teacher: Teacher, perm: np.ndarray, max_sweeps: int = 20,
           candidates: int = 16) -> Matching:
    """Lower R(theta_A/2 + pi(theta_B)/2) by swaps pi(i) <-> pi(j), accepted when they lower it.

    With alpha_p, u_p the midpoint network's output weights (c included) and neurons,
    R = 1/2 sum_{p,q} alpha_p alpha_q K(u_p, u_q) - sum_{p,t} alpha_p b_t K(u_p, v_t) + const,
    and a swap changes two neurons, so its effect costs O(m d) kernel evaluations. Candidate
    partners of i are the ``candidates`` neurons of B nearest to B's neuron pi(i).
    """
    check_pair(A, teacher)
    check_same_shape(A, B)
    max_sweeps = check_positive_int("max_sweeps", max_sweeps, minimum=0)
    candidates = check_positive_int("candidates", candidates)
    start = check_perm(perm, A.m)
    perm = start.copy()
    scale = 1.0 if teacher.inputs == "gaussian" else 1.0 / teacher.d
    start_loss = population_loss(interpolate(A, permute(B, perm), 0.5), teacher)
    # accept a swap only above the rounding noise of its O(1) terms (R at f = 0 sets the scale)
    noise = 1e-12 * population_loss(A.with_params(np.zeros(A.m), A.W), teacher)
    alpha, U = _midpoint_parts(A, B, perm)
    # where[j] = position i holding B's neuron j
    where = np.empty(A.m, dtype=np.int64)
    where[perm] = np.arange(A.m)
    near = np.argsort(squared_distances(neuron_features(B), neuron_features(B)), axis=1)
    near = near[:, 1:candidates + 1]
    swaps = 0
    for _ in range(max_sweeps):
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
    end_loss = population_loss(interpolate(A, permute(B, perm), 0.5), teacher)
    if end_loss > start_loss:  # rounding only: never return a worse permutation
        perm, end_loss = start, start_loss
    return Matching("refine", perm=perm, info={"midpoint_loss_start": start_loss,
                                               "midpoint_loss": end_loss,
                                               "gain": start_loss - end_loss, "swaps": swaps})


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


def plan_cost(A: Student, B: Student) -> np.ndarray:
    """C_ij = (|m_A c_A a_i| + |m_B c_B a'_j|) |w_i - w'_j|."""
    alpha, beta = np.abs(A.m * A.c * A.a), np.abs(B.m * B.c * B.a)
    return (alpha[:, None] + beta[None, :]) * np.sqrt(squared_distances(A.W, B.W))


def _match_ot(A: Student, B: Student) -> Matching:
    for name, s in (("A", A), ("B", B)):
        if not isinstance(s, Student):
            raise ValueError(f"{name} must be a twolayer.Student; got {type(s).__name__}")
    if A.d != B.d:
        raise ValueError(f"A.d ({A.d}) must equal B.d ({B.d})")
    import ot  # POT imports every array backend it finds (PyTorch: seconds): only when needed

    C = plan_cost(A, B)
    plan = ot.emd(np.full(A.m, 1.0 / A.m), np.full(B.m, 1.0 / B.m), C)
    return Matching("ot", plan=plan, info={"cost": float((plan * C).sum())})


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
