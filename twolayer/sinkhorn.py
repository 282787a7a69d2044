"""Sinkhorn re-basin: permutations from entropy-regularised (soft) assignments.

Peña et al. (2023) replace each hard permutation by a doubly stochastic matrix, the Sinkhorn
projection of a score matrix, which makes the alignment differentiable. For the weight-matching
objective the soft assignment of one permutation has a closed form: with the score S_ij =
sum_p <theta^A_p[i], theta^B_p[j]> (the coordinate step of weight matching) and the cost
C = (max S - S) / (max S - min S) in [0, 1],

    P = argmin_{P 1 = 1/n, P^T 1 = 1/n} <P, C> - reg H(P),    H(P) = -sum_ij P_ij log P_ij,

computed in the log domain with epsilon-scaling (stable and convergent for small ``reg``,
``sinkhorn_plan``), then rounded to the permutation of largest
mass, pi = argmax_pi sum_i P_{i, pi(i)} (a linear assignment). As reg -> 0 the plan concentrates
on the optimal assignment and the method returns weight matching's permutation; a larger reg
spreads the plan over near-optimal assignments. Several permutations: the coordinate descent of
weight matching with this step.

References
----------
F. A. G. Peña, H. R. Medeiros, T. Dubail, M. Aminbeidokhti, E. Granger, M. Pedersoli. Re-basin via
implicit Sinkhorn differentiation. CVPR 2023. arXiv:2212.12042.
M. Cuturi. Sinkhorn distances: lightspeed computation of optimal transport. NeurIPS 2013.
"""

from __future__ import annotations

import numpy as np

from .assignment import assignment
from .validation import check_positive_float, check_positive_int

#: Sinkhorn iterations between two checks of the marginals
CHECK_EVERY = 10


def _logsumexp(X: np.ndarray, axis: int) -> np.ndarray:
    """log sum exp along ``axis``, shifted by the maximum (scipy's is ~10x slower at n ~ 10-100)."""
    top = X.max(axis=axis, keepdims=True)
    return (np.log(np.exp(X - top).sum(axis=axis, keepdims=True)) + top).squeeze(axis)


def sinkhorn_plan(cost: np.ndarray, reg: float, max_iter: int = 1000, tol: float = 1e-6) -> tuple[np.ndarray, int]:
    """The entropic plan between uniform marginals for ``cost`` (n, n), log-domain Sinkhorn.

    The dual potentials u, v (in units of the cost) are updated as
    u_i = reg (-log n - logsumexp_j((v_j - C_ij) / reg)) and v_j likewise, and the plan is
    P_ij = exp((u_i + v_j - C_ij) / reg). Small ``reg`` is reached by epsilon-scaling: reg is
    lowered from max(reg, 1) by factors of 4 to ``reg``, the potentials carried over.

    Parameters
    ----------
    cost : array of shape (n, n)
    reg : float > 0
        Entropic regularisation, in units of ``cost``.
    max_iter : int
        Most Sinkhorn iterations per value of reg (one row and one column update each).
    tol : float
        Stop a stage when every row sum is within ``tol`` / n of 1/n.

    Returns
    -------
    plan : array of shape (n, n)
        Columns sum to 1/n exactly, rows to within tol / n when converged.
    iterations : int
        Over all stages.

    Examples
    --------
    >>> import numpy as np
    >>> plan, _ = sinkhorn_plan(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.01)
    >>> np.round(plan, 6).tolist()
    [[0.5, 0.0], [0.0, 0.5]]

    References
    ----------
    M. Cuturi. Sinkhorn distances. NeurIPS 2013. B. Schmitzer. Stabilized sparse scaling
    algorithms for entropy regularized transport problems. SIAM J. Sci. Comput. 41 (2019).
    """
    reg = check_positive_float("reg", reg)
    max_iter = check_positive_int("max_iter", max_iter)
    C = np.asarray(cost, dtype=float)
    n = C.shape[0]
    log_marginal = -np.log(n)
    stages = [reg]
    while stages[-1] < 1.0:
        stages.append(4 * stages[-1])
    u, v = np.zeros(n), np.zeros(n)
    total = 0
    for eps in reversed(stages):
        for it in range(max_iter):
            total += 1
            u = eps * (log_marginal - _logsumexp((v[None, :] - C) / eps, axis=1))
            v = eps * (log_marginal - _logsumexp((u[:, None] - C) / eps, axis=0))
            if it % CHECK_EVERY == 0:  # the columns are exact here; the rows tell the error
                rows = np.exp(_logsumexp((u[:, None] + v[None, :] - C) / eps, axis=1))
                if np.max(np.abs(rows - 1.0 / n)) <= tol / n:
                    break
    return np.exp((u[:, None] + v[None, :] - C) / reg), total


def sinkhorn_solver(reg: float, max_iter: int = 1000):
    """A coordinate step of weight matching: score (n, n) -> the permutation of largest mass of
    the entropic plan for the normalised cost (module docstring)."""
    reg = check_positive_float("reg", reg)
    max_iter = check_positive_int("max_iter", max_iter)

    def solve(score: np.ndarray) -> np.ndarray:
        span = float(score.max() - score.min())
        cost = (score.max() - score) / span if span > 0 else np.zeros_like(score)
        plan, _ = sinkhorn_plan(cost, reg, max_iter)
        return assignment(-plan)

    return solve
